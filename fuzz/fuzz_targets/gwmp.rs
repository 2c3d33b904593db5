//! Semtech packet-forwarder datagrams as the GWMP server handles them
//! (`ingest::lora::gwmp::parse`, `parse_push`, `Rxpk::payload`/`rssi`/`snr`), and every
//! decoded rxpk payload through the daemon's `UplinkDecoder` (LoRaWAN ABP and signed frames
//! with known keys). Nothing may panic; an acknowledgement echoes the version and token and
//! carries PUSH_ACK or PULL_ACK; signal figures are finite; accepted frames give readings of
//! a configured device with finite values.
#![no_main]

use acs_edge::ingest::lora::gwmp::{parse, parse_push, Datagram};
use acs_edge::ingest::lora::uplink::{RadioMeta, UplinkDecoder};
use acs_edge::ingest::lora::{FrameDeviceKey, LoraKeys, LorawanDeviceKeys, PayloadCodec};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const NOW_MS: i64 = 1_767_225_600_000;

fn decoder() -> UplinkDecoder {
    let keys = LoraKeys {
        lorawan: vec![LorawanDeviceKeys {
            device_id: "field-1".into(),
            dev_addr: 0x2601_1BDA,
            nwk_s_key: [1; 16],
            app_s_key: [2; 16],
            payload: PayloadCodec::Lpp,
        }],
        frames: vec![FrameDeviceKey {
            device_id: "node-1".into(),
            eui: 0x70B3_D57E_D000_0001,
            key: [3; 16],
        }],
    };
    UplinkDecoder::new(keys, HashMap::new(), Duration::from_secs(60))
}

fuzz_target!(|data: &[u8]| {
    let Ok(received) = parse(data) else {
        return;
    };
    if let Some(ack) = received.ack() {
        assert_eq!(ack[..3], data[..3]);
        assert!(ack[3] == 0x01 || ack[3] == 0x04, "{ack:?}");
    }
    let Datagram::PushData { json, .. } = received.datagram else {
        return;
    };
    let Ok(push) = parse_push(json) else {
        return;
    };
    let mut decoder = decoder();
    for rxpk in &push.rxpk {
        let radio = RadioMeta {
            rssi: rxpk.rssi(),
            snr: rxpk.snr(),
        };
        assert!(radio.rssi.is_none_or(f64::is_finite));
        assert!(radio.snr.is_none_or(f64::is_finite));
        let Ok(phy) = rxpk.payload() else {
            continue;
        };
        if let Ok(accepted) = decoder.accept(&phy, radio, NOW_MS, Instant::now()) {
            assert!(["field-1", "node-1"].contains(&accepted.device.as_str()));
            for r in &accepted.readings {
                assert_eq!(r.device, accepted.device);
                assert!(r.value.is_finite(), "{r:?}");
            }
        }
    }
});
