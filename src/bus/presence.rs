//! Online/offline tracking for `device.status` events.
//!
//! A device is online after its MQTT status topic said `online` or after any reading; it is
//! offline after its status topic said `offline` (devices set that as their will) or, when
//! `main.offline_after_s` is set, after that long without a reading or status message. Only
//! transitions are reported, never repeats.
//!
//! Invariants: the map holds at most `capacity` devices (the store's `max_devices`); devices
//! beyond it are not tracked. Time is the gateway's monotonic clock, so a device clock that is
//! wrong cannot make a device look silent or alive.

use super::StatusChange;
use crate::model::{now_ms, DeviceStatus, Reading};
use crate::store::Batch;
use std::collections::HashMap;
use std::time::{Duration, Instant};

struct Seen {
    online: bool,
    last_seen: Instant,
}

pub struct Presence {
    devices: HashMap<String, Seen>,
    offline_after: Option<Duration>,
    capacity: usize,
}

impl Presence {
    pub fn new(offline_after: Option<Duration>, capacity: usize) -> Presence {
        Presence {
            devices: HashMap::new(),
            offline_after,
            capacity,
        }
    }

    /// Records a committed batch; returns the transitions it caused.
    pub fn observe(&mut self, batch: &Batch, now: Instant) -> Vec<StatusChange> {
        let readings: Vec<&Reading> = batch.readings.iter().map(|(_, r)| r).collect();
        self.observe_stored(&readings, &batch.statuses, now)
    }

    /// Like [`Presence::observe`], for the readings of a batch that the store kept.
    pub fn observe_stored(
        &mut self,
        readings: &[&Reading],
        statuses: &[DeviceStatus],
        now: Instant,
    ) -> Vec<StatusChange> {
        let mut changes = Vec::new();
        let mut previous: Option<&str> = None;
        for reading in readings {
            // Readings of one message (and often of one batch) share the device: skip the
            // lookup for repeats.
            if previous == Some(reading.device.as_str()) {
                continue;
            }
            previous = Some(reading.device.as_str());
            self.mark(&reading.device, true, "reading", now, &mut changes);
        }
        for status in statuses {
            self.mark(
                &status.device,
                status.online,
                "status_topic",
                now,
                &mut changes,
            );
        }
        changes
    }

    /// Devices silent for longer than `offline_after` go offline.
    pub fn expire(&mut self, now: Instant) -> Vec<StatusChange> {
        let Some(after) = self.offline_after else {
            return Vec::new();
        };
        let mut changes = Vec::new();
        for (device, seen) in self.devices.iter_mut() {
            if seen.online && now.saturating_duration_since(seen.last_seen) >= after {
                seen.online = false;
                changes.push(change(device, false, "last_seen_timeout"));
            }
        }
        changes
    }

    fn mark(
        &mut self,
        device: &str,
        online: bool,
        source: &'static str,
        now: Instant,
        changes: &mut Vec<StatusChange>,
    ) {
        let len = self.devices.len();
        match self.devices.get_mut(device) {
            Some(seen) => {
                seen.last_seen = now;
                if seen.online != online {
                    seen.online = online;
                    changes.push(change(device, online, source));
                }
            }
            None if len < self.capacity => {
                self.devices.insert(
                    device.to_owned(),
                    Seen {
                        online,
                        last_seen: now,
                    },
                );
                changes.push(change(device, online, source));
            }
            None => {}
        }
    }
}

fn change(device: &str, online: bool, source: &'static str) -> StatusChange {
    StatusChange {
        device: device.to_owned(),
        online,
        ts: now_ms(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Transport;

    fn readings(devices: &[&str]) -> Batch {
        Batch {
            readings: devices
                .iter()
                .map(|d| {
                    let r = Reading {
                        device: (*d).into(),
                        metric: "t".into(),
                        ts_ms: 1,
                        value: 1.0,
                    };
                    (Transport::Mqtt, r)
                })
                .collect(),
            statuses: vec![],
        }
    }

    fn status(device: &str, online: bool) -> Batch {
        Batch {
            readings: vec![],
            statuses: vec![DeviceStatus {
                device: device.into(),
                transport: Transport::Mqtt,
                online,
                ts_ms: 1,
            }],
        }
    }

    #[test]
    fn only_transitions_are_reported() {
        let mut p = Presence::new(None, 10);
        let t = Instant::now();
        let first = p.observe(&readings(&["a", "a", "b", "a"]), t);
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|c| c.online && c.source == "reading"));
        assert!(p.observe(&readings(&["a", "b"]), t).is_empty());
        let off = p.observe(&status("a", false), t);
        assert_eq!(off.len(), 1);
        assert!(!off[0].online);
        assert_eq!(off[0].source, "status_topic");
        assert_eq!(p.observe(&readings(&["a"]), t).len(), 1);
    }

    #[test]
    fn silence_longer_than_the_timeout_means_offline_once() {
        let mut p = Presence::new(Some(Duration::from_secs(5)), 10);
        let t = Instant::now();
        p.observe(&readings(&["a", "b"]), t);
        p.observe(&readings(&["b"]), t + Duration::from_secs(4));
        let gone = p.expire(t + Duration::from_secs(6));
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].device, "a");
        assert_eq!(gone[0].source, "last_seen_timeout");
        assert!(p.expire(t + Duration::from_secs(7)).is_empty());
    }

    #[test]
    fn devices_beyond_the_capacity_are_not_tracked() {
        let mut p = Presence::new(None, 1);
        let t = Instant::now();
        assert_eq!(p.observe(&readings(&["a", "b", "c"]), t).len(), 1);
    }
}
