//! Local inference (`ml` feature): `config model` sections score sliding windows of telemetry
//! and write their outputs back as derived readings. The counters exist in every build (the
//! health report has them, all 0 without the feature); the rest needs the feature.
//!
//! Invariants:
//! - Models are loaded and optimized once, at start and at reload. A model that cannot be
//!   loaded or whose input/output does not match its section is logged and counted
//!   (`ml.load_errors`); the other models and the daemon run on.
//! - Inference never slows ingest: the `ml` thread reads committed batches off the live bus
//!   through its own bounded queue (`ML_QUEUE` batches; a batch that does not fit is dropped
//!   and counted), and hands outputs to the store writer with `try_send` (a full writer queue
//!   drops the outputs, counted, rather than waiting).
//! - Outputs take the path of ingested readings (store, sync, REST, WebSocket, rules). A model
//!   never consumes model outputs: the config refuses an output that is any model's input.

#[cfg(feature = "ml")]
mod onnx;
#[cfg(feature = "ml")]
mod runner;
#[cfg(feature = "ml")]
mod window;

#[cfg(feature = "ml")]
pub use onnx::LoadedModel;
#[cfg(feature = "ml")]
pub use runner::{MlRunner, ModelSettings, ML_QUEUE};
#[cfg(feature = "ml")]
pub use window::{Ready, Windows, MAX_DEVICES_PER_MODEL};

use portable_atomic::AtomicU64;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;

/// Why a model cannot be used, or one inference failed.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    #[error("cannot load model {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("model {path} does not match its section: {message}")]
    Mismatch { path: PathBuf, message: String },
    #[error("inference failed: {0}")]
    Run(String),
    #[error("the model returned {0}, not a finite number")]
    NotFinite(f32),
}

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
