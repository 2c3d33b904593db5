//! LoRa end to end: a UDP client acting as a Semtech packet forwarder sends PUSH_DATA with real
//! LoRaWAN uplinks and signed acs-proto frames to the real daemon; readings arrive over REST,
//! and forged, replayed and malformed input is refused, counted, and survives restarts.

mod common;

#[allow(dead_code)]
#[path = "../examples/lora_node.rs"]
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
    /// Holds the keys file, which the daemon reads again on restart.
    _keys_dir: tempfile::TempDir,
}

impl Lora {
    fn start() -> Lora {
        let gwmp_port = free_udp_port();
        let mut cfg = DaemonConfig::new(common::free_port());
        let keys_dir = tempfile::tempdir().unwrap();
        let keys_path = keys_dir.path().join("lora-keys.json");
        let keys = serde_json::json!({
            "lorawan": [{"device": "field-1", "dev_addr": format!("{DEV_ADDR:08X}"),
                         "nwk_s_key": hex(&NWK_S_KEY), "app_s_key": hex(&APP_S_KEY)}],
            "frames": [{"device": "node-1", "eui": format!("{NODE_EUI:016x}"), "key": hex(&NODE_KEY)}],
        });
        std::fs::write(&keys_path, keys.to_string()).unwrap();
        cfg.env
            .push(("ACS_EDGE_LORA_KEYS".into(), keys_path.display().to_string()));
        cfg.extra = format!(
            "config mqtt 'mqtt'\n\toption enabled '0'\n\n\
             config lora 'lora'\n\toption gwmp_enabled '1'\n\toption gwmp_listen '127.0.0.1:{gwmp_port}'\n"
        );
        let daemon = Daemon::start(&cfg);
        Lora {
            daemon,
            gwmp_port,
            _keys_dir: keys_dir,
        }
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
fn pull_data_is_acknowledged() {
    let lora = Lora::start();
    let socket = lora.forwarder();
    socket.set_read_timeout(Some(patience())).unwrap();
    let mut pull = vec![2, 0x12, 0x34, 0x02];
    pull.extend_from_slice(&GATEWAY_EUI.to_be_bytes());
    socket.send(&pull).unwrap();
    let mut ack = [0u8; 8];
    let n = socket.recv(&mut ack).unwrap();
    assert_eq!(&ack[..n], &[2, 0x12, 0x34, 0x04]);
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

/// Without the `lora` feature the radio options cannot work: the daemon says so and stops.
#[cfg(not(feature = "lora"))]
#[test]
fn radio_without_the_lora_feature_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DaemonConfig::new(common::free_port());
    cfg.extra = "config lora 'lora'\n\toption radio_enabled '1'\n".into();
    let path = dir.path().join("acs-edge");
    common::write_config(&path, dir.path(), common::free_port(), &cfg);
    let out = common::command()
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a build with the `lora` feature"),
        "{err}"
    );
}
