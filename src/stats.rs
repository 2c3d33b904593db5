//! Process-wide counters that `GET /api/v1/health` reports. One `Stats` is created at start and
//! shared by `Arc`; every field is an atomic so hot paths never take a lock to count.
//! Counters only grow (they are totals since start); gauges (`queue_depth`, `mqtt_connected`,
//! `mqtt_subscribed`) are overwritten.

use portable_atomic::{AtomicI64, AtomicU64};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Mutex;

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

#[derive(Default)]
pub struct Stats {
    pub mqtt_connected: AtomicBool,
    /// The broker granted every ingest subscription on the current connection.
    pub mqtt_subscribed: AtomicBool,
    pub mqtt_connects: AtomicU64,
    pub mqtt_messages: AtomicU64,
    pub malformed_topic: AtomicU64,
    pub malformed_too_large: AtomicU64,
    pub malformed_json: AtomicU64,
    pub malformed_frame: AtomicU64,
    pub malformed_status: AtomicU64,
    pub readings_received: AtomicU64,
    pub readings_committed: AtomicU64,
    pub batches_committed: AtomicU64,
    pub rejected_device_cap: AtomicU64,
    pub rejected_metric_cap: AtomicU64,
    pub dropped_disabled: AtomicU64,
    pub rejected_invalid: AtomicU64,
    pub rejected_future_ts: AtomicU64,
    pub store_errors: AtomicU64,
    /// Readings of batches the store could not commit (dropped after the retries, or at stop).
    pub readings_lost: AtomicU64,
    pub queue_depth: AtomicU64,
    pub last_commit_ms: AtomicI64,
    pub api_requests: AtomicU64,
    pub api_errors: AtomicU64,
    pub lora: crate::ingest::lora::LoraCounters,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_limited: AtomicU64,
    pub unauthorized: AtomicU64,
    pub ble: crate::ingest::ble_stats::BleCounters,
    pub ml: crate::ml::MlCounters,
    last_mqtt_error: Mutex<Option<String>>,
    /// The store's last commit error while commits fail; `None` once one succeeds.
    store_error: Mutex<Option<String>>,
}

impl Stats {
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

    pub fn set_mqtt_error(&self, error: Option<String>) {
        if let Ok(mut slot) = self.last_mqtt_error.lock() {
            *slot = error;
        }
    }

    pub fn set_store_error(&self, error: Option<String>) {
        if let Ok(mut slot) = self.store_error.lock() {
            *slot = error;
        }
    }

    /// Why health is `degraded` because of the store: its commits are failing.
    pub fn store_error(&self) -> Option<String> {
        self.store_error.lock().ok().and_then(|e| e.clone())
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        StatsSnapshot {
            mqtt: MqttSnapshot {
                connected: self.mqtt_connected.load(Relaxed),
                subscribed: self.mqtt_subscribed.load(Relaxed),
                connects: get(&self.mqtt_connects),
                messages: get(&self.mqtt_messages),
                last_error: self.last_mqtt_error.lock().ok().and_then(|e| e.clone()),
                malformed: MalformedSnapshot {
                    topic: get(&self.malformed_topic),
                    too_large: get(&self.malformed_too_large),
                    json: get(&self.malformed_json),
                    frame: get(&self.malformed_frame),
                    status: get(&self.malformed_status),
                },
            },
            ingest: IngestSnapshot {
                received: get(&self.readings_received),
                committed: get(&self.readings_committed),
                batches: get(&self.batches_committed),
                queue_depth: get(&self.queue_depth),
                rejected_device_cap: get(&self.rejected_device_cap),
                rejected_metric_cap: get(&self.rejected_metric_cap),
                dropped_disabled: get(&self.dropped_disabled),
                rejected_invalid: get(&self.rejected_invalid),
                rejected_future_ts: get(&self.rejected_future_ts),
                store_errors: get(&self.store_errors),
                lost: get(&self.readings_lost),
                last_commit: match self.last_commit_ms.load(Relaxed) {
                    0 => None,
                    ms => Some(ms),
                },
            },
            api: ApiSnapshot {
                requests: get(&self.api_requests),
                errors: get(&self.api_errors),
                connections: Default::default(),
                auth: AuthSnapshot {
                    logins_ok: get(&self.logins_ok),
                    logins_failed: get(&self.logins_failed),
                    logins_limited: get(&self.logins_limited),
                    unauthorized: get(&self.unauthorized),
                },
            },
            lora: self.lora.snapshot(),
            ble: self.ble.snapshot(),
            ml: self.ml.snapshot(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct StatsSnapshot {
    pub mqtt: MqttSnapshot,
    pub ingest: IngestSnapshot,
    pub api: ApiSnapshot,
    pub lora: crate::ingest::lora::LoraSnapshot,
    pub ble: crate::ingest::ble_stats::BleSnapshot,
    pub ml: crate::ml::MlSnapshot,
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

#[derive(Debug, Serialize)]
pub struct ApiSnapshot {
    pub requests: u64,
    pub errors: u64,
    /// The HTTP server's connection counters (filled in by the health endpoint).
    pub connections: crate::api::HttpStats,
    pub auth: AuthSnapshot,
}

#[derive(Debug, Serialize)]
pub struct AuthSnapshot {
    /// Logins that issued a token.
    pub logins_ok: u64,
    /// Logins refused for a wrong user name or password.
    pub logins_failed: u64,
    /// Logins refused unchecked: the address was locked out, or the password check was busy
    /// (see `crate::auth::gate`).
    pub logins_limited: u64,
    /// Requests refused with 401 (no, invalid or expired token).
    pub unauthorized: u64,
}
