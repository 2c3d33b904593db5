use super::replay::{replay, ReplaySummary};
use super::*;
use crate::ingest::stats::IngestStats;
use crate::model::Event;

const KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";

fn advert(line: &str) -> Advert {
    Advert::from_json_line(line).unwrap()
}

fn metrics(outcome: &Outcome) -> Vec<(String, f64)> {
    match outcome {
        Outcome::Readings { readings, .. } => readings
            .iter()
            .map(|r| (r.metric.clone(), r.value))
            .collect(),
        other => panic!("no readings: {other:?}"),
    }
}

#[test]
fn addresses_parse_in_common_spellings_and_make_device_ids() {
    let mac: BleAddress = "a4:c1:38:8d:18:b2".parse().unwrap();
    assert_eq!(mac, "A4-C1-38-8D-18-B2".parse().unwrap());
    assert_eq!(mac, "a4c1388d18b2".parse().unwrap());
    assert_eq!(mac.to_string(), "A4:C1:38:8D:18:B2");
    assert_eq!(mac.device_id(), "ble-a4c1388d18b2");
    assert!("a4:c1:38".parse::<BleAddress>().is_err());
    assert!("zz:c1:38:8d:18:b2".parse::<BleAddress>().is_err());
    assert_eq!(parse_id16("0x0499"), Ok(0x0499));
    assert_eq!(parse_id16("FCD2"), Ok(0xfcd2));
    assert!(parse_id16("12345").is_err());
    assert!(parse_bindkey("abcd").is_err());
}

#[test]
fn readings_carry_the_device_id_the_capture_time_and_rssi() {
    let mut decoder = BleDecoder::new(BleSettings::default());
    let a = advert(
        r#"{"time": 1767225600123, "mac": "A4:C1:38:8D:18:B2", "rssi": -67,
            "service_data": {"fcd2": "400009015d025d0903b718"}}"#,
    );
    let outcome = decoder.handle(&a, 5);
    let Outcome::Readings { readings, partial } = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(partial, &None);
    assert!(readings
        .iter()
        .all(|r| r.device == "ble-a4c1388d18b2" && r.ts_ms == 1_767_225_600_123));
    assert_eq!(
        metrics(&outcome),
        [
            ("battery".into(), 93.0),
            ("temperature".into(), 23.97),
            ("humidity".into(), 63.27),
            ("rssi".into(), -67.0)
        ]
    );
}

#[test]
fn repeated_packet_ids_are_dropped_per_device() {
    let mut decoder = BleDecoder::new(BleSettings::default());
    let line = |mac: &str, packet: &str| {
        advert(&format!(
            r#"{{"mac": "{mac}", "service_data": {{"fcd2": "4000{packet}015d"}}}}"#
        ))
    };
    let a1 = line("A4:C1:38:00:00:01", "09");
    let b1 = line("A4:C1:38:00:00:02", "09");
    assert!(matches!(decoder.handle(&a1, 1), Outcome::Readings { .. }));
    assert_eq!(decoder.handle(&a1, 2), Outcome::Duplicate);
    // Another device with the same packet id is not a repeat.
    assert!(matches!(decoder.handle(&b1, 3), Outcome::Readings { .. }));
    assert!(matches!(
        decoder.handle(&line("A4:C1:38:00:00:01", "0a"), 4),
        Outcome::Readings { .. }
    ));
    // Without a packet id every advertisement counts.
    let plain = advert(r#"{"mac": "A4:C1:38:00:00:03", "service_data": {"fcd2": "40015d"}}"#);
    assert!(matches!(
        decoder.handle(&plain, 5),
        Outcome::Readings { .. }
    ));
    assert!(matches!(
        decoder.handle(&plain, 6),
        Outcome::Readings { .. }
    ));
}

#[test]
fn bindkeys_allow_and_deny_lists_come_from_the_settings() {
    let mac: BleAddress = "54:48:E6:8F:80:A5".parse().unwrap();
    let sealed = advert(
        r#"{"mac": "54:48:E6:8F:80:A5", "service_data": {"fcd2": "41e445f3c9962b332211006c7c4519"}}"#,
    );
    let mut no_key = BleDecoder::new(BleSettings::default());
    assert!(matches!(no_key.handle(&sealed, 1), Outcome::Malformed(e) if e.contains("bindkey")));

    let device = BleDeviceSettings {
        mac,
        bindkey: Some(parse_bindkey(KEY).unwrap()),
        id: Some("kitchen".into()),
    };
    assert!(
        !format!("{device:?}").contains("231d"),
        "keys stay out of logs"
    );
    let mut keyed = BleDecoder::new(BleSettings {
        devices: vec![device.clone()],
        ..BleSettings::default()
    });
    let outcome = keyed.handle(&sealed, 1);
    assert_eq!(
        metrics(&outcome),
        [("temperature".into(), 25.06), ("humidity".into(), 50.55)]
    );
    let Outcome::Readings { readings, .. } = outcome else {
        unreachable!()
    };
    assert_eq!(readings[0].device, "kitchen");

    let mut wrong = BleDecoder::new(BleSettings {
        devices: vec![BleDeviceSettings {
            bindkey: Some([0; 16]),
            ..device.clone()
        }],
        ..BleSettings::default()
    });
    assert!(matches!(wrong.handle(&sealed, 1), Outcome::Malformed(e) if e.contains("MIC")));

    let other = advert(r#"{"mac": "00:00:00:00:00:01", "service_data": {"fcd2": "40015d"}}"#);
    let mut allow = BleDecoder::new(BleSettings {
        devices: vec![device],
        only_listed: true,
        ..BleSettings::default()
    });
    assert_eq!(
        allow.handle(&other, 1),
        Outcome::Ignored(IgnoreReason::NotAllowed)
    );
    let mut deny = BleDecoder::new(BleSettings {
        deny: vec![other.mac],
        ..BleSettings::default()
    });
    assert_eq!(
        deny.handle(&other, 1),
        Outcome::Ignored(IgnoreReason::Denied)
    );
}

#[test]
fn unknown_payloads_are_ignored_and_known_but_broken_ones_are_malformed() {
    let mut decoder = BleDecoder::new(BleSettings::default());
    let apple = advert(r#"{"mac": "00:00:00:00:00:01", "manufacturer_data": {"004c": "0215"}}"#);
    assert_eq!(
        decoder.handle(&apple, 1),
        Outcome::Ignored(IgnoreReason::UnknownFormat)
    );
    // An unknown payload beside a known one does not hide it.
    let both = advert(
        r#"{"mac": "00:00:00:00:00:02", "manufacturer_data": {"004c": "0215"},
            "service_data": {"181a": "a4c1380283f400a22f5f0bf819"}}"#,
    );
    assert!(matches!(decoder.handle(&both, 1), Outcome::Readings { .. }));
    let short = advert(r#"{"mac": "00:00:00:00:00:03", "service_data": {"181a": "a4c138"}}"#);
    assert!(matches!(decoder.handle(&short, 1), Outcome::Malformed(e) if e.contains("0x181a")));
    // Ruuvi with every field "not available": only the RSSI remains.
    let empty = advert(
        r#"{"mac": "00:00:00:00:00:04", "rssi": -80,
            "manufacturer_data": {"0x0499": "058000FFFFFFFF800080008000FFFFFFFFFFFFFFFFFFFFFF"}}"#,
    );
    assert_eq!(
        metrics(&decoder.handle(&empty, 1)),
        [("rssi".into(), -80.0)]
    );
}

#[test]
fn capture_lines_with_bad_fields_say_which() {
    for (line, needle) in [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        (r#"{"service_data": {"fcd2": "40"}}"#, "\"mac\""),
        (
            r#"{"mac": "x", "service_data": {"fcd2": "40"}}"#,
            "MAC address",
        ),
        (
            r#"{"mac": "000000000001", "rssi": 5000, "service_data": {"fcd2": "40"}}"#,
            "rssi",
        ),
        (
            r#"{"mac": "000000000001", "time": "soon", "service_data": {"fcd2": "40"}}"#,
            "time",
        ),
        (
            r#"{"mac": "000000000001", "service_data": {"fcd2": "4"}}"#,
            "odd number",
        ),
        (
            r#"{"mac": "000000000001", "service_data": {"xyz": "40"}}"#,
            "16-bit hex id",
        ),
        (r#"{"mac": "000000000001"}"#, "payload"),
    ] {
        let err = Advert::from_json_line(line).unwrap_err();
        assert!(err.contains(needle), "{line}: {err}");
    }
    let a = advert(
        r#"{"mac": "000000000001", "time": "2026-01-01T00:00:00Z", "service_data": {"fcd2": "40"}}"#,
    );
    assert_eq!(a.ts_ms, Some(1_767_225_600_000));
}

#[test]
fn replay_counts_every_line_and_sends_readings_in_order() {
    let capture = [
        r#"{"time": 1000, "mac": "A4:C1:38:00:00:01", "rssi": -60, "service_data": {"fcd2": "400009015d"}}"#,
        r#"{"time": 1001, "mac": "A4:C1:38:00:00:01", "rssi": -61, "service_data": {"fcd2": "400009015d"}}"#,
        "",
        "garbage",
        &format!("{{\"pad\": \"{}\"}}", "x".repeat(5000)),
        r#"{"time": 1002, "mac": "A4:C1:38:00:00:01", "manufacturer_data": {"004c": "00"}}"#,
        r#"{"time": 1003, "mac": "A4:C1:38:00:00:01", "rssi": -62, "service_data": {"fcd2": "40000a015c"}}"#,
    ]
    .join("\n");
    let (tx, rx) = async_channel::bounded(16);
    let summary = replay(
        capture.as_bytes(),
        BleSettings::default(),
        &tx,
        &IngestStats::default(),
        &crate::threads::StopFlag::default(),
    );
    assert_eq!(
        summary,
        ReplaySummary {
            lines: 6,
            accepted: 2,
            readings: 4,
            duplicates: 1,
            ignored: 1,
            malformed: 2,
        }
    );
    let mut values = Vec::new();
    while let Ok(Event::Readings(transport, readings)) = rx.try_recv() {
        assert_eq!(transport, crate::model::Transport::Ble);
        values.extend(readings.into_iter().map(|r| (r.metric, r.value, r.ts_ms)));
    }
    assert_eq!(
        values,
        [
            ("battery".to_string(), 93.0, 1000),
            ("rssi".to_string(), -60.0, 1000),
            ("battery".to_string(), 92.0, 1003),
            ("rssi".to_string(), -62.0, 1003),
        ]
    );
}
