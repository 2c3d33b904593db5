//! Writes the seed corpora of the `chunk_decode` and `chunk_roundtrip` fuzz targets: chunks
//! of typical and awkward series, one chunk for each way a chunk can be wrong, and records in
//! the input format of `chunk_roundtrip` (see its doc comment).
//!
//! `cargo run -p acs-proto --example chunk_corpus -- proto/fuzz/corpus`

use acs_proto::chunk::{self, Point};

fn encode(points: &[Point]) -> Vec<u8> {
    let mut buf = vec![0u8; chunk::max_encoded_len(points.len())];
    let len = chunk::encode(points, &mut buf).unwrap();
    buf.truncate(len);
    buf
}

fn series(n: i64, value: impl Fn(i64) -> f64) -> Vec<Point> {
    (0..n)
        .map(|i| Point {
            ts_ms: 1_767_225_600_000 + i * 60_000 + (i * 7919 % 1601) - 800,
            value: value(i),
        })
        .collect()
}

/// One `chunk_roundtrip` record.
fn record(kind: u8, a: i64, b: u64) -> Vec<u8> {
    [&[kind][..], &a.to_le_bytes(), &b.to_le_bytes()].concat()
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "proto/fuzz/corpus".into());

    let temps = encode(&series(60, |i| (215 + i % 5 - 2) as f64 / 10.0));
    let mut decode_seeds: Vec<(&str, Vec<u8>)> = vec![
        ("valid-empty", encode(&[])),
        ("valid-temperature", temps.clone()),
        (
            "valid-power",
            encode(&series(120, |i| (15_000 + i * 37 % 400) as f64 / 100.0)),
        ),
        (
            "valid-counter",
            encode(&series(60, |i| 1000.0 + i as f64 * 12.5)),
        ),
        (
            "valid-odd-values",
            encode(&series(8, |i| {
                [
                    -0.0,
                    1.0 / 3.0,
                    f64::INFINITY,
                    5e-324,
                    f64::MAX,
                    0.1 + 0.2,
                    2.5,
                    -0.0,
                ][i as usize]
            })),
        ),
        (
            "valid-extreme-time",
            encode(&[
                Point {
                    ts_ms: i64::MIN,
                    value: 1.0,
                },
                Point {
                    ts_ms: i64::MAX,
                    value: 1.0,
                },
                Point {
                    ts_ms: 0,
                    value: -1.0,
                },
            ]),
        ),
        ("bad-truncated", temps[..temps.len() - 1].to_vec()),
        ("bad-trailing", [&temps[..], &[0]].concat()),
        ("bad-escape-nan", vec![1, 0, 1, 0, 0, 0x02, 0x7f, 0xf8]),
        (
            "bad-escape-descriptor",
            vec![1, 0, 1, 0, 0, 0x45, 1, 2, 3, 4, 5],
        ),
    ];
    let mut bad = temps.clone();
    bad[0] = 2;
    decode_seeds.push(("bad-version", bad));
    let mut bad = temps.clone();
    bad[1] = 0x4a;
    decode_seeds.push(("bad-flags", bad));

    let roundtrip_seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "decimals",
            (0..20)
                .flat_map(|i| record(0x11, 60_000 + i, 215 + (i as u64 % 3)))
                .collect(),
        ),
        (
            "mixed",
            [
                record(0x80, i64::MIN, 0),
                record(0x00, -5, (-0.0f64).to_bits()),
                record(0x20, 10_000, 0),
                record(0x39, i64::MAX, u64::MAX),
                record(0x80, i64::MAX, f64::INFINITY.to_bits()),
            ]
            .concat(),
        ),
        (
            "nan",
            [record(0x12, 0, 5), record(0, 1, f64::NAN.to_bits())].concat(),
        ),
    ];

    for (target, seeds) in [
        ("chunk_decode", &decode_seeds),
        ("chunk_roundtrip", &roundtrip_seeds),
    ] {
        std::fs::create_dir_all(format!("{dir}/{target}"))?;
        for (name, bytes) in seeds {
            std::fs::write(format!("{dir}/{target}/{name}"), bytes)?;
        }
        println!("wrote {} seeds to {dir}/{target}", seeds.len());
    }
    Ok(())
}
