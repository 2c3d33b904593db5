//! The LuCI status page against the real daemon: readings go through a real mosquitto into the
//! daemon, the API bodies the rpcd plugin would fetch (health, device list, each device's
//! recent telemetry) are taken from the running daemon, and `luci-app/tests/status-view.js`
//! renders the status view with them (node). A renamed or reshaped field in the API that the
//! page relies on fails here.

use crate::common;

use common::{patience, wait_until, Broker, Daemon, DaemonConfig, Publisher};
use serde_json::{json, Value};
use std::process::Command;

#[test]
fn status_page_shows_service_ingest_store_and_each_devices_last_values_from_the_real_api() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));

    let publisher = Publisher::connect(broker.port);
    publisher.publish(
        "acs/greenhouse-1/telemetry",
        r#"{"temperature": 21.5, "humidity": 40.25}"#,
    );
    publisher.publish("acs/greenhouse-1/telemetry", r#"{"temperature": 22.0}"#);
    publisher.publish("acs/cellar.2/telemetry", r#"{"co2": 812}"#);
    publisher.wait_acked(3);
    wait_until("4 readings to be committed", patience(), || {
        (daemon.health()["ingest"]["committed"].as_u64() >= Some(4)).then_some(())
    });

    // What the rpcd plugin fetches: /health, /devices?limit=50, and per device
    // /telemetry?device=<id>&from=<last_seen - 60 s>&limit=1000.
    let (status, devices) = daemon.get("/api/v1/devices?limit=50");
    assert_eq!(status, 200, "{devices}");
    let mut latest = serde_json::Map::new();
    for device in devices["items"].as_array().expect("items") {
        let id = device["id"].as_str().unwrap();
        let since = (device["last_seen"].as_i64().unwrap() - 60_000).max(0);
        let (status, body) = daemon.get(&format!(
            "/api/v1/telemetry?device={id}&from={since}&limit=1000"
        ));
        assert_eq!(status, 200, "{body}");
        latest.insert(id.to_owned(), body);
    }
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, value: &Value| {
        std::fs::write(dir.path().join(name), serde_json::to_vec(value).unwrap()).unwrap()
    };
    write("health.json", &daemon.health());
    write("devices.json", &devices);
    write("latest.json", &json!(latest));

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/luci-app/tests/status-view.js");
    let out = Command::new("node")
        .arg(script)
        .arg(dir.path())
        .output()
        .expect("node is needed for the LuCI tests (apt-get install nodejs)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("greenhouse-1"), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}
