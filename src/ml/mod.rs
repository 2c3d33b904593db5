//! Local inference (`ml` feature): `config model` sections score sliding windows of telemetry
//! and write their outputs back as derived readings. The counters ([`stats`]) exist in every
//! build (the health report has them, all 0 without the feature); the other modules are gated
//! where they are declared.
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
mod stats;
#[cfg(feature = "ml")]
mod window;

#[cfg(feature = "ml")]
pub use onnx::{LoadedModel, MlError};
#[cfg(feature = "ml")]
pub use runner::{MlRunner, ModelSettings, ML_QUEUE};
#[cfg(feature = "ml")]
pub use window::{Ready, Windows, MAX_DEVICES_PER_MODEL};

pub use stats::{MlCounters, MlSnapshot};
