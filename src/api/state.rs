//! What the request handlers share: the store, the parts whose state the API serves or
//! reports, and the API's own request counters.

use crate::auth::Auth;
use crate::ingest::stats::IngestStats;
use crate::ml::MlCounters;
use crate::store::SharedStore;
use portable_atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

/// What the handlers share.
pub struct AppState {
    pub store: SharedStore,
    /// Counters of the parts that health reports (the others answer for themselves below).
    pub ingest: Arc<IngestStats>,
    pub ml: Arc<MlCounters>,
    pub hass: Arc<crate::hass::HassCounters>,
    pub api: ApiCounters,
    pub started: Instant,
    pub gateway_id: String,
    /// Set once the server is listening.
    pub http: std::sync::OnceLock<super::HttpStatsReader>,
    /// The upstream sync's state (reported as disabled when it is off).
    pub upstream: Arc<crate::sync::UpstreamStatus>,
    /// The InfluxDB upstream's state (reported as disabled when it is off).
    #[cfg(feature = "influxdb")]
    pub influxdb: Arc<crate::sync::influxdb::InfluxStatus>,
    /// The live event bus (its counters are in health).
    pub bus: Option<Arc<crate::bus::Bus>>,
    /// Automation rules (`/automation/rules`).
    pub automation: Option<Arc<crate::rules::Automation>>,
    /// WebSocket events (`/ws`); `None` when `api.ws_max_clients` is 0.
    pub ws: Option<Arc<super::ws::WsHub>>,
    pub auth: Arc<Auth>,
    /// False when the previous run ended without a clean stop (crash, kill, power cut).
    pub last_stop_clean: bool,
}

/// Requests the API answered, and how many of them with an error (`api` in health).
#[derive(Default)]
pub struct ApiCounters {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
}
