//! `config source` sections end to end: payloads from each project's documentation, published
//! to a real mosquitto in the project's own topic layout, come back from `GET /api/v1/telemetry`
//! as the documented readings; bridge topics are ignored, a bad payload is counted, a disabled
//! source is not subscribed, and a reload subscribes to a new source.

use crate::common;

use common::*;
use serde_json::Value;

#[path = "fixtures/sources.rs"]
#[allow(dead_code)]
mod fixtures;
use fixtures::*;

/// Readings of `device` as sorted `(metric, ts, value)`, once there are `n`.
fn readings(daemon: &Daemon, device: &str, n: usize) -> Vec<(String, i64, f64)> {
    let items = wait_until(&format!("{n} readings of {device}"), patience(), || {
        let items = daemon.all_readings(device);
        (items.len() >= n).then_some(items)
    });
    let mut out: Vec<_> = items
        .iter()
        .map(|r| {
            let metric = r["metric"].as_str().unwrap().to_owned();
            (
                metric,
                r["ts"].as_i64().unwrap(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The metrics and values of `got`, each checked to have a time between `from` and `to`
/// (readings whose format sends no time take the receive time).
fn received_between(got: &[(String, i64, f64)], from: i64, to: i64) -> Vec<(&str, f64)> {
    for (metric, ts, _) in got {
        assert!(
            (from..=to).contains(ts),
            "{metric} at {ts}, not in {from}..={to}"
        );
    }
    got.iter().map(|(m, _, v)| (m.as_str(), *v)).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn device_listed(daemon: &Daemon, id: &str) -> Option<Value> {
    let (status, devices) = daemon.get("/api/v1/devices");
    assert_eq!(status, 200);
    devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .cloned()
}

const ALL_SOURCES: &str = "config source 'zigbee'\n\toption format 'zigbee2mqtt'\n\n\
    config source 'tasmota'\n\toption format 'tasmota'\n\n\
    config source 'shelly'\n\toption format 'shelly'\n\n\
    config source 'esphome'\n\toption format 'esphome'\n";

#[test]
fn each_format_s_documented_payload_becomes_its_readings() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = ALL_SOURCES.into();
    let daemon = Daemon::start(&cfg);
    daemon.wait_subscribed();
    let publisher = Publisher::connect(broker.port);
    let from = now_ms();
    for (topic, payload) in [
        (Z2M_TOPIC, Z2M_SENSOR),
        (Z2M_BULB_TOPIC, Z2M_BULB),
        ("zigbee2mqtt/bridge/state", r#"{"state":"online"}"#),
        ("zigbee2mqtt/bridge/devices", "[]"),
        (TASMOTA_SENSOR_TOPIC, TASMOTA_SENSOR),
        (TASMOTA_STATE_TOPIC, TASMOTA_STATE),
        (SHELLY_TOPIC, SHELLY_METER),
        (SHELLY_TOPIC, SHELLY_CLOUD),
        (ESPHOME_SENSOR_TOPIC, ESPHOME_SENSOR),
        (ESPHOME_BINARY_TOPIC, ESPHOME_BINARY),
    ] {
        publisher.publish(topic, payload);
    }

    let got = readings(&daemon, "kitchen_floor_light", 3);
    let to = now_ms();
    assert_eq!(
        received_between(&got, from, to),
        [
            ("humidity", 44.72),
            ("linkquality", 102.0),
            ("temperature", 27.34)
        ]
    );
    let got = readings(&daemon, "living_room_lamp", 3);
    assert_eq!(
        received_between(&got, from, to),
        [("brightness", 215.0), ("color_temp", 325.0), ("state", 1.0)]
    );
    // SENSOR then STATE: Tasmota's zone-less `Time` is not used.
    let got = readings(&daemon, "th16", 6);
    assert_eq!(
        received_between(&got, from, now_ms()),
        [
            ("am2301_humidity", 58.2),
            ("am2301_temperature", 24.6),
            ("power", 0.0),
            ("vcc", 3.151),
            ("wifi_ap", 1.0),
            ("wifi_rssi", 66.0),
        ]
    );
    // Shelly's params.ts is the readings' time.
    let got = readings(&daemon, "shellypro4pm-f008d1d8b8b8", 4);
    let ts = 1_626_942_400_500;
    assert_eq!(
        got,
        [
            ("switch:0.aenergy.total".into(), ts, 14.093),
            ("switch:0.apower".into(), ts, 0.0),
            ("switch:0.output".into(), ts, 0.0),
            ("switch:0.voltage".into(), ts, 237.571),
        ]
    );
    let got = readings(&daemon, "livingroom", 2);
    assert_eq!(
        received_between(&got, from, now_ms()),
        [("temperature", 21.5), ("window", 1.0)]
    );
    assert_eq!(
        device_listed(&daemon, "livingroom").unwrap()["online"],
        true
    );
    assert!(device_listed(&daemon, "bridge").is_none());
    assert!(device_listed(&daemon, "bridge_state").is_none());

    // A status, then a bad payload: counted, and ingest goes on.
    publisher.publish(ESPHOME_STATUS_TOPIC, "offline");
    publisher.publish("zigbee2mqtt/broken", "{\"temperature\": ");
    publisher.publish("acs/after/telemetry", r#"{"t": 1}"#);
    readings(&daemon, "after", 1);
    wait_until("livingroom offline", patience(), || {
        (device_listed(&daemon, "livingroom")?["online"] == false).then_some(())
    });
    let malformed = &daemon.health()["mqtt"]["malformed"];
    assert_eq!(malformed["json"], 1, "{malformed}");
    assert_eq!(malformed["topic"], 0, "{malformed}");
}

#[test]
fn a_disabled_source_is_not_subscribed_and_a_reload_subscribes_an_enabled_one() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = "config source 'tasmota'\n\toption format 'tasmota'\n\toption enabled '0'\n".into();
    let daemon = Daemon::start(&cfg);
    daemon.wait_subscribed();
    let publisher = Publisher::connect(broker.port);
    publisher.publish(TASMOTA_SENSOR_TOPIC, TASMOTA_SENSOR);
    publisher.publish("acs/marker/telemetry", r#"{"t": 1}"#);
    readings(&daemon, "marker", 1);
    // Only the acs/ message reached the daemon: the broker never sent the Tasmota one.
    assert_eq!(daemon.health()["mqtt"]["messages"], 1);
    assert!(daemon.all_readings("th16").is_empty());

    let text = std::fs::read_to_string(&daemon.config_path).unwrap();
    let enabled = text.replace("option enabled '0'", "option enabled '1'");
    assert_ne!(text, enabled);
    std::fs::write(&daemon.config_path, enabled).unwrap();
    daemon.signal("HUP");
    wait_until("the reloaded source's readings", patience(), || {
        publisher.publish(TASMOTA_SENSOR_TOPIC, TASMOTA_SENSOR);
        std::thread::sleep(std::time::Duration::from_millis(200));
        (!daemon.all_readings("th16").is_empty()).then_some(())
    });
}
