//! Writes the seed corpus of the `parse_frame` fuzz target: a few valid frames and one
//! frame for each way a frame can be wrong.
//!
//! `cargo run -p acs-proto --example fuzz_corpus -- proto/fuzz/corpus/parse_frame`

use acs_proto::{FrameRepr, Metric, MetricCode, Reading, Value, MAX_FRAME_LEN};

fn emit(repr: FrameRepr, base_ts_ms: u64, readings: &[Reading<'_>]) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME_LEN];
    let len = repr.emit(base_ts_ms, readings, &mut buf).unwrap();
    buf[..len].to_vec()
}

/// Replaces the body of `frame` (keeping its header) and recomputes length and CRC.
fn with_body(frame: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = frame[..14].to_vec();
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "proto/fuzz/corpus/parse_frame".into());
    std::fs::create_dir_all(&dir)?;

    let repr = FrameRepr::new(0x0011_2233_4455_6677, 0x0102_0304);
    let readings = [
        Reading {
            metric: Metric::Code(MetricCode::TEMPERATURE),
            ts_offset_ms: 0,
            value: Value::F32(21.5),
        },
        Reading {
            metric: Metric::Name("soil.ph"),
            ts_offset_ms: 1000,
            value: Value::I64(-3),
        },
        Reading {
            metric: Metric::Code(MetricCode(300)),
            ts_offset_ms: 60_000,
            value: Value::F64(-0.5),
        },
    ];
    let full = emit(repr, 1_767_225_600_123, &readings);
    let mut authenticated = [0u8; MAX_FRAME_LEN];
    let len = repr
        .emit_authenticated(1_767_225_600_123, &readings, &mut authenticated, |_| {
            [0xde, 0xad, 0xbe, 0xef]
        })
        .unwrap();

    let mut seeds: Vec<(&str, Vec<u8>)> = vec![
        ("valid-empty", emit(FrameRepr::new(0, 0), 0, &[])),
        ("valid-three-readings", full.clone()),
        ("valid-authenticated", authenticated[..len].to_vec()),
        (
            "valid-many",
            emit(
                repr,
                1,
                &[readings[0], readings[1], readings[2], readings[1]].repeat(10),
            ),
        ),
        ("bad-truncated", full[..full.len() - 1].to_vec()),
        ("bad-short", full[..19].to_vec()),
        ("bad-trailing", [&full[..], &[0]].concat()),
        // base 0, Code(1), offset 0, F32 NaN.
        (
            "bad-nan",
            with_body(&full, &[0, 0, 1, 0, 0, 0, 0, 0xc0, 0x7f]),
        ),
        // base 0, Name("a b"), offset 0, I64 0.
        (
            "bad-name",
            with_body(&full, &[0, 1, 3, b'a', b' ', b'b', 0, 2, 0]),
        ),
        // base 0, unknown metric tag 2.
        ("bad-enum", with_body(&full, &[0, 2, 1, 0, 2, 0])),
        // base 0, one good reading, then a truncated one.
        ("bad-body-end", with_body(&full, &[0, 0, 1, 0, 2, 0, 0, 1])),
        // An over-long (non-canonical) varint for base 0.
        ("odd-overlong-varint", with_body(&full, &[0x80, 0x00])),
    ];
    let mut bad = full.clone();
    bad[0] = 2;
    seeds.push(("bad-version", bad));
    let mut bad = full.clone();
    bad[1] = 0x02;
    seeds.push(("bad-flags", bad));
    let mut bad = full.clone();
    bad[20] ^= 0x10;
    seeds.push(("bad-crc", bad));

    for (name, bytes) in &seeds {
        std::fs::write(format!("{dir}/{name}"), bytes)?;
    }
    println!("wrote {} seeds to {dir}", seeds.len());
    Ok(())
}
