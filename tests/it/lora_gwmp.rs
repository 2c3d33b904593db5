//! LoRa end to end: a UDP client acting as a Semtech packet forwarder sends PUSH_DATA with real
//! LoRaWAN uplinks and signed acs-proto frames to the real daemon, whose device keys are UCI
//! sections of its config file; readings arrive over REST, forged, replayed and malformed input
//! is refused, counted, and survives restarts, and a reload applies changed keys.

use crate::common;

#[allow(dead_code)]
#[path = "../../examples/lora_node.rs"]
mod lora_node;

use common::{patience, wait_until, Daemon, DaemonConfig};
use lora_node::*;
use serde_json::Value;
use std::net::UdpSocket;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Lora {
    daemon: Daemon,
    gwmp_port: u16,
}

/// The device sections of the example node's ABP device and signed-frame node.
fn device_sections(lorawan_enabled: bool, frames_enabled: bool) -> String {
    format!(
        "config lorawan_device 'field_1'\n\toption device_id 'field-1'\n\
         \toption dev_addr '{DEV_ADDR:08X}'\n\toption nwkskey '{}'\n\toption appskey '{}'\n\
         \toption enabled '{}'\n\n\
         config lora_frame_device 'node_1'\n\toption device_id 'node-1'\n\
         \toption eui '{NODE_EUI:016X}'\n\toption key '{}'\n\toption enabled '{}'\n",
        hex(&NWK_S_KEY),
        hex(&APP_S_KEY),
        u8::from(lorawan_enabled),
        hex(&NODE_KEY),
        u8::from(frames_enabled),
    )
}

impl Lora {
    fn start() -> Lora {
        Lora::start_with(&device_sections(true, true))
    }

    fn start_with(devices: &str) -> Lora {
        let gwmp_port = free_udp_port();
        let mut cfg = DaemonConfig::new(common::free_port());
        cfg.extra = format!(
            "config mqtt 'mqtt'\n\toption enabled '0'\n\n\
             config lora 'lora'\n\toption gwmp_enabled '1'\n\toption gwmp_listen '127.0.0.1:{gwmp_port}'\n\n\
             {devices}"
        );
        let daemon = Daemon::start(&cfg);
        Lora { daemon, gwmp_port }
    }

    /// Rewrites the device sections of the config file and reloads with SIGHUP.
    fn reload_devices(&self, devices: &str, reloads_before: usize) {
        let path = &self.daemon.config_path;
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find("config lorawan_device").expect("device sections");
        let end = text[start..]
            .find("config user")
            .map_or(text.len(), |i| start + i);
        let text = format!("{}{devices}\n{}", &text[..start], &text[end..]);
        std::fs::write(path, text).unwrap();
        self.daemon.signal("HUP");
        wait_until("the keys reloaded", patience(), || {
            let reloads = self
                .daemon
                .log()
                .matches("LoRa device keys reloaded")
                .count();
            (reloads > reloads_before).then_some(())
        });
    }

    fn forwarder(&self) -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.connect(("127.0.0.1", self.gwmp_port)).unwrap();
        socket
    }

    fn push(&self, phy: &[u8], token: u16) {
        let socket = self.forwarder();
        let datagram = push_data(token, phy, -61, 8.25);
        assert!(
            send_and_wait_ack(&socket, &datagram, patience()),
            "no PUSH_ACK; log:\n{}",
            self.daemon.log()
        );
    }

    fn lora_health(&self) -> Value {
        self.daemon.health()["lora"].clone()
    }

    fn wait_counter(&self, name: &str, at_least: u64) {
        wait_until(&format!("lora.{name} >= {at_least}"), patience(), || {
            (self.lora_health()[name].as_u64().unwrap_or(0) >= at_least).then_some(())
        });
    }

    fn metric_values(&self, device: &str, metric: &str) -> Vec<f64> {
        self.daemon
            .all_readings(device)
            .iter()
            .filter(|r| r["metric"] == metric)
            .map(|r| r["value"].as_f64().unwrap())
            .collect()
    }
}

fn uplink(fcnt: u32, temperature: f32) -> Vec<u8> {
    let (buf, len) = lorawan_uplink(
        fcnt,
        &lpp_payload(temperature, 50.0),
        &NWK_S_KEY,
        &APP_S_KEY,
    );
    buf[..len].to_vec()
}

#[test]
fn abp_uplinks_and_signed_frames_reach_rest_and_bad_ones_are_counted() {
    let lora = Lora::start();
    lora.push(&uplink(1, 21.5), 1);
    lora.wait_counter("decoded", 1);
    wait_until("LoRaWAN readings over REST", patience(), || {
        (lora.metric_values("field-1", "temperature_1") == [21.5]).then_some(())
    });
    assert_eq!(lora.metric_values("field-1", "humidity_2"), [50.0]);
    assert_eq!(lora.metric_values("field-1", "rssi"), [-61.0]);
    assert_eq!(lora.metric_values("field-1", "snr"), [8.25]);
    let (_, device) = lora.daemon.get("/api/v1/devices/field-1");
    assert_eq!(device["transport"], "lora", "{device}");

    // The same frame again right away: a duplicate (second gateway), stored once.
    lora.push(&uplink(1, 21.5), 2);
    lora.wait_counter("duplicates", 1);
    // An older counter: a replay.
    lora.push(&uplink(2, 22.0), 3);
    lora.push(&uplink(0, 19.0), 4);
    lora.wait_counter("replays", 1);
    // A forged MIC (wrong NwkSKey) and a tampered payload.
    let (forged, len) = lorawan_uplink(3, &lpp_payload(99.0, 1.0), &[0; 16], &APP_S_KEY);
    lora.push(&forged[..len], 5);
    let mut tampered = uplink(4, 23.0);
    tampered[10] ^= 0x01;
    lora.push(&tampered, 6);
    lora.wait_counter("mic_failures", 2);

    // Malformed datagrams: garbage, a bad header, broken JSON, bad base64. No ACK for the
    // first two; the daemon keeps working.
    let socket = lora.forwarder();
    socket.send(b"\x07garbage").unwrap();
    socket.send(&[2, 0, 1]).unwrap();
    let mut broken = push_data(9, &[1, 2, 3], -1, 0.0);
    broken.truncate(broken.len() - 3);
    socket.send(&broken).unwrap();
    let bad_b64 = br#"{"rxpk":[{"data":"!!!notbase64","rssi":-1,"lsnr":1.0}]}"#;
    let mut datagram = vec![2, 0, 10, 0];
    datagram.extend_from_slice(&GATEWAY_EUI.to_be_bytes());
    datagram.extend_from_slice(bad_b64);
    socket.send(&datagram).unwrap();
    lora.wait_counter("malformed", 4);

    // A signed acs-proto frame from a raw-LoRa node.
    let (frame, len) = signed_frame(1, 18.25);
    lora.push(&frame[..len], 11);
    wait_until("the signed frame's readings", patience(), || {
        (lora.metric_values("node-1", "temperature") == [18.25]).then_some(())
    });
    assert_eq!(lora.metric_values("node-1", "battery_mv"), [3017.0]);
    lora.push(&uplink(5, 24.0), 12);
    wait_until("the next uplink", patience(), || {
        (lora.metric_values("field-1", "temperature_1") == [21.5, 22.0, 24.0]).then_some(())
    });

    let h = lora.lora_health();
    assert_eq!(h["decoded"], 4, "{h}");
    assert_eq!(h["duplicates"], 1, "{h}");
    assert_eq!(h["replays"], 1, "{h}");
    assert_eq!(h["mic_failures"], 2, "{h}");
    assert_eq!(h["malformed"], 4, "{h}");
    assert_eq!(h["datagrams"], 12, "{h}");
    assert_eq!(h["rxpk"], 9, "{h}");
    assert!(lora.daemon.log().contains("dropped replayed frame"));
    assert!(lora
        .daemon
        .log()
        .contains("dropped malformed GWMP datagram"));
}

#[test]
fn pull_data_is_acknowledged_and_gateways_are_listed_with_their_status() {
    let lora = Lora::start();
    let socket = lora.forwarder();
    socket.set_read_timeout(Some(patience())).unwrap();
    let mut pull = vec![2, 0x12, 0x34, 0x02];
    pull.extend_from_slice(&GATEWAY_EUI.to_be_bytes());
    socket.send(&pull).unwrap();
    let mut ack = [0u8; 8];
    let n = socket.recv(&mut ack).unwrap();
    assert_eq!(&ack[..n], &[2, 0x12, 0x34, 0x04]);

    // A status report from the same gateway, an uplink, and a second gateway's report.
    let stat = br#"{"stat":{"time":"2026-01-12 08:59:28 GMT","rxnb":7,"rxok":6,"rxfw":6,"ackr":100.0,"dwnb":0,"txnb":0}}"#;
    for (token, eui) in [(0x21u16, GATEWAY_EUI), (0x22, 0x0102_0304_0506_0708)] {
        let mut datagram = vec![2, (token >> 8) as u8, token as u8, 0x00];
        datagram.extend_from_slice(&eui.to_be_bytes());
        datagram.extend_from_slice(stat);
        assert!(send_and_wait_ack(&socket, &datagram, patience()));
    }
    lora.push(&uplink(1, 21.0), 0x23);
    // The uplink is not acknowledged before it is counted, so wait for it too (slow under qemu).
    let gateways = wait_until(
        "two gateways listed, the uplink counted",
        patience(),
        || {
            let gateways = lora.lora_health()["gateways"].clone();
            let list = gateways.as_array()?;
            let uplink_counted = list.iter().any(|g| g["rxpk"].as_u64() >= Some(1));
            (list.len() == 2 && uplink_counted).then_some(gateways)
        },
    );
    let ours = gateways
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["eui"] == format!("{GATEWAY_EUI:016x}"))
        .unwrap_or_else(|| panic!("{gateways}"));
    assert_eq!(ours["datagrams"], 3, "{ours}");
    assert_eq!(ours["rxpk"], 1, "{ours}");
    assert_eq!(ours["last_stat"]["rxok"], 6, "{ours}");
    assert_eq!(ours["last_stat"]["ackr"], 100.0, "{ours}");
    assert!(ours["last_seen"].as_i64().is_some(), "{ours}");
    assert_eq!(lora.lora_health()["stat"], 2);
}

#[test]
fn frame_counters_survive_a_restart() {
    let mut lora = Lora::start();
    lora.push(&uplink(7, 20.0), 1);
    let (frame, len) = signed_frame(3, 17.0);
    lora.push(&frame[..len], 2);
    wait_until("both devices stored", patience(), || {
        (lora.metric_values("field-1", "temperature_1").len() == 1
            && lora.metric_values("node-1", "temperature").len() == 1)
            .then_some(())
    });
    lora.daemon.signal("TERM");
    assert_eq!(lora.daemon.wait_exit(), Some(0));
    lora.daemon.spawn();

    // The same frames after the restart: replays, not duplicates (the window did not survive).
    lora.push(&uplink(7, 20.0), 3);
    lora.push(&frame[..len], 4);
    lora.wait_counter("replays", 2);
    lora.push(&uplink(8, 20.5), 5);
    wait_until("the next uplink after restart", patience(), || {
        (lora.metric_values("field-1", "temperature_1") == [20.0, 20.5]).then_some(())
    });
    assert_eq!(lora.metric_values("node-1", "temperature"), [17.0]);
    assert_eq!(lora.lora_health()["decoded"], 1);
}

#[test]
fn a_reload_applies_changed_keys_and_keeps_the_frame_counters() {
    let lora = Lora::start_with(&device_sections(true, false));
    assert!(
        lora.daemon
            .log()
            .contains("lorawan_devices=1 frame_devices=0 LoRa device keys loaded"),
        "{}",
        lora.daemon.log()
    );
    // The signed-frame node is disabled: its frame is from an unknown device.
    let (frame, len) = signed_frame(1, 16.5);
    lora.push(&frame[..len], 1);
    lora.wait_counter("unknown_devices", 1);
    lora.push(&uplink(3, 20.0), 2);
    lora.wait_counter("decoded", 1);

    // Enable the node, disable the ABP device: no restart, the GWMP socket stays.
    lora.reload_devices(&device_sections(false, true), 0);
    lora.push(&frame[..len], 3);
    wait_until("the signed frame after the reload", patience(), || {
        (lora.metric_values("node-1", "temperature") == [16.5]).then_some(())
    });
    lora.push(&uplink(4, 21.0), 4);
    lora.wait_counter("unknown_devices", 2);

    // Back again: the ABP device's counter survived both reloads.
    lora.reload_devices(&device_sections(true, true), 1);
    lora.push(&uplink(2, 20.0), 5);
    lora.wait_counter("replays", 1);
    lora.push(&uplink(5, 22.0), 6);
    wait_until("the uplink after the second reload", patience(), || {
        (lora.metric_values("field-1", "temperature_1") == [20.0, 22.0]).then_some(())
    });
    let log = lora.daemon.log();
    assert!(!log.contains("takes effect on the next restart"), "{log}");
    assert!(!log.contains(&hex(&NWK_S_KEY)), "a key was logged:\n{log}");
}

#[test]
fn a_bad_key_in_the_config_file_is_refused_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DaemonConfig::new(common::free_port());
    cfg.extra = device_sections(true, true).replace(&hex(&NODE_KEY), "00112233");
    let path = dir.path().join("acs-edge");
    common::write_config(&path, dir.path(), common::free_port(), &cfg);
    let out = common::command()
        .arg("check-config")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("option 'key' in section 'lora_frame_device': expected 32 hex digits"),
        "{err}"
    );
    assert!(!err.contains("00112233"), "{err}");
}
