//! One ONNX model file loaded with tract's ONNX front end, typed and optimized once, checked
//! against its section (input `[1, window x metrics]` of f32, one output value) and run per window.

use std::path::{Path, PathBuf};
use tract_onnx::prelude::*;

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

type Plan = TypedSimplePlan<TypedModel>;

/// A loaded, optimized model. Running it needs only `&self`, so one instance serves every
/// device window of its section.
pub struct LoadedModel {
    plan: Plan,
    input_len: usize,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("input_len", &self.input_len)
            .finish_non_exhaustive()
    }
}

impl LoadedModel {
    /// Loads `path` (an ONNX file with fixed input and output shapes) and checks that it takes `[1, input_len]`
    /// f32 and returns a single value.
    pub fn load(path: &Path, input_len: usize) -> Result<LoadedModel, MlError> {
        let load = |e: TractError| MlError::Load {
            path: path.to_owned(),
            message: format!("{e:#}"),
        };
        let mismatch = |message: String| MlError::Mismatch {
            path: path.to_owned(),
            message,
        };
        // Analysed and typed once here, so shape checks below see concrete facts.
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .and_then(|m| m.into_typed())
            .map_err(load)?;
        if model.inputs.len() != 1 || model.outputs.len() != 1 {
            return Err(mismatch(format!(
                "expected 1 input and 1 output, the graph has {} and {}",
                model.inputs.len(),
                model.outputs.len()
            )));
        }
        let input = model.input_fact(0).map_err(load)?;
        let expected = [1, input_len];
        if input.datum_type != f32::datum_type() || input.shape.as_concrete() != Some(&expected[..])
        {
            return Err(mismatch(format!(
                "input is {:?} {:?}; window x metrics needs F32 [1, {input_len}]",
                input.datum_type, input.shape
            )));
        }
        let output = model.output_fact(0).map_err(load)?;
        let single = output
            .shape
            .as_concrete()
            .is_some_and(|s| s.iter().product::<usize>() == 1);
        if output.datum_type != f32::datum_type() || !single {
            return Err(mismatch(format!(
                "output is {:?} {:?}; expected one F32 value",
                output.datum_type, output.shape
            )));
        }
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(load)?;
        Ok(LoadedModel { plan, input_len })
    }

    /// Length of the input row the model takes (window x metrics).
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// Runs the model on one window (rows oldest first, `input_len` values).
    pub fn score(&self, window: &[f32]) -> Result<f32, MlError> {
        let run = |e: TractError| MlError::Run(format!("{e:#}"));
        if window.len() != self.input_len {
            return Err(MlError::Run(format!(
                "window of {} values for an input of {}",
                window.len(),
                self.input_len
            )));
        }
        let input = Tensor::from_shape(&[1, self.input_len], window).map_err(run)?;
        let outputs = self.plan.run(tvec!(input.into())).map_err(run)?;
        let value = outputs
            .first()
            .and_then(|t| t.as_slice::<f32>().ok()?.first().copied())
            .ok_or_else(|| MlError::Run("the model returned no value".into()))?;
        if value.is_finite() {
            Ok(value)
        } else {
            Err(MlError::NotFinite(value))
        }
    }
}
