//! End to end through real D-Bus: the daemon's BLE scanner (btleplug) talks to a fake BlueZ
//! (python-dbusmock's bluez5 template on a private dbus-daemon, see `common::bluez`), picks the
//! configured adapter, and turns advertisements (PropertiesChanged with ServiceData or
//! ManufacturerData and RSSI) into readings served over REST; a missing adapter or bus is an
//! error state in the health document that heals when the adapter appears.

use crate::common;

use common::bluez::FakeBluez;
use common::*;
use serde_json::{json, Value};

const PVVX_MAC: &str = "A4:C1:38:02:83:F4";
const PVVX: &str = "f4830238c1a4a9066911b60b58f70d"; // 17.05 °C, 44.57 %, counter 247
const RUUVI_MAC: &str = "CB:B8:33:4C:88:4F";
const RUUVI: &str = "0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"; // 24.3 °C

fn ble_config(bus: &str, adapter: &str) -> String {
    format!(
        "config ble 'ble'\n\toption enabled '1'\n\toption adapter '{adapter}'\n\
         \toption dbus_address '{bus}'\n\toption restart_max_s '1'\n\
         \tlist deny '00:00:00:00:00:01'\n"
    )
}

fn value_of(items: &[Value], metric: &str) -> Option<f64> {
    items
        .iter()
        .find(|r| r["metric"] == metric)
        .and_then(|r| r["value"].as_f64())
}

fn wait_scanner(daemon: &Daemon, state: &str) -> Value {
    wait_until(&format!("scanner state {state}"), patience(), || {
        let ble = daemon.health()["ble"].clone();
        (ble["scanner"]["state"] == state).then_some(ble)
    })
}

#[test]
fn advertisements_from_bluez_become_readings_with_rssi_of_ble_devices() {
    let bluez = FakeBluez::start();
    bluez.control(&["adapter", "hci0"]);
    bluez.control(&["adapter", "hci1"]);
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = ble_config(&bluez.address, "hci1");
    let daemon = Daemon::start(&cfg);
    let ble = wait_scanner(&daemon, "running");
    assert_eq!(ble["scanner"]["adapter"], "hci1", "{ble}");

    bluez.control(&["device", "hci1", PVVX_MAC]);
    bluez.control(&["service", "hci1", PVVX_MAC, "-61", "181a", PVVX]);
    let pvvx = wait_until("pvvx readings", patience(), || {
        let items = daemon.all_readings("ble-a4c1380283f4");
        (items.len() >= 5).then_some(items)
    });
    assert_eq!(value_of(&pvvx, "temperature"), Some(17.05), "{pvvx:?}");
    assert_eq!(value_of(&pvvx, "humidity"), Some(44.57));
    assert_eq!(value_of(&pvvx, "rssi"), Some(-61.0));

    // The same measurement again (same counter): a duplicate, not stored twice.
    bluez.control(&["service", "hci1", PVVX_MAC, "-64", "181a", PVVX]);
    wait_until("the duplicate to be counted", patience(), || {
        (daemon.health()["ble"]["duplicates"] == 1).then_some(())
    });

    bluez.control(&["device", "hci1", RUUVI_MAC]);
    bluez.control(&["manufacturer", "hci1", RUUVI_MAC, "-80", "0499", RUUVI]);
    let ruuvi = wait_until("Ruuvi readings", patience(), || {
        let items = daemon.all_readings("ble-cbb8334c884f");
        items.iter().any(|r| r["metric"] == "rssi").then_some(items)
    });
    assert_eq!(value_of(&ruuvi, "temperature"), Some(24.3), "{ruuvi:?}");
    assert_eq!(value_of(&ruuvi, "rssi"), Some(-80.0));

    // A device on the deny list and one on the other adapter give nothing.
    bluez.control(&["device", "hci1", "00:00:00:00:00:01"]);
    bluez.control(&["service", "hci1", "00:00:00:00:00:01", "-50", "181a", PVVX]);
    bluez.control(&["device", "hci0", "11:22:33:44:55:66"]);
    bluez.control(&["service", "hci0", "11:22:33:44:55:66", "-50", "181a", PVVX]);
    let ble = wait_until("the denied advert to be counted", patience(), || {
        let ble = daemon.health()["ble"].clone();
        (ble["denied"] == 1).then_some(ble)
    });
    assert_eq!(ble["received"], 4, "{ble}");
    assert_eq!(ble["decoded"], 2, "{ble}");
    assert_eq!(ble["undecodable"], 0, "{ble}");
    assert_eq!(pvvx.len(), daemon.all_readings("ble-a4c1380283f4").len());
    assert_eq!(daemon.get("/api/v1/devices/ble-112233445566").0, 404);

    let (status, device) = daemon.get("/api/v1/devices/ble-a4c1380283f4");
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["transport"], "ble");
    assert_eq!(
        daemon.get("/api/v1/devices/ble-cbb8334c884f").1["transport"],
        json!("ble")
    );
}

#[test]
fn data_bluez_cached_before_the_start_is_not_stored_until_the_next_advertisement() {
    let bluez = FakeBluez::start();
    bluez.control(&["adapter", "hci0"]);
    bluez.control(&["device", "hci0", PVVX_MAC]);
    bluez.control(&["service", "hci0", PVVX_MAC, "-61", "181a", PVVX]);
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = ble_config(&bluez.address, "");
    let daemon = Daemon::start(&cfg);
    wait_scanner(&daemon, "running");

    // A live advertisement of another device; the cached one was reported before it.
    bluez.control(&["device", "hci0", RUUVI_MAC]);
    bluez.control(&["manufacturer", "hci0", RUUVI_MAC, "-80", "0499", RUUVI]);
    wait_until("Ruuvi readings", patience(), || {
        (!daemon.all_readings("ble-cbb8334c884f").is_empty()).then_some(())
    });
    assert_eq!(daemon.health()["ble"]["received"], 1);
    assert!(daemon.all_readings("ble-a4c1380283f4").is_empty());

    bluez.control(&["service", "hci0", PVVX_MAC, "-62", "181a", PVVX]);
    let pvvx = wait_until("pvvx readings", patience(), || {
        let items = daemon.all_readings("ble-a4c1380283f4");
        (items.len() >= 5).then_some(items)
    });
    assert_eq!(value_of(&pvvx, "rssi"), Some(-62.0));
}

#[test]
fn a_missing_adapter_or_bus_is_an_error_state_and_the_scanner_recovers() {
    let broker = Broker::start();

    // No bus at all: the daemon runs, the scanner reports the error.
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = ble_config("unix:path=/nonexistent/system_bus_socket", "");
    let daemon = Daemon::start(&cfg);
    let ble = wait_scanner(&daemon, "error");
    assert!(
        ble["scanner"]["last_error"]
            .as_str()
            .unwrap()
            .contains("D-Bus"),
        "{ble}"
    );
    assert_eq!(daemon.health()["status"], "ok");
    drop(daemon);

    // The adapter appears after the start, and goes away again.
    let bluez = FakeBluez::start();
    bluez.control(&["adapter", "hci0"]);
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = ble_config(&bluez.address, "hci2");
    let daemon = Daemon::start(&cfg);
    let ble = wait_until("the missing adapter error", patience(), || {
        let ble = daemon.health()["ble"].clone();
        ble["scanner"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("adapter 'hci2' not found (found: hci0)"))
            .then_some(ble)
    });
    assert_ne!(ble["scanner"]["state"], "running", "{ble}");

    bluez.control(&["adapter", "hci2"]);
    let ble = wait_scanner(&daemon, "running");
    assert!(ble["scanner"]["restarts"].as_u64().unwrap() >= 1, "{ble}");
    bluez.control(&["device", "hci2", PVVX_MAC]);
    bluez.control(&["service", "hci2", PVVX_MAC, "-70", "181a", PVVX]);
    wait_until("readings after the recovery", patience(), || {
        (daemon.all_readings("ble-a4c1380283f4").len() >= 5).then_some(())
    });

    bluez.control(&["remove-adapter", "hci2"]);
    wait_scanner(&daemon, "error");
    assert_eq!(daemon.health()["status"], "ok", "{}", daemon.log());
}
