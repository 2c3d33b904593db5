//! Counters of the LoRa source, reported as the `lora` object of `/api/v1/health`, and the
//! packet-forwarder gateways heard since start.
//!
//! Invariant: the gateway table holds at most [`MAX_GATEWAYS`] entries (GWMP is
//! unauthenticated, so anyone on the network can invent gateway EUIs); a new gateway beyond it
//! replaces the one heard from longest ago. Compiled in every build, like the other ingest
//! counters.

use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// Most gateways remembered for the status view.
pub const MAX_GATEWAYS: usize = 32;

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
    gateways: Mutex<Vec<GatewaySnapshot>>,
}

/// A packet-forwarder gateway as last heard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewaySnapshot {
    /// The gateway EUI from the GWMP header, 16 lowercase hex digits.
    pub eui: String,
    /// Epoch ms of its last datagram.
    pub last_seen: i64,
    /// Its PUSH_DATA and PULL_DATA datagrams.
    pub datagrams: u64,
    /// Radio packets it forwarded.
    pub rxpk: u64,
    /// Its last status report; `None` before the first.
    pub last_stat: Option<GatewayStat>,
}

/// A gateway's `stat` report: the forwarder's counters over its last `stat_interval`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GatewayStat {
    /// Epoch ms when it arrived.
    pub received: i64,
    /// Packets received, with a valid CRC, forwarded.
    pub rxnb: Option<u64>,
    pub rxok: Option<u64>,
    pub rxfw: Option<u64>,
    /// Percentage of its upstream datagrams acknowledged.
    pub ackr: Option<f64>,
    /// Downlinks received and emitted.
    pub dwnb: Option<u64>,
    pub txnb: Option<u64>,
}

/// Totals since start.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// Packet-forwarder gateways heard since start, most recently heard first.
    pub gateways: Vec<GatewaySnapshot>,
}

impl LoraCounters {
    /// Records a datagram from gateway `eui` carrying `rxpk` radio packets and maybe a `stat`.
    pub fn record_gateway(&self, eui: u64, now_ms: i64, rxpk: u64, stat: Option<GatewayStat>) {
        let mut gateways = self.gateways.lock().unwrap_or_else(|p| p.into_inner());
        let eui = format!("{eui:016x}");
        let index = match gateways.iter().position(|g| g.eui == eui) {
            Some(i) => i,
            None => {
                let fresh = GatewaySnapshot {
                    eui,
                    last_seen: now_ms,
                    datagrams: 0,
                    rxpk: 0,
                    last_stat: None,
                };
                if gateways.len() < MAX_GATEWAYS {
                    gateways.push(fresh);
                    gateways.len() - 1
                } else {
                    let (oldest, _) = gateways
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, g)| g.last_seen)
                        .unwrap_or((0, &gateways[0]));
                    gateways[oldest] = fresh;
                    oldest
                }
            }
        };
        let gateway = &mut gateways[index];
        gateway.last_seen = now_ms;
        gateway.datagrams += 1;
        gateway.rxpk += rxpk;
        if stat.is_some() {
            gateway.last_stat = stat;
        }
    }

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
            gateways: {
                let mut gateways = self
                    .gateways
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                gateways.sort_by_key(|g| std::cmp::Reverse(g.last_seen));
                gateways
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_accumulate_and_the_table_stays_bounded() {
        let counters = LoraCounters::default();
        counters.record_gateway(0xAA, 10, 2, None);
        let stat = GatewayStat {
            received: 20,
            rxok: Some(5),
            ..GatewayStat::default()
        };
        counters.record_gateway(0xAA, 20, 0, Some(stat.clone()));
        counters.record_gateway(0xAA, 30, 1, None);
        let gateways = counters.snapshot().gateways;
        assert_eq!(gateways.len(), 1);
        let g = &gateways[0];
        assert_eq!(g.eui, "00000000000000aa");
        assert_eq!((g.datagrams, g.rxpk, g.last_seen), (3, 3, 30));
        assert_eq!(g.last_stat, Some(stat));

        for eui in 1..=MAX_GATEWAYS as u64 + 5 {
            counters.record_gateway(eui << 8, 100 + eui as i64, 1, None);
        }
        let gateways = counters.snapshot().gateways;
        assert_eq!(gateways.len(), MAX_GATEWAYS);
        assert!(gateways.iter().all(|g| g.eui != "00000000000000aa"));
        assert_eq!(
            gateways[0].eui,
            format!("{:016x}", (MAX_GATEWAYS as u64 + 5) << 8)
        );
    }
}
