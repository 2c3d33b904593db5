//! Feeds arbitrary bytes to the chunk decoder. Nothing may panic or loop; at most the declared
//! number of points comes out, none NaN, at most one error and then the end; and a chunk that
//! decodes completely re-encodes to a chunk of the same points, bit for bit.
#![no_main]

use acs_proto::chunk::{self, Point};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut iter) = chunk::decode(data) else {
        return;
    };
    let count = iter.point_count() as usize;
    let mut points = Vec::new();
    let mut failed = false;
    for item in iter.by_ref() {
        match item {
            Ok(point) => {
                assert!(!point.value.is_nan(), "decoded a NaN");
                points.push(point);
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(iter.next().is_none(), "iteration continued after the end or an error");
    assert!(points.len() <= count, "more points than declared");
    // Every point consumes at least one byte after the 3-byte minimal header.
    assert!(points.len() <= data.len().saturating_sub(3));
    if failed {
        return;
    }
    assert_eq!(points.len(), count);

    let mut buf = vec![0u8; chunk::max_encoded_len(points.len())];
    let len = chunk::encode(&points, &mut buf).expect("decoded points re-encode");
    let again: Vec<Point> = chunk::decode(&buf[..len])
        .expect("re-encoded header")
        .collect::<Result<_, _>>()
        .expect("re-encoded chunk decodes");
    assert_eq!(again.len(), points.len());
    for (a, b) in again.iter().zip(&points) {
        assert_eq!((a.ts_ms, a.value.to_bits()), (b.ts_ms, b.value.to_bits()));
    }
});
