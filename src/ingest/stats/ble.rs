//! Health of the Bluetooth LE input as `GET /api/v1/health` reports it: what became of the
//! advertisements (from the scanner or a capture-file replay) and the scanner's state.
//!
//! Invariants: counters only grow (totals since start); every advertisement handed to the
//! decoder is counted in `received` and in exactly one of `decoded`, `duplicates`, `denied`,
//! `unknown_devices`, `unknown_format` or `undecodable`. Compiled in every build, like the
//! other ingest counters.

use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// What the scanner is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScannerState {
    /// Not started: `ble.enabled` is off, or the build has no `ble` feature.
    #[default]
    Off,
    /// Connecting to the bus, looking for the adapter.
    Starting,
    /// Scanning.
    Running,
    /// Stopped by an error; it starts again after a backoff (see `last_error`).
    Error,
}

#[derive(Default)]
pub struct BleCounters {
    pub received: AtomicU64,
    pub decoded: AtomicU64,
    pub readings: AtomicU64,
    pub duplicates: AtomicU64,
    pub denied: AtomicU64,
    pub unknown_devices: AtomicU64,
    pub unknown_format: AtomicU64,
    pub undecodable: AtomicU64,
    pub scanner_restarts: AtomicU64,
    scanner: Mutex<ScannerHealth>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScannerHealth {
    pub state: ScannerState,
    /// The adapter in use (`hci0`), once found.
    pub adapter: Option<String>,
    /// The last error that stopped the scanner (kept after a successful restart).
    pub last_error: Option<String>,
    /// Times the scanner started again after an error.
    pub restarts: u64,
}

/// Totals since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BleSnapshot {
    /// Advertisements handed to the decoders (scanner and replay).
    pub received: u64,
    /// Advertisements that became readings.
    pub decoded: u64,
    /// Readings they gave (the `rssi` reading included).
    pub readings: u64,
    /// Repeats of a device's previous measurement (same packet id or counter).
    pub duplicates: u64,
    /// From an address on the deny list.
    pub denied: u64,
    /// From an address not on the allow list (only counted when `ble.allow` is set).
    pub unknown_devices: u64,
    /// Carrying no payload of a supported format (other BLE devices in range).
    pub unknown_format: u64,
    /// A supported format that failed to decode (truncated, bad MIC, missing bindkey).
    pub undecodable: u64,
    pub scanner: ScannerHealth,
}

impl BleCounters {
    /// Records the scanner's new state; an error text is kept as `last_error`.
    pub fn set_scanner(&self, state: ScannerState, adapter: Option<&str>, error: Option<String>) {
        if let Ok(mut health) = self.scanner.lock() {
            health.state = state;
            if let Some(adapter) = adapter {
                health.adapter = Some(adapter.to_owned());
            }
            if error.is_some() {
                health.last_error = error;
            }
        }
    }

    pub fn snapshot(&self) -> BleSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        let mut scanner = self.scanner.lock().map(|h| h.clone()).unwrap_or_default();
        scanner.restarts = get(&self.scanner_restarts);
        BleSnapshot {
            received: get(&self.received),
            decoded: get(&self.decoded),
            readings: get(&self.readings),
            duplicates: get(&self.duplicates),
            denied: get(&self.denied),
            unknown_devices: get(&self.unknown_devices),
            unknown_format: get(&self.unknown_format),
            undecodable: get(&self.undecodable),
            scanner,
        }
    }
}
