//! The daemon's configuration: the UCI file `/etc/config/acs-edge`, read by our own parser
//! ([`uci`]) so the same file works on a router and on a laptop.
//!
//! Every section and option, with its default, range and documentation, is declared once in
//! the option table (`options/`, one file per section). [`parse`] checks a file against it,
//! once, into typed slots (`values.rs`) and builds a typed [`Config`] from them;
//! [`Config::default`] is built from the table's defaults; [`default_config_text`] renders the
//! table as the commented file that `print-config` prints and the package ships.
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
mod error;
mod hass;
mod influxdb;
mod instances;
mod lora_devices;
mod models;
mod options;
mod secret;
mod sections;
mod sources;
pub mod uci;
mod values;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use ble::{format_mac, Ble, BleDevice};
pub use error::ConfigError;
pub use hass::Hass;
pub use influxdb::Influxdb;
use instances::{parse_instance, Instance};
pub use instances::{ApiToken, Auth, User, MAX_INSTANCE_NAME};
pub use lora_devices::{Key128, LoraDevices, LoraFrameDevice, LorawanDevice};
pub use models::ModelSpec;
pub use options::ble::parse_mac;
pub use options::influxdb::InfluxApi;
pub use options::lora::RadioChip;
pub use options::lora_devices::LorawanPayload;
pub use options::main::LogLevel;
pub use options::render::default_config_text;
pub use options::source::SourceFormat;
use options::table::{MULTI_SECTIONS, SECTIONS};
pub use secret::Secret;
pub use sections::{Api, Lora, Main, Mqtt, Store, Upstream};
pub use sources::SourceSpec;
use values::{set_entry, Values};

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

/// Reads and parses a config file. Read errors name the path.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text)
}

/// Parses the text of a config file; the error is the first one [`check`] finds.
pub fn parse(text: &str) -> Result<Loaded, ConfigError> {
    let checked = check(text)?;
    match checked.errors.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(checked.loaded),
    }
}

/// What [`check`] found in a file that is valid UCI.
#[derive(Debug)]
pub struct Checked {
    /// The config with the default wherever a value was refused and without refused instances:
    /// only good for further checks while `errors` is not empty.
    pub loaded: Loaded,
    /// Section by section in file order, the checks that involve several sections last.
    pub errors: Vec<ConfigError>,
}

/// Parses the text of a config file and reports every error. A syntax error is the `Err`:
/// past it the file's structure is unknown. An option with a wrong value keeps its default,
/// and an instance with an error is left out, so the checks after it still run on the rest.
pub fn check(text: &str) -> Result<Checked, ConfigError> {
    let sections = uci::parse(text)?;
    let mut values = Values::defaults();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    // Known section types seen so far, with the line of the latest one.
    let mut seen: Vec<(&'static str, usize)> = Vec::new();
    let mut instances: Vec<Instance> = Vec::new();
    for section in &sections {
        if let Some(multi) = MULTI_SECTIONS.iter().find(|m| m.name == section.kind) {
            instances.extend(parse_instance(multi, section, &mut warnings, &mut errors));
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
            if let Err(e) = set_entry(&mut values, spec.name, entry, &mut warnings) {
                errors.push(e);
            }
        }
    }
    let config = Config::from_values(&values, &instances, &mut errors);
    warn_missing_features(&config, &mut warnings);
    Ok(Checked {
        loaded: Loaded { config, warnings },
        errors,
    })
}

/// The config file is the same for every build; a part switched on in a build without its
/// Cargo feature is not started, and says so here rather than failing the whole daemon.
fn warn_missing_features(config: &Config, warnings: &mut Vec<String>) {
    let missing = |option: &str, feature: &str| {
        // The radios are in acs-edge-full only; the other parts are in both packages, so only
        // a build made with `--no-default-features` lacks them.
        let packages = match feature {
            "ble" | "lora" => "the OpenWrt package acs-edge-full has it",
            _ => "both OpenWrt packages have it",
        };
        format!(
            "{option} is on, but this build has no `{feature}` feature ({packages}); it does not \
             start"
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
    if !cfg!(feature = "influxdb") && config.influxdb.enabled {
        warnings.push(missing("influxdb.enabled", "influxdb"));
    }
    if !cfg!(feature = "hass") && config.hass.enabled {
        warnings.push(missing("hass.enabled", "hass"));
    }
    if !cfg!(feature = "sources") {
        for source in config.sources.iter().filter(|s| s.enabled) {
            warnings.push(missing(&format!("source '{}'", source.name), "sources"));
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
    /// The InfluxDB upstream (runs only in builds with the `influxdb` feature).
    pub influxdb: Influxdb,
    pub lora: Lora,
    /// `lorawan_device` and `lora_frame_device` sections.
    pub lora_devices: LoraDevices,
    pub auth: Auth,
    pub ble: Ble,
    /// `config model` sections, in file order.
    pub models: Vec<ModelSpec>,
    /// `config source` sections, in file order.
    pub sources: Vec<SourceSpec>,
    /// Home Assistant MQTT discovery.
    pub hass: Hass,
}

impl Default for Config {
    /// The defaults of the option table (the same as parsing an empty file).
    fn default() -> Config {
        let mut errors = Vec::new();
        let config = Config::from_values(&Values::defaults(), &[], &mut errors);
        if let Some(e) = errors.first() {
            panic!("the option table's defaults are invalid: {e}");
        }
        config
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

    /// The typed config; what the checks across options and instances refuse goes to
    /// `errors` (the config returned is then only good for finding more of them).
    fn from_values(v: &Values, named: &[Instance], errors: &mut Vec<ConfigError>) -> Config {
        let main = sections::main_from(v);
        let store = sections::store_from(v);
        let mqtt = sections::mqtt_from(v);
        let api = sections::api_from(v);
        let lora = sections::lora_from(v);
        let lora_devices = lora_devices::lora_devices_from(named, errors);
        let auth = instances::auth_from(v, named);
        let ble = ble::ble_from(v, named, errors);
        let models = models::models_from(named, errors);
        let sources = sources::sources_from(named);
        let hass = hass::hass_from(v);
        // Last: an error in a named section is reported before the upstream checks.
        let upstream = sections::upstream_from(v, errors);
        let influxdb = influxdb::influxdb_from(v, errors);
        Config {
            main,
            store,
            mqtt,
            api,
            upstream,
            influxdb,
            lora,
            lora_devices,
            auth,
            ble,
            models,
            sources,
            hass,
        }
    }
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
