//! Translation of the typed config into the settings each part takes, so that parts do not
//! depend on the config layer and the reload path builds them the same way as start-up. The
//! settings of an optional part are in a file of their own, compiled with its feature.

#[cfg(feature = "ble")]
pub mod ble;
#[cfg(feature = "hass")]
pub mod hass;
#[cfg(feature = "influxdb")]
pub mod influxdb;
#[cfg(feature = "lora")]
pub mod lora;
#[cfg(feature = "ml")]
pub mod ml;
pub mod sources;

use crate::api::Limits;
use crate::auth::{ApiTokenSettings, AuthSettings, UserSettings};
use crate::config::Config;
use crate::ingest::mqtt::MqttSettings;
use crate::store::{KeptLevel, StoreOptions};
use crate::sync::SyncSettings;

pub fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        path: config.store.path.clone(),
        max_rows: config.store.max_rows,
        max_bytes: config.store.max_bytes,
        max_age_ms: config.store.max_age.map(|age| age.as_millis() as i64),
        max_devices: config.store.max_devices,
        max_metrics: config.store.max_metrics,
        exclusive: true,
        sync_enabled: config.upstream.enabled,
        seal_points: crate::store::seal_points_for(config.store.max_rows),
        memory_head: config.store.flush_interval.is_some(),
        kept: kept_levels(config),
    }
}

/// The kept rollup levels `rollup_minute_days` and `rollup_hour_days` ask for.
pub fn kept_levels(config: &Config) -> Vec<KeptLevel> {
    const DAY_MS: i64 = 86_400_000;
    [
        (60_000, config.store.rollup_minute_days),
        (3_600_000, config.store.rollup_hour_days),
    ]
    .into_iter()
    .filter(|&(_, days)| days > 0)
    .map(|(step_ms, days)| KeptLevel {
        step_ms,
        keep_ms: days as i64 * DAY_MS,
    })
    .collect()
}

pub fn mqtt_settings(config: &Config) -> MqttSettings {
    let mqtt = &config.mqtt;
    MqttSettings {
        host: mqtt.host.clone(),
        port: mqtt.port,
        client_id: config.mqtt_client_id(),
        username: mqtt.username.clone(),
        password: mqtt.password.as_ref().map(|p| p.expose().to_owned()),
        topic_prefix: mqtt.topic_prefix.clone(),
        qos: mqtt.qos,
        clean_session: mqtt.clean_session,
        keepalive: mqtt.keepalive,
        max_payload: mqtt.max_payload_bytes,
        reconnect_max: mqtt.reconnect_max,
        sources: sources::source_settings(config),
    }
}

/// The filters the MQTT source subscribes to (the `acs/` topics and every enabled source's).
/// Rule actions must stay out of them even while ingest is off, since a reload may turn it on.
pub fn ingest_filters(config: &Config) -> Vec<String> {
    mqtt_settings(config).filters()
}

pub fn api_limits(config: &Config) -> Limits {
    let api = &config.api;
    Limits {
        max_connections: api.max_connections,
        request_timeout: api.request_timeout,
        max_body_bytes: api.max_body_bytes,
        max_header_bytes: 16 * 1024,
        max_connection_lifetime: std::time::Duration::from_secs(300),
        workers: api.workers,
    }
}

/// Keep-alive towards the cloud broker: short enough that a dead uplink is noticed within a
/// minute, long enough to cost nothing on a metered link.
const UPSTREAM_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(30);

pub fn sync_settings(config: &Config) -> SyncSettings {
    let up = &config.upstream;
    let gateway_id = config.gateway_id();
    SyncSettings {
        url: up.url.clone().unwrap_or_default(),
        client_id: up
            .client_id
            .clone()
            .unwrap_or_else(|| format!("acs-edge-{gateway_id}")),
        topic: up.topic.replace("{gateway_id}", &gateway_id),
        gateway_id,
        ca_file: up.ca_file.clone(),
        cert_file: up.cert_file.clone(),
        key_file: up.key_file.clone(),
        username: up.username.clone(),
        password: up.password.as_ref().map(|p| p.expose().to_owned()),
        keepalive: UPSTREAM_KEEPALIVE,
        reconnect_max: up.reconnect_max,
    }
}

/// Users, API tokens and the login policy (`config user`, `config api_token`, `config api`).
pub fn auth_settings(config: &Config) -> AuthSettings {
    let auth = &config.auth;
    AuthSettings {
        token_ttl: auth.token_ttl,
        login_max_failures: auth.login_max_failures,
        login_lockout: auth.login_lockout,
        users: auth
            .users
            .iter()
            .map(|u| UserSettings {
                name: u.name.clone(),
                password_hash: u.password_hash.expose().to_owned(),
                enabled: u.enabled,
            })
            .collect(),
        api_tokens: auth
            .api_tokens
            .iter()
            .map(|t| ApiTokenSettings {
                name: t.name.clone(),
                token_hash: t.token_hash.expose().to_owned(),
                enabled: t.enabled,
                metrics_only: t.metrics_only,
            })
            .collect(),
    }
}
