//! Turns one received PHY payload into readings: LoRaWAN 1.0.x ABP uplinks (key lookup by
//! DevAddr, MIC, counter extension, decryption, Cayenne LPP) and AUTHENTICATED acs-proto
//! frames (key lookup by EUI-64, CMAC). The two are told apart by the first byte: acs-proto's
//! version byte `0x01` would be a LoRaWAN MHDR with major version 1, which LoRaWAN R1 never
//! sends.
//!
//! Invariants:
//! - Nothing is decrypted or decoded before the MIC verified under the device's key.
//! - A frame is accepted only if its counter is above the last accepted counter of its device
//!   (kept in memory, seeded from the store at start, persisted with the readings). A frame
//!   repeating the last accepted counter with the same MIC within `dedup_window` is a
//!   duplicate (several gateways, or the node's own retransmission); anything else at or below
//!   the last counter is a replay. The first copy to arrive wins.

use super::keys::{FrameDeviceKey, LoraKeys, LorawanDeviceKeys, PayloadCodec};
use crate::ingest::frame::collect_readings;
use crate::model::Reading;
use acs_proto::lorawan::{extend_fcnt, PhyPayload, MAX_PHY_LEN};
use acs_proto::lpp::decode_lpp;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Signal figures of the radio that received a frame.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RadioMeta {
    pub rssi: Option<f64>,
    pub snr: Option<f64>,
}

/// An uplink that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub device: String,
    pub counter: u32,
    pub readings: Vec<Reading>,
    /// The payload decoder stopped early (readings before the problem are kept).
    pub payload_problem: Option<String>,
}

/// Why a frame was not accepted; each maps to one health counter.
#[derive(Debug, Clone, PartialEq)]
pub enum Rejected {
    /// Not a well-formed LoRaWAN data uplink or acs-proto frame.
    Malformed(String),
    /// A frame of a kind this gateway does not handle (join requests, downlinks...).
    Ignored(String),
    /// No keys for its DevAddr or EUI (often another network's device in radio range).
    UnknownDevice(String),
    /// The MIC did not verify under any candidate key.
    BadMic(String),
    Replay {
        device: String,
        counter: u32,
        last: u32,
    },
    Duplicate {
        device: String,
        counter: u32,
    },
}

struct Session {
    last: u32,
    /// MIC and arrival of the last accepted frame; `None` after a restart.
    last_frame: Option<([u8; 4], Instant)>,
}

/// The keys and per-device counters of the LoRa source.
pub struct UplinkDecoder {
    lorawan: HashMap<u32, Vec<LorawanDeviceKeys>>,
    frames: HashMap<u64, FrameDeviceKey>,
    sessions: HashMap<String, Session>,
    dedup_window: Duration,
}

impl UplinkDecoder {
    /// `counters`: the persisted last counter of each device id (from the store).
    pub fn new(keys: LoraKeys, counters: HashMap<String, u32>, dedup_window: Duration) -> Self {
        let sessions = counters
            .into_iter()
            .map(|(device, last)| {
                let session = Session {
                    last,
                    last_frame: None,
                };
                (device, session)
            })
            .collect();
        let mut decoder = UplinkDecoder {
            lorawan: HashMap::new(),
            frames: HashMap::new(),
            sessions,
            dedup_window,
        };
        decoder.set_keys(keys);
        decoder
    }

    /// Replaces every key (a config reload). The frame counters stay: a device whose keys
    /// changed still cannot replay frames it sent before.
    pub fn set_keys(&mut self, keys: LoraKeys) {
        let mut lorawan: HashMap<u32, Vec<LorawanDeviceKeys>> = HashMap::new();
        for k in keys.lorawan {
            lorawan.entry(k.dev_addr).or_default().push(k);
        }
        self.lorawan = lorawan;
        self.frames = keys.frames.into_iter().map(|k| (k.eui, k)).collect();
    }

    /// Checks and decodes one PHY payload received at `now_ms` (epoch) / `now` (monotonic).
    pub fn accept(
        &mut self,
        phy: &[u8],
        radio: RadioMeta,
        now_ms: i64,
        now: Instant,
    ) -> Result<Accepted, Rejected> {
        let mut accepted = if phy.first() == Some(&acs_proto::VERSION) {
            self.accept_frame(phy, now_ms, now)?
        } else {
            self.accept_lorawan(phy, now_ms, now)?
        };
        for (metric, value) in [("rssi", radio.rssi), ("snr", radio.snr)] {
            if let Some(value) = value {
                accepted.readings.push(Reading {
                    device: accepted.device.clone(),
                    metric: metric.into(),
                    ts_ms: now_ms,
                    value,
                });
            }
        }
        Ok(accepted)
    }

    fn accept_lorawan(
        &mut self,
        phy: &[u8],
        now_ms: i64,
        now: Instant,
    ) -> Result<Accepted, Rejected> {
        use acs_proto::lorawan::LorawanError;
        let frame = PhyPayload::new_checked(phy).map_err(|e| match e {
            LorawanError::NotDataUplink(_) => Rejected::Ignored(e.to_string()),
            _ => Rejected::Malformed(e.to_string()),
        })?;
        let dev_addr = frame.dev_addr();
        let candidates = self
            .lorawan
            .get(&dev_addr)
            .ok_or_else(|| Rejected::UnknownDevice(format!("DevAddr {dev_addr:08X}")))?;
        let (keys, fcnt) = candidates
            .iter()
            .find_map(|keys| {
                let last = self.sessions.get(&keys.device_id).map(|s| s.last);
                let fcnt = extend_fcnt(last, frame.fcnt16());
                frame
                    .verify_mic(&keys.nwk_s_key, fcnt)
                    .is_ok()
                    .then_some((keys, fcnt))
            })
            .ok_or_else(|| {
                Rejected::BadMic(format!(
                    "DevAddr {dev_addr:08X} FCnt {}: MIC mismatch",
                    frame.fcnt16()
                ))
            })?;
        let device = keys.device_id.clone();
        let codec = keys.payload;
        self.check_counter(&device, fcnt, frame.mic(), now)?;
        let mut plain = [0u8; MAX_PHY_LEN];
        let n = frame
            .decrypt_frm_payload(&keys.nwk_s_key, &keys.app_s_key, fcnt, &mut plain)
            .map_err(|e| Rejected::Malformed(e.to_string()))?;
        let (readings, payload_problem) = match (frame.fport(), codec) {
            (Some(port), PayloadCodec::Lpp) if port > 0 => {
                lpp_readings(&device, &plain[..n], now_ms)
            }
            _ => (Vec::new(), None), // MAC commands only, or no payload decoder
        };
        self.record(&device, fcnt, frame.mic(), now);
        Ok(Accepted {
            device,
            counter: fcnt,
            readings,
            payload_problem,
        })
    }

    fn accept_frame(
        &mut self,
        phy: &[u8],
        now_ms: i64,
        now: Instant,
    ) -> Result<Accepted, Rejected> {
        let eui = acs_proto::peek_device_id(phy).map_err(|e| Rejected::Malformed(e.to_string()))?;
        let dev = self
            .frames
            .get(&eui)
            .ok_or_else(|| Rejected::UnknownDevice(format!("EUI {eui:016x}")))?;
        let (header, iter) =
            acs_proto::parse_authenticated(phy, &dev.key).map_err(|e| match e {
                acs_proto::Error::BadMic => Rejected::BadMic(format!("EUI {eui:016x}: {e}")),
                acs_proto::Error::NotAuthenticated => Rejected::Malformed(
                    "unauthenticated frame: over LoRa only AUTHENTICATED frames are accepted"
                        .into(),
                ),
                _ => Rejected::Malformed(e.to_string()),
            })?;
        let device = dev.device_id.clone();
        let mic = phy[phy.len() - acs_proto::TRAILER_LEN..]
            .try_into()
            .unwrap_or_default();
        self.check_counter(&device, header.counter, mic, now)?;
        let readings = collect_readings(&device, iter, now_ms).map_err(Rejected::Malformed)?;
        self.record(&device, header.counter, mic, now);
        Ok(Accepted {
            device,
            counter: header.counter,
            readings,
            payload_problem: None,
        })
    }

    fn check_counter(
        &self,
        device: &str,
        counter: u32,
        mic: [u8; 4],
        now: Instant,
    ) -> Result<(), Rejected> {
        let Some(session) = self.sessions.get(device) else {
            return Ok(());
        };
        if counter > session.last {
            return Ok(());
        }
        let duplicate = counter == session.last
            && session.last_frame.is_some_and(|(last_mic, at)| {
                last_mic == mic && now.duration_since(at) < self.dedup_window
            });
        Err(if duplicate {
            Rejected::Duplicate {
                device: device.into(),
                counter,
            }
        } else {
            Rejected::Replay {
                device: device.into(),
                counter,
                last: session.last,
            }
        })
    }

    fn record(&mut self, device: &str, counter: u32, mic: [u8; 4], now: Instant) {
        self.sessions.insert(
            device.to_owned(),
            Session {
                last: counter,
                last_frame: Some((mic, now)),
            },
        );
    }
}

/// Cayenne LPP items as readings named `<type>_<channel>` (`temperature_3`), multi-value types
/// as `<type>_<channel>_<field>` (`accelerometer_1_x`, `gps_2_latitude`).
pub fn lpp_readings(device: &str, payload: &[u8], now_ms: i64) -> (Vec<Reading>, Option<String>) {
    let mut readings = Vec::new();
    for item in decode_lpp(payload) {
        let item = match item {
            Ok(item) => item,
            Err(e) => return (readings, Some(e.to_string())),
        };
        let name = item.kind.name().unwrap_or("unknown");
        for (field, value) in item.kind.fields().iter().zip(item.values()) {
            let metric = if field.is_empty() {
                format!("{name}_{}", item.channel)
            } else {
                format!("{name}_{}_{field}", item.channel)
            };
            readings.push(Reading {
                device: device.to_owned(),
                metric,
                ts_ms: now_ms,
                value: *value,
            });
        }
    }
    (readings, None)
}

#[cfg(test)]
mod tests;
