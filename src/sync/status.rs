//! What the upstream sync reports: the live state written by the sync thread
//! ([`UpstreamStatus`], lock-free counters plus a small mutex for the state and last error) and
//! the serializable [`SyncStatus`] snapshot that `/health` and WebSocket events carry.

use crate::model::now_ms;
use crate::store::{SharedStore, Store};
use portable_atomic::{AtomicI64, AtomicU64};
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// Connection state of the upstream sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// `upstream.enabled` is off.
    Disabled,
    /// A connection attempt is in progress.
    Connecting,
    /// Connected; the backlog drains.
    Connected,
    /// The last attempt failed; waiting before the next (see `last_error`).
    Backoff,
}

/// A point-in-time view of the upstream sync, cheap to take (one store lock, one rowid lookup).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub state: SyncState,
    /// The latest connection or publish error; cleared by the next successful connection.
    pub last_error: Option<String>,
    /// Stored readings not yet acknowledged by the cloud.
    pub backlog: u64,
    /// Age in seconds (by its `ts`) of the oldest reading not yet acknowledged; 0 when none.
    pub lag_s: u64,
    /// Epoch ms of the latest acknowledged batch (since start).
    pub last_sync_ms: Option<i64>,
    /// Readings evicted from the ring before the cloud acknowledged them: the cloud's gap.
    pub evicted_unsynced: u64,
    /// Readings the cloud acknowledged since start.
    pub sent_total: u64,
    /// The highest acknowledged seq (persisted).
    pub cursor: i64,
    /// Successful connections since start.
    pub connects: u64,
}

/// Shared between the sync thread (writer) and readers such as the API.
#[derive(Debug)]
pub struct UpstreamStatus {
    enabled: bool,
    state: Mutex<(SyncState, Option<String>)>,
    last_sync_ms: AtomicI64,
    sent_total: AtomicU64,
    connects: AtomicU64,
}

impl UpstreamStatus {
    pub fn new(enabled: bool) -> UpstreamStatus {
        let state = if enabled {
            SyncState::Connecting
        } else {
            SyncState::Disabled
        };
        UpstreamStatus {
            enabled,
            state: Mutex::new((state, None)),
            last_sync_ms: AtomicI64::new(0),
            sent_total: AtomicU64::new(0),
            connects: AtomicU64::new(0),
        }
    }

    pub(crate) fn set_state(&self, state: SyncState) {
        let mut slot = self.state.lock().unwrap_or_else(|p| p.into_inner());
        slot.0 = state;
        if state == SyncState::Connected {
            slot.1 = None;
        }
    }

    pub(crate) fn set_error(&self, state: SyncState, error: String) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = (state, Some(error));
    }

    pub(crate) fn connected(&self) {
        self.connects.fetch_add(1, Relaxed);
        self.set_state(SyncState::Connected);
    }

    pub(crate) fn acknowledged(&self, readings: u64) {
        self.sent_total.fetch_add(readings, Relaxed);
        self.last_sync_ms.store(now_ms(), Relaxed);
    }

    /// The snapshot, with the outbox figures read from `store` (the caller holds its lock).
    pub fn snapshot(&self, store: &Store) -> SyncStatus {
        let (state, last_error) = self.state.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let outbox = store.outbox_stats();
        let enabled = self.enabled;
        let lag_s = match outbox.oldest_unsynced_ts {
            Some(ts) if enabled => (now_ms().saturating_sub(ts).max(0) / 1000) as u64,
            _ => 0,
        };
        SyncStatus {
            state,
            last_error,
            backlog: if enabled { outbox.backlog } else { 0 },
            lag_s,
            last_sync_ms: match self.last_sync_ms.load(Relaxed) {
                0 => None,
                ms => Some(ms),
            },
            evicted_unsynced: outbox.evicted_unsynced,
            sent_total: self.sent_total.load(Relaxed),
            cursor: outbox.cursor,
            connects: self.connects.load(Relaxed),
        }
    }
}

/// The upstream sync status for `/health` and WebSocket events: locks the store briefly.
pub fn sync_status(status: &UpstreamStatus, store: &SharedStore) -> SyncStatus {
    let store = store.lock();
    status.snapshot(&store)
}
