//! A LoRa sensor node and packet forwarder in one program, for firmware authors: it encodes
//! readings the way a node does with the `no_std` acs-proto crate, then delivers them the way
//! a Semtech packet forwarder does (GWMP PUSH_DATA over UDP) and waits for the PUSH_ACK.
//!
//! Two payload styles:
//! - LoRaWAN 1.0.x ABP uplink carrying Cayenne LPP (`acs_proto::lorawan::UplinkRepr`): for
//!   devices on a LoRaWAN stack; the gateway needs DevAddr, NwkSKey and AppSKey.
//! - An AUTHENTICATED acs-proto frame (`FrameRepr::emit_signed`): for raw-LoRa firmware; the
//!   gateway needs the device's EUI-64 and its AES-128 key.
//!
//! Everything up to the UDP socket uses only stack buffers, as on a microcontroller.
//!
//! ```text
//! cargo run --example lora_node -- 127.0.0.1:1700 lorawan 7    # FCnt 7
//! cargo run --example lora_node -- 127.0.0.1:1700 frame 7      # frame counter 7
//! ```
//! with the example keys below in the daemon's config: the commented `lorawan_device` and
//! `lora_frame_device` examples of `acs-edge print-config` hold them (see README, LoRa).

use acs_proto::lorawan::{AesKey, FCtrl, UplinkRepr, MAX_PHY_LEN};
use acs_proto::{FrameKey, FrameRepr, Metric, MetricCode, Reading, Value, MAX_FRAME_LEN};
use base64::Engine as _;
use std::net::UdpSocket;
use std::time::Duration;

/// Example ABP session (never use published keys in the field).
pub const DEV_ADDR: u32 = 0x2601_1BDA;
pub const NWK_S_KEY: AesKey = [
    0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6, 0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F, 0x3C,
];
pub const APP_S_KEY: AesKey = [
    0x3C, 0x4F, 0xCF, 0x09, 0x88, 0x15, 0xF7, 0xAB, 0xA6, 0xD2, 0xAE, 0x28, 0x16, 0x15, 0x7E, 0x2B,
];
/// Example raw-LoRa node.
pub const NODE_EUI: u64 = 0x70B3_D57E_D000_0001;
pub const NODE_KEY: FrameKey = *b"example-node-key";
/// The forwarder's gateway EUI.
pub const GATEWAY_EUI: u64 = 0xAA55_5A00_0000_0101;

/// Cayenne LPP: temperature (0.1 °C, signed) on channel 1, humidity (0.5 %) on channel 2.
pub fn lpp_payload(temperature_c: f32, humidity_pct: f32) -> [u8; 7] {
    let t = ((temperature_c * 10.0).round() as i16).to_be_bytes();
    let h = (humidity_pct * 2.0).round() as u8;
    [1, 0x67, t[0], t[1], 2, 0x68, h]
}

/// A MIC'd, encrypted LoRaWAN uplink on FPort 2 carrying `payload`; returns buffer and length.
pub fn lorawan_uplink(
    fcnt: u32,
    payload: &[u8],
    nwk_s_key: &AesKey,
    app_s_key: &AesKey,
) -> ([u8; MAX_PHY_LEN], usize) {
    let repr = UplinkRepr {
        confirmed: false,
        dev_addr: DEV_ADDR,
        fctrl: FCtrl::default(),
        fcnt,
        fopts: &[],
        fport: Some(2),
        payload,
    };
    let mut buf = [0u8; MAX_PHY_LEN];
    let len = repr
        .emit(nwk_s_key, app_s_key, &mut buf)
        .expect("a 7-byte payload fits");
    (buf, len)
}

/// An AUTHENTICATED acs-proto frame with a temperature and a battery reading. `base_ts_ms` 0:
/// the node has no clock, the gateway stamps the readings on arrival.
pub fn signed_frame(counter: u32, temperature_c: f32) -> ([u8; MAX_FRAME_LEN], usize) {
    let readings = [
        Reading {
            metric: Metric::Code(MetricCode::TEMPERATURE),
            ts_offset_ms: 0,
            value: Value::F32(temperature_c),
        },
        Reading {
            metric: Metric::Code(MetricCode::BATTERY_MV),
            ts_offset_ms: 0,
            value: Value::I64(3017),
        },
    ];
    let mut buf = [0u8; MAX_FRAME_LEN];
    let len = FrameRepr::new(NODE_EUI, counter)
        .emit_signed(0, &readings, &mut buf, &NODE_KEY)
        .expect("two readings fit");
    (buf, len)
}

/// A GWMP v2 PUSH_DATA datagram carrying one `rxpk` with `phy` as its payload.
pub fn push_data(token: u16, phy: &[u8], rssi: i32, snr: f32) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(phy);
    let json = format!(
        r#"{{"rxpk":[{{"tmst":3512348611,"chan":2,"rfch":0,"freq":868.1,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":{rssi},"lsnr":{snr},"size":{},"data":"{data}"}}]}}"#,
        phy.len()
    );
    let mut datagram = vec![2, (token >> 8) as u8, token as u8, 0x00];
    datagram.extend_from_slice(&GATEWAY_EUI.to_be_bytes());
    datagram.extend_from_slice(json.as_bytes());
    datagram
}

/// Sends `datagram` and waits for the PUSH_ACK with the same token; true when it came.
pub fn send_and_wait_ack(socket: &UdpSocket, datagram: &[u8], timeout: Duration) -> bool {
    socket.set_read_timeout(Some(timeout)).ok();
    if socket.send(datagram).is_err() {
        return false;
    }
    let mut ack = [0u8; 16];
    matches!(socket.recv(&mut ack), Ok(4) if ack[..4] == [datagram[0], datagram[1], datagram[2], 0x01])
}

#[allow(dead_code)] // the integration test includes this file for its helpers only
fn main() {
    let mut args = std::env::args().skip(1);
    let server = args.next().unwrap_or_else(|| "127.0.0.1:1700".into());
    let style = args.next().unwrap_or_else(|| "lorawan".into());
    let counter: u32 = args.next().and_then(|c| c.parse().ok()).unwrap_or(1);
    let (phy, len) = match style.as_str() {
        "lorawan" => {
            let payload = lpp_payload(21.5, 48.5);
            let (buf, len) = lorawan_uplink(counter, &payload, &NWK_S_KEY, &APP_S_KEY);
            (buf.to_vec(), len)
        }
        "frame" => {
            let (buf, len) = signed_frame(counter, 21.5);
            (buf.to_vec(), len)
        }
        other => {
            eprintln!("unknown payload style {other:?}: lorawan or frame");
            std::process::exit(2);
        }
    };
    let socket = UdpSocket::bind("0.0.0.0:0").expect("bind a UDP socket");
    socket.connect(&server).expect("resolve the GWMP server");
    let datagram = push_data(counter as u16, &phy[..len], -57, 9.5);
    if send_and_wait_ack(&socket, &datagram, Duration::from_secs(2)) {
        println!("{style} uplink with counter {counter} acknowledged by {server}");
    } else {
        eprintln!("no PUSH_ACK from {server}");
        std::process::exit(1);
    }
}
