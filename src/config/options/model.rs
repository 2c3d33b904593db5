//! `config model 'NAME'`: a local inference model, its input metrics and its output metric.

use super::check::{check_any, check_device_ref};
use super::keys::{Flag, Int, List, Text};
use super::spec::{Kind, MultiSectionSpec, OptionSpec};
use crate::model::validate_name;

pub const MODEL: MultiSectionSpec = MultiSectionSpec {
    name: "model",
        doc: "A model scoring telemetry on the router (packages built with the `ml` feature):\n\
              sliding windows of a device's readings go through the model off the ingest path,\n\
              and its outputs are stored as derived readings of the same device, visible over\n\
              REST and WebSocket, synced, and usable by rules. Loaded at start and reload; a\n\
              model that fails to load is logged and skipped, the others run.",
        required: &["path", "metrics", "output"],
        example: "config model 'temperature_anomaly'\n\
                  \toption enabled '1'\n\
                  \toption path '/usr/share/acs-edge/models/temperature-ae.onnx'\n\
                  \toption device ''\n\
                  \tlist metrics 'temperature'\n\
                  \toption window '16'\n\
                  \toption hop '1'\n\
                  \toption output 'temperature.anomaly'\n\
                  \toption threshold '2.0'\n",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::ModelEnabled),
            default: "1",
            reload: true,
            doc: "0 keeps the section but does not load or run the model.",
        },
        OptionSpec {
            name: "path",
            kind: Kind::Text { key: Text::ModelPath, check: check_any },
            default: "",
            reload: true,
            doc: "The model: an ONNX file (.onnx) with fixed shapes. Input: one window as a\n\
                  [1, window x metrics] float tensor, rows oldest first, columns in `metrics` order;\n\
                  output: one number.",
        },
        OptionSpec {
            name: "device",
            kind: Kind::Text { key: Text::ModelDevice, check: check_device_ref },
            default: "",
            reload: true,
            doc: "The device whose readings the model scores; empty: every device that sends the\n\
                  metrics (one window each).",
        },
        OptionSpec {
            name: "metrics",
            kind: Kind::List { key: List::ModelMetrics, check: check_input_metric },
            default: "",
            reload: true,
            doc: "Input metrics, in the model's column order (`list metrics 'temperature'`, one line\n\
                  each). Each reading of the first one adds a row with the latest value of each.",
        },
        OptionSpec {
            name: "window",
            kind: Kind::Int { key: Int::ModelWindow, min: 1, max: 4096 },
            default: "16",
            reload: true,
            doc: "Rows per window.",
        },
        OptionSpec {
            name: "hop",
            kind: Kind::Int { key: Int::ModelHop, min: 1, max: 4096 },
            default: "1",
            reload: true,
            doc: "New rows between two inferences; above the window, some rows are never scored.",
        },
        OptionSpec {
            name: "output",
            kind: Kind::Text { key: Text::ModelOutput, check: check_metric },
            default: "",
            reload: true,
            doc: "Metric of the derived readings (for example temperature.anomaly), stored with\n\
                  the device's readings; it may not be an input metric of any model.",
        },
        OptionSpec {
            name: "threshold",
            kind: Kind::Text { key: Text::ModelThreshold, check: check_optional_number },
            default: "",
            reload: true,
            doc: "Empty: every output is written. A number: only outputs at or above it are\n\
                  written (fewer rows in the ring; rules see only the anomalies).",
        },
    ],
};

/// Checks one item of the `metrics` list. A single `option metrics 'a b'` (the form before
/// `metrics` was a list) still works: the list kind splits it at spaces.
pub fn check_input_metric(raw: &str) -> Result<(), String> {
    validate_name(raw).map_err(|e| format!("metric name '{raw}' {e}"))
}

/// Checks an optional decimal number (`threshold`).
pub fn check_optional_number(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    match raw.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(()),
        _ => Err(format!("expected a decimal number, got '{raw}'")),
    }
}

/// Checks a metric name (`output`; empty is refused as a missing required option).
pub fn check_metric(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    validate_name(raw).map_err(|e| format!("metric name '{raw}' {e}"))
}
