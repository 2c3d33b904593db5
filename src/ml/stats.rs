//! The counters of local inference, the `ml` object of `/api/v1/health`. Compiled in every
//! build (all 0 without the `ml` feature), so the health document has one shape.

use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;

/// Totals since start (`ml` in `/api/v1/health`).
#[derive(Debug, Default)]
pub struct MlCounters {
    pub models_loaded: AtomicU64,
    pub load_errors: AtomicU64,
    pub inferences: AtomicU64,
    pub inference_errors: AtomicU64,
    /// Derived readings handed to the writer.
    pub outputs: AtomicU64,
    /// Derived readings lost to a full writer queue.
    pub outputs_dropped: AtomicU64,
    /// Committed batches not scored because the `ml` queue was full.
    pub batches_dropped: AtomicU64,
    /// Readings of devices beyond `MAX_DEVICES_PER_MODEL` windows of one model.
    pub devices_refused: AtomicU64,
}

/// A copy of [`MlCounters`] for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MlSnapshot {
    pub models_loaded: u64,
    pub load_errors: u64,
    pub inferences: u64,
    pub inference_errors: u64,
    pub outputs: u64,
    pub outputs_dropped: u64,
    pub batches_dropped: u64,
    pub devices_refused: u64,
}

impl MlCounters {
    pub fn snapshot(&self) -> MlSnapshot {
        let get = |c: &AtomicU64| c.load(Relaxed);
        MlSnapshot {
            models_loaded: get(&self.models_loaded),
            load_errors: get(&self.load_errors),
            inferences: get(&self.inferences),
            inference_errors: get(&self.inference_errors),
            outputs: get(&self.outputs),
            outputs_dropped: get(&self.outputs_dropped),
            batches_dropped: get(&self.batches_dropped),
            devices_refused: get(&self.devices_refused),
        }
    }
}
