//! Translation of the typed config into the settings each part takes, so that parts do not
//! depend on the config layer and the reload path builds them the same way as start-up.

use crate::api::Limits;
use crate::auth::{ApiTokenSettings, AuthSettings, UserSettings};
use crate::config::Config;
#[cfg(feature = "ml")]
use crate::config::ModelSpec;
#[cfg(feature = "lora")]
use crate::config::{LorawanPayload, RadioChip};
#[cfg(feature = "ble")]
use crate::ingest::ble::{scanner::ScanSettings, BleAddress, BleDeviceSettings, BleSettings};
#[cfg(feature = "lora")]
use crate::ingest::lora::{
    radio::Chip, FrameDeviceKey, LoraKeys, LoraSettings, LorawanDeviceKeys, PayloadCodec,
    RadioSettings,
};
use crate::ingest::mqtt::MqttSettings;
#[cfg(feature = "ml")]
use crate::ml::ModelSettings;
use crate::store::StoreOptions;
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

/// The filters the MQTT source subscribes to. Rule actions must stay out of them even while
/// ingest is off, since a reload may turn it on.
pub fn ingest_filters(config: &Config) -> Vec<String> {
    use crate::ingest::topic::{filter, Kind};
    Kind::ALL
        .into_iter()
        .map(|kind| filter(&config.mqtt.topic_prefix, kind))
        .collect()
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

/// BLE decoding settings from `config ble` and the `config ble_device` sections: bindkeys and
/// ids of known devices, the allow list (the `allow` addresses join the known devices, and
/// then only known devices are accepted), the deny list and the company id of acs-proto frames.
#[cfg(feature = "ble")]
pub fn ble_settings(config: &Config) -> BleSettings {
    let ble = &config.ble;
    let mut devices: Vec<BleDeviceSettings> = ble
        .devices
        .iter()
        .map(|d| BleDeviceSettings {
            mac: BleAddress(d.mac),
            bindkey: d.bindkey,
            id: d.id.clone(),
        })
        .collect();
    for mac in &ble.allow {
        if !devices.iter().any(|d| d.mac.0 == *mac) {
            devices.push(BleDeviceSettings {
                mac: BleAddress(*mac),
                bindkey: None,
                id: None,
            });
        }
    }
    BleSettings {
        frame_company_id: ble.frame_company_id,
        devices,
        only_listed: !ble.allow.is_empty(),
        deny: ble.deny.iter().copied().map(BleAddress).collect(),
    }
}

/// Where and how the BLE scanner listens (`config ble`).
#[cfg(feature = "ble")]
pub fn ble_scan_settings(config: &Config) -> ScanSettings {
    ScanSettings {
        adapter: config.ble.adapter.clone(),
        dbus_address: config.ble.dbus_address.clone(),
        restart_max: config.ble.restart_max,
    }
}

#[cfg(feature = "lora")]
pub fn lora_settings(config: &Config) -> LoraSettings {
    LoraSettings {
        gwmp_listen: config.lora.gwmp_listen,
    }
}

#[cfg(feature = "lora")]
pub fn radio_settings(config: &Config) -> RadioSettings {
    let lora = &config.lora;
    RadioSettings {
        chip: match lora.radio_chip {
            RadioChip::Sx1261 => Chip::Sx1261,
            RadioChip::Sx1262 => Chip::Sx1262,
            RadioChip::Sx1276 => Chip::Sx1276,
        },
        spi_device: lora.radio_spi.clone(),
        gpio_chip: lora.radio_gpiochip.clone(),
        reset_pin: lora.radio_reset_pin,
        busy_pin: lora.radio_busy_pin,
        irq_pin: lora.radio_irq_pin,
        tcxo_mv: Some(lora.radio_tcxo_mv).filter(|mv| *mv > 0),
        frequency_hz: lora.radio_frequency_hz,
        spreading_factor: lora.radio_sf,
        bandwidth_hz: lora.radio_bandwidth_hz,
        coding_rate: lora.radio_coding_rate,
        public_network: lora.radio_public_network,
    }
}

/// The keys of the enabled `lorawan_device` and `lora_frame_device` sections.
#[cfg(feature = "lora")]
pub fn lora_keys(config: &Config) -> LoraKeys {
    let devices = &config.lora_devices;
    LoraKeys {
        lorawan: devices
            .lorawan
            .iter()
            .filter(|d| d.enabled)
            .map(|d| LorawanDeviceKeys {
                device_id: d.device_id.clone(),
                dev_addr: d.dev_addr,
                nwk_s_key: d.nwkskey.0,
                app_s_key: d.appskey.0,
                payload: match d.payload {
                    LorawanPayload::Lpp => PayloadCodec::Lpp,
                    LorawanPayload::None => PayloadCodec::None,
                },
            })
            .collect(),
        frames: devices
            .frames
            .iter()
            .filter(|d| d.enabled)
            .map(|d| FrameDeviceKey {
                device_id: d.device_id.clone(),
                eui: d.eui,
                key: d.key.0,
            })
            .collect(),
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
            })
            .collect(),
    }
}

/// The enabled `config model` sections.
#[cfg(feature = "ml")]
pub fn model_settings(models: &[ModelSpec]) -> Vec<ModelSettings> {
    models
        .iter()
        .filter(|m| m.enabled)
        .map(|m| ModelSettings {
            name: m.name.clone(),
            path: m.path.clone(),
            device: m.device.clone(),
            metrics: m.metrics.clone(),
            window: m.window,
            hop: m.hop,
            output: m.output.clone(),
            threshold: m.threshold,
            line: m.line,
        })
        .collect()
}
