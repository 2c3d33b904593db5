//! End to end: a BLE capture file replayed by the real daemon (`--replay-ble`) reaches the store
//! and comes back over REST; repeats are dropped by packet id, RSSI is kept, devices are
//! registered with transport `ble`, and bad lines are counted without stopping the replay.

use crate::common;

use common::*;
use serde_json::{json, Value};

fn metric_values(items: &[Value], metric: &str) -> Vec<(i64, f64)> {
    let mut out: Vec<_> = items
        .iter()
        .filter(|r| r["metric"] == metric)
        .map(|r| (r["ts"].as_i64().unwrap(), r["value"].as_f64().unwrap()))
        .collect();
    out.sort_by_key(|(ts, _)| *ts);
    out
}

#[test]
fn replayed_capture_is_stored_deduplicated_and_served_over_rest() {
    let t0: i64 = 1_767_225_600_000;
    let capture = [
        // pvvx thermometer: the same measurement advertised twice (counter 0xf7), then a new one.
        json!({"time": t0, "mac": "A4:C1:38:02:83:F4", "rssi": -70,
               "service_data": {"181a": "f4830238c1a4a9066911b60b58f70d"}}),
        json!({"time": t0 + 1000, "mac": "A4:C1:38:02:83:F4", "rssi": -71,
               "service_data": {"181a": "f4830238c1a4a9066911b60b58f70d"}}),
        json!({"time": t0 + 60_000, "mac": "A4:C1:38:02:83:F4", "rssi": -69,
               "service_data": {"181a": "f4830238c1a4b0066911b60b58f80d"}}),
        // BTHome sensor with packet ids 9, 9 (repeat) and 10; RFC 3339 time.
        json!({"time": "2026-01-01T00:00:00Z", "mac": "11:22:33:44:55:66", "rssi": -55,
               "service_data": {"fcd2": "400009015d025d0903b718"}}),
        json!({"time": "2026-01-01T00:00:01Z", "mac": "11:22:33:44:55:66", "rssi": -56,
               "service_data": {"fcd2": "400009015d025d0903b718"}}),
        json!({"time": "2026-01-01T00:01:00Z", "mac": "11:22:33:44:55:66", "rssi": -57,
               "service_data": {"fcd2": "40000a015c02600903b718"}}),
        // RuuviTag beside an unrelated Apple payload.
        json!({"time": t0, "mac": "CB:B8:33:4C:88:4F", "rssi": -80,
               "manufacturer_data": {"004c": "0215", "0x0499": "0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"}}),
        // Encrypted BTHome without a configured bindkey: refused and counted.
        json!({"time": t0, "mac": "54:48:E6:8F:80:A5", "rssi": -60,
               "service_data": {"fcd2": "41e445f3c9962b332211006c7c4519"}}),
    ];
    let mut text: String = capture.iter().map(|l| format!("{l}\n")).collect();
    text.push_str("this line is not JSON\n");
    text.push_str(
        "{\"mac\": \"00:00:00:00:00:01\", \"manufacturer_data\": {\"004c\": \"0215\"}}\n",
    );

    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.jsonl");
    std::fs::write(&path, text).unwrap();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.args = vec!["--replay-ble".into(), path.to_str().unwrap().into()];
    let daemon = Daemon::start(&cfg);
    wait_until("the replay to finish", patience(), || {
        daemon.log().contains("BLE replay finished").then_some(())
    });
    let log = daemon.log();
    assert!(
        log.contains("lines=10 accepted=5 readings=28 duplicates=2 ignored=1 malformed=2"),
        "{log}"
    );
    assert!(
        log.contains("bindkey"),
        "the refused encrypted line is logged: {log}"
    );

    let pvvx = wait_until("pvvx readings", patience(), || {
        let items = daemon.all_readings("ble-a4c1380283f4");
        (items.len() >= 10).then_some(items)
    });
    assert_eq!(pvvx.len(), 10, "5 readings x 2 measurements: {pvvx:?}");
    assert_eq!(
        metric_values(&pvvx, "temperature"),
        [(t0, 17.05), (t0 + 60_000, 17.12)]
    );
    assert_eq!(
        metric_values(&pvvx, "rssi"),
        [(t0, -70.0), (t0 + 60_000, -69.0)]
    );
    assert_eq!(
        metric_values(&pvvx, "battery_mv"),
        [(t0, 2998.0), (t0 + 60_000, 2998.0)]
    );

    let bthome = wait_until("BTHome readings", patience(), || {
        let items = daemon.all_readings("ble-112233445566");
        (items.len() >= 8).then_some(items)
    });
    assert_eq!(bthome.len(), 8);
    assert_eq!(
        metric_values(&bthome, "battery"),
        [(t0, 93.0), (t0 + 60_000, 92.0)]
    );
    assert_eq!(
        metric_values(&bthome, "temperature"),
        [(t0, 23.97), (t0 + 60_000, 24.0)]
    );

    let ruuvi = wait_until("Ruuvi readings", patience(), || {
        let items = daemon.all_readings("ble-cbb8334c884f");
        (items.len() >= 10).then_some(items)
    });
    assert!(ruuvi.contains(
        &json!({"device": "ble-cbb8334c884f", "metric": "pressure", "ts": t0, "value": 1000.44})
    ));
    assert!(ruuvi.contains(
        &json!({"device": "ble-cbb8334c884f", "metric": "rssi", "ts": t0, "value": -80.0})
    ));

    let (status, devices) = daemon.get("/api/v1/devices");
    assert_eq!(status, 200);
    let ble: Vec<_> = devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["transport"] == "ble")
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ble,
        ["ble-112233445566", "ble-a4c1380283f4", "ble-cbb8334c884f"]
    );
    let (status, one) = daemon.get("/api/v1/devices/ble-a4c1380283f4");
    assert_eq!(status, 200);
    assert_eq!(one["transport"], "ble");
    assert!(daemon.get("/api/v1/devices/ble-5448e68f80a5").0 == 404);
}

#[test]
fn a_missing_capture_file_is_logged_and_the_daemon_keeps_running() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.args = vec!["--replay-ble".into(), "/nonexistent/capture.jsonl".into()];
    let daemon = Daemon::start(&cfg);
    wait_until("the replay error", patience(), || {
        daemon
            .log()
            .contains("cannot open the BLE capture")
            .then_some(())
    });
    assert_eq!(daemon.health()["status"], "ok", "{}", daemon.log());
}

#[test]
fn config_ble_lists_bindkeys_and_device_ids_apply_to_the_replay() {
    let t0: i64 = 1_767_225_600_000;
    let capture = [
        // Encrypted BTHome of the configured device (bindkey, id 'balcony').
        json!({"time": t0, "mac": "54:48:E6:8F:80:A5", "rssi": -60,
               "service_data": {"fcd2": "41e445f3c9962b332211006c7c4519"}}),
        // On the allow list without a section: stored under its default id.
        json!({"time": t0, "mac": "A4:C1:38:02:83:F4", "rssi": -70,
               "service_data": {"181a": "f4830238c1a4a9066911b60b58f70d"}}),
        // Neither allowed nor configured: ignored.
        json!({"time": t0, "mac": "11:22:33:44:55:66", "rssi": -55,
               "service_data": {"fcd2": "400009015d025d0903b718"}}),
    ];
    let text: String = capture.iter().map(|l| format!("{l}\n")).collect();
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.jsonl");
    std::fs::write(&path, text).unwrap();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.args = vec!["--replay-ble".into(), path.to_str().unwrap().into()];
    cfg.extra = "config ble 'ble'\n\tlist allow 'a4-c1-38-02-83-f4'\n\n\
                 config ble_device 'balcony'\n\toption mac '54:48:e6:8f:80:a5'\n\
                 \toption bindkey '231d39c1d7cc1ab1aee224cd096db932'\n\toption id 'balcony'\n"
        .into();
    let daemon = Daemon::start(&cfg);
    wait_until("the replay to finish", patience(), || {
        daemon.log().contains("BLE replay finished").then_some(())
    });
    let log = daemon.log();
    assert!(log.contains("lines=3 accepted=2"), "{log}");
    assert!(log.contains("ignored=1 malformed=0"), "{log}");
    assert!(
        !log.contains("231d39c1"),
        "the bindkey is never logged: {log}"
    );
    let balcony = wait_until("the decrypted readings", patience(), || {
        let items = daemon.all_readings("balcony");
        items.iter().any(|r| r["metric"] == "rssi").then_some(items)
    });
    assert!(
        balcony.contains(&json!({"device": "balcony", "metric": "rssi", "ts": t0, "value": -60.0}))
    );
    assert!(balcony.len() >= 2, "{balcony:?}");
    assert!(!daemon.all_readings("ble-a4c1380283f4").is_empty());
    assert_eq!(daemon.get("/api/v1/devices/ble-112233445566").0, 404);
    let ble = daemon.health()["ble"].clone();
    assert_eq!(ble["unknown_devices"], 1, "{ble}");
    assert_eq!(ble["scanner"]["state"], "off", "{ble}");
}
