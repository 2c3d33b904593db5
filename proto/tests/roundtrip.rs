//! Property tests: emit -> parse is the identity, arbitrary input never panics, and the CRC
//! catches every single-bit error.

use acs_proto::{
    parse_unauthenticated, Error, Flags, Frame, FrameRepr, Metric, MetricCode, Reading, Value,
    MAX_BODY_LEN, MAX_FRAME_LEN, MIN_FRAME_LEN,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// An owned metric, so generated readings can borrow their names from it.
#[derive(Debug, Clone)]
enum OwnedMetric {
    Code(u16),
    Name(String),
}

fn metric() -> impl Strategy<Value = OwnedMetric> {
    prop_oneof![
        any::<u16>().prop_map(OwnedMetric::Code),
        (1..=28u16).prop_map(OwnedMetric::Code),
        "[A-Za-z0-9_.:-]{1,64}".prop_map(OwnedMetric::Name),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f32>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Value::F32),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(Value::F64),
        any::<i64>().prop_map(Value::I64),
    ]
}

fn readings() -> impl Strategy<Value = Vec<(OwnedMetric, u32, Value)>> {
    vec((metric(), any::<u32>(), value()), 0..16)
}

fn borrow(owned: &[(OwnedMetric, u32, Value)]) -> Vec<Reading<'_>> {
    owned
        .iter()
        .map(|(m, ts_offset_ms, value)| Reading {
            metric: match m {
                OwnedMetric::Code(c) => Metric::Code(MetricCode(*c)),
                OwnedMetric::Name(n) => Metric::Name(n),
            },
            ts_offset_ms: *ts_offset_ms,
            value: *value,
        })
        .collect()
}

fn fake_mic(bytes: &[u8]) -> [u8; 4] {
    let x = bytes
        .iter()
        .fold(0x9e37_79b9u32, |h, &b| h.rotate_left(5) ^ u32::from(b));
    x.to_le_bytes()
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(
        device_id in any::<u64>(),
        counter in any::<u32>(),
        base_ts_ms in any::<u64>(),
        owned in readings(),
    ) {
        let readings = borrow(&owned);
        let repr = FrameRepr::new(device_id, counter);
        let len = repr.buffer_len(base_ts_ms, &readings);
        let mut buf = vec![0u8; len + 8];
        if len > MAX_FRAME_LEN {
            prop_assert_eq!(
                repr.emit(base_ts_ms, &readings, &mut buf),
                Err(Error::BodyTooLong { len: len - MIN_FRAME_LEN, max: MAX_BODY_LEN })
            );
            return Ok(());
        }
        prop_assert_eq!(repr.emit(base_ts_ms, &readings, &mut buf[..len - 1]),
            Err(Error::BufferTooSmall { needed: len, got: len - 1 }));
        prop_assert_eq!(repr.emit(base_ts_ms, &readings, &mut buf), Ok(len));

        let (header, iter) = parse_unauthenticated(&buf[..len]).unwrap();
        prop_assert_eq!(header, repr);
        prop_assert_eq!(iter.base_ts_ms(), base_ts_ms);
        let parsed: Result<Vec<_>, _> = iter.collect();
        prop_assert_eq!(parsed.unwrap(), readings);
    }

    #[test]
    fn authenticated_round_trip(
        device_id in any::<u64>(),
        counter in any::<u32>(),
        base_ts_ms in any::<u64>(),
        owned in vec((metric(), any::<u32>(), value()), 0..8),
    ) {
        let readings = borrow(&owned);
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = FrameRepr::new(device_id, counter)
            .emit_authenticated(base_ts_ms, &readings, &mut buf, fake_mic)
            .unwrap();
        let frame = Frame::new_checked(&buf[..len]).unwrap();
        prop_assert_eq!(frame.trailer(), fake_mic(frame.mic_input()));
        let header = FrameRepr::parse(&frame);
        prop_assert_eq!(header.flags, Flags::AUTHENTICATED);
        prop_assert_eq!((header.device_id, header.counter), (device_id, counter));
        let parsed: Result<Vec<_>, _> = frame.into_readings().unwrap().collect();
        prop_assert_eq!(parsed.unwrap(), readings);
    }

    #[test]
    fn every_single_bit_flip_is_detected(
        owned in vec((metric(), any::<u32>(), value()), 0..6),
        base_ts_ms in any::<u64>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let readings = borrow(&owned);
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = FrameRepr::new(1, 2).emit(base_ts_ms, &readings, &mut buf).unwrap();
        let bit = bit.index(len * 8);
        buf[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(parse_unauthenticated(&buf[..len]).is_err(), "flip of bit {} not detected", bit);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..1100)) {
        if let Ok(frame) = Frame::new_checked(&bytes[..]) {
            let _ = frame.check_crc();
            let _ = (frame.device_id(), frame.counter(), frame.trailer(), frame.mic_input());
            if let Ok(iter) = frame.readings() {
                iter.for_each(drop);
            }
        }
        if let Ok((_, iter)) = parse_unauthenticated(&bytes) {
            iter.for_each(drop);
        }
    }

    /// Arbitrary bodies behind a valid header and CRC, so the body decoder sees them.
    #[test]
    fn arbitrary_bodies_never_panic_and_stop_after_an_error(
        body in vec(any::<u8>(), 0..200),
    ) {
        let mut buf = vec![0u8; 20 + body.len()];
        buf[0] = 1;
        buf[14..16].copy_from_slice(&(body.len() as u16).to_be_bytes());
        buf[16..16 + body.len()].copy_from_slice(&body);
        let crc = crc32(&buf[..16 + body.len()]);
        let n = buf.len();
        buf[n - 4..].copy_from_slice(&crc.to_be_bytes());
        match parse_unauthenticated(&buf) {
            Ok((_, iter)) => {
                let mut errors = 0;
                let mut count = 0;
                for item in iter {
                    prop_assert_eq!(errors, 0, "nothing after an error");
                    count += 1;
                    match item {
                        Ok(r) => prop_assert!(r.validate().is_ok()),
                        Err(_) => errors += 1,
                    }
                }
                prop_assert!(count <= body.len(), "at most one reading per body byte");
            }
            Err(e) => prop_assert!(matches!(e, Error::MalformedBody { offset: 0, .. }), "{:?}", e),
        }
    }
}

/// CRC-32/ISO-HDLC, bit by bit: an oracle independent of the `crc` crate.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn oracle_crc_check_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}
