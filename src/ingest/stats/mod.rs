//! Counters of the ingest path, as `GET /api/v1/health` reports them: the MQTT source
//! (`mqtt`), every reading on its way to the store (`ingest`), and the radio sources (`lora`,
//! `ble`). One [`IngestStats`] is created at start and shared by `Arc` with the sources and the
//! store writer; each group turns itself into a snapshot, and the health endpoint assembles
//! them with the other parts' snapshots.
//!
//! Invariants: every field is an atomic (or a short-held lock for a text), so hot paths never
//! wait to count; counters only grow (totals since start), gauges (`queue_depth`, `connected`,
//! `subscribed`) are overwritten. This module is compiled in every build, the radios' counters
//! included, so the health document has one shape with and without the `ble` and `lora`
//! features.

mod ble;
mod lora;

pub use ble::{BleCounters, BleSnapshot, ScannerHealth, ScannerState};
pub use lora::{GatewaySnapshot, GatewayStat, LoraCounters, LoraSnapshot, MAX_GATEWAYS};

use portable_atomic::{AtomicI64, AtomicU64};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Everything the ingest path counts.
#[derive(Default)]
pub struct IngestStats {
    pub mqtt: MqttCounters,
    pub readings: ReadingCounters,
    pub lora: LoraCounters,
    pub ble: BleCounters,
}

/// Why an incoming message was dropped before it became readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// The topic does not match `<prefix>/<device>/<kind>` or names an invalid device.
    Topic,
    /// The payload exceeds `mqtt.max_payload_kb`.
    TooLarge,
    /// Telemetry that is not the documented JSON shape.
    Json,
    /// A binary frame that failed acs-proto's checks.
    Frame,
    /// A status payload other than `online` / `offline`.
    Status,
}

/// The MQTT source's connection and what it made of the messages it received.
#[derive(Default)]
pub struct MqttCounters {
    pub connected: AtomicBool,
    /// The broker granted every ingest subscription on the current connection.
    pub subscribed: AtomicBool,
    pub connects: AtomicU64,
    pub messages: AtomicU64,
    malformed_topic: AtomicU64,
    malformed_too_large: AtomicU64,
    malformed_json: AtomicU64,
    malformed_frame: AtomicU64,
    malformed_status: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// `host:port` of the running source and when it started; `None` while MQTT ingest is off.
    broker: Mutex<Option<(String, Instant)>>,
}

impl MqttCounters {
    pub fn count_malformed(&self, kind: Malformed) {
        let counter = match kind {
            Malformed::Topic => &self.malformed_topic,
            Malformed::TooLarge => &self.malformed_too_large,
            Malformed::Json => &self.malformed_json,
            Malformed::Frame => &self.malformed_frame,
            Malformed::Status => &self.malformed_status,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub fn set_error(&self, error: Option<String>) {
        if let Ok(mut slot) = self.last_error.lock() {
            *slot = error;
        }
    }

    /// Set by the source when it starts (`Some(host:port)`) and ends (`None`).
    pub fn set_broker(&self, broker: Option<String>) {
        if let Ok(mut slot) = self.broker.lock() {
            *slot = broker.map(|b| (b, Instant::now()));
        }
    }

    /// Why health is `degraded` because of the broker: ingest is on, has had `grace` since it
    /// started to connect, and is not connected now.
    pub fn broker_problem(&self, grace: Duration) -> Option<String> {
        let slot = self.broker.lock().ok()?;
        let (broker, since) = slot.as_ref()?;
        if self.connected.load(Relaxed) || since.elapsed() < grace {
            return None;
        }
        let error = self.last_error.lock().ok().and_then(|e| e.clone());
        Some(format!(
            "mqtt: not connected to the broker {broker}: {}",
            error.as_deref().unwrap_or("no answer yet")
        ))
    }

    pub fn snapshot(&self) -> MqttSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        MqttSnapshot {
            connected: self.connected.load(Relaxed),
            subscribed: self.subscribed.load(Relaxed),
            connects: get(&self.connects),
            messages: get(&self.messages),
            last_error: self.last_error.lock().ok().and_then(|e| e.clone()),
            malformed: MalformedSnapshot {
                topic: get(&self.malformed_topic),
                too_large: get(&self.malformed_too_large),
                json: get(&self.malformed_json),
                frame: get(&self.malformed_frame),
                status: get(&self.malformed_status),
            },
        }
    }
}

/// Readings from every source on their way into the store: counted by the sources when they
/// queue them and by the store writer when it commits, refuses or loses them.
#[derive(Default)]
pub struct ReadingCounters {
    pub received: AtomicU64,
    pub committed: AtomicU64,
    pub batches: AtomicU64,
    pub queue_depth: AtomicU64,
    pub rejected_device_cap: AtomicU64,
    pub rejected_metric_cap: AtomicU64,
    pub dropped_disabled: AtomicU64,
    pub rejected_invalid: AtomicU64,
    pub rejected_future_ts: AtomicU64,
    pub store_errors: AtomicU64,
    /// Readings of batches the store could not commit (dropped after the retries, or at stop).
    pub lost: AtomicU64,
    pub last_commit_ms: AtomicI64,
    /// The store's last commit error while commits fail; `None` once one succeeds.
    store_error: Mutex<Option<String>>,
}

impl ReadingCounters {
    pub fn set_store_error(&self, error: Option<String>) {
        if let Ok(mut slot) = self.store_error.lock() {
            *slot = error;
        }
    }

    /// Why health is `degraded` because of the store: its commits are failing.
    pub fn store_error(&self) -> Option<String> {
        self.store_error.lock().ok().and_then(|e| e.clone())
    }

    pub fn snapshot(&self) -> IngestSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        IngestSnapshot {
            received: get(&self.received),
            committed: get(&self.committed),
            batches: get(&self.batches),
            queue_depth: get(&self.queue_depth),
            rejected_device_cap: get(&self.rejected_device_cap),
            rejected_metric_cap: get(&self.rejected_metric_cap),
            dropped_disabled: get(&self.dropped_disabled),
            rejected_invalid: get(&self.rejected_invalid),
            rejected_future_ts: get(&self.rejected_future_ts),
            store_errors: get(&self.store_errors),
            lost: get(&self.lost),
            last_commit: match self.last_commit_ms.load(Relaxed) {
                0 => None,
                ms => Some(ms),
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MqttSnapshot {
    pub connected: bool,
    pub subscribed: bool,
    pub connects: u64,
    pub messages: u64,
    pub last_error: Option<String>,
    pub malformed: MalformedSnapshot,
}

#[derive(Debug, Serialize)]
pub struct MalformedSnapshot {
    pub topic: u64,
    pub too_large: u64,
    pub json: u64,
    pub frame: u64,
    pub status: u64,
}

#[derive(Debug, Serialize)]
pub struct IngestSnapshot {
    pub received: u64,
    pub committed: u64,
    pub batches: u64,
    pub queue_depth: u64,
    pub rejected_device_cap: u64,
    pub rejected_metric_cap: u64,
    pub dropped_disabled: u64,
    pub rejected_invalid: u64,
    /// Readings of messages refused whole for a timestamp beyond `store.max_future_skew_s`.
    pub rejected_future_ts: u64,
    pub store_errors: u64,
    /// Readings the store could not commit (disk full, I/O errors), counted when dropped.
    pub lost: u64,
    /// Epoch ms of the last committed batch.
    pub last_commit: Option<i64>,
}
