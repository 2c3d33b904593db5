//! Translation of the typed config into the settings each part takes, so that parts do not
//! depend on the config layer and the reload path builds them the same way as start-up.

use crate::api::server::Limits;
use crate::config::Config;
use crate::ingest::lora::{LoraSettings, DEDUP_WINDOW};
use crate::ingest::mqtt::MqttSettings;
use crate::store::StoreOptions;

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
    }
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
    }
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

pub fn lora_settings(config: &Config) -> LoraSettings {
    LoraSettings {
        gwmp_listen: config.lora.gwmp_listen,
        dedup_window: DEDUP_WINDOW,
    }
}
