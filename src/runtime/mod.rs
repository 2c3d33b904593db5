//! The daemon's life cycle: start every part in dependency order, supervise, reload on SIGHUP,
//! and shut down on SIGTERM/SIGINT through one path.
//!
//! Shutdown order is what keeps data safe: ask the sources to stop, close the writer channel
//! (queued events are still delivered), let the writer commit what it holds, then join the
//! sources and stop the API. The main
//! thread runs a smol executor for the daemon's own timers (age eviction) and signal handling.

mod ble;
mod hass;
#[cfg(feature = "influxdb")]
mod influxdb;
pub mod live_parts;
mod lora;
mod marker;
mod memory;
pub mod ml;
pub mod settings;
pub mod writer;

use crate::api::routes;
use crate::api::state::AppState;
use crate::api::HttpServer;
use crate::auth::Auth;
use crate::config::{self, Config};
use crate::hass::HassCounters;
use crate::ingest::mqtt::MqttSource;
use crate::ingest::stats::IngestStats;
use crate::ingest::WRITER_QUEUE_CAPACITY;
use crate::ml::MlCounters;
use crate::model::{now_ms, Event};
use crate::store::{SharedStore, Store};
use crate::sync::{Upstream, UpstreamStatus};
use lora::LoraInputs;
use settings::{
    api_limits, auth_settings, ingest_filters, mqtt_settings, store_options, sync_settings,
};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use writer::WriterSettings;

/// Why an enabled `config hass` would loop back into ingest (`check-config` reports it too).
pub use hass::loop_error as hass_loop_error;

/// How long sources get to finish the message in hand when the daemon stops.
const SOURCE_STOP_GRACE: Duration = Duration::from_secs(2);

/// How often readings older than `store.max_age_days` are looked for.
const AGE_EVICTION_PERIOD: Duration = Duration::from_secs(60);

/// The pause between rounds while a big backlog of expired readings is worked off (the main
/// loop handles signals in between).
const AGE_EVICTION_SOON: Duration = Duration::from_secs(1);

/// Bounded eviction calls per round, so a round stays short.
const AGE_EVICTION_CALLS: usize = 16;

/// Why the daemon could not start; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("cannot open the store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("cannot listen on {addr} (api.listen): {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Upstream(#[from] crate::sync::SyncError),
    #[cfg(feature = "influxdb")]
    #[error("{0}")]
    Influxdb(#[from] crate::sync::influxdb::InfluxError),
    #[error("cannot listen on UDP {addr} (lora.gwmp_listen): {source}")]
    GwmpListen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{what} needs a build with the Cargo feature `{feature}` (the OpenWrt package acs-edge-full)")]
    NotBuilt {
        what: &'static str,
        feature: &'static str,
    },
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: &'static str,
        source: std::io::Error,
    },
}

/// Sources asked for on the command line rather than in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// `--replay-ble FILE`: ingest the advertisements of a BLE capture file once.
    pub replay_ble: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM/SIGINT. Returns once everything pending is committed.
pub fn run(config_path: &Path) -> Result<(), StartError> {
    run_with(config_path, RunOptions::default())
}

/// [`run`] with extra sources from the command line.
pub fn run_with(config_path: &Path, options: RunOptions) -> Result<(), StartError> {
    memory::return_large_blocks_to_the_system();
    let loaded = config::load(config_path)?;
    let config = loaded.config;
    crate::logging::init(config.main.log_level.to_filter());
    ble::prepare(&config);
    for warning in &loaded.warnings {
        log::warn!("config={} {warning}", config_path.display());
    }
    if !config.main.enabled {
        log::info!("main.enabled is off in {}; exiting", config_path.display());
        return Ok(());
    }
    let gateway_id = config.gateway_id();
    log::info!(
        "version={} gateway_id={gateway_id} store={} starting",
        env!("CARGO_PKG_VERSION"),
        config.store.path.display()
    );

    let store = SharedStore::new(Store::open(store_options(&config))?);
    let (run_marker, last_stop_clean) = marker::RunMarker::create(&config.store.path);
    // A start that fails is no crash, so the marker goes on every return; only a panic or a
    // kill leaves it behind.
    let result = serve(
        config,
        config_path,
        options,
        store,
        last_stop_clean,
        gateway_id,
    );
    run_marker.remove();
    if result.is_ok() {
        log::info!("stopped cleanly");
    }
    result
}

/// Starts every part on the opened store, runs until SIGTERM/SIGINT and shuts down.
fn serve(
    config: Config,
    config_path: &Path,
    options: RunOptions,
    store: SharedStore,
    last_stop_clean: bool,
    gateway_id: String,
) -> Result<(), StartError> {
    let stats = Arc::new(IngestStats::default());
    let ml_stats = Arc::new(MlCounters::default());
    let mut live = live_parts::LiveParts::start(&config, &store)?;
    let (tx, rx) = async_channel::bounded::<Event>(WRITER_QUEUE_CAPACITY);
    let writer_settings = Arc::new(WriterSettings {
        commit_interval_ms: (config.store.commit_interval.as_millis() as u64).into(),
        max_future_skew_ms: (config.store.max_future_skew.as_millis() as u64).into(),
    });
    let (stop_writer, writer_stop) = async_channel::bounded::<()>(1);
    let writer = writer::spawn(
        rx,
        writer::WriterParts {
            store: store.clone(),
            settings: writer_settings.clone(),
            stats: stats.clone(),
            on_commit: Some(live.commit_hook()),
            stop: writer_stop,
        },
    )
    .map_err(|source| StartError::Spawn {
        what: "the store writer",
        source,
    })?;

    let upstream_status = Arc::new(UpstreamStatus::new(config.upstream.enabled));
    let upstream = if config.upstream.enabled {
        Some(Upstream::start(
            sync_settings(&config),
            store.clone(),
            upstream_status.clone(),
            live.bus.clone(),
        )?)
    } else {
        None
    };
    #[cfg(feature = "influxdb")]
    let influxdb = influxdb::InfluxPart::start(&config, &store, &live.bus)?;

    let hass_stats = Arc::new(HassCounters::default());
    let hass = hass::HassPart::start(&config, &live.bus, &store, &hass_stats)?;

    let auth = Arc::new(Auth::new(&auth_settings(&config), Arc::default()));
    let ml = ml::MlPart::start(&config.models, &live.bus, &tx, &store, &ml_stats);
    let mut daemon = Daemon {
        auth: auth.clone(),
        automation: live.automation.clone(),
        config_path: config_path.to_owned(),
        config,
        store: store.clone(),
        stats: stats.clone(),
        tx,
        writer_settings,
        mqtt: None,
        lora: LoraInputs::default(),
        ml,
    };
    // The listener first and the sources last: a start that fails (the port in use, a LoRa
    // socket taken) has taken no message from the broker that it could not commit.
    let api = if daemon.config.api.enabled {
        let state = Arc::new(AppState {
            store,
            ingest: stats,
            ml: ml_stats,
            hass: hass_stats,
            api: Default::default(),
            started: Instant::now(),
            gateway_id,
            http: std::sync::OnceLock::new(),
            upstream: upstream_status,
            #[cfg(feature = "influxdb")]
            influxdb: influxdb.status.clone(),
            bus: Some(live.bus.clone()),
            automation: Some(live.automation.clone()),
            ws: live.ws.clone(),
            auth,
            last_stop_clean,
        });
        let addr = daemon.config.api.listen;
        let handler_state = state.clone();
        let server = HttpServer::start(
            addr,
            api_limits(&daemon.config),
            Arc::new(
                move |request: &mut crate::api::Request, client: &crate::api::ClientInfo| {
                    routes::handle(&handler_state, request, client)
                },
            ),
        )
        .map_err(|source| StartError::Listen { addr, source })?;
        let _ = state.http.set(server.stats_reader());
        log::info!("listen={} REST API ready", server.local_addr());
        Some(server)
    } else {
        None
    };

    let ble = ble::BleInputs::start(
        &daemon.config,
        options.replay_ble,
        &daemon.tx,
        &daemon.stats,
    )?;
    daemon.lora = lora::start_lora(&daemon.config, &daemon.store, &daemon.tx, &daemon.stats)?;
    daemon.start_mqtt();

    let signals = signal_channel().map_err(|source| StartError::Spawn {
        what: "the signal handler",
        source,
    })?;
    smol::block_on(daemon.supervise(signals));

    // One shutdown path: stop the sources (a message being decoded still reaches the queue),
    // close the writer's queue so it commits what it holds and returns, then join the sources
    // and the API. The grace is bounded: a source stuck connecting to a dead broker must not
    // delay the final commit past procd's SIGKILL, 5 s after SIGTERM. The writer learns first
    // that the daemon stops, so that it stops retrying failed commits (a full disk) and keeps
    // draining the queue that sources may be blocked on.
    // Every source is asked first and all share one grace, so the waits do not add up.
    stop_writer.close();
    let grace_ends = Instant::now() + SOURCE_STOP_GRACE;
    let grace_left = || grace_ends.saturating_duration_since(Instant::now());
    if let Some(mqtt) = &daemon.mqtt {
        mqtt.request_stop();
    }
    ble.request_stop();
    daemon.lora.request_stop();
    let mqtt_ended = daemon
        .mqtt
        .as_ref()
        .is_none_or(|mqtt| mqtt.wait_finished(grace_left()));
    daemon.lora.wait_finished(grace_left());
    if let Some(upstream) = upstream {
        upstream.stop(grace_left());
    }
    #[cfg(feature = "influxdb")]
    influxdb.stop(grace_left());
    daemon.tx.close();
    let _ = writer.join();
    // The writer committed its last batch: everything in RAM goes to the file now.
    if daemon.config.store.flush_interval.is_some() {
        daemon.flush(true);
    }
    hass.stop();
    daemon.ml.stop();
    live.stop();
    ble.stop();
    // A source still connecting to a dead broker is left to the process exit, not joined.
    if let Some(mqtt) = daemon.mqtt.take().filter(|_| mqtt_ended) {
        mqtt.stop();
    }
    daemon.lora.stop();
    if let Some(api) = api {
        api.shutdown();
    }
    Ok(())
}

struct Daemon {
    auth: Arc<Auth>,
    automation: Arc<crate::rules::Automation>,
    config_path: PathBuf,
    config: Config,
    store: SharedStore,
    stats: Arc<IngestStats>,
    tx: async_channel::Sender<Event>,
    writer_settings: Arc<WriterSettings>,
    mqtt: Option<MqttSource>,
    lora: LoraInputs,
    ml: ml::MlPart,
}

enum Wake {
    Signal(i32),
    Tick,
    Flush,
}

impl Daemon {
    async fn supervise(&mut self, signals: async_channel::Receiver<i32>) {
        let mut next_eviction = Instant::now() + AGE_EVICTION_PERIOD;
        // With the head in RAM, a flush is the one periodic write to the file; age eviction
        // follows it rather than writing on its own every minute.
        let flush_every = self.config.store.flush_interval;
        let mut next_flush = flush_every.map(|every| Instant::now() + every);
        loop {
            let flush_at = next_flush;
            let wake = smol::future::or(
                async { Wake::Signal(signals.recv().await.unwrap_or(SIGTERM)) },
                smol::future::or(
                    async {
                        smol::Timer::at(next_eviction).await;
                        Wake::Tick
                    },
                    async {
                        match flush_at {
                            Some(at) => smol::Timer::at(at).await,
                            None => smol::Timer::never().await,
                        };
                        Wake::Flush
                    },
                ),
            )
            .await;
            match wake {
                Wake::Signal(SIGHUP) => {
                    self.reload();
                    // A changed max_age_days applies at once, like the other bounds.
                    next_eviction = Instant::now();
                }
                Wake::Signal(signal) => {
                    log::info!("signal={signal} shutting down");
                    return;
                }
                Wake::Tick if flush_every.is_some() => {
                    next_eviction = Instant::now() + AGE_EVICTION_PERIOD;
                }
                Wake::Tick => {
                    let period = if self.evict_expired() {
                        AGE_EVICTION_SOON
                    } else {
                        AGE_EVICTION_PERIOD
                    };
                    next_eviction = Instant::now() + period;
                }
                Wake::Flush => {
                    self.flush(false);
                    while self.evict_expired() {}
                    next_flush = flush_every.map(|every| Instant::now() + every);
                }
            }
        }
    }

    /// Seals the RAM head into the file (see `store/head.rs`).
    fn flush(&self, last: bool) {
        match self.store.lock().flush(last) {
            Ok(n) => log::debug!("sealed={n} store flushed"),
            Err(e) => log::error!("store flush failed, the readings stay in RAM: {e}"),
        }
    }

    fn start_mqtt(&mut self) {
        if !self.config.mqtt.enabled {
            return;
        }
        match MqttSource::spawn(
            mqtt_settings(&self.config),
            self.tx.clone(),
            self.stats.clone(),
        ) {
            Ok(source) => self.mqtt = Some(source),
            Err(e) => log::error!("could not start MQTT ingest: {e}"),
        }
    }

    /// Age eviction in bounded steps (the lock is released between them so queries and
    /// commits go on), then the store's upkeep: bounds a full disk kept it from reaching, and
    /// its disk-space reserve. True when expired readings are left for another round.
    fn evict_expired(&self) -> bool {
        let lock = || self.store.lock();
        let mut evicted = 0;
        let mut pending = false;
        for _ in 0..AGE_EVICTION_CALLS {
            let mut store = lock();
            match store.evict_expired(now_ms()) {
                Ok(n) => evicted += n,
                Err(e) => {
                    log::error!("age eviction failed: {e}");
                    break;
                }
            }
            pending = store.expire_pending();
            if !pending {
                break;
            }
        }
        if evicted > 0 {
            log::info!("evicted={evicted} readings older than store.max_age_days removed");
        }
        match lock().maintain() {
            Ok(0) => {}
            Ok(n) => log::info!("evicted={n} readings beyond the store bounds removed"),
            Err(e) => log::error!("store upkeep failed: {e}"),
        }
        pending
    }

    /// Applies a changed config file. What cannot change while running is reported, not applied.
    fn reload(&mut self) {
        let loaded = match config::load(&self.config_path) {
            Ok(loaded) => loaded,
            Err(e) => {
                log::error!("reload refused, keeping the running config: {e}");
                return;
            }
        };
        for warning in &loaded.warnings {
            log::warn!("config={} {warning}", self.config_path.display());
        }
        let new = loaded.config;
        // Home Assistant discovery keeps its topics until a restart: they must stay out of the
        // new ingest filters, and so must the new section's.
        let looping =
            hass::loop_error(&new.hass, &new).or_else(|| hass::loop_error(&self.config.hass, &new));
        if let Some(e) = looping {
            log::error!("reload refused, keeping the running config: {e}");
            return;
        }
        log::set_max_level(new.main.log_level.to_filter());
        let options = store_options(&new);
        let evicted =
            self.store
                .lock()
                .set_limits(options.max_rows, options.max_bytes, options.max_age_ms);
        match evicted {
            Ok(0) => {}
            Ok(n) => log::info!("evicted={n} readings beyond the new store bounds removed"),
            Err(e) => log::error!("new store bounds not applied: {e}"),
        }
        self.writer_settings
            .commit_interval_ms
            .store(new.store.commit_interval.as_millis() as u64, Relaxed);
        self.writer_settings
            .max_future_skew_ms
            .store(new.store.max_future_skew.as_millis() as u64, Relaxed);
        let old = &self.config;
        for (changed, what) in [
            (new.store.path != old.store.path, "store.path"),
            (
                new.store.max_devices != old.store.max_devices,
                "store.max_devices",
            ),
            (
                new.store.max_metrics != old.store.max_metrics,
                "store.max_metrics",
            ),
            (new.api != old.api, "the api section"),
            (new.mqtt != old.mqtt, "the mqtt section for rule actions"),
            (
                new.main.offline_after != old.main.offline_after,
                "main.offline_after_s",
            ),
            (new.lora != old.lora, "the lora section"),
            (
                new.main.gateway_id != old.main.gateway_id,
                "main.gateway_id",
            ),
            (new.upstream != old.upstream, "the upstream section"),
            #[cfg(feature = "influxdb")]
            (new.influxdb != old.influxdb, "the influxdb section"),
            (new.hass != old.hass, "the hass section"),
        ] {
            if changed {
                log::warn!("{what} changed; it takes effect on the next restart");
            }
        }
        self.auth.reload(&auth_settings(&new));
        if new.lora_devices != self.config.lora_devices {
            self.lora.reload_keys(&new);
        }
        // Model files may have been replaced even when their sections did not change.
        self.ml.reload(&new.models);
        // A source section changes what ingest subscribes to, so it reconnects like an edit of
        // the mqtt section does.
        let mqtt_changed = new.mqtt != self.config.mqtt || new.sources != self.config.sources;
        if ingest_filters(&new) != ingest_filters(&self.config) {
            // Before ingest subscribes to the new filters, so no rule loops through them.
            self.automation.set_ingest_filters(ingest_filters(&new));
        }
        self.config = new;
        if mqtt_changed {
            if let Some(mqtt) = self.mqtt.take() {
                mqtt.stop();
            }
            self.start_mqtt();
        }
        log::info!("config reloaded");
    }
}

/// Forwards SIGTERM, SIGINT and SIGHUP to an async channel from a dedicated thread.
fn signal_channel() -> std::io::Result<async_channel::Receiver<i32>> {
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let (tx, rx) = async_channel::bounded(8);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if tx.send_blocking(signal).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}
