//! The BLE scanner source: one thread that scans with a BlueZ adapter (btleplug over the system
//! D-Bus) and hands every advertisement to the shared [`AdvertSink`].
//!
//! Invariants:
//! - btleplug's tokio lives only inside this thread (a current-thread runtime); the rest of the
//!   daemon never sees tokio.
//! - The scanner never takes the daemon down: a missing bus, bluetoothd or adapter, or a lost
//!   connection, is recorded in [`IngestStats::ble`] (state `error`, `last_error`), logged, and the
//!   scan starts again after a backoff that doubles from 1 s up to `restart_max`; the backoff
//!   goes back to 1 s after a scan that ran for a minute.
//! - A stop request is seen within [`POLL_INTERVAL`].

mod bluez;

use super::sink::AdvertSink;
use super::BleSettings;
use crate::ingest::stats::IngestStats;
use crate::ingest::stats::ScannerState;
use crate::model::Event;
use crate::threads::{StopFlag, WorkerThread};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use bluez::{payloads_of, ScanError};

/// How often the scan loop looks at the stop flag.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// A scan that ran this long resets the backoff.
const HEALTHY_RUN: Duration = Duration::from_secs(60);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Where and how to scan (`config ble`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSettings {
    /// Adapter name (`hci0`); `None`: the first one BlueZ lists.
    pub adapter: Option<String>,
    /// The system bus address, applied to the process by [`use_system_bus`] at start.
    pub dbus_address: Option<String>,
    pub restart_max: Duration,
}

/// Points libdbus' system bus at `address` for this process (`DBUS_SYSTEM_BUS_ADDRESS`, which
/// libdbus reads when btleplug connects; btleplug offers no other way). Call it once at start,
/// before other threads run, since it changes the environment.
pub fn use_system_bus(address: &str) {
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", address);
}

/// The running scanner thread.
pub struct ScannerSource {
    thread: WorkerThread,
}

impl ScannerSource {
    pub fn spawn(
        scan: ScanSettings,
        settings: BleSettings,
        tx: async_channel::Sender<Event>,
        stats: Arc<IngestStats>,
    ) -> std::io::Result<ScannerSource> {
        let stop = StopFlag::default();
        let flag = stop.clone();
        let thread = WorkerThread::spawn("ble-scan", stop, move || {
            supervise(&scan, settings, &tx, &stats, &flag)
        })?;
        Ok(ScannerSource { thread })
    }

    /// Asks the thread to stop, without waiting.
    pub fn request_stop(&self) {
        self.thread.request_stop();
    }

    /// Stops and waits for the thread.
    pub fn stop(self) {
        self.thread.stop();
    }
}

/// Runs scans until stopped, restarting after errors with a backoff.
fn supervise(
    scan: &ScanSettings,
    settings: BleSettings,
    tx: &async_channel::Sender<Event>,
    stats: &IngestStats,
    stop: &StopFlag,
) {
    let counters = &stats.ble;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let message = format!("cannot start the scanner's runtime: {e}");
            log::error!("{message}");
            counters.set_scanner(ScannerState::Error, None, Some(message));
            return;
        }
    };
    let mut sink = AdvertSink::new(settings, tx, stats);
    let mut backoff = FIRST_BACKOFF;
    loop {
        counters.set_scanner(ScannerState::Starting, None, None);
        let started = Instant::now();
        let result = runtime.block_on(bluez::scan(scan, &mut sink, counters, stop));
        match result {
            Ok(()) => break, // stopped, or the writer is gone
            Err(e) => {
                if started.elapsed() >= HEALTHY_RUN {
                    backoff = FIRST_BACKOFF;
                }
                log::warn!(
                    "adapter={} retry_in_s={} BLE scanner stopped: {e}",
                    scan.adapter.as_deref().unwrap_or("(first)"),
                    backoff.as_secs()
                );
                counters.set_scanner(ScannerState::Error, None, Some(e.to_string()));
            }
        }
        if !stop.sleep(backoff, POLL_INTERVAL) {
            break;
        }
        counters.scanner_restarts.fetch_add(1, Relaxed);
        backoff = (backoff * 2).min(scan.restart_max.max(FIRST_BACKOFF));
    }
    counters.set_scanner(ScannerState::Off, None, None);
}

#[cfg(test)]
mod tests;
