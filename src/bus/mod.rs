//! The live event bus: fan-out of what the ingest path committed (readings, device status
//! changes), of automation firings and of upstream link changes to in-process subscribers (the
//! rules engine, WebSocket clients).
//!
//! Invariants:
//! - Publishing never blocks and never waits for a subscriber: every subscriber has its own
//!   bounded queue, and an event that does not fit is dropped for that subscriber only and
//!   counted (per subscriber and in total). A slow subscriber therefore never slows ingest.
//! - Events are shared (`Arc`), so fan-out to N subscribers costs N reference-count bumps, not
//!   N copies.
//! - With no subscriber interested in a kind of event, the publisher skips building it
//!   ([`Bus::wants`]), so an idle bus costs ingest one atomic load per commit.
//! - Subscriptions end when their [`Subscription`] is dropped.

pub mod commits;
pub mod presence;

use crate::model::Reading;
use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Which kinds of events a subscriber wants (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    pub const TELEMETRY: Interest = Interest(1);
    pub const STATUS: Interest = Interest(2);
    pub const TRIGGER: Interest = Interest(4);
    pub const UPSTREAM: Interest = Interest(8);
    pub const ALL: Interest = Interest(15);

    pub const fn union(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    pub const fn contains(self, other: Interest) -> bool {
        self.0 & other.0 == other.0
    }
}

/// A device came online or went offline, as `device.status` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    pub device: String,
    pub online: bool,
    /// Epoch ms of the transition (gateway clock).
    pub ts: i64,
    /// What caused it: `status_topic` (the device's MQTT status message), `reading` (a reading
    /// from a device not known to be online) or `last_seen_timeout` (`main.offline_after_s`).
    pub source: &'static str,
}

/// A rule fired, as `automation.trigger` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggerFired {
    pub rule: i64,
    pub name: String,
    pub device: String,
    pub metric: Option<String>,
    pub value: Option<f64>,
    /// Epoch ms of the reading (threshold) or of the firing (offline).
    pub ts: i64,
    pub fire_count: u64,
    pub action: ActionOutcome,
}

/// What became of a firing's action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionOutcome {
    pub kind: &'static str,
    pub topic: String,
    /// True when the message was handed to the MQTT client; false when it was dropped (the
    /// client's queue was full or MQTT is off), which `automation.action_failures` counts.
    pub queued: bool,
}

/// One event on the bus. Cheap to clone.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// The readings of one committed batch, in commit order.
    Readings(Arc<Vec<Reading>>),
    Status(Arc<StatusChange>),
    Trigger(Arc<TriggerFired>),
    /// The upstream link came up or went down: the sync's status object as JSON, serialized
    /// by `sync` (above the bus in the layers), the same object as health's `upstream`.
    Upstream(Arc<str>),
    /// The InfluxDB upstream's status changed: its health object (`influxdb`) as JSON.
    #[cfg(feature = "influxdb")]
    Influxdb(Arc<str>),
}

impl LiveEvent {
    fn interest(&self) -> Interest {
        match self {
            LiveEvent::Readings(_) => Interest::TELEMETRY,
            LiveEvent::Status(_) => Interest::STATUS,
            LiveEvent::Trigger(_) => Interest::TRIGGER,
            LiveEvent::Upstream(_) => Interest::UPSTREAM,
            #[cfg(feature = "influxdb")]
            LiveEvent::Influxdb(_) => Interest::UPSTREAM,
        }
    }
}

/// Totals since start, for `/api/v1/health`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BusStats {
    pub subscribers: usize,
    pub published: u64,
    /// Events not delivered because a subscriber's queue was full.
    pub dropped: u64,
}

struct Slot {
    id: u64,
    interest: Interest,
    tx: async_channel::Sender<LiveEvent>,
    dropped: Arc<AtomicU64>,
}

/// The bus. Share it by `Arc`.
#[derive(Default)]
pub struct Bus {
    slots: Mutex<Vec<Slot>>,
    /// Union of all subscribers' interests, so publishers can skip work without the lock.
    wanted: AtomicU8,
    next_id: AtomicU64,
    published: AtomicU64,
    dropped: AtomicU64,
}

impl Bus {
    pub fn new() -> Arc<Bus> {
        Arc::new(Bus::default())
    }

    /// True when some subscriber wants events of this kind.
    pub fn wants(&self, interest: Interest) -> bool {
        Interest(self.wanted.load(Relaxed)).contains(interest)
    }

    /// Subscribes with a queue of `capacity` events (at least 1).
    pub fn subscribe(self: &Arc<Self>, interest: Interest, capacity: usize) -> Subscription {
        let (tx, rx) = async_channel::bounded(capacity.max(1));
        let id = self.next_id.fetch_add(1, Relaxed);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut slots = self.lock();
        slots.push(Slot {
            id,
            interest,
            tx,
            dropped: dropped.clone(),
        });
        self.recompute(&slots);
        Subscription {
            id,
            rx,
            dropped,
            bus: self.clone(),
        }
    }

    /// Offers `event` to every interested subscriber without waiting.
    pub fn publish(&self, event: LiveEvent) {
        let kind = event.interest();
        if !self.wants(kind) {
            return;
        }
        self.published.fetch_add(1, Relaxed);
        let slots = self.lock();
        for slot in slots.iter().filter(|s| s.interest.contains(kind)) {
            if slot.tx.try_send(event.clone()).is_err() {
                slot.dropped.fetch_add(1, Relaxed);
                self.dropped.fetch_add(1, Relaxed);
            }
        }
    }

    pub fn stats(&self) -> BusStats {
        BusStats {
            subscribers: self.lock().len(),
            published: self.published.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
        }
    }

    fn unsubscribe(&self, id: u64) {
        let mut slots = self.lock();
        slots.retain(|s| s.id != id);
        self.recompute(&slots);
    }

    fn recompute(&self, slots: &[Slot]) {
        let wanted = slots.iter().fold(0, |acc, s| acc | s.interest.0);
        self.wanted.store(wanted, Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A subscriber's end of the bus; unsubscribes when dropped.
pub struct Subscription {
    id: u64,
    rx: async_channel::Receiver<LiveEvent>,
    dropped: Arc<AtomicU64>,
    bus: Arc<Bus>,
}

impl Subscription {
    pub fn receiver(&self) -> &async_channel::Receiver<LiveEvent> {
        &self.rx
    }

    /// Events this subscriber lost to a full queue.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.bus.unsubscribe(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(device: &str) -> LiveEvent {
        LiveEvent::Status(Arc::new(StatusChange {
            device: device.into(),
            online: true,
            ts: 1,
            source: "reading",
        }))
    }

    #[test]
    fn a_full_subscriber_loses_events_without_blocking_the_others() {
        let bus = Bus::new();
        let slow = bus.subscribe(Interest::STATUS, 2);
        let fast = bus.subscribe(Interest::STATUS, 100);
        for i in 0..10 {
            bus.publish(status(&format!("d{i}")));
        }
        assert_eq!(slow.receiver().len(), 2);
        assert_eq!(slow.dropped(), 8);
        assert_eq!(fast.receiver().len(), 10);
        assert_eq!(bus.stats().dropped, 8);
    }

    #[test]
    fn events_nobody_wants_are_not_published() {
        let bus = Bus::new();
        assert!(!bus.wants(Interest::TELEMETRY));
        let sub = bus.subscribe(Interest::TRIGGER, 4);
        assert!(!bus.wants(Interest::STATUS));
        bus.publish(status("d"));
        assert_eq!(sub.receiver().len(), 0);
        assert_eq!(bus.stats().published, 0);
        drop(sub);
        assert!(!bus.wants(Interest::TRIGGER));
        assert_eq!(bus.stats().subscribers, 0);
    }
}
