//! The single sections (`config main`, `store`, `mqtt`, `api`, `upstream`, `lora`) as typed
//! structs, built from checked values: units converted (KiB to bytes, seconds to durations),
//! '' turned into `None`, and the checks that involve more than one option.

use super::error::ConfigError;
use super::options::keys::{Flag, Int, Text};
use super::options::lora::{
    RadioChip, RADIO_BANDWIDTH_HZ, RADIO_CHIP, RADIO_CODING_RATE, RADIO_PUBLIC_NETWORK,
    RADIO_TCXO_MV,
};
use super::options::main::{LogLevel, LOG_LEVEL};
use super::secret::Secret;
use super::values::Values;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Main {
    pub enabled: bool,
    /// `None`: use the hostname, see [`Config::gateway_id`].
    pub gateway_id: Option<String>,
    pub log_level: LogLevel,
    /// `offline_after_s`; `None` when 0 (only the status topic reports offline).
    pub offline_after: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub path: PathBuf,
    pub max_rows: u64,
    /// `max_mb` in bytes.
    pub max_bytes: u64,
    /// `max_age_days`; `None` when it is 0 (no age limit).
    pub max_age: Option<Duration>,
    pub commit_interval: Duration,
    /// `flush_interval_s`; `None` when it is 0 (the head is in the file).
    pub flush_interval: Option<Duration>,
    pub max_devices: usize,
    pub max_metrics: usize,
    /// `max_future_skew_s`: how far ahead of the gateway clock a reading may be stamped.
    pub max_future_skew: Duration,
    /// `rollup_minute_days` (0: no per-minute rollups of evicted readings).
    pub rollup_minute_days: u64,
    /// `rollup_hour_days` (0: no per-hour rollups of evicted readings).
    pub rollup_hour_days: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mqtt {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub topic_prefix: String,
    /// `None`: `acs-edge-<gateway_id>`, see [`Config::mqtt_client_id`].
    pub client_id: Option<String>,
    /// 0 or 1.
    pub qos: u8,
    pub clean_session: bool,
    pub keepalive: Duration,
    /// `max_payload_kb` in bytes.
    pub max_payload_bytes: usize,
    pub reconnect_max: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    pub enabled: bool,
    pub listen: SocketAddr,
    pub max_connections: usize,
    pub request_timeout: Duration,
    /// `max_body_kb` in bytes.
    pub max_body_bytes: usize,
    pub workers: usize,
    pub ws_max_clients: usize,
    pub ws_ping: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Upstream {
    pub enabled: bool,
    /// `mqtt://...` or `mqtts://...`; always set when `enabled`.
    pub url: Option<String>,
    pub client_id: Option<String>,
    /// `None`: the system trust store.
    pub ca_file: Option<PathBuf>,
    /// Set together with `key_file` when `enabled`.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// May contain `{gateway_id}`.
    pub topic: String,
    pub reconnect_max: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lora {
    pub gwmp_enabled: bool,
    pub gwmp_listen: SocketAddr,
    pub radio_enabled: bool,
    pub radio_chip: RadioChip,
    pub radio_spi: PathBuf,
    pub radio_gpiochip: PathBuf,
    pub radio_reset_pin: u32,
    pub radio_busy_pin: u32,
    pub radio_irq_pin: u32,
    /// 0: crystal.
    pub radio_tcxo_mv: u32,
    pub radio_frequency_hz: u32,
    pub radio_sf: u8,
    /// `radio_bw_khz` in Hz.
    pub radio_bandwidth_hz: u32,
    /// `radio_cr` 4/x: x, 5 to 8.
    pub radio_coding_rate: u8,
    /// `radio_sync_word` public (LoRaWAN) rather than private.
    pub radio_public_network: bool,
}

fn secs(v: &Values, key: Int) -> Duration {
    Duration::from_secs(v.int(key))
}

fn kib(v: &Values, key: Int) -> usize {
    v.int(key) as usize * 1024
}

pub fn main_from(v: &Values) -> Main {
    Main {
        enabled: v.flag(Flag::MainEnabled),
        gateway_id: v.opt_text(Text::MainGatewayId),
        log_level: v.choice(&LOG_LEVEL),
        offline_after: match v.int(Int::MainOfflineAfterS) {
            0 => None,
            s => Some(Duration::from_secs(s)),
        },
    }
}

pub fn store_from(v: &Values) -> Store {
    Store {
        path: PathBuf::from(v.text(Text::StorePath)),
        max_rows: v.int(Int::StoreMaxRows),
        max_bytes: v.int(Int::StoreMaxMb) * 1024 * 1024,
        max_age: match v.int(Int::StoreMaxAgeDays) {
            0 => None,
            days => Some(Duration::from_secs(days * 86_400)),
        },
        commit_interval: Duration::from_millis(v.int(Int::StoreCommitIntervalMs)),
        flush_interval: match v.int(Int::StoreFlushIntervalS) {
            0 => None,
            s => Some(Duration::from_secs(s)),
        },
        max_devices: v.int(Int::StoreMaxDevices) as usize,
        max_metrics: v.int(Int::StoreMaxMetrics) as usize,
        max_future_skew: secs(v, Int::StoreMaxFutureSkewS),
        rollup_minute_days: v.int(Int::StoreRollupMinuteDays),
        rollup_hour_days: v.int(Int::StoreRollupHourDays),
    }
}

pub fn mqtt_from(v: &Values) -> Mqtt {
    Mqtt {
        enabled: v.flag(Flag::MqttEnabled),
        host: v.text(Text::MqttHost).to_owned(),
        port: v.int(Int::MqttPort) as u16,
        username: v.opt_text(Text::MqttUsername),
        password: v.opt_text(Text::MqttPassword).map(Secret::new),
        topic_prefix: v.text(Text::MqttTopicPrefix).to_owned(),
        client_id: v.opt_text(Text::MqttClientId),
        qos: v.int(Int::MqttQos) as u8,
        clean_session: v.flag(Flag::MqttCleanSession),
        keepalive: secs(v, Int::MqttKeepaliveS),
        max_payload_bytes: kib(v, Int::MqttMaxPayloadKb),
        reconnect_max: secs(v, Int::MqttReconnectMaxS),
    }
}

pub fn api_from(v: &Values) -> Api {
    Api {
        enabled: v.flag(Flag::ApiEnabled),
        listen: v
            .text(Text::ApiListen)
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
        max_connections: v.int(Int::ApiMaxConnections) as usize,
        request_timeout: secs(v, Int::ApiRequestTimeoutS),
        max_body_bytes: kib(v, Int::ApiMaxBodyKb),
        workers: v.int(Int::ApiWorkers) as usize,
        ws_max_clients: v.int(Int::ApiWsMaxClients) as usize,
        ws_ping: secs(v, Int::ApiWsPingS),
    }
}

/// The upstream section; refused into `errors` when it is enabled without a usable URL or with
/// half a client certificate.
pub fn upstream_from(v: &Values, errors: &mut Vec<ConfigError>) -> Upstream {
    let up = Upstream {
        enabled: v.flag(Flag::UpstreamEnabled),
        url: v.opt_text(Text::UpstreamUrl),
        client_id: v.opt_text(Text::UpstreamClientId),
        ca_file: v.opt_text(Text::UpstreamCaFile).map(PathBuf::from),
        cert_file: v.opt_text(Text::UpstreamCertFile).map(PathBuf::from),
        key_file: v.opt_text(Text::UpstreamKeyFile).map(PathBuf::from),
        username: v.opt_text(Text::UpstreamUsername),
        password: v.opt_text(Text::UpstreamPassword).map(Secret::new),
        topic: v.text(Text::UpstreamTopic).to_owned(),
        reconnect_max: secs(v, Int::UpstreamReconnectMaxS),
    };
    if !up.enabled {
        return up;
    }
    let invalid = |option: &'static str, key: Text, message: String| ConfigError::Invalid {
        line: v.line(key).or(v.line(Flag::UpstreamEnabled)),
        section: "upstream",
        option,
        message,
    };
    match up.url.as_deref() {
        None => errors.push(invalid(
            "url",
            Text::UpstreamUrl,
            "is required when upstream is enabled (mqtts://host:8883 or mqtt://host:1883)".into(),
        )),
        Some(url) if !is_mqtt_url(url) => errors.push(invalid(
            "url",
            Text::UpstreamUrl,
            format!("expected mqtts://host[:port] or mqtt://host[:port], got '{url}'"),
        )),
        Some(_) => {}
    }
    if up.cert_file.is_some() != up.key_file.is_some() {
        let (missing, key) = if up.cert_file.is_some() {
            ("key_file", Text::UpstreamKeyFile)
        } else {
            ("cert_file", Text::UpstreamCertFile)
        };
        errors.push(invalid(
            missing,
            key,
            "cert_file and key_file must be set together".into(),
        ));
    }
    up
}

fn is_mqtt_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("mqtts://")
        .or_else(|| url.strip_prefix("mqtt://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with([':', '/']) && !r.contains(char::is_whitespace)
    })
}

pub fn lora_from(v: &Values) -> Lora {
    Lora {
        gwmp_enabled: v.flag(Flag::LoraGwmpEnabled),
        gwmp_listen: v
            .text(Text::LoraGwmpListen)
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 1700))),
        radio_enabled: v.flag(Flag::LoraRadioEnabled),
        radio_chip: v.choice(&RADIO_CHIP),
        radio_spi: PathBuf::from(v.text(Text::LoraRadioSpi)),
        radio_gpiochip: PathBuf::from(v.text(Text::LoraRadioGpiochip)),
        radio_reset_pin: v.int(Int::LoraRadioResetPin) as u32,
        radio_busy_pin: v.int(Int::LoraRadioBusyPin) as u32,
        radio_irq_pin: v.int(Int::LoraRadioIrqPin) as u32,
        radio_tcxo_mv: v.choice(&RADIO_TCXO_MV),
        radio_frequency_hz: v.int(Int::LoraRadioFrequencyHz) as u32,
        radio_sf: v.int(Int::LoraRadioSf) as u8,
        radio_bandwidth_hz: v.choice(&RADIO_BANDWIDTH_HZ),
        radio_coding_rate: v.choice(&RADIO_CODING_RATE),
        radio_public_network: v.choice(&RADIO_PUBLIC_NETWORK),
    }
}
