//! Encodes points built from arbitrary bytes and decodes them again: decode(encode(x)) == x bit
//! for bit, NaN refused at its index, the length within `max_encoded_len` and equal to
//! `encoded_len`, a buffer one byte short refused.
//!
//! The input is 17-byte records (a trailing partial record is ignored): `kind: u8, a: i64 LE,
//! b: u64 LE`. Timestamp: `a` if `kind & 0x80`, else the previous one plus `a as i32`
//! (wrapping). Value by `kind >> 4 & 3`: 0 = the bits `b`; 1 = the decimal `b as i32 / 10^k`;
//! 2 = the previous value; 3 = the decimal `(b as i64 >> 8) / 10^k`; `k = (kind & 15) % 10`.
#![no_main]

use acs_proto::chunk::{self, ChunkError, Point};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut points = Vec::new();
    let (mut ts_ms, mut value) = (0i64, 0f64);
    for record in data.chunks_exact(17) {
        let kind = record[0];
        let a = i64::from_le_bytes(record[1..9].try_into().unwrap());
        let b = u64::from_le_bytes(record[9..17].try_into().unwrap());
        ts_ms = if kind & 0x80 != 0 {
            a
        } else {
            ts_ms.wrapping_add(i64::from(a as i32))
        };
        let scale = 10f64.powi(i32::from((kind & 15) % 10));
        value = match kind >> 4 & 3 {
            0 => f64::from_bits(b),
            1 => f64::from(b as i32) / scale,
            2 => value,
            _ => ((b as i64) >> 8) as f64 / scale,
        };
        points.push(Point { ts_ms, value });
    }

    let mut buf = vec![0u8; chunk::max_encoded_len(points.len())];
    if let Some(index) = points.iter().position(|p| p.value.is_nan()) {
        assert_eq!(chunk::encode(&points, &mut buf), Err(ChunkError::NanValue { index }));
        return;
    }
    let len = chunk::encode(&points, &mut buf).expect("encodes into max_encoded_len");
    assert_eq!(chunk::encoded_len(&points), Ok(len));
    let back: Vec<Point> = chunk::decode(&buf[..len])
        .expect("header")
        .collect::<Result<_, _>>()
        .expect("decodes");
    assert_eq!(back.len(), points.len());
    for (a, b) in back.iter().zip(&points) {
        assert_eq!((a.ts_ms, a.value.to_bits()), (b.ts_ms, b.value.to_bits()));
    }
    assert_eq!(
        chunk::encode(&points, &mut buf[..len - 1]),
        Err(ChunkError::BufferTooSmall { needed: len, got: len - 1 })
    );
});
