//! What the InfluxDB upstream reports: the live state its thread writes ([`InfluxStatus`]:
//! counters plus a small mutex for the state and last error) and the [`InfluxSnapshot`] that
//! `/health` (`influxdb`) and the WebSocket event `influxdb.status` carry.

use crate::model::now_ms;
use crate::store::Store;
use crate::sync::SyncState;
use portable_atomic::{AtomicI64, AtomicU64};
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// A point-in-time view of the InfluxDB upstream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfluxSnapshot {
    /// `disabled`, `connecting` (before the first answer), `connected` (the latest request
    /// was answered with 2xx, or its batch was rejected as bad) or `backoff`.
    pub state: SyncState,
    /// The latest failure or rejection; a failure is cleared by the next accepted batch.
    pub last_error: Option<String>,
    /// The highest seq InfluxDB accepted or rejected (persisted in the store).
    pub cursor: i64,
    /// Stored readings above the cursor.
    pub backlog: u64,
    /// Age in seconds (by its `ts`) of the oldest reading above the cursor; 0 when none.
    pub lag_s: u64,
    /// Readings InfluxDB accepted since start.
    pub sent: u64,
    /// Readings of batches InfluxDB refused as bad (HTTP 400 or 422) since start: skipped.
    pub rejected: u64,
    /// Epoch ms of the latest accepted batch (since start).
    pub last_success_ts: Option<i64>,
}

/// Shared between the upstream's thread (writer) and readers such as the API.
#[derive(Debug)]
pub struct InfluxStatus {
    enabled: bool,
    state: Mutex<(SyncState, Option<String>)>,
    cursor: AtomicI64,
    sent: AtomicU64,
    rejected: AtomicU64,
    last_success_ms: AtomicI64,
}

impl InfluxStatus {
    pub fn new(enabled: bool) -> InfluxStatus {
        let state = if enabled {
            SyncState::Connecting
        } else {
            SyncState::Disabled
        };
        InfluxStatus {
            enabled,
            state: Mutex::new((state, None)),
            cursor: AtomicI64::new(0),
            sent: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            last_success_ms: AtomicI64::new(0),
        }
    }

    fn set(&self, state: SyncState, error: Option<String>) -> bool {
        let mut slot = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let changed = slot.0 != state;
        *slot = (state, error);
        changed
    }

    /// The cursor as loaded at start.
    pub(super) fn loaded(&self, cursor: i64) {
        self.cursor.store(cursor, Relaxed);
    }

    /// A batch was accepted; true when this ends an outage (or is the first success).
    pub(super) fn accepted(&self, readings: u64, cursor: i64) -> bool {
        self.sent.fetch_add(readings, Relaxed);
        self.cursor.store(cursor, Relaxed);
        self.last_success_ms.store(now_ms(), Relaxed);
        self.set(SyncState::Connected, None)
    }

    /// A batch was refused as bad and skipped.
    pub(super) fn rejected(&self, readings: u64, cursor: i64, why: String) {
        self.rejected.fetch_add(readings, Relaxed);
        self.cursor.store(cursor, Relaxed);
        self.set(SyncState::Connected, Some(why));
    }

    /// A request failed; the batch is retried after the backoff.
    pub(super) fn failed(&self, why: String) {
        self.set(SyncState::Backoff, Some(why));
    }

    /// The snapshot, with the backlog read from `store` (the caller holds its lock).
    pub fn snapshot(&self, store: &Store) -> InfluxSnapshot {
        let (state, last_error) = self.state.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let cursor = self.cursor.load(Relaxed);
        let (backlog, oldest_ts) = if self.enabled {
            store.backlog_after(cursor)
        } else {
            (0, None)
        };
        InfluxSnapshot {
            state,
            last_error,
            cursor,
            backlog,
            lag_s: oldest_ts.map_or(0, |ts| (now_ms().saturating_sub(ts).max(0) / 1000) as u64),
            sent: self.sent.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            last_success_ts: match self.last_success_ms.load(Relaxed) {
                0 => None,
                ms => Some(ms),
            },
        }
    }
}
