//! The daemon's configuration: the UCI file `/etc/config/acs-edge`, read by our own parser
//! ([`uci`]) so the same file works on a router and on a laptop.
//!
//! Every section and option, with its default, range and documentation, is declared once in
//! the option table (`options.rs`). [`parse`] checks a file against it and builds a typed
//! [`Config`]; [`Config::default`] is built from the table's defaults; [`default_config_text`]
//! renders the table as the commented file that `print-config` prints and the package ships.
//!
//! Leniency: missing sections and options take their defaults; unknown sections and options
//! (LuCI or a newer version may add some) are warnings, not errors; a known section may be
//! anonymous, and when one appears twice the later one wins, with a warning. Wrong values are
//! errors naming the line, section and option.
//!
//! Multi-instance section types (`config user 'alice'`, `config api_token 'ci'`, declared in
//! the table's `MULTI_SECTIONS`) may appear any number of times; each instance must be named
//! (the name is its identity, so it is unique by UCI's own rule), gets the table's defaults for
//! the options it does not set, and must set the options its spec marks required.

mod ble;
pub mod edit;
mod instances;
mod lora_devices;
mod models;
mod options;
pub mod uci;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use ble::{format_mac, parse_mac, Ble, BleDevice};
use instances::{parse_instance, Instance};
pub use instances::{ApiToken, Auth, User, MAX_INSTANCE_NAME};
pub use lora_devices::{Key128, LoraDevices, LoraFrameDevice, LorawanDevice};
pub use models::ModelSpec;
pub use options::default_config_text;
use options::{Val, MULTI_SECTIONS, OPTIONS, SECTIONS};

use crate::model::validate_name;

/// Where the daemon reads its configuration unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/config/acs-edge";

/// A parsed configuration, with warnings about what was ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// One line each, starting with `line N: `.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Syntax(#[from] uci::ParseError),
    #[error("{}option '{option}' in section '{section}': {message}", at(.line))]
    Invalid {
        line: Option<usize>,
        section: &'static str,
        option: &'static str,
        message: String,
    },
    #[error("line {line}: {kind} '{name}': {message}")]
    Instance {
        line: usize,
        kind: &'static str,
        name: String,
        message: String,
    },
}

fn at(line: &Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

impl ConfigError {
    /// The 1-based line the error is about, when it is about one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax(e) => Some(e.line),
            ConfigError::Invalid { line, .. } => *line,
            ConfigError::Instance { line, .. } => Some(*line),
        }
    }
}

/// Reads and parses a config file. Read errors name the path.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text)
}

/// Parses the text of a config file.
pub fn parse(text: &str) -> Result<Loaded, ConfigError> {
    let sections = uci::parse(text)?;
    let mut values = Values::defaults();
    let mut warnings = Vec::new();
    // Known section types seen so far, with the line of the latest one.
    let mut seen: Vec<(&'static str, usize)> = Vec::new();
    let mut instances: Vec<Instance> = Vec::new();
    for section in &sections {
        if let Some(multi) = MULTI_SECTIONS.iter().find(|m| m.name == section.kind) {
            instances.push(parse_instance(multi, section, &mut warnings)?);
            continue;
        }
        let Some(spec) = SECTIONS.iter().find(|s| s.name == section.kind) else {
            warnings.push(format!(
                "line {}: unknown section type '{}' (ignored)",
                section.line, section.kind
            ));
            continue;
        };
        match seen.iter_mut().find(|(kind, _)| *kind == spec.name) {
            Some((_, earlier)) => {
                warnings.push(format!(
                    "line {}: another '{}' section; it replaces the one at line {earlier}",
                    section.line, spec.name
                ));
                *earlier = section.line;
                values.reset_section(spec.name);
            }
            None => seen.push((spec.name, section.line)),
        }
        for entry in &section.options {
            set_entry(&mut values, spec.name, entry, &mut warnings)?;
        }
    }
    let config = Config::from_values(&values, &instances)?;
    warn_missing_features(&config, &mut warnings);
    Ok(Loaded { config, warnings })
}

/// The config file is the same for every build; an input switched on in a build without its
/// Cargo feature is not started, and says so here rather than failing the whole daemon.
fn warn_missing_features(config: &Config, warnings: &mut Vec<String>) {
    let missing = |option: &str, feature: &str| {
        format!(
            "{option} is on, but this build has no `{feature}` feature (the OpenWrt package \
             acs-edge-full has it); that input does not start"
        )
    };
    if !cfg!(feature = "lora") {
        if config.lora.gwmp_enabled {
            warnings.push(missing("lora.gwmp_enabled", "lora"));
        }
        if config.lora.radio_enabled {
            warnings.push(missing("lora.radio_enabled", "lora"));
        }
    }
    if !cfg!(feature = "ble") && config.ble.enabled {
        warnings.push(missing("ble.enabled", "ble"));
    }
}

/// Checks one `option` line against the table and records its value; unknown options warn.
fn set_entry(
    values: &mut Values,
    section: &'static str,
    entry: &uci::Entry,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let Some(i) = options::find(section, &entry.name) else {
        warnings.push(format!(
            "line {}: unknown option '{}' in section '{section}' (ignored)",
            entry.line, entry.name
        ));
        return Ok(());
    };
    let opt = &OPTIONS[i];
    let invalid = |message| ConfigError::Invalid {
        line: Some(entry.line),
        section: opt.section,
        option: opt.name,
        message,
    };
    let val = match &entry.value {
        uci::Value::Single(raw) => opt.kind.check(raw),
        uci::Value::List(items) => opt.kind.check_list(items),
    };
    values.set(i, val.map_err(invalid)?, entry.line);
    Ok(())
}

/// A text that must not be logged: its Debug output is `"***"` (`""` when empty).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it (a connect call, a hash check).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    pub fn parse(s: &str) -> Option<LogLevel> {
        [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }

    pub fn to_filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// The whole configuration. See `openwrt/files/acs-edge.config` for what each option does.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub main: Main,
    pub store: Store,
    pub mqtt: Mqtt,
    pub api: Api,
    pub upstream: Upstream,
    pub lora: Lora,
    /// `lorawan_device` and `lora_frame_device` sections.
    pub lora_devices: LoraDevices,
    pub auth: Auth,
    pub ble: Ble,
    /// `config model` sections, in file order.
    pub models: Vec<ModelSpec>,
}

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
    pub max_devices: usize,
    pub max_metrics: usize,
    /// `max_future_skew_s`: how far ahead of the gateway clock a reading may be stamped.
    pub max_future_skew: Duration,
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
    pub radio_chip: String,
    pub radio_spi: PathBuf,
    pub radio_gpiochip: PathBuf,
    pub radio_reset_pin: u32,
    pub radio_busy_pin: u32,
    pub radio_irq_pin: u32,
    /// 0: crystal.
    pub radio_tcxo_mv: u32,
    pub radio_frequency_hz: u32,
    pub radio_sf: u8,
    /// One of the choices of `radio_bw_khz`, e.g. `"125"`.
    pub radio_bw_khz: String,
    /// `"4/5"` ... `"4/8"`.
    pub radio_cr: String,
    pub radio_public_network: bool,
}

impl Default for Config {
    /// The defaults of the option table (the same as parsing an empty file).
    fn default() -> Config {
        match Config::from_values(&Values::defaults(), &[]) {
            Ok(config) => config,
            Err(e) => panic!("the option table's defaults are invalid: {e}"),
        }
    }
}

const HOSTNAME_FILE: &str = "/proc/sys/kernel/hostname";
const FALLBACK_GATEWAY_ID: &str = "acs-edge";

impl Config {
    /// `main.gateway_id`, or the hostname when it is unset (or `acs-edge` when the hostname
    /// cannot be read or is not a valid name).
    pub fn gateway_id(&self) -> String {
        let hostname = || std::fs::read_to_string(HOSTNAME_FILE).ok();
        resolve_gateway_id(self.main.gateway_id.as_deref(), hostname)
    }

    /// `mqtt.client_id`, or `acs-edge-<gateway_id>`.
    pub fn mqtt_client_id(&self) -> String {
        self.mqtt
            .client_id
            .clone()
            .unwrap_or_else(|| format!("acs-edge-{}", self.gateway_id()))
    }

    fn from_values(v: &Values, named: &[Instance]) -> Result<Config, ConfigError> {
        let kb = |s, n| v.int(s, n) as usize * 1024;
        let secs = |s, n| Duration::from_secs(v.int(s, n));
        let config = Config {
            main: Main {
                enabled: v.flag("main", "enabled"),
                gateway_id: v.opt_text("main", "gateway_id"),
                log_level: LogLevel::parse(v.text("main", "log_level")).unwrap_or(LogLevel::Info),
                offline_after: match v.int("main", "offline_after_s") {
                    0 => None,
                    s => Some(Duration::from_secs(s)),
                },
            },
            store: Store {
                path: PathBuf::from(v.text("store", "path")),
                max_rows: v.int("store", "max_rows"),
                max_bytes: v.int("store", "max_mb") * 1024 * 1024,
                max_age: match v.int("store", "max_age_days") {
                    0 => None,
                    days => Some(Duration::from_secs(days * 86_400)),
                },
                commit_interval: Duration::from_millis(v.int("store", "commit_interval_ms")),
                max_devices: v.int("store", "max_devices") as usize,
                max_metrics: v.int("store", "max_metrics") as usize,
                max_future_skew: secs("store", "max_future_skew_s"),
            },
            mqtt: Mqtt {
                enabled: v.flag("mqtt", "enabled"),
                host: v.text("mqtt", "host").to_owned(),
                port: v.int("mqtt", "port") as u16,
                username: v.opt_text("mqtt", "username"),
                password: v.opt_text("mqtt", "password").map(Secret),
                topic_prefix: v.text("mqtt", "topic_prefix").to_owned(),
                client_id: v.opt_text("mqtt", "client_id"),
                qos: v.int("mqtt", "qos") as u8,
                clean_session: v.flag("mqtt", "clean_session"),
                keepalive: secs("mqtt", "keepalive_s"),
                max_payload_bytes: kb("mqtt", "max_payload_kb"),
                reconnect_max: secs("mqtt", "reconnect_max_s"),
            },
            api: Api {
                enabled: v.flag("api", "enabled"),
                listen: v
                    .text("api", "listen")
                    .parse()
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
                max_connections: v.int("api", "max_connections") as usize,
                request_timeout: secs("api", "request_timeout_s"),
                max_body_bytes: kb("api", "max_body_kb"),
                workers: v.int("api", "workers") as usize,
                ws_max_clients: v.int("api", "ws_max_clients") as usize,
                ws_ping: secs("api", "ws_ping_s"),
            },
            upstream: Upstream {
                enabled: v.flag("upstream", "enabled"),
                url: v.opt_text("upstream", "url"),
                client_id: v.opt_text("upstream", "client_id"),
                ca_file: v.opt_text("upstream", "ca_file").map(PathBuf::from),
                cert_file: v.opt_text("upstream", "cert_file").map(PathBuf::from),
                key_file: v.opt_text("upstream", "key_file").map(PathBuf::from),
                username: v.opt_text("upstream", "username"),
                password: v.opt_text("upstream", "password").map(Secret),
                topic: v.text("upstream", "topic").to_owned(),
                reconnect_max: secs("upstream", "reconnect_max_s"),
            },
            lora: Lora {
                gwmp_enabled: v.flag("lora", "gwmp_enabled"),
                gwmp_listen: v
                    .text("lora", "gwmp_listen")
                    .parse()
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 1700))),
                radio_enabled: v.flag("lora", "radio_enabled"),
                radio_chip: v.text("lora", "radio_chip").to_owned(),
                radio_spi: PathBuf::from(v.text("lora", "radio_spi")),
                radio_gpiochip: PathBuf::from(v.text("lora", "radio_gpiochip")),
                radio_reset_pin: v.int("lora", "radio_reset_pin") as u32,
                radio_busy_pin: v.int("lora", "radio_busy_pin") as u32,
                radio_irq_pin: v.int("lora", "radio_irq_pin") as u32,
                radio_tcxo_mv: v.text("lora", "radio_tcxo_mv").parse().unwrap_or(0),
                radio_frequency_hz: v.int("lora", "radio_frequency_hz") as u32,
                radio_sf: v.int("lora", "radio_sf") as u8,
                radio_bw_khz: v.text("lora", "radio_bw_khz").to_owned(),
                radio_cr: v.text("lora", "radio_cr").to_owned(),
                radio_public_network: v.text("lora", "radio_sync_word") == "public",
            },
            lora_devices: lora_devices::lora_devices_from(named)?,
            auth: instances::auth_from(v, named),
            ble: ble::ble_from(v, named)?,
            models: models::models_from(named)?,
        };
        config.check_upstream(v)?;
        Ok(config)
    }

    /// Checks that only matter when upstream sync is enabled.
    fn check_upstream(&self, v: &Values) -> Result<(), ConfigError> {
        let up = &self.upstream;
        if !up.enabled {
            return Ok(());
        }
        let invalid = |option: &'static str, message: String| ConfigError::Invalid {
            line: v.line("upstream", option).or(v.line("upstream", "enabled")),
            section: "upstream",
            option,
            message,
        };
        match up.url.as_deref() {
            None => {
                return Err(invalid(
                    "url",
                    "is required when upstream is enabled (mqtts://host:8883 or mqtt://host:1883)"
                        .into(),
                ))
            }
            Some(url) if !is_mqtt_url(url) => {
                return Err(invalid(
                    "url",
                    format!("expected mqtts://host[:port] or mqtt://host[:port], got '{url}'"),
                ))
            }
            Some(_) => {}
        }
        if up.cert_file.is_some() != up.key_file.is_some() {
            let missing = if up.cert_file.is_some() {
                "key_file"
            } else {
                "cert_file"
            };
            return Err(invalid(
                missing,
                "cert_file and key_file must be set together".into(),
            ));
        }
        Ok(())
    }
}

fn is_mqtt_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("mqtts://")
        .or_else(|| url.strip_prefix("mqtt://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with([':', '/']) && !r.contains(char::is_whitespace)
    })
}

fn resolve_gateway_id(
    configured: Option<&str>,
    hostname: impl FnOnce() -> Option<String>,
) -> String {
    if let Some(id) = configured {
        return id.to_owned();
    }
    hostname()
        .map(|h| h.trim().to_owned())
        .filter(|h| validate_name(h).is_ok())
        .unwrap_or_else(|| FALLBACK_GATEWAY_ID.to_owned())
}

/// Checked values of every option in the table, with the line that set each one.
struct Values {
    vals: Vec<(Val, Option<usize>)>,
}

impl Values {
    fn defaults() -> Values {
        let vals = OPTIONS
            .iter()
            .map(|o| match o.kind.check(o.default) {
                Ok(val) => (val, None),
                Err(e) => panic!("default of {}.{} is invalid: {e}", o.section, o.name),
            })
            .collect();
        Values { vals }
    }

    fn reset_section(&mut self, section: &str) {
        let defaults = Values::defaults();
        for (i, opt) in OPTIONS.iter().enumerate() {
            if opt.section == section {
                self.vals[i] = defaults.vals[i].clone();
            }
        }
    }

    fn set(&mut self, i: usize, val: Val, line: usize) {
        self.vals[i] = (val, Some(line));
    }

    fn index(section: &str, name: &str) -> usize {
        options::find(section, name)
            .unwrap_or_else(|| panic!("option {section}.{name} is not in the option table"))
    }

    fn get(&self, section: &str, name: &str) -> &Val {
        &self.vals[Values::index(section, name)].0
    }

    fn line(&self, section: &str, name: &str) -> Option<usize> {
        self.vals[Values::index(section, name)].1
    }

    fn flag(&self, section: &str, name: &str) -> bool {
        match self.get(section, name) {
            Val::Bool(b) => *b,
            _ => panic!("{section}.{name} is not a boolean in the option table"),
        }
    }

    fn int(&self, section: &str, name: &str) -> u64 {
        match self.get(section, name) {
            Val::Int(n) => *n,
            _ => panic!("{section}.{name} is not an integer in the option table"),
        }
    }

    fn text(&self, section: &str, name: &str) -> &str {
        match self.get(section, name) {
            Val::Text(t) => t,
            _ => panic!("{section}.{name} is not a text in the option table"),
        }
    }

    /// The items of a list option (none when unset).
    fn list(&self, section: &str, name: &str) -> &[String] {
        match self.get(section, name) {
            Val::List(items) => items,
            _ => panic!("{section}.{name} is not a list in the option table"),
        }
    }

    /// A text where '' means "not set".
    fn opt_text(&self, section: &str, name: &str) -> Option<String> {
        Some(self.text(section, name))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }
}
