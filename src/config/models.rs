//! `config model '<name>'` sections: local inference models (the `ml` feature runs them).
//! Each names a model file, the readings it consumes (one device or every device, one or
//! more metrics) and the derived metric it writes. Checked here so a wrong section is refused
//! at load like any other option; whether the file really is a matching model is the `ml`
//! module's business at start and reload.

use super::error::ConfigError;
use super::instances::Instance;
use super::options::keys::{Flag, Int, List, Text};
use super::options::model::MODEL;
use super::values::Values;
use std::path::PathBuf;

/// `config model '<name>'`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub name: String,
    pub enabled: bool,
    pub path: PathBuf,
    /// `None`: every device with these metrics (one window per device).
    pub device: Option<String>,
    /// Input metrics in model column order; the first one paces the windows.
    pub metrics: Vec<String>,
    /// Rows per window.
    pub window: usize,
    /// New rows between two inferences.
    pub hop: usize,
    /// Metric name of the derived reading.
    pub output: String,
    /// When set, only scores at or above it are written.
    pub threshold: Option<f64>,
    pub line: usize,
}

/// The typed model sections, with the checks that involve more than one option; a refused one
/// goes to `errors` and is left out.
pub fn models_from(named: &[Instance], errors: &mut Vec<ConfigError>) -> Vec<ModelSpec> {
    let mut models = Vec::new();
    for i in named.iter().filter(|i| i.kind == MODEL.name) {
        let v: &Values = &i.values;
        let metrics = v.list(List::ModelMetrics).to_vec();
        let output = v.text(Text::ModelOutput).to_owned();
        let fail = |message: String| ConfigError::Instance {
            line: i.line,
            kind: MODEL.name,
            name: i.name.clone(),
            message,
        };
        // Derived readings go through the same path as ingest, so a model reading any
        // model's output could feed on itself (directly or around a cycle of models).
        if let Some(other) = named
            .iter()
            .filter(|o| o.kind == MODEL.name)
            .find(|o| o.values.list(List::ModelMetrics).contains(&output))
        {
            errors.push(fail(format!(
                "output '{output}' is an input metric of model '{}': a model may not consume \
                 model outputs",
                other.name
            )));
            continue;
        }
        let window = v.int(Int::ModelWindow) as usize;
        let hop = v.int(Int::ModelHop) as usize;
        models.push(ModelSpec {
            name: i.name.clone(),
            enabled: v.flag(Flag::ModelEnabled),
            path: PathBuf::from(v.text(Text::ModelPath)),
            device: v.opt_text(Text::ModelDevice),
            metrics,
            window,
            hop,
            output,
            threshold: v.text(Text::ModelThreshold).parse().ok(),
            line: i.line,
        });
    }
    models
}
