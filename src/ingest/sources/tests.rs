use super::*;

mod fixtures {
    #![allow(dead_code)]
    include!("../../../tests/it/fixtures/sources.rs");
}
use fixtures::*;

const NOW: i64 = 1_767_225_600_000;

fn source(format: Format, prefix: &str) -> SourceSettings {
    SourceSettings {
        name: "s".into(),
        format,
        filters: format
            .default_filters()
            .iter()
            .map(|f| f.to_string())
            .collect(),
        device_prefix: prefix.into(),
    }
}

fn run(format: Format, topic: &str, payload: &str) -> Result<Decoded, (Malformed, String)> {
    let sources = [source(format, "")];
    let (source, filter) = route(&sources, topic).expect("a default filter takes the topic");
    decode(source, filter, topic, payload.as_bytes(), NOW)
}

/// `(device, metric, ts, value)` of each reading, sorted by metric.
fn readings_of(decoded: Decoded) -> Vec<(String, String, i64, f64)> {
    let Decoded::Readings(readings) = decoded else {
        panic!("expected readings, got {decoded:?}");
    };
    let mut out: Vec<_> = readings
        .into_iter()
        .map(|r| (r.device, r.metric, r.ts_ms, r.value))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn expect(decoded: Decoded, device: &str, ts: i64, metrics: &[(&str, f64)]) {
    let mut want: Vec<_> = metrics
        .iter()
        .map(|(m, v)| (device.to_owned(), m.to_string(), ts, *v))
        .collect();
    want.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(readings_of(decoded), want);
}

#[test]
fn zigbee2mqtt_numbers_and_on_off_become_readings_and_the_rest_is_skipped() {
    let d = run(Format::Zigbee2mqtt, Z2M_TOPIC, Z2M_SENSOR).unwrap();
    let metrics = [
        ("temperature", 27.34),
        ("humidity", 44.72),
        ("linkquality", 102.0),
    ];
    expect(d, "kitchen_floor_light", NOW, &metrics);
    let d = run(Format::Zigbee2mqtt, Z2M_BULB_TOPIC, Z2M_BULB).unwrap();
    let metrics = [("state", 1.0), ("brightness", 215.0), ("color_temp", 325.0)];
    expect(d, "living_room_lamp", NOW, &metrics);
    assert_eq!(
        run(Format::Zigbee2mqtt, "zigbee2mqtt/b", Z2M_BUTTON),
        Ok(Decoded::Nothing)
    );
}

#[test]
fn zigbee2mqtt_bridge_and_command_topics_are_ignored_and_availability_is_status() {
    for topic in [
        "zigbee2mqtt/bridge/state",
        "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/lamp/set",
    ] {
        assert_eq!(
            run(Format::Zigbee2mqtt, topic, "not json"),
            Ok(Decoded::Nothing),
            "{topic}"
        );
    }
    let topic = "zigbee2mqtt/kitchen/floor_light/availability";
    let want = Decoded::Status("kitchen_floor_light".into(), false);
    assert_eq!(run(Format::Zigbee2mqtt, topic, "offline"), Ok(want));
    let want = Decoded::Status("kitchen_floor_light".into(), true);
    assert_eq!(
        run(Format::Zigbee2mqtt, topic, r#"{"state":"online"}"#),
        Ok(want)
    );
}

#[test]
fn zigbee2mqtt_bad_payloads_and_names_are_refused_and_counted_by_kind() {
    let err = run(Format::Zigbee2mqtt, Z2M_TOPIC, "{").unwrap_err();
    assert_eq!(err.0, Malformed::Json);
    assert_eq!(
        run(Format::Zigbee2mqtt, Z2M_TOPIC, "[1]").unwrap_err().0,
        Malformed::Json
    );
    let err = run(Format::Zigbee2mqtt, "zigbee2mqtt/ãã ", Z2M_SENSOR).unwrap_err();
    assert_eq!(err.0, Malformed::Topic);
}

#[test]
fn device_ids_map_onto_the_naming_rule_with_the_prefix() {
    assert_eq!(
        name_from("kitchen/floor light").as_deref(),
        Some("kitchen_floor_light")
    );
    assert_eq!(name_from("Küche").as_deref(), Some("K_che"));
    assert_eq!(name_from(&"a".repeat(80)).map(|n| n.len()), Some(64));
    assert_eq!(name_from("/ /"), None);
    let sources = [source(Format::Zigbee2mqtt, "z2m.")];
    let d = decode(
        &sources[0],
        "zigbee2mqtt/#",
        Z2M_BULB_TOPIC,
        Z2M_BULB.as_bytes(),
        NOW,
    );
    assert_eq!(readings_of(d.unwrap())[0].0, "z2m.living_room_lamp");
}

#[test]
fn tasmota_sensor_objects_become_sensor_field_metrics_at_receive_time() {
    let d = run(Format::Tasmota, TASMOTA_SENSOR_TOPIC, TASMOTA_SENSOR).unwrap();
    let metrics = [("am2301_temperature", 24.6), ("am2301_humidity", 58.2)];
    expect(d, "th16", NOW, &metrics);
    let with_zone = r#"{"Time":"2026-01-01T01:00:00+01:00","BME280":{"Pressure":1013.2}}"#;
    let d = run(Format::Tasmota, TASMOTA_SENSOR_TOPIC, with_zone).unwrap();
    expect(d, "th16", 1_767_225_600_000, &[("bme280_pressure", 1013.2)]);
}

#[test]
fn tasmota_state_and_lwt() {
    let d = run(Format::Tasmota, TASMOTA_STATE_TOPIC, TASMOTA_STATE).unwrap();
    let metrics = [
        ("vcc", 3.151),
        ("power", 0.0),
        ("wifi_ap", 1.0),
        ("wifi_rssi", 66.0),
    ];
    expect(d, "th16", NOW, &metrics);
    let want = Decoded::Status("th16".into(), true);
    assert_eq!(run(Format::Tasmota, "tele/th16/LWT", "Online"), Ok(want));
    let err = run(Format::Tasmota, "tele/th16/LWT", "maybe").unwrap_err();
    assert_eq!(err.0, Malformed::Status);
    assert_eq!(
        run(Format::Tasmota, TASMOTA_SENSOR_TOPIC, "x")
            .unwrap_err()
            .0,
        Malformed::Json
    );
}

#[test]
fn shelly_notify_status_components_become_readings_at_params_ts() {
    let d = run(Format::Shelly, SHELLY_TOPIC, SHELLY_OUTPUT).unwrap();
    expect(
        d,
        "shellypro4pm-f008d1d8b8b8",
        1_631_186_545_040,
        &[("switch:0.output", 1.0)],
    );
    let d = run(Format::Shelly, SHELLY_TOPIC, SHELLY_METER).unwrap();
    let metrics = [
        ("switch:0.output", 0.0),
        ("switch:0.apower", 0.0),
        ("switch:0.voltage", 237.571),
        ("switch:0.aenergy.total", 14.093),
    ];
    expect(d, "shellypro4pm-f008d1d8b8b8", 1_626_942_400_500, &metrics);
    let ht = r#"{"method":"NotifyStatus","params":{"ts":1700000000,"temperature:0":{"id":0,"tC":21.3},"humidity:0":{"id":0,"rh":51.5},"devicepower:0":{"id":0,"battery":{"V":5.39,"percent":73}}}}"#;
    let d = run(Format::Shelly, "shellyhtg3-1/events/rpc", ht).unwrap();
    let metrics = [
        ("temperature:0.tC", 21.3),
        ("humidity:0.rh", 51.5),
        ("devicepower:0.battery.percent", 73.0),
        ("devicepower:0.battery.V", 5.39),
    ];
    expect(d, "shellyhtg3-1", 1_700_000_000_000, &metrics);
}

#[test]
fn shelly_other_components_and_methods_carry_nothing_and_bad_frames_are_malformed() {
    assert_eq!(
        run(Format::Shelly, SHELLY_TOPIC, SHELLY_CLOUD),
        Ok(Decoded::Nothing)
    );
    let event = r#"{"method":"NotifyEvent","params":{"ts":1,"events":[]}}"#;
    assert_eq!(
        run(Format::Shelly, SHELLY_TOPIC, event),
        Ok(Decoded::Nothing)
    );
    for bad in ["{", r#"{"params":{}}"#, r#"{"method":"NotifyStatus"}"#] {
        assert_eq!(
            run(Format::Shelly, SHELLY_TOPIC, bad).unwrap_err().0,
            Malformed::Json,
            "{bad}"
        );
    }
}

#[test]
fn esphome_states_and_status() {
    let d = run(Format::Esphome, ESPHOME_SENSOR_TOPIC, ESPHOME_SENSOR).unwrap();
    expect(d, "livingroom", NOW, &[("temperature", 21.5)]);
    let d = run(Format::Esphome, ESPHOME_BINARY_TOPIC, ESPHOME_BINARY).unwrap();
    expect(d, "livingroom", NOW, &[("window", 1.0)]);
    let want = Decoded::Status("livingroom".into(), false);
    assert_eq!(
        run(Format::Esphome, ESPHOME_STATUS_TOPIC, "offline"),
        Ok(want)
    );
    assert_eq!(
        run(Format::Esphome, ESPHOME_SENSOR_TOPIC, "nan"),
        Ok(Decoded::Nothing)
    );
    let err = run(Format::Esphome, ESPHOME_SENSOR_TOPIC, "warm").unwrap_err();
    assert_eq!(err.0, Malformed::Json);
    let err = run(Format::Esphome, ESPHOME_BINARY_TOPIC, "2").unwrap_err();
    assert_eq!(err.0, Malformed::Json);
}

#[test]
fn a_topic_goes_to_the_first_source_whose_filter_matches() {
    let sources = [source(Format::Tasmota, ""), source(Format::Esphome, "")];
    assert_eq!(route(&sources, "tele/a/STATE").unwrap().1, "tele/+/STATE");
    assert_eq!(
        route(&sources, "node/status").unwrap().0.format,
        Format::Esphome
    );
    assert!(route(&sources, "acs/dev/telemetry").is_none());
}
