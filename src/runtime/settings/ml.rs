//! Settings of local inference (`config model`).

use crate::config::ModelSpec;
use crate::ml::ModelSettings;

/// The enabled `config model` sections.
pub fn model_settings(models: &[ModelSpec]) -> Vec<ModelSettings> {
    models
        .iter()
        .filter(|m| m.enabled)
        .map(|m| ModelSettings {
            name: m.name.clone(),
            path: m.path.clone(),
            device: m.device.clone(),
            metrics: m.metrics.clone(),
            window: m.window,
            hop: m.hop,
            output: m.output.clone(),
            threshold: m.threshold,
            line: m.line,
        })
        .collect()
}
