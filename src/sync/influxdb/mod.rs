//! The InfluxDB upstream (Cargo feature `influxdb`): readings leave the store in seq order, in
//! batches of line protocol POSTed to InfluxDB's v1 `/write` or v2 `/api/v2/write` endpoint,
//! and the upstream's own cursor (`meta.influxdb_cursor`) advances only after the server's
//! answer (docs/UPSTREAM.md, "InfluxDB").
//!
//! # Invariants
//!
//! - The ring buffer is the outbox, as for the MQTT upstream, and this cursor is independent of
//!   the MQTT upstream's: both may run, each reads the same rows at its own pace.
//! - The cursor moves only in a committed store transaction after a 2xx answer for the batch,
//!   or after a 400/422 answer (InfluxDB refused the batch itself: a field type conflict, a
//!   point it cannot parse or outside the retention policy), which skips the batch, logs it
//!   and counts its readings as `rejected`, so one bad batch cannot stop the outbox for good.
//!   Every other answer (401/403 a bad token, 404 no such database or bucket, 413, 429, 5xx)
//!   and every transport failure keep the cursor and retry the same batch after an exponential
//!   backoff capped at `influxdb.reconnect_max_s`.
//! - One request is in flight at a time; the store lock is held for one batch read or one
//!   cursor commit, never across the network.

mod http;
mod line;
mod status;
mod target;
mod tls;
mod worker;

use crate::bus::Bus;
use crate::store::SharedStore;
use crate::threads::{StopFlag, WorkerThread};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use status::{InfluxSnapshot, InfluxStatus};

/// The `meta` key of this upstream's cursor.
pub const CURSOR_KEY: &str = "influxdb_cursor";

/// Which write API, with its destination.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteApi {
    V1 {
        database: String,
        retention_policy: Option<String>,
    },
    V2 {
        org: String,
        bucket: String,
    },
}

/// Everything the InfluxDB upstream needs from the configuration.
#[derive(Clone, PartialEq)]
pub struct InfluxSettings {
    pub url: String,
    pub api: WriteApi,
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_file: Option<PathBuf>,
    /// The `gateway` tag of every point.
    pub gateway_id: String,
    pub batch_size: usize,
    pub reconnect_max: Duration,
}

/// Why the InfluxDB upstream cannot be set up; each names the option to fix.
#[derive(Debug, thiserror::Error)]
pub enum InfluxError {
    #[error("influxdb.url: {0}")]
    Url(String),
    #[error("influxdb.ca_file: {0}")]
    CaFile(String),
    #[error("cannot start the InfluxDB upstream thread: {0}")]
    Spawn(std::io::Error),
}

/// The running InfluxDB upstream.
pub struct InfluxUpstream {
    thread: WorkerThread,
}

impl InfluxUpstream {
    /// Checks the settings (URL, CA file) and starts the thread, which reports to `status` and
    /// announces the link's changes on `bus`.
    pub fn start(
        settings: InfluxSettings,
        store: SharedStore,
        status: Arc<InfluxStatus>,
        bus: Arc<Bus>,
    ) -> Result<InfluxUpstream, InfluxError> {
        let target = target::Target::new(&settings)?;
        let tls = if target.https {
            Some(tls::client_config(settings.ca_file.as_deref())?)
        } else {
            if settings.ca_file.is_some() {
                log::warn!(
                    "url={} influxdb.ca_file is ignored without https://",
                    settings.url
                );
            }
            None
        };
        let stop = StopFlag::default();
        let worker = worker::Worker {
            client: http::Client::new(target, tls),
            settings,
            store,
            status,
            bus,
            stop: stop.clone(),
        };
        let thread = WorkerThread::spawn("influxdb", stop, move || worker.run())
            .map_err(InfluxError::Spawn)?;
        Ok(InfluxUpstream { thread })
    }

    /// Stops the thread, waiting up to `grace`; a request in flight is simply not
    /// acknowledged and is sent again by the next run, from the persisted cursor.
    pub fn stop(self, grace: Duration) {
        self.thread.stop_within(grace);
    }
}
