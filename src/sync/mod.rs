//! Upstream store-and-forward: readings leave for the cloud broker in seq order, in batches
//! published with QoS 1, and the store's sync cursor advances only after the broker's PUBACK
//! for the batch (see `docs/UPSTREAM.md` for the message format and the pacing policy).
//!
//! # Invariants
//!
//! - Nothing is deleted to send it: the ring buffer is the outbox, and a reading above the
//!   cursor stays queryable until eviction (which counts it as `evicted_unsynced`).
//! - The cursor is persisted in a store transaction after the acknowledgement, never before, so
//!   a crash or an outage can repeat a batch (same idempotency keys) but never skip one. At most
//!   [`worker::WINDOW`] (one) batch is unacknowledged at any time, which bounds the repeats per
//!   outage to one batch.
//! - Each connection attempt gets a fresh MQTT client and event loop with a clean session, so a
//!   publish from a dead connection can never be mistaken for one of the next connection.
//! - The store lock is held for one batch read or one cursor commit at a time.
//!
//! The link's changes go on the bus as `upstream.status` events (WebSocket clients): when it
//! comes up, and when an attempt fails or the link is lost, once per outage and again when
//! the reason changes (like the log), not at every retry.

pub mod endpoint;
#[cfg(feature = "influxdb")]
pub mod influxdb;
pub mod message;
pub mod roots;
pub mod status;
mod worker;

use crate::bus::Bus;
use crate::store::SharedStore;
use crate::threads::{StopFlag, WorkerThread};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use endpoint::Endpoint;
pub use status::{sync_status, SyncState, SyncStatus, UpstreamStatus};

/// Everything the sync task needs from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSettings {
    pub url: String,
    pub client_id: String,
    pub gateway_id: String,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// With `{gateway_id}` already replaced.
    pub topic: String,
    pub keepalive: Duration,
    pub reconnect_max: Duration,
}

/// Why the upstream cannot be set up; each names the option to fix.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("upstream.url: {0}")]
    Url(String),
    #[error("upstream.{option}: cannot read {path}: {reason}")]
    File {
        option: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("upstream.{option}: {path} holds no {what}")]
    Empty {
        option: &'static str,
        path: PathBuf,
        what: &'static str,
    },
    #[error("upstream.{option}: {reason}")]
    Tls {
        option: &'static str,
        reason: String,
    },
    #[error("cannot start the upstream sync thread: {0}")]
    Spawn(std::io::Error),
}

/// The running sync task.
pub struct Upstream {
    thread: WorkerThread,
}

impl Upstream {
    /// Checks the settings (URL, certificates, key) and starts the sync thread, which reports
    /// to `status` and announces the link's changes on `bus`. Every problem with the
    /// configuration is reported here, before anything runs.
    pub fn start(
        settings: SyncSettings,
        store: SharedStore,
        status: Arc<UpstreamStatus>,
        bus: Arc<Bus>,
    ) -> Result<Upstream, SyncError> {
        let endpoint = Endpoint::from_settings(&settings)?;
        let stop = StopFlag::default();
        let worker = worker::Worker {
            settings,
            endpoint,
            store,
            status,
            bus,
            stop: stop.clone(),
        };
        let thread = WorkerThread::spawn("upstream-sync", stop, move || worker.run())
            .map_err(SyncError::Spawn)?;
        Ok(Upstream { thread })
    }

    /// Stops the task, waiting up to `grace`. Batches in flight are simply not acknowledged:
    /// they are sent again by the next run, from the persisted cursor.
    pub fn stop(self, grace: Duration) {
        self.thread.stop_within(grace);
    }
}
