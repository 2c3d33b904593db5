//! Byte-exact tests: frames assembled by hand (CRCs computed independently with Python's
//! `zlib.crc32`), so a byte-order bug on a big-endian target fails here, not only round trips.

use super::*;
use crate::error::BadName;
use crate::metric::{Metric, MetricCode};
use crate::parse_unauthenticated;
use crate::reading::Value;

#[rustfmt::skip]
const FRAME: [u8; 62] = [
    0x01,                                           // version 1
    0x00,                                           // flags: none (CRC trailer)
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, // device id 0x0011223344556677, BE
    0x01, 0x02, 0x03, 0x04,                         // counter 0x01020304, BE
    0x00, 0x2a,                                     // body length 42, BE
    // body
    0xfb, 0xd0, 0xea, 0xb6, 0xb7, 0x33,             // base_ts_ms 1767225600123, varint
    0x00, 0x01,                                     //   metric Code(1) temperature
    0x00,                                           //   ts_offset_ms 0
    0x00, 0x00, 0x00, 0xac, 0x41,                   //   F32 21.5 (0x41ac0000, LE)
    0x01, 0x07, b's', b'o', b'i', b'l', b'.', b'p', b'h', // metric Name("soil.ph")
    0xe8, 0x07,                                     //   ts_offset_ms 1000
    0x02, 0x05,                                     //   I64 -3 (zigzag 5)
    0x00, 0xac, 0x02,                               //   metric Code(300), unknown
    0xe0, 0xd4, 0x03,                               //   ts_offset_ms 60000
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0xbf, // F64 -0.5, LE
    0xf7, 0xe3, 0xa6, 0xc1,                         // CRC-32/ISO-HDLC of bytes 0..58, BE
];

const READINGS: [Reading<'static>; 3] = [
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

const BASE_TS: u64 = 1_767_225_600_123;

fn repr() -> FrameRepr {
    FrameRepr::new(0x0011_2233_4455_6677, 0x0102_0304)
}

#[test]
fn parse_hand_assembled_frame_field_by_field() {
    let frame = Frame::new_checked(&FRAME[..]).unwrap();
    assert_eq!(frame.version(), 1);
    assert_eq!(frame.flags(), 0);
    assert!(!frame.is_authenticated());
    assert_eq!(frame.device_id(), 0x0011_2233_4455_6677);
    assert_eq!(frame.counter(), 0x0102_0304);
    assert_eq!(frame.body_len(), 42);
    assert_eq!(frame.body(), &FRAME[16..58]);
    assert_eq!(frame.mic_input(), &FRAME[..58]);
    assert_eq!(frame.trailer(), [0xf7, 0xe3, 0xa6, 0xc1]);
    assert_eq!(frame.check_crc(), Ok(()));
    assert_eq!(FrameRepr::parse(&frame), repr());

    let mut readings = frame.readings().unwrap();
    assert_eq!(readings.base_ts_ms(), BASE_TS);
    for expected in READINGS {
        assert_eq!(readings.next(), Some(Ok(expected)));
    }
    assert_eq!(readings.next(), None);
}

#[test]
fn emit_produces_exact_bytes() {
    let r = repr();
    assert_eq!(r.buffer_len(BASE_TS, &READINGS), FRAME.len());
    let mut buf = [0x55u8; 100];
    let len = r.emit(BASE_TS, &READINGS, &mut buf).unwrap();
    assert_eq!(&buf[..len], &FRAME[..]);
    assert!(
        buf[len..].iter().all(|&b| b == 0x55),
        "nothing written past the frame"
    );
}

#[test]
fn minimal_frame_with_empty_reading_list() {
    #[rustfmt::skip]
    let bytes = [
        0x01, 0x00,
        0, 0, 0, 0, 0, 0, 0, 0, // device 0
        0, 0, 0, 0,             // counter 0
        0x00, 0x01,             // body length 1
        0x00,                   // base_ts_ms 0: no clock
        0x57, 0x52, 0x0b, 0xbf, // CRC
    ];
    let (header, mut readings) = parse_unauthenticated(&bytes).unwrap();
    assert_eq!(header, FrameRepr::new(0, 0));
    assert_eq!(readings.base_ts_ms(), 0);
    assert_eq!(readings.next(), None);
    let mut buf = [0u8; 21];
    assert_eq!(FrameRepr::new(0, 0).emit(0, &[], &mut buf), Ok(21));
    assert_eq!(buf, bytes);
}

#[test]
fn header_errors_in_check_order() {
    let t = |bytes: &[u8]| Frame::new_checked(bytes).map(|_| ());
    assert_eq!(t(&[]), Err(Error::Truncated { needed: 20, got: 0 }));
    assert_eq!(
        t(&FRAME[..19]),
        Err(Error::Truncated {
            needed: 20,
            got: 19
        })
    );

    let mut f = FRAME;
    f[0] = 2;
    f[1] = 0x80; // version is checked before flags
    assert_eq!(t(&f), Err(Error::UnsupportedVersion(2)));
    f[0] = 1;
    assert_eq!(t(&f), Err(Error::UnknownFlags(0x80)));
    f[1] = 0x03;
    assert_eq!(t(&f), Err(Error::UnknownFlags(0x03)));

    assert_eq!(
        t(&FRAME[..61]),
        Err(Error::Truncated {
            needed: 62,
            got: 61
        })
    );
    let mut long = [0u8; 63];
    long[..62].copy_from_slice(&FRAME);
    assert_eq!(
        t(&long),
        Err(Error::TrailingBytes {
            expected: 62,
            got: 63
        })
    );

    // A body over the cap is refused by its declared length alone.
    let mut big = [0u8; MIN_FRAME_LEN + MAX_BODY_LEN + 1];
    big[0] = 1;
    big[14..16].copy_from_slice(&((MAX_BODY_LEN + 1) as u16).to_be_bytes());
    assert_eq!(
        t(&big),
        Err(Error::BodyTooLong {
            len: 1025,
            max: 1024
        })
    );
    big[15] -= 1; // exactly MAX_BODY_LEN, one byte of slack
    assert_eq!(
        t(&big),
        Err(Error::TrailingBytes {
            expected: 1044,
            got: 1045
        })
    );
    assert!(t(&big[..1044]).is_ok());
}

#[test]
fn crc_mismatch_names_both_values() {
    let mut f = FRAME;
    f[20] ^= 0x01;
    let frame = Frame::new_checked(&f[..]).unwrap();
    assert_eq!(
        frame.check_crc(),
        Err(Error::BadCrc {
            computed: CRC32.checksum(&f[..58]),
            trailer: 0xf7e3_a6c1
        })
    );
    assert!(matches!(
        parse_unauthenticated(&f),
        Err(Error::BadCrc { .. })
    ));
}

#[test]
fn authenticated_frames_need_the_key() {
    let mut buf = [0u8; 80];
    let mut seen = [0u8; 58];
    let len = repr()
        .emit_authenticated(BASE_TS, &READINGS, &mut buf, |covered| {
            seen.copy_from_slice(covered);
            [0xde, 0xad, 0xbe, 0xef]
        })
        .unwrap();
    assert_eq!(len, 62);
    assert_eq!(buf[1], 0x01, "AUTHENTICATED flag");
    assert_eq!(&buf[2..58], &FRAME[2..58], "same header fields and body");
    assert_eq!(&buf[58..62], &[0xde, 0xad, 0xbe, 0xef]);

    let frame = Frame::new_checked(&buf[..len]).unwrap();
    assert!(frame.is_authenticated());
    assert_eq!(
        frame.mic_input(),
        &seen[..],
        "MIC covers what the emitter gave it"
    );
    assert_eq!(frame.trailer(), [0xde, 0xad, 0xbe, 0xef]);
    assert_eq!(frame.check_crc(), Err(Error::NeedsKey));
    assert_eq!(
        parse_unauthenticated(&buf[..len]).map(|_| ()),
        Err(Error::NeedsKey)
    );
    assert_eq!(FrameRepr::parse(&frame).flags, Flags::AUTHENTICATED);
    assert_eq!(frame.readings().unwrap().count(), 3);

    // Plain emit with the flag leaves a zeroed trailer for the caller.
    let r = FrameRepr {
        flags: Flags::AUTHENTICATED,
        ..repr()
    };
    let mut buf = [0xffu8; 62];
    assert_eq!(r.emit(BASE_TS, &READINGS, &mut buf), Ok(62));
    assert_eq!(&buf[58..], &[0, 0, 0, 0]);
}

#[test]
fn body_errors() {
    // Takes FRAME's header, swaps in `body`, fixes length and CRC.
    fn with_body(body: &[u8], out: &mut [u8; 64]) -> usize {
        out[..14].copy_from_slice(&FRAME[..14]);
        out[14..16].copy_from_slice(&(body.len() as u16).to_be_bytes());
        out[16..16 + body.len()].copy_from_slice(body);
        let crc = CRC32.checksum(&out[..16 + body.len()]);
        out[16 + body.len()..20 + body.len()].copy_from_slice(&crc.to_be_bytes());
        20 + body.len()
    }
    let first = |body: &[u8]| {
        let mut buf = [0u8; 64];
        let len = with_body(body, &mut buf);
        let (_, mut iter) = parse_unauthenticated(&buf[..len])?;
        let item = iter.next().unwrap_or(Ok(READINGS[0])).map(|_| ());
        assert_eq!(iter.next(), None, "iteration ends after an error");
        item
    };
    let malformed = |offset, reason| Err(Error::MalformedBody { offset, reason });

    assert_eq!(first(&[]), malformed(0, "unexpected end of body"));
    assert_eq!(first(&[0x80]), malformed(0, "unexpected end of body"));
    assert_eq!(first(&[0xff; 11]), malformed(0, "bad varint"));
    // base 0, then reading: Code(1), offset 0, F32 cut short.
    assert_eq!(
        first(&[0, 0, 1, 0, 0, 0, 0]),
        malformed(1, "unexpected end of body")
    );
    // Unknown metric tag 2, unknown value tag 3.
    assert_eq!(
        first(&[0, 2, 1, 0, 2, 0]),
        malformed(1, "unknown metric or value kind")
    );
    assert_eq!(
        first(&[0, 0, 1, 0, 3, 0]),
        malformed(1, "unknown metric or value kind")
    );
    // Name with a space, an empty name, invalid UTF-8.
    assert_eq!(
        first(&[0, 1, 3, b'a', b' ', b'b', 0, 2, 0]),
        Err(Error::BadMetricName(BadName::BadByte(b' ')))
    );
    assert_eq!(
        first(&[0, 1, 0, 0, 2, 0]),
        Err(Error::BadMetricName(BadName::Empty))
    );
    assert_eq!(
        first(&[0, 1, 1, 0xff, 0, 2, 0]),
        malformed(1, "metric name is not UTF-8")
    );
    // F32 NaN (0x7fc00000), F64 +infinity (0x7ff0000000000000).
    assert_eq!(
        first(&[0, 0, 1, 0, 0, 0, 0, 0xc0, 0x7f]),
        Err(Error::NonFiniteValue)
    );
    assert_eq!(
        first(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f]),
        Err(Error::NonFiniteValue)
    );
}

#[test]
fn second_reading_error_reports_its_offset() {
    let mut buf = [0u8; 64];
    // base 0; Code(1) +0 I64 0; then a truncated reading.
    let body = [0, 0, 1, 0, 2, 0, 0, 1];
    buf[..14].copy_from_slice(&FRAME[..14]);
    buf[15] = body.len() as u8;
    buf[16..24].copy_from_slice(&body);
    let crc = CRC32.checksum(&buf[..24]);
    buf[24..28].copy_from_slice(&crc.to_be_bytes());
    let (_, mut iter) = parse_unauthenticated(&buf[..28]).unwrap();
    assert!(matches!(iter.next(), Some(Ok(_))));
    assert_eq!(
        iter.next(),
        Some(Err(Error::MalformedBody {
            offset: 6,
            reason: "unexpected end of body"
        }))
    );
    assert_eq!(iter.next(), None);
}

#[test]
fn emit_errors() {
    let mut buf = [0u8; MAX_FRAME_LEN + 10];
    let bad_version = FrameRepr {
        version: 2,
        ..repr()
    };
    assert_eq!(
        bad_version.emit(0, &[], &mut buf),
        Err(Error::UnsupportedVersion(2))
    );
    assert_eq!(
        repr().emit(BASE_TS, &READINGS, &mut buf[..61]),
        Err(Error::BufferTooSmall {
            needed: 62,
            got: 61
        })
    );
    let nan = Reading {
        value: Value::F32(f32::NAN),
        ..READINGS[0]
    };
    assert_eq!(repr().emit(0, &[nan], &mut buf), Err(Error::NonFiniteValue));
    let bad = Reading {
        metric: Metric::Name("a/b"),
        ..READINGS[0]
    };
    assert_eq!(
        repr().emit(0, &[bad], &mut buf),
        Err(Error::BadMetricName(BadName::BadByte(b'/')))
    );
    // Each reading is 8 bytes (Code(1): 2, offset 0: 1, F32: 5); 128 of them plus base 0 = 1025.
    let many = [READINGS[0]; 128];
    assert_eq!(
        repr().emit(0, &many, &mut buf),
        Err(Error::BodyTooLong {
            len: 1025,
            max: 1024
        })
    );
    assert_eq!(repr().emit(0, &many[..127], &mut buf), Ok(20 + 1017));
}

#[test]
fn flags() {
    assert_eq!(Flags::from_bits(0), Ok(Flags::EMPTY));
    assert_eq!(Flags::from_bits(1), Ok(Flags::AUTHENTICATED));
    assert_eq!(Flags::from_bits(0x02), Err(Error::UnknownFlags(0x02)));
    assert!((Flags::EMPTY | Flags::AUTHENTICATED).contains(Flags::AUTHENTICATED));
    assert!(!Flags::EMPTY.contains(Flags::AUTHENTICATED));
}

#[test]
fn timestamps() {
    let r = READINGS[1];
    assert_eq!(r.timestamp_ms(BASE_TS, 5), BASE_TS + 1000);
    assert_eq!(
        r.timestamp_ms(0, 5_000),
        6_000,
        "no clock: receive time is the base"
    );
    assert_eq!(Value::I64(-3).as_f64(), -3.0);
    assert_eq!(Value::F32(21.5).as_f64(), 21.5);
}
