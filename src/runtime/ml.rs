//! Start, reload and stop of local inference (`config model` sections). Built without the
//! `ml` feature, the same interface runs nothing: enabled model sections are reported once and
//! otherwise ignored, so one config file serves both package variants.

#[cfg(feature = "ml")]
pub use with_ml::*;
#[cfg(not(feature = "ml"))]
pub use without_ml::*;

#[cfg(feature = "ml")]
mod with_ml {
    use crate::bus::Bus;
    use crate::config::ModelSpec;
    use crate::ml::{MlCounters, MlRunner};
    use crate::model::Event;
    use crate::store::SharedStore;
    use std::sync::Arc;

    /// The models that run, and what they need to be restarted by a reload.
    pub struct MlPart {
        bus: Arc<Bus>,
        writer: async_channel::Sender<Event>,
        store: SharedStore,
        stats: Arc<MlCounters>,
        runner: Option<MlRunner>,
    }

    impl MlPart {
        pub fn start(
            specs: &[ModelSpec],
            bus: &Arc<Bus>,
            writer: &async_channel::Sender<Event>,
            store: &SharedStore,
            stats: &Arc<MlCounters>,
        ) -> MlPart {
            let mut part = MlPart {
                bus: bus.clone(),
                writer: writer.clone(),
                store: store.clone(),
                stats: stats.clone(),
                runner: None,
            };
            part.load(specs);
            part
        }

        /// Replaces the running models with `specs` (windows start empty again).
        pub fn reload(&mut self, specs: &[ModelSpec]) {
            self.stop();
            self.load(specs);
        }

        fn load(&mut self, specs: &[ModelSpec]) {
            match MlRunner::start(
                &crate::runtime::settings::ml::model_settings(specs),
                &self.bus,
                self.writer.clone(),
                self.store.clone(),
                self.stats.clone(),
            ) {
                Ok(Some(runner)) => {
                    log::info!("models={} local inference running", runner.models());
                    self.runner = Some(runner);
                }
                Ok(None) => {}
                Err(e) => log::error!("cannot start the ml thread: {e}"),
            }
        }

        /// Stops the `ml` thread (call after the writer has finished, or before a reload).
        pub fn stop(&mut self) {
            if let Some(runner) = self.runner.take() {
                runner.stop();
            }
        }
    }
}

#[cfg(not(feature = "ml"))]
mod without_ml {
    use crate::bus::Bus;
    use crate::config::ModelSpec;
    use crate::ml::MlCounters;
    use crate::model::Event;
    use crate::store::SharedStore;
    use std::sync::Arc;

    /// No model runs in a build without the `ml` feature.
    pub struct MlPart {}

    impl MlPart {
        pub fn start(
            specs: &[ModelSpec],
            _bus: &Arc<Bus>,
            _writer: &async_channel::Sender<Event>,
            _store: &SharedStore,
            _stats: &Arc<MlCounters>,
        ) -> MlPart {
            warn_not_run(specs);
            MlPart {}
        }

        pub fn reload(&mut self, specs: &[ModelSpec]) {
            warn_not_run(specs);
        }

        pub fn stop(&mut self) {}
    }

    fn warn_not_run(specs: &[ModelSpec]) {
        let enabled: Vec<&str> = specs
            .iter()
            .filter(|s| s.enabled)
            .map(|s| s.name.as_str())
            .collect();
        if !enabled.is_empty() {
            log::warn!(
                "models={} not run: this build has no local inference (the acs-edge-ml package has it)",
                enabled.join(",")
            );
        }
    }
}
