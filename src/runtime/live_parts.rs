//! Start and stop of the live parts: the event bus with its writer hook and presence ticker,
//! the automation rules (loaded from the store, evaluated on their own thread, actions on
//! their own MQTT connection) and the WebSocket hub the API serves.

use super::settings::{ingest_filters, mqtt_settings};
use super::writer::CommitHook;
use super::StartError;
use crate::api::ws::{WsHub, WsSettings};
use crate::bus::commits::Live;
use crate::bus::Bus;
use crate::config::Config;
use crate::rules::action::ActionPublisher;
use crate::rules::runner::Runner;
use crate::rules::Automation;
use crate::store::SharedStore;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

pub struct LiveParts {
    pub bus: Arc<Bus>,
    pub automation: Arc<Automation>,
    pub ws: Option<Arc<WsHub>>,
    live: Arc<Live>,
    runner: Option<Runner>,
    presence_stop: Arc<AtomicBool>,
    presence: Option<JoinHandle<()>>,
}

impl LiveParts {
    pub fn start(config: &Config, store: &SharedStore) -> Result<LiveParts, StartError> {
        let bus = Bus::new();
        let live = Live::new(
            bus.clone(),
            config.main.offline_after,
            config.store.max_devices,
        );
        let publisher = if config.mqtt.enabled {
            ActionPublisher::spawn(&mqtt_settings(config)).map_err(|source| StartError::Spawn {
                what: "the rule action publisher",
                source,
            })?
        } else {
            log::info!("mqtt.enabled is off: rule actions will be counted as failures");
            ActionPublisher::disabled()
        };
        let automation = Automation::load(
            store.clone(),
            bus.clone(),
            publisher,
            ingest_filters(config),
        )?;
        let runner = Runner::spawn(automation.clone()).map_err(|source| StartError::Spawn {
            what: "the rules engine",
            source,
        })?;
        let presence_stop = Arc::new(AtomicBool::new(false));
        let presence =
            live.spawn_ticker(presence_stop.clone())
                .map_err(|source| StartError::Spawn {
                    what: "the presence ticker",
                    source,
                })?;
        let ws = (config.api.ws_max_clients > 0).then(|| {
            WsHub::new(
                bus.clone(),
                WsSettings {
                    max_clients: config.api.ws_max_clients,
                    ping_interval: config.api.ws_ping,
                    stall_timeout: config.api.request_timeout,
                },
            )
        });
        Ok(LiveParts {
            bus,
            automation,
            ws,
            live,
            runner: Some(runner),
            presence_stop,
            presence: Some(presence),
        })
    }

    /// The writer's commit hook: publishes what each commit stored.
    pub fn commit_hook(&self) -> CommitHook {
        let live = self.live.clone();
        Box::new(move |batch, outcome| live.on_commit(batch, outcome))
    }

    /// Stops the rules thread and the presence ticker (call after the writer has finished).
    pub fn stop(&mut self) {
        if let Some(runner) = self.runner.take() {
            runner.stop();
        }
        self.presence_stop.store(true, Relaxed);
        if let Some(t) = self.presence.take() {
            let _ = t.join();
        }
    }
}
