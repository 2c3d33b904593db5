//! Start, reload and stop of local inference (`config model` sections). Built without the
//! `ml` feature, enabled model sections are reported once and otherwise ignored, so one
//! config file serves both package variants.

use crate::bus::Bus;
use crate::config::ModelSpec;
use crate::ml::MlCounters;
use crate::model::Event;
use crate::store::Store;
use std::sync::{Arc, Mutex};

/// The models that run, and what they need to be restarted by a reload.
pub struct MlPart {
    bus: Arc<Bus>,
    writer: async_channel::Sender<Event>,
    store: Arc<Mutex<Store>>,
    stats: Arc<MlCounters>,
    #[cfg(feature = "ml")]
    runner: Option<crate::ml::MlRunner>,
}

impl MlPart {
    pub fn start(
        specs: &[ModelSpec],
        bus: Arc<Bus>,
        writer: async_channel::Sender<Event>,
        store: Arc<Mutex<Store>>,
        stats: Arc<MlCounters>,
    ) -> MlPart {
        let mut part = MlPart {
            bus,
            writer,
            store,
            stats,
            #[cfg(feature = "ml")]
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

    #[cfg(feature = "ml")]
    fn load(&mut self, specs: &[ModelSpec]) {
        match crate::ml::MlRunner::start(
            specs,
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

    #[cfg(not(feature = "ml"))]
    fn load(&mut self, specs: &[ModelSpec]) {
        let _ = (&self.bus, &self.writer, &self.store, &self.stats);
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

    /// Stops the `ml` thread (call after the writer has finished, or before a reload).
    pub fn stop(&mut self) {
        #[cfg(feature = "ml")]
        if let Some(runner) = self.runner.take() {
            runner.stop();
        }
    }
}
