//! Spec examples of every format, byte for byte. The BTHome object examples are the "Example"
//! column of <https://bthome.io/format>; the encrypted ones come from
//! <https://bthome.io/encryption> and the bthome-ble test suite.

use super::bthome::object;
use super::*;
use crate::metric::{validate_metric_name, MetricCode};

fn hex(text: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    let digits = text.as_bytes();
    for (i, pair) in digits.chunks(2).enumerate() {
        let s = core::str::from_utf8(pair).unwrap();
        out[i] = u8::from_str_radix(s, 16).unwrap();
    }
    out
}

fn bytes(text: &str) -> ([u8; 64], usize) {
    (hex(text), text.len() / 2)
}

fn value(v: Value) -> f64 {
    v.as_f64()
}

fn bthome(text: &str, context: &Context<'_>) -> Result<Advertisement<'static>, BleError> {
    let (buf, len) = bytes(text);
    let buf: &'static [u8; 64] = Box::leak(Box::new(buf));
    decode_service_data(UUID_BTHOME, &buf[..len], context)
}

fn assert_close(got: Option<Value>, want: f64, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: no reading"));
    assert!(
        (value(got) - want).abs() <= want.abs() * 1e-12,
        "{what}: got {got:?}, want {want}"
    );
}

#[test]
fn object_table_is_sorted_unique_and_named_like_the_gateway() {
    for pair in BTHOME_OBJECTS.windows(2) {
        assert!(pair[0].id < pair[1].id, "0x{:02x} out of order", pair[1].id);
    }
    for o in BTHOME_OBJECTS {
        assert_eq!(validate_metric_name(o.name), Ok(()), "{}", o.name);
        assert!(o.den > 0 && o.num != 0);
        assert!(o.len <= 4, "0x{:02x}", o.id);
        assert_eq!(o.len == 0, o.kind == ObjectKind::LengthPrefixed);
    }
    // The daemon's well-known names are used where one fits.
    for name in [
        "temperature",
        "humidity",
        "pressure",
        "battery",
        "voltage",
        "current",
        "power",
        "energy",
        "illuminance",
        "co2",
        "pm25",
        "pm10",
        "moisture",
        "count",
        "distance",
        "motion",
        "rain",
        "uv_index",
        "weight",
    ] {
        assert!(MetricCode::from_name(name).is_some(), "{name}");
        assert!(BTHOME_OBJECTS.iter().any(|o| o.name == name), "{name}");
    }
    assert_eq!(object(0x45).map(|o| o.name), Some("temperature"));
    assert_eq!(object(0x30), None);
    assert_eq!(object(0xff), None);
}

#[test]
fn bthome_object_examples_of_the_format_page_decode_to_gateway_units() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, f64)] = &[
        ("0161", "battery", 97.0),
        ("02ca09", "temperature", 25.06),
        ("03bf13", "humidity", 50.55),
        ("04138a01", "pressure", 1008.83),
        ("05138a14", "illuminance", 13460.67),
        ("065e1f", "weight", 80.3),
        ("073e1d", "weight_lb", 74.86),
        ("08ca06", "dew_point", 17.38),
        ("0960", "count", 96.0),
        ("0a138a14", "energy", 1_346_067.0), // 1346.067 kWh in Wh
        ("0b021b00", "power", 69.14),
        ("0c020c", "voltage", 3.074),
        ("0d120c", "pm25", 3090.0),
        ("0e021c", "pm10", 7170.0),
        ("1100", "opening", 0.0),
        ("12e204", "co2", 1250.0),
        ("133301", "tvoc_ugm3", 307.0),
        ("14020c", "moisture", 30.74),
        ("2101", "motion", 1.0),
        ("2e23", "humidity", 35.0),
        ("2f23", "moisture", 35.0),
        ("3a01", "button", 1.0),
        ("3c0103", "dimmer", -3.0),
        ("3c0203", "dimmer", 3.0),
        ("3d0960", "count", 24585.0),
        ("3e2a2c0960", "count", 1_611_213_866.0),
        ("3f020c", "rotation", 307.4),
        ("400c00", "distance", 12.0),
        ("414e00", "distance", 7800.0), // 7.8 m in mm
        ("424e3400", "duration", 13.39),
        ("434e34", "current", 13.39),
        ("444e34", "speed", 133.9),
        ("451101", "temperature", 27.3),
        ("4632", "uv_index", 5.0),
        ("478756", "volume", 2215.1),
        ("48dc87", "volume", 34.78), // 34780 mL in L
        ("49dc87", "volume_flow_rate", 34.78),
        ("4a020c", "voltage", 307.4),
        ("4b138a14", "gas", 1346.067),
        ("4c41018a01", "gas", 25821.505),
        ("4d12138a14", "energy", 344_593_170.0), // 344593.170 kWh in Wh
        ("4e87562a01", "volume", 19551.879),
        ("4f87562a01", "water", 19551.879),
        ("518756", "acceleration", 22.151),
        ("528756", "gyroscope", 22.151),
        ("5587562a01", "volume_storage", 19551.879),
        ("56e803", "conductivity", 1000.0),
        ("5719", "temperature", 25.0),
        ("5823", "temperature", 12.25),
        ("59ea", "count", -22.0),
        ("5aeaea", "count", -5398.0),
        ("5bea0234ea", "count", -365_690_134.0),
        ("5c02fbffff", "power", -12.78),
        ("5d02ea", "current", -5.63),
        ("5e8756", "direction", 221.51),
        ("5f8756", "rain", 2215.1),
        ("6001", "channel", 1.0),
        ("618756", "rotational_speed", 22151.0),
        ("6287560000", "speed", 0.022151),
        ("63ffffffff", "acceleration", -0.000001),
    ];
    for (objects, name, want) in cases {
        let mut text = [0u8; 40];
        text[..2].copy_from_slice(b"40");
        text[2..2 + objects.len()].copy_from_slice(objects.as_bytes());
        let text = core::str::from_utf8(&text[..2 + objects.len()]).unwrap();
        let adv = bthome(text, &Context::default()).unwrap();
        assert_eq!(adv.stopped, None, "{objects}");
        assert_eq!(adv.readings.len(), 1, "{objects}");
        assert_close(adv.readings.get(name), *want, objects);
    }
}

#[test]
fn bthome_packet_with_packet_id_and_several_objects() {
    // bthome-ble issue 118, explained by the BTHome author.
    let adv = bthome("40003f015e02820803ac170c830b", &Context::default()).unwrap();
    assert_eq!(adv.packet_id, Some(63));
    assert_eq!(adv.readings.len(), 4);
    assert_close(adv.readings.get("battery"), 94.0, "battery");
    assert_close(adv.readings.get("temperature"), 21.78, "temperature");
    assert_close(adv.readings.get("humidity"), 60.6, "humidity");
    assert_close(adv.readings.get("voltage"), 2.947, "voltage");
    assert!(!adv.encrypted);
}

#[test]
fn bthome_mac_in_payload_text_and_info_objects_are_not_readings() {
    let adv = bthome("42b2188d38c1a404138a01", &Context::default()).unwrap();
    assert_eq!(adv.mac, Some([0xa4, 0xc1, 0x38, 0x8d, 0x18, 0xb2]));
    assert_close(adv.readings.get("pressure"), 1008.83, "pressure");
    // Text "Hello World!", trigger-based device.
    let adv = bthome("44530c48656c6c6f20576f726c6421", &Context::default()).unwrap();
    assert!(adv.readings.is_empty() && adv.stopped.is_none());
    let adv = bthome("40f00100f101020304f2010203500a0b0c0d", &Context::default()).unwrap();
    assert!(adv.readings.is_empty() && adv.stopped.is_none());
}

#[test]
fn bthome_unknown_object_stops_decoding_and_keeps_what_came_before() {
    let adv = bthome("40015dfe5d0903b718", &Context::default()).unwrap();
    assert_eq!(adv.readings.len(), 1);
    assert_close(adv.readings.get("battery"), 93.0, "battery");
    assert_eq!(
        adv.stopped,
        Some(BleError::UnknownObject {
            id: 0xfe,
            offset: 2
        })
    );
    let adv = bthome("40feca09", &Context::default()).unwrap();
    assert!(adv.readings.is_empty());
    // A last object cut short is not read as a shorter number.
    let adv = bthome("4002ca0903bf", &Context::default()).unwrap();
    assert_eq!(adv.readings.len(), 1);
    assert!(matches!(adv.stopped, Some(BleError::Truncated { .. })));
}

#[test]
fn bthome_versions_other_than_2_are_refused() {
    for (text, version) in [("e102000c0404138a01", 7), ("2002ca09", 1), ("0002ca09", 0)] {
        assert_eq!(
            bthome(text, &Context::default()),
            Err(BleError::UnsupportedVersion {
                format: Format::BtHomeV2,
                version
            })
        );
    }
    assert!(matches!(
        bthome("", &Context::default()),
        Err(BleError::Truncated { .. })
    ));
}

const KEY: [u8; 16] = [
    0x23, 0x1d, 0x39, 0xc1, 0xd7, 0xcc, 0x1a, 0xb1, 0xae, 0xe2, 0x24, 0xcd, 0x09, 0x6d, 0xb9, 0x32,
];
const MAC: Mac = [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5];

#[test]
fn bthome_encrypted_examples_decrypt_with_the_bindkey() {
    let context = Context {
        mac: Some(MAC),
        bindkey: Some(&KEY),
        frame_company_id: None,
    };
    for (text, counter) in [
        // bthome.io/encryption: counter 0x00112233, little-endian on the air.
        ("41e445f3c9962b332211006c7c4519", 0x0011_2233),
        // bthome-ble tests: the same readings with the counter bytes 00 11 22 33.
        ("41a47266c95f730011223378237214", 0x3322_1100),
    ] {
        let adv = bthome(text, &context).unwrap();
        assert!(adv.encrypted);
        assert_eq!(adv.packet_id, Some(counter));
        assert_eq!(adv.readings.len(), 2);
        assert_close(adv.readings.get("temperature"), 25.06, text);
        assert_close(adv.readings.get("humidity"), 50.55, text);
    }
    // MAC in the payload: the radio's address is not needed.
    let payload_mac = Context {
        bindkey: Some(&KEY),
        ..Context::default()
    };
    let adv = bthome("43a5808fe64854f196c06ffb4900112233f08ecbde", &payload_mac).unwrap();
    assert_eq!(adv.mac, Some(MAC));
    assert_close(adv.readings.get("temperature"), 25.06, "mac included");
}

#[test]
fn bthome_encrypted_payload_needs_the_right_key_and_mac() {
    let text = "41e445f3c9962b332211006c7c4519";
    let wrong_key = [0x11; 16];
    let mut wrong_mac = MAC;
    wrong_mac[5] ^= 1;
    let with = |mac, bindkey| Context {
        mac,
        bindkey,
        frame_company_id: None,
    };
    assert_eq!(
        bthome(text, &with(Some(MAC), None)),
        Err(BleError::NeedsBindkey)
    );
    assert_eq!(
        bthome(text, &with(None, Some(&KEY))),
        Err(BleError::NeedsMac)
    );
    assert_eq!(
        bthome(text, &with(Some(MAC), Some(&wrong_key))),
        Err(BleError::BadMic)
    );
    assert_eq!(
        bthome(text, &with(Some(wrong_mac), Some(&KEY))),
        Err(BleError::BadMic)
    );
    // One flipped bit anywhere after the device info byte fails the MIC.
    let (buf, len) = bytes(text);
    for i in 1..len {
        let mut bad = buf;
        bad[i] ^= 0x04;
        let got = decode_service_data(UUID_BTHOME, &bad[..len], &with(Some(MAC), Some(&KEY)));
        assert_eq!(got, Err(BleError::BadMic), "byte {i}");
    }
    assert!(matches!(
        bthome("41e445f3c9", &with(Some(MAC), Some(&KEY))),
        Err(BleError::Truncated { .. })
    ));
}

#[test]
fn pvvx_and_atc1441_are_told_apart_by_length() {
    let (buf, len) = bytes("f4830238c1a4a9066911b60b58f70d");
    let adv =
        decode_service_data(UUID_ENVIRONMENTAL_SENSING, &buf[..len], &Context::default()).unwrap();
    assert_eq!(adv.format, Format::PvvxCustom);
    assert_eq!(adv.mac, Some([0xa4, 0xc1, 0x38, 0x02, 0x83, 0xf4]));
    assert_eq!(adv.packet_id, Some(247));
    assert_close(adv.readings.get("temperature"), 17.05, "pvvx temperature");
    // Negative temperatures: -5.5 °C is 0xfdda little-endian.
    let (buf, len) = bytes("f4830238c1a4dafd6911b60b58f70d");
    let adv =
        decode_service_data(UUID_ENVIRONMENTAL_SENSING, &buf[..len], &Context::default()).unwrap();
    assert_close(adv.readings.get("temperature"), -5.5, "pvvx negative");

    let (buf, len) = bytes("a4c1380283f400a22f5f0bf819");
    let adv =
        decode_service_data(UUID_ENVIRONMENTAL_SENSING, &buf[..len], &Context::default()).unwrap();
    assert_eq!(adv.format, Format::Atc1441);
    assert_eq!(adv.mac, Some([0xa4, 0xc1, 0x38, 0x02, 0x83, 0xf4]));
    // -1.5 °C is 0xfff1 big-endian.
    let (buf, len) = bytes("a4c1380283f4fff12f5f0bf819");
    let adv =
        decode_service_data(UUID_ENVIRONMENTAL_SENSING, &buf[..len], &Context::default()).unwrap();
    assert_close(adv.readings.get("temperature"), -1.5, "atc negative");

    let (buf, _) = bytes("a4c1380283f400a22f5f0bf819");
    assert_eq!(
        decode_service_data(UUID_ENVIRONMENTAL_SENSING, &buf[..14], &Context::default()),
        Err(BleError::UnexpectedLength {
            format: None,
            len: 14
        })
    );
}

#[test]
fn ruuvi_rejects_other_data_formats_and_lengths() {
    let (buf, len) = bytes("0512fc5394c37c0004fffc040cac364200cdcbb8334c884f");
    assert!(decode_manufacturer_data(COMPANY_RUUVI, &buf[..len], &Context::default()).is_ok());
    assert_eq!(
        decode_manufacturer_data(COMPANY_RUUVI, &buf[..len - 1], &Context::default()),
        Err(BleError::UnexpectedLength {
            format: Some(Format::RuuviV5),
            len: len - 1
        })
    );
    let (buf, len) = bytes("0312fc5394c37c");
    assert_eq!(
        decode_manufacturer_data(COMPANY_RUUVI, &buf[..len], &Context::default()),
        Err(BleError::UnsupportedVersion {
            format: Format::RuuviV5,
            version: 3
        })
    );
    // Minimum and maximum values of dataformat_05.md.
    let (buf, len) = bytes("058001000000008001800180010000000000cbb8334c884f");
    let adv = decode_manufacturer_data(COMPANY_RUUVI, &buf[..len], &Context::default()).unwrap();
    assert_close(adv.readings.get("temperature"), -163.835, "min temperature");
    assert_close(adv.readings.get("pressure"), 500.0, "min pressure");
    assert_close(adv.readings.get("acc_x_mg"), -32767.0, "min acceleration");
    assert_close(adv.readings.get("battery_mv"), 1600.0, "min battery");
    assert_close(adv.readings.get("tx_power_dbm"), -40.0, "min tx power");
    let (buf, len) = bytes("057ffffffefffe7fff7fff7fffffdefefffecbb8334c884f");
    let adv = decode_manufacturer_data(COMPANY_RUUVI, &buf[..len], &Context::default()).unwrap();
    assert_close(adv.readings.get("temperature"), 163.835, "max temperature");
    assert_close(adv.readings.get("humidity"), 163.835, "max humidity");
    assert_close(adv.readings.get("pressure"), 1155.34, "max pressure");
    assert_close(adv.readings.get("battery_mv"), 3646.0, "max battery");
    assert_close(adv.readings.get("tx_power_dbm"), 20.0, "max tx power");
    assert_close(adv.readings.get("movement_counter"), 254.0, "max movement");
    assert_eq!(adv.packet_id, Some(65534));
}

#[test]
fn acs_frames_ride_in_manufacturer_data_of_the_configured_company() {
    let readings = [Reading {
        metric: Metric::Code(MetricCode::TEMPERATURE),
        ts_offset_ms: 0,
        value: Value::F32(21.5),
    }];
    let mut buf = [0u8; 64];
    let len = crate::FrameRepr::new(0x0011_2233_4455_6677, 42)
        .emit(0, &readings, &mut buf)
        .unwrap();
    let context = Context {
        frame_company_id: Some(0xffff),
        ..Context::default()
    };
    let adv = decode_manufacturer_data(0xffff, &buf[..len], &context).unwrap();
    assert_eq!(adv.format, Format::AcsFrame);
    assert_eq!(adv.packet_id, Some(42));
    assert_eq!(adv.device_id, Some(0x0011_2233_4455_6677));
    assert_eq!(adv.readings.as_slice(), &readings);
    assert_eq!(adv.readings.get("temperature"), Some(Value::F32(21.5)));
    assert_eq!(
        decode_manufacturer_data(0xffff, &buf[..len], &Context::default()),
        Err(BleError::UnknownManufacturer(0xffff))
    );
    buf[len - 1] ^= 1;
    assert!(matches!(
        decode_manufacturer_data(0xffff, &buf[..len], &context),
        Err(BleError::Frame(crate::Error::BadCrc { .. }))
    ));
}

#[test]
fn unknown_carriers_and_oversize_payloads_are_refused() {
    assert_eq!(
        decode_service_data(0xfe95, &[1, 2], &Context::default()),
        Err(BleError::UnknownServiceData(0xfe95))
    );
    assert_eq!(
        decode_manufacturer_data(0x004c, &[1, 2], &Context::default()),
        Err(BleError::UnknownManufacturer(0x004c))
    );
    let big = [0x40u8; 256];
    assert_eq!(
        decode_service_data(UUID_BTHOME, &big, &Context::default()),
        Err(BleError::TooLong { len: 256, max: 255 })
    );
}

#[test]
fn more_readings_than_fit_is_an_error() {
    let mut payload = [0x01u8; 67]; // device info + 33 battery objects
    payload[0] = 0x40;
    assert_eq!(
        decode_service_data(UUID_BTHOME, &payload, &Context::default()),
        Err(BleError::TooManyReadings)
    );
    assert!(decode_service_data(UUID_BTHOME, &payload[..65], &Context::default()).is_ok());
}
