//! Counters of the LoRa source, reported as the `lora` object of `/api/v1/health`.

use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;

#[derive(Debug, Default)]
pub struct LoraCounters {
    pub datagrams: AtomicU64,
    pub rxpk: AtomicU64,
    pub stat: AtomicU64,
    pub decoded: AtomicU64,
    pub mic_failures: AtomicU64,
    pub replays: AtomicU64,
    pub duplicates: AtomicU64,
    pub malformed: AtomicU64,
    pub unknown_devices: AtomicU64,
    pub ignored: AtomicU64,
    pub payload_errors: AtomicU64,
    pub radio_packets: AtomicU64,
    pub radio_errors: AtomicU64,
}

/// Totals since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LoraSnapshot {
    /// UDP datagrams received from packet forwarders.
    pub datagrams: u64,
    /// Radio packets (`rxpk`) in PUSH_DATA datagrams.
    pub rxpk: u64,
    /// Gateway status reports (`stat`).
    pub stat: u64,
    /// Frames accepted and turned into readings.
    pub decoded: u64,
    /// Frames whose MIC did not verify (forged, or wrong keys).
    pub mic_failures: u64,
    /// Frames with a counter at or below the last accepted one.
    pub replays: u64,
    /// Copies of the last accepted frame (several gateways, retransmissions).
    pub duplicates: u64,
    /// Datagrams, rxpk entries or frames that could not be parsed.
    pub malformed: u64,
    /// Frames from devices without keys (often other networks' devices in range).
    pub unknown_devices: u64,
    /// LoRaWAN frames other than data uplinks (join requests, downlinks).
    pub ignored: u64,
    /// Accepted frames whose payload decoder stopped early (readings before it kept).
    pub payload_errors: u64,
    /// Packets received by a radio attached to this router.
    pub radio_packets: u64,
    /// Receive errors of that radio (bad CRC, bus errors).
    pub radio_errors: u64,
}

impl LoraCounters {
    pub fn snapshot(&self) -> LoraSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        LoraSnapshot {
            datagrams: get(&self.datagrams),
            rxpk: get(&self.rxpk),
            stat: get(&self.stat),
            decoded: get(&self.decoded),
            mic_failures: get(&self.mic_failures),
            replays: get(&self.replays),
            duplicates: get(&self.duplicates),
            malformed: get(&self.malformed),
            unknown_devices: get(&self.unknown_devices),
            ignored: get(&self.ignored),
            payload_errors: get(&self.payload_errors),
            radio_packets: get(&self.radio_packets),
            radio_errors: get(&self.radio_errors),
        }
    }
}
