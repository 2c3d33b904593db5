//! Property tests of the chunk codec: decode(encode(x)) == x bit for bit for realistic and
//! adversarial series, NaN refused, short buffers and corrupt input refused without a panic.

use acs_proto::chunk::{self, ChunkError, Point};
use proptest::collection::vec;
use proptest::prelude::*;

/// Decimals as sensors report them: an integer scaled by a power of ten, as parsed from text.
fn decimal(k: u32) -> impl Strategy<Value = f64> {
    (-10_000_000i64..10_000_000).prop_map(move |i| i as f64 / 10f64.powi(k as i32))
}

/// Every awkward `f64` except NaN.
fn odd_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
        Just(-0.0),
        Just(0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(-5e-324),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(9_007_199_254_740_993.0),
        Just(0.1 + 0.2),
        (1u64..(1 << 52)).prop_map(f64::from_bits), // subnormals
    ]
}

/// Mostly decimals of the series' own scale, some of another scale, some awkward values.
fn value(k: u32) -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => decimal(k),
        1 => (0u32..=9).prop_flat_map(decimal),
        2 => odd_value(),
    ]
}

/// A series: a start, then steps that are mostly regular with jitter, sometimes backwards,
/// repeated or extreme; values that stay put, drift, or jump.
fn series() -> impl Strategy<Value = Vec<Point>> {
    let step = prop_oneof![
        6 => (-800i64..=800).prop_map(|j| 60_000 + j),
        2 => Just(10_000i64),
        1 => Just(0i64),
        1 => -5_000i64..0,
        1 => any::<i64>(),
    ];
    let start = prop_oneof![
        Just(1_767_225_600_123i64),
        Just(i64::MIN),
        Just(i64::MAX),
        any::<i64>()
    ];
    let steps =
        (0u32..=9).prop_flat_map(move |k| vec((step.clone(), value(k), any::<bool>()), 0..200));
    (start, steps).prop_map(|(start, steps)| {
        let mut ts = start;
        let mut prev = 0.0;
        steps
            .into_iter()
            .map(|(step, value, repeat)| {
                ts = ts.wrapping_add(step);
                prev = if repeat { prev } else { value };
                Point {
                    ts_ms: ts,
                    value: prev,
                }
            })
            .collect()
    })
}

fn bits(points: &[Point]) -> Vec<(i64, u64)> {
    points
        .iter()
        .map(|p| (p.ts_ms, p.value.to_bits()))
        .collect()
}

fn encode_vec(points: &[Point]) -> Vec<u8> {
    let mut buf = vec![0u8; chunk::max_encoded_len(points.len())];
    let len = chunk::encode(points, &mut buf).expect("no NaN, buffer of the maximum length");
    buf.truncate(len);
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn decode_of_encode_is_the_identity_bit_for_bit(points in series()) {
        let bytes = encode_vec(&points);
        prop_assert_eq!(chunk::encoded_len(&points), Ok(bytes.len()));
        prop_assert!(bytes.len() <= chunk::max_encoded_len(points.len()));
        let decoded = chunk::decode(&bytes).unwrap();
        prop_assert_eq!(decoded.point_count() as usize, points.len());
        let back: Vec<Point> = decoded.collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(bits(&back), bits(&points));
    }
}

proptest! {

    #[test]
    fn arbitrary_points_round_trip(raw in vec((any::<i64>(), any::<u64>()), 0..64)) {
        let points: Vec<Point> = raw
            .iter()
            .map(|&(ts_ms, b)| Point { ts_ms, value: f64::from_bits(b) })
            .collect();
        let mut buf = vec![0u8; chunk::max_encoded_len(points.len())];
        match points.iter().position(|p| p.value.is_nan()) {
            Some(index) => {
                prop_assert_eq!(chunk::encode(&points, &mut buf), Err(ChunkError::NanValue { index }));
            }
            None => {
                let len = chunk::encode(&points, &mut buf).unwrap();
                let back: Vec<Point> = chunk::decode(&buf[..len]).unwrap().collect::<Result<_, _>>().unwrap();
                prop_assert_eq!(bits(&back), bits(&points));
            }
        }
    }

    #[test]
    fn a_nan_anywhere_is_refused(mut points in series(), at in any::<prop::sample::Index>()) {
        prop_assume!(!points.is_empty());
        let index = at.index(points.len());
        points[index].value = f64::NAN;
        let first = points.iter().position(|p| p.value.is_nan()).unwrap();
        let mut buf = vec![0u8; chunk::max_encoded_len(points.len())];
        prop_assert_eq!(chunk::encode(&points, &mut buf), Err(ChunkError::NanValue { index: first }));
    }

    #[test]
    fn a_short_buffer_is_an_error(points in series(), cut in any::<prop::sample::Index>()) {
        let len = encode_vec(&points).len();
        let mut buf = vec![0u8; cut.index(len)];
        prop_assert_eq!(
            chunk::encode(&points, &mut buf),
            Err(ChunkError::BufferTooSmall { needed: len, got: buf.len() })
        );
    }

    #[test]
    fn the_longest_fitting_prefix_is_encoded(points in series(), budget in 0usize..600) {
        let mut buf = vec![0u8; budget];
        match chunk::encode_prefix(&points, &mut buf) {
            Ok((n, len)) => {
                prop_assert!(len <= budget);
                let back: Vec<Point> = chunk::decode(&buf[..len]).unwrap().collect::<Result<_, _>>().unwrap();
                prop_assert_eq!(bits(&back), bits(&points[..n]));
                if n < points.len() {
                    prop_assert!(chunk::encoded_len(&points[..n + 1]).unwrap() > budget);
                }
            }
            Err(e) => prop_assert_eq!(e, ChunkError::BufferTooSmall { needed: 3, got: budget }),
        }
    }

    #[test]
    fn truncated_input_is_an_error(points in series(), cut in any::<prop::sample::Index>()) {
        let bytes = encode_vec(&points);
        let cut = cut.index(bytes.len());
        let result = chunk::decode(&bytes[..cut]).and_then(|it| it.collect::<Result<Vec<_>, _>>());
        prop_assert!(result.is_err(), "{} of {} bytes decoded", cut, bytes.len());
    }

    #[test]
    fn corrupt_input_decodes_or_errors_never_panics(
        points in series(),
        flips in vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut bytes = encode_vec(&points);
        for (at, mask) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        check_decoder_invariants(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..200), header in any::<bool>()) {
        if header && bytes.len() >= 2 {
            bytes[0] = chunk::VERSION;
            bytes[1] &= 0x3f;
        }
        check_decoder_invariants(&bytes)?;
    }
}

/// Whatever the bytes: at most `count` points, none NaN, at most one error and then the end,
/// and a chunk that decodes completely re-encodes to the same points.
fn check_decoder_invariants(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(mut iter) = chunk::decode(bytes) else {
        return Ok(());
    };
    let count = iter.point_count() as usize;
    let mut points = Vec::new();
    let mut failed = false;
    for item in iter.by_ref() {
        match item {
            Ok(p) => {
                prop_assert!(!p.value.is_nan());
                points.push(p);
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    prop_assert_eq!(iter.next(), None);
    prop_assert!(points.len() <= count);
    if !failed {
        prop_assert_eq!(points.len(), count);
        let back: Vec<Point> = chunk::decode(&encode_vec(&points))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(bits(&back), bits(&points));
    }
    Ok(())
}
