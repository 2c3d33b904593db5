//! Byte-exact checks of the documented layout, and each way a chunk can be refused.

use super::*;

fn pt(ts_ms: i64, value: f64) -> Point {
    Point { ts_ms, value }
}

fn encode_vec(points: &[Point]) -> Vec<u8> {
    let mut buf = vec![0u8; max_encoded_len(points.len())];
    let len = encode(points, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

fn decode_all(bytes: &[u8]) -> Result<Vec<Point>, ChunkError> {
    decode(bytes)?.collect()
}

const EXAMPLE: [u8; 18] = [
    0x01, // version
    0x01, // flags: scale 1, values by delta, timestamps by delta-of-delta
    0x03, // 3 points
    // zz(1767225600123) = 3534451200246: low 6 bits 0x36 << 1, more follows; then >> 6
    0xec, 0xc3, 0xaa, 0xdb, 0xdd, 0xcd, 0x01, //
    0xaf, 0x03, // 21.5 = 215 / 10: zz(215) + 1 = 431
    0xdc, 0xda, 0x0e, // delta 60247, delta-of-delta 60247 (the first delta counts from 0)
    0x03, // 21.6: step +1, zz(1) + 1 = 3
    0xeb, 0x14, // delta 59580, dod -667, zz 1333; SAME bit set: 21.6 again, no value bytes
];

#[test]
fn a_small_chunk_has_the_documented_layout() {
    let points = [
        pt(1_767_225_600_123, 21.5),
        pt(1_767_225_660_370, 21.6),
        pt(1_767_225_719_950, 21.6),
    ];
    assert_eq!(encode_vec(&points), EXAMPLE);
    assert_eq!(encoded_len(&points), Ok(EXAMPLE.len()));
    assert_eq!(decode_all(&EXAMPLE), Ok(points.to_vec()));
}

#[test]
fn values_that_are_not_short_decimals_are_escaped_as_xor() {
    // -0.0 after the implicit +0.0: XOR 0x80 00.. = no leading, 7 trailing zero bytes.
    let bytes = encode_vec(&[pt(0, -0.0)]);
    assert_eq!(bytes, [0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x80]);
    let back = decode_all(&bytes).unwrap();
    assert_eq!(back[0].value.to_bits(), (-0.0f64).to_bits());

    let odd = [
        1.0 / 3.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        5e-324,
        f64::MAX,
        0.1 + 0.2,
    ];
    let points: Vec<_> = odd.iter().map(|&v| pt(7, v)).collect();
    let back = decode_all(&encode_vec(&points)).unwrap();
    for (got, want) in back.iter().zip(&points) {
        assert_eq!(got.value.to_bits(), want.value.to_bits());
    }
}

#[test]
fn empty_and_single_point_chunks() {
    assert_eq!(encode_vec(&[]), [0x01, 0x00, 0x00]);
    assert_eq!(decode_all(&[0x01, 0x00, 0x00]), Ok(vec![]));
    for p in [
        pt(i64::MIN, 0.0),
        pt(i64::MAX, -1.5),
        pt(0, f64::MIN_POSITIVE),
    ] {
        let back = decode_all(&encode_vec(&[p])).unwrap();
        assert_eq!(
            (back[0].ts_ms, back[0].value.to_bits()),
            (p.ts_ms, p.value.to_bits())
        );
    }
}

#[test]
fn short_decimals_are_found_by_round_trip() {
    let k = |v: f64| (0..=MAX_SCALE).find(|&k| scaled(v, pow10(k)).is_some());
    assert_eq!(k(21.0), Some(0));
    assert_eq!(k(0.1), Some(1));
    assert_eq!(k(-12.75), Some(2));
    assert_eq!(k(0.123_456_789), Some(9));
    assert_eq!(k(0.1 + 0.2), None);
    assert_eq!(k(-0.0), None);
    assert_eq!(k(5e-324), None);
    assert_eq!(k(9_007_199_254_740_992.0), Some(0)); // 2^53
    assert_eq!(k(9_007_199_254_740_994.0), None);
    assert_eq!(k(1e300), None);
}

#[test]
fn the_encoder_picks_the_cheapest_scale_and_modes() {
    let flags = |points: &[Point]| encode_vec(points)[1];
    // One value with nine decimals among 0.1-degree readings: escaped, the scale stays 1.
    let mut temps: Vec<_> = (0..60)
        .map(|i| pt(i * 60_000, 20.0 + (i % 7) as f64 / 10.0))
        .collect();
    temps[30].value = 0.123_456_789;
    assert_eq!(flags(&temps) & SCALE_MASK, 1);
    // A steady counter: its differences are constant, so delta-of-delta wins.
    let ramp: Vec<_> = (0..60)
        .map(|i| pt(i * 1000, 1000.0 + i as f64 * 12.5))
        .collect();
    assert_eq!(flags(&ramp), 1 | VALUE_DOD);
    // Alternating short and long gaps: plain deltas are smaller than their differences.
    let mut ts = 0;
    let bursty: Vec<_> = (0..60)
        .map(|i| {
            ts += if i % 2 == 0 { 1000 } else { 100_000 };
            pt(ts, 1.0)
        })
        .collect();
    assert_eq!(flags(&bursty) & TS_DELTA, TS_DELTA);
}

#[test]
fn nan_is_refused_by_every_encoder_entry() {
    let points = [pt(0, 1.0), pt(1, f64::NAN)];
    let mut buf = [0u8; 64];
    let nan = ChunkError::NanValue { index: 1 };
    assert_eq!(encode(&points, &mut buf), Err(nan));
    assert_eq!(encoded_len(&points), Err(nan));
    assert_eq!(encode_prefix(&points, &mut buf[..5]), Err(nan));
}

#[test]
fn a_short_buffer_is_an_error_with_the_exact_length() {
    for got in 0..EXAMPLE.len() {
        let mut buf = vec![0u8; got];
        let points = decode_all(&EXAMPLE).unwrap();
        assert_eq!(
            encode(&points, &mut buf),
            Err(ChunkError::BufferTooSmall {
                needed: EXAMPLE.len(),
                got
            })
        );
    }
}

#[test]
fn encode_prefix_fills_a_byte_budget() {
    let points: Vec<_> = (0..100).map(|i| pt(i * 60_000, (i % 10) as f64)).collect();
    let mut buf = [0u8; 40];
    let (n, len) = encode_prefix(&points, &mut buf).unwrap();
    assert!(n > 0 && n < 100 && len <= 40);
    assert_eq!(decode_all(&buf[..len]).unwrap(), points[..n]);
    assert!(encoded_len(&points[..n + 1]).unwrap() > 40);
    assert_eq!(
        encode_prefix(&points, &mut buf[..2]),
        Err(ChunkError::BufferTooSmall { needed: 3, got: 2 })
    );
}

#[test]
fn headers_are_checked_before_any_point() {
    assert_eq!(decode(&[]).err(), Some(ChunkError::Truncated { len: 0 }));
    assert_eq!(
        decode(&[2, 0, 0]).err(),
        Some(ChunkError::UnsupportedVersion(2))
    );
    assert_eq!(
        decode(&[1, 0x40, 0]).err(),
        Some(ChunkError::UnknownFlags(0x40))
    );
    assert_eq!(
        decode(&[1, 0x0a, 0]).err(),
        Some(ChunkError::UnknownFlags(0x0a))
    );
    let too_many = [1, 0, 0x80, 0x80, 0x80, 0x80, 0x10];
    assert!(matches!(
        decode(&too_many).err(),
        Some(ChunkError::Malformed { offset: 2, .. })
    ));
}

#[test]
fn every_truncation_and_trailing_bytes_are_errors() {
    for len in 0..EXAMPLE.len() {
        assert!(decode_all(&EXAMPLE[..len]).is_err(), "{len} bytes decoded");
    }
    let mut long = EXAMPLE.to_vec();
    long.push(0);
    let mut iter = decode(&long).unwrap();
    assert!(iter.by_ref().take(3).all(|p| p.is_ok()));
    assert_eq!(
        iter.next(),
        Some(Err(ChunkError::TrailingBytes { used: 18, len: 19 }))
    );
    assert_eq!(iter.next(), None);
}

#[test]
fn corrupt_values_are_refused_not_decoded() {
    let one = |value: &[u8]| {
        let mut bytes = vec![1, 0, 1, 0];
        bytes.extend_from_slice(value);
        decode_all(&bytes)
    };
    let malformed =
        |r: Result<Vec<Point>, ChunkError>| matches!(r, Err(ChunkError::Malformed { .. }));
    assert!(malformed(one(&[0, 0x00])), "escape of no bytes");
    assert!(
        malformed(one(&[0, 0x45, 1, 2, 3, 4, 5])),
        "escape past 8 bytes"
    );
    assert!(malformed(one(&[0, 0x02, 0x7f, 0xf8])), "escaped NaN");
    // zz(2^53 + 1) + 1 = 2^54 + 3: one past the largest exact integer.
    let mut token = vec![];
    let mut v = (1u64 << 54) + 3;
    while v >= 0x80 {
        token.push(v as u8 | 0x80);
        v >>= 7;
    }
    token.push(v as u8);
    assert!(malformed(one(&token)), "scaled integer beyond 2^53");
}

#[test]
fn errors_say_what_and_where() {
    let cases = [
        (
            ChunkError::NanValue { index: 4 },
            "point 4 has a NaN value, which chunks do not store",
        ),
        (
            ChunkError::BufferTooSmall { needed: 9, got: 3 },
            "chunk buffer too small: needs 9 bytes, got 3",
        ),
        (
            ChunkError::UnsupportedVersion(2),
            "unsupported chunk version 2",
        ),
        (ChunkError::UnknownFlags(0x4a), "unknown chunk flags 0x4a"),
        (
            ChunkError::Truncated { len: 5 },
            "chunk truncated: ends after 5 bytes",
        ),
        (
            ChunkError::TrailingBytes { used: 18, len: 20 },
            "2 trailing bytes after the 18-byte chunk",
        ),
    ];
    for (err, text) in cases {
        assert_eq!(err.to_string(), text);
    }
}
