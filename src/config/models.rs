//! `config model '<name>'` sections: local inference models (the `ml` feature runs them).
//! Each names a model file, the readings it consumes (one device or every device, one or
//! more metrics) and the derived metric it writes. Checked here so a wrong section is refused
//! at load like any other option; whether the file really is a matching model is the `ml`
//! module's business at start and reload.

use super::instances::Instance;
use super::{ConfigError, Values};
use crate::model::validate_name;
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

/// Checks an optional device id (`device`; empty means every device).
pub fn check_optional_device(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    validate_name(raw).map_err(|e| format!("device id '{raw}' {e}"))
}

/// Checks a metric name (`output`; empty is refused as a missing required option).
pub fn check_metric(raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    validate_name(raw).map_err(|e| format!("metric name '{raw}' {e}"))
}

/// The typed model sections, with the checks that involve more than one option.
pub(super) fn models_from(named: &[Instance]) -> Result<Vec<ModelSpec>, ConfigError> {
    let mut models = Vec::new();
    for i in named.iter().filter(|i| i.kind == "model") {
        let v: &Values = &i.values;
        let metrics = v.list("model", "metrics").to_vec();
        let output = v.text("model", "output").to_owned();
        let fail = |message: String| ConfigError::Instance {
            line: i.line,
            kind: "model",
            name: i.name.clone(),
            message,
        };
        // Derived readings go through the same path as ingest, so a model reading any
        // model's output could feed on itself (directly or around a cycle of models).
        if let Some(other) = named
            .iter()
            .filter(|o| o.kind == "model")
            .find(|o| o.values.list("model", "metrics").contains(&output))
        {
            return Err(fail(format!(
                "output '{output}' is an input metric of model '{}': a model may not consume \
                 model outputs",
                other.name
            )));
        }
        let window = v.int("model", "window") as usize;
        let hop = v.int("model", "hop") as usize;
        models.push(ModelSpec {
            name: i.name.clone(),
            enabled: v.flag("model", "enabled"),
            path: PathBuf::from(v.text("model", "path")),
            device: v.opt_text("model", "device"),
            metrics,
            window,
            hop,
            output,
            threshold: v.text("model", "threshold").parse().ok(),
            line: i.line,
        });
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, ConfigError};

    const SECTION: &str = "config model 'm'\n\toption path '/m.onnx'\n";

    #[test]
    fn metrics_is_a_uci_list_and_the_older_space_separated_option_still_reads() {
        for metrics in [
            "\tlist metrics 'temperature'\n\tlist metrics 'humidity'\n",
            "\toption metrics 'temperature humidity'\n",
        ] {
            let text = format!("{SECTION}{metrics}\toption output 'climate.anomaly'\n");
            let models = parse(&text).unwrap().config.models;
            assert_eq!(models.len(), 1);
            let m = &models[0];
            assert_eq!(m.metrics, ["temperature", "humidity"]);
            assert_eq!(
                (m.window, m.hop, m.threshold, m.device.as_deref()),
                (16, 1, None, None)
            );
            assert_eq!(m.output, "climate.anomaly");
        }
        let threshold = format!(
            "{SECTION}\toption metrics 't'\n\toption output 'a'\n\toption threshold '2.5'\n"
        );
        assert_eq!(
            parse(&threshold).unwrap().config.models[0].threshold,
            Some(2.5)
        );
    }

    #[test]
    fn a_model_may_not_consume_any_models_output() {
        let own = format!("{SECTION}\toption metrics 't t.anomaly'\n\toption output 't.anomaly'\n");
        let err = parse(&own).unwrap_err();
        assert!(matches!(err, ConfigError::Instance { .. }), "{err}");
        assert!(
            err.to_string().contains("may not consume model outputs"),
            "{err}"
        );

        let cycle = format!(
            "{SECTION}\toption metrics 't'\n\toption output 'a'\n\n\
             config model 'n'\n\toption path '/n.onnx'\n\toption metrics 'a'\n\
             \toption output 'b'\n"
        );
        assert!(parse(&cycle).unwrap_err().to_string().contains("model 'n'"));
    }

    #[test]
    fn bad_model_sections_are_refused_with_the_option_named() {
        let cases = [
            ("config model 'm'\n\toption metrics 't'\n\toption output 'a'\n", "'path' is required"),
            (&format!("{SECTION}\toption output 'a'\n"), "'metrics' is required"),
            (&format!("{SECTION}\toption metrics ''\n\toption output 'a'\n"), "'metrics' is required"),
            (&format!("{SECTION}\toption metrics 't/x'\n\toption output 'a'\n"), "'t/x'"),
            (&format!("{SECTION}\tlist metrics 't'\n\tlist metrics 'h x'\n\toption output 'a'\n"), "'h x'"),
            (&format!("{SECTION}\tlist metrics ''\n\toption output 'a'\n"), "metric name ''"),
            (&format!("{SECTION}\toption metrics 't'\n\toption output 'a'\n\toption threshold 'high'\n"), "decimal number"),
            (&format!("{SECTION}\toption metrics 't'\n\toption output 'a'\n\toption window '0'\n"), "1..=4096"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }
}
