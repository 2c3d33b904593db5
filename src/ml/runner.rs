//! The `ml` thread: a live-bus subscriber that feeds committed readings into each model's
//! windows, runs the models on due windows and hands their outputs to the store writer.
//!
//! It subscribes only when at least one model loaded. Its queue holds `ML_QUEUE` committed
//! batches; when inference falls that far behind, further batches are dropped for it and
//! counted (`ml.batches_dropped`), so ingest never waits for a model. Outputs go to the
//! writer with `try_send`: a full writer queue drops them (counted) instead of blocking.

use super::window::{Offered, Ready, Windows};
use super::LoadedModel;
use super::MlCounters;
use crate::bus::{Bus, Interest, LiveEvent, Subscription};
use crate::logging::WarnLimit;
use crate::model::{Event, Reading, Transport};
use crate::store::SharedStore;
use smol::future;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Committed batches the `ml` thread may lag behind.
pub const ML_QUEUE: usize = 16;

/// What one enabled `config model` section asks for; built by
/// `runtime::settings::ml::model_settings`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// The section name, for logs.
    pub name: String,
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
    /// Line of the section, for messages.
    pub line: usize,
}

/// One loaded `config model` section with its windows.
struct Section {
    name: String,
    output: String,
    threshold: Option<f64>,
    model: LoadedModel,
    windows: Windows,
}

/// The running `ml` thread.
pub struct MlRunner {
    stop: async_channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
    models: usize,
}

impl MlRunner {
    /// Loads the models (each failure is logged and counted) and starts the thread. `Ok(None)`
    /// when no model loaded.
    pub fn start(
        settings: &[ModelSettings],
        bus: &Arc<Bus>,
        writer: async_channel::Sender<Event>,
        store: SharedStore,
        stats: Arc<MlCounters>,
    ) -> std::io::Result<Option<MlRunner>> {
        let sections: Vec<Section> = settings
            .iter()
            .filter_map(|model| load(model, &stats))
            .collect();
        if sections.is_empty() {
            return Ok(None);
        }
        let models = sections.len();
        let subscription = bus.subscribe(Interest::TELEMETRY, ML_QUEUE);
        let (stop, stopped) = async_channel::bounded(1);
        let mut worker = Worker {
            sections,
            writer,
            store,
            stats,
            transports: HashMap::new(),
            warn: WarnLimit::new("model inference failures"),
        };
        let thread = std::thread::Builder::new()
            .name("ml".into())
            .spawn(move || smol::block_on(worker.run(subscription, stopped)))?;
        Ok(Some(MlRunner {
            stop,
            thread: Some(thread),
            models,
        }))
    }

    /// Models that loaded and run.
    pub fn models(&self) -> usize {
        self.models
    }

    /// Stops the thread; batches still queued for it are not scored.
    pub fn stop(mut self) {
        self.stop.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn load(spec: &ModelSettings, counters: &MlCounters) -> Option<Section> {
    let windows = Windows::new(
        spec.device.clone(),
        spec.metrics.clone(),
        spec.window,
        spec.hop,
    );
    match LoadedModel::load(&spec.path, windows.input_len()) {
        Ok(model) => {
            counters.models_loaded.fetch_add(1, Relaxed);
            log::info!(
                "model={} path={} metrics={} window={} hop={} output={} model loaded",
                spec.name,
                spec.path.display(),
                spec.metrics.join(","),
                spec.window,
                spec.hop,
                spec.output
            );
            Some(Section {
                name: spec.name.clone(),
                output: spec.output.clone(),
                threshold: spec.threshold,
                model,
                windows,
            })
        }
        Err(e) => {
            counters.load_errors.fetch_add(1, Relaxed);
            log::error!("model={} line={} not started: {e}", spec.name, spec.line);
            None
        }
    }
}

struct Worker {
    sections: Vec<Section>,
    writer: async_channel::Sender<Event>,
    store: SharedStore,
    stats: Arc<MlCounters>,
    /// Transport of each device seen, so derived readings keep the device's transport.
    transports: HashMap<String, Transport>,
    warn: WarnLimit,
}

enum Wake {
    Batch(Arc<Vec<Reading>>),
    Other,
    Stop,
}

impl Worker {
    async fn run(&mut self, subscription: Subscription, stopped: async_channel::Receiver<()>) {
        let mut dropped_seen = 0;
        loop {
            let wake = future::or(
                async {
                    match subscription.receiver().recv().await {
                        Ok(LiveEvent::Readings(batch)) => Wake::Batch(batch),
                        Ok(_) => Wake::Other,
                        Err(_) => Wake::Stop,
                    }
                },
                async {
                    let _ = stopped.recv().await;
                    Wake::Stop
                },
            )
            .await;
            let dropped = subscription.dropped();
            if dropped > dropped_seen {
                self.stats
                    .batches_dropped
                    .fetch_add(dropped - dropped_seen, Relaxed);
                dropped_seen = dropped;
            }
            match wake {
                Wake::Batch(batch) => self.score_batch(&batch),
                Wake::Other => {}
                Wake::Stop => return,
            }
        }
    }

    fn score_batch(&mut self, batch: &[Reading]) {
        let mut outputs: Vec<Reading> = Vec::new();
        let mut ready: Vec<Ready> = Vec::new();
        for section in &mut self.sections {
            for reading in batch {
                if section.windows.offer(reading, &mut ready) == Offered::Refused {
                    self.stats.devices_refused.fetch_add(1, Relaxed);
                }
            }
            section.windows.flush(&mut ready);
            for due in ready.drain(..) {
                self.stats.inferences.fetch_add(1, Relaxed);
                match section.model.score(&due.input) {
                    Ok(score) => {
                        let value = f64::from(score);
                        if section.threshold.is_none_or(|t| value >= t) {
                            outputs.push(Reading {
                                device: due.device,
                                metric: section.output.clone(),
                                ts_ms: due.ts_ms,
                                value,
                            });
                        }
                    }
                    Err(e) => {
                        self.stats.inference_errors.fetch_add(1, Relaxed);
                        self.warn.warn(format_args!(
                            "model={} device={} {e}",
                            section.name, due.device
                        ));
                    }
                }
            }
        }
        self.send(outputs);
    }

    /// Hands derived readings to the writer, one event per transport.
    fn send(&mut self, outputs: Vec<Reading>) {
        let mut by_transport: Vec<(Transport, Vec<Reading>)> = Vec::new();
        for reading in outputs {
            let transport = self.transport_of(&reading.device);
            match by_transport.iter_mut().find(|(t, _)| *t == transport) {
                Some((_, readings)) => readings.push(reading),
                None => by_transport.push((transport, vec![reading])),
            }
        }
        for (transport, readings) in by_transport {
            let n = readings.len() as u64;
            match self.writer.try_send(Event::Readings(transport, readings)) {
                Ok(()) => self.stats.outputs.fetch_add(n, Relaxed),
                Err(_) => self.stats.outputs_dropped.fetch_add(n, Relaxed),
            };
        }
    }

    fn transport_of(&mut self, device: &str) -> Transport {
        if let Some(t) = self.transports.get(device) {
            return *t;
        }
        let found = self
            .store
            .lock()
            .device(device)
            .ok()
            .flatten()
            .map(|d| d.transport);
        // A device the store does not know yet (its batch is committed, so this is rare):
        // MQTT, the transport most devices use, until the next lookup.
        match found {
            Some(t) => {
                self.transports.insert(device.to_owned(), t);
                t
            }
            None => Transport::Mqtt,
        }
    }
}
