//! `GET /api/v1/health`: assembled from the snapshots each part takes of its own counters
//! (ingest, auth, ml, Home Assistant discovery, the HTTP server, bus, rules, WebSocket hub, store, upstream sync), plus
//! the API's own request counters ([`super::state::ApiCounters`]).
//!
//! `status` is `degraded`, with `reasons`, while the MQTT broker is unreachable (past a grace
//! after the start) or store commits fail; an offline upstream is normal store-and-forward.
//!
//! The document's shape and field order are a contract (docs/openapi.yaml, the LuCI status
//! page): the parts appear in the order of the fields of `Health` and `Counters`, in every
//! build (a part without its Cargo feature reports zeros).

use super::respond::{json_response, ApiError, JsonResponse};
use super::state::AppState;
use crate::auth::stats::AuthSnapshot;
use crate::ingest::stats::{BleSnapshot, IngestSnapshot, LoraSnapshot, MqttSnapshot};
use crate::ml::MlSnapshot;
use crate::store::StoreStats;
use serde::Serialize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// How long after MQTT ingest starts an unconnected broker is not yet a fault: rumqttc gives a
/// connection attempt 5 s, and at boot a broker on the router starts beside the daemon.
const MQTT_CONNECT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize)]
pub struct ApiSnapshot {
    pub requests: u64,
    pub errors: u64,
    /// The HTTP server's connection counters.
    pub connections: super::HttpStats,
    pub auth: AuthSnapshot,
}

/// The parts' counters, in the document's order.
#[derive(Serialize)]
struct Counters {
    mqtt: MqttSnapshot,
    ingest: IngestSnapshot,
    api: ApiSnapshot,
    lora: LoraSnapshot,
    ble: BleSnapshot,
    ml: MlSnapshot,
    hass: crate::hass::HassSnapshot,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reasons: Vec<String>,
    version: &'static str,
    features: &'static [&'static str],
    gateway_id: String,
    uptime_s: u64,
    last_stop_clean: bool,
    store: StoreStats,
    upstream: crate::sync::SyncStatus,
    /// Only in builds with the `influxdb` feature (the default build stays inside its budget).
    #[cfg(feature = "influxdb")]
    influxdb: crate::sync::influxdb::InfluxSnapshot,
    #[serde(flatten)]
    counters: Counters,
    #[serde(skip_serializing_if = "Option::is_none")]
    bus: Option<crate::bus::BusStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    automation: Option<crate::rules::AutomationStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ws: Option<super::ws::WsStats>,
}

/// Out of line: the report is cold, and inlined into the request path it took more code than
/// the call saves (the size budget).
#[inline(never)]
pub(super) fn health(state: &AppState) -> Result<JsonResponse, ApiError> {
    let (store, upstream) = {
        let store = state.store.lock();
        (store.stats(), state.upstream.snapshot(&store))
    };
    #[cfg(feature = "influxdb")]
    let influxdb = state.influxdb.snapshot(&state.store.lock());
    let ingest = &state.ingest;
    // The upstream link is left out: offline, the store keeps what it has not sent.
    let reasons: Vec<String> = [
        ingest.mqtt.broker_problem(MQTT_CONNECT_GRACE),
        ingest.readings.store_error().map(|e| format!("store: {e}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(json_response(
        200,
        &Health {
            status: if reasons.is_empty() { "ok" } else { "degraded" },
            reasons,
            version: env!("CARGO_PKG_VERSION"),
            features: crate::BUILD_FEATURES,
            gateway_id: state.gateway_id.clone(),
            uptime_s: state.started.elapsed().as_secs(),
            last_stop_clean: state.last_stop_clean,
            store,
            upstream,
            #[cfg(feature = "influxdb")]
            influxdb,
            counters: Counters {
                mqtt: ingest.mqtt.snapshot(),
                ingest: ingest.readings.snapshot(),
                api: ApiSnapshot {
                    requests: state.api.requests.load(Relaxed),
                    errors: state.api.errors.load(Relaxed),
                    connections: state.http.get().map(|h| h.read()).unwrap_or_default(),
                    auth: state.auth.stats().snapshot(),
                },
                lora: ingest.lora.snapshot(),
                ble: ingest.ble.snapshot(),
                ml: state.ml.snapshot(),
                hass: state.hass.snapshot(),
            },
            bus: state.bus.as_ref().map(|b| b.stats()),
            automation: state.automation.as_ref().map(|a| a.stats()),
            ws: state.ws.as_ref().map(|w| w.stats()),
        },
    ))
}
