//! `config source 'NAME'`: a home-automation MQTT format (zigbee2mqtt, Tasmota, Shelly,
//! ESPHome) read by the MQTT ingest connection, with its topic filters and device-id prefix.

use super::keys::{ChoiceSlot, Flag, List, Text};
use super::spec::{ChoiceKey, Kind, MultiSectionSpec, OptionSpec};

pub const SOURCE: MultiSectionSpec = MultiSectionSpec {
    name: "source",
    doc: "Devices that publish in a home-automation format to the same broker as MQTT ingest:\n\
          the daemon subscribes to the source's topics too and turns its messages into\n\
          readings and device status (README, \"Ingest sources\", shows each format's payload\n\
          and readings). A reload applies changes (MQTT ingest reconnects).",
    required: &["format"],
    example: "config source 'zigbee'\n\
              \toption enabled '1'\n\
              \toption format 'zigbee2mqtt'\n\
              \tlist topic 'zigbee2mqtt/#'\n\
              \toption device_prefix ''\n",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::SourceEnabled),
            default: "1",
            reload: true,
            doc: "0 keeps the section but does not subscribe to its topics.",
        },
        OptionSpec {
            name: "format",
            kind: SOURCE_FORMAT.kind(),
            default: "zigbee2mqtt",
            reload: true,
            doc:
                "zigbee2mqtt, tasmota, shelly (Gen2/Gen3 RPC notifications) or esphome (its MQTT\n\
                  component).",
        },
        OptionSpec {
            name: "topic",
            kind: Kind::List {
                key: List::SourceTopic,
                check: check_filter,
            },
            default: "",
            reload: true,
            doc: "MQTT filters (`list topic 'zigbee2mqtt/#'`, one line each); none: the format's\n\
                  defaults, zigbee2mqtt/# | tele/+/SENSOR tele/+/STATE tele/+/LWT |\n\
                  +/events/rpc | +/sensor/+/state +/binary_sensor/+/state +/status.\n\
                  The QoS is mqtt.qos.",
        },
        OptionSpec {
            name: "device_prefix",
            kind: Kind::Text {
                key: Text::SourceDevicePrefix,
                check: check_device_prefix,
            },
            default: "",
            reload: true,
            doc: "Put in front of each device id from this source (for example z2m.), so that\n\
                  two sources cannot name the same device; up to 32 of A-Z a-z 0-9 _ - . :",
        },
    ],
};

/// The payload shapes a source decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Zigbee2mqtt,
    Tasmota,
    Shelly,
    Esphome,
}

pub const SOURCE_FORMAT: ChoiceKey<SourceFormat> = ChoiceKey {
    slot: ChoiceSlot::SourceFormat,
    words: &["zigbee2mqtt", "tasmota", "shelly", "esphome"],
    values: &[
        SourceFormat::Zigbee2mqtt,
        SourceFormat::Tasmota,
        SourceFormat::Shelly,
        SourceFormat::Esphome,
    ],
};

/// An MQTT subscription filter (MQTT 5 section 4.7): `+` and `#` only as whole levels, `#`
/// only last.
pub fn check_filter(raw: &str) -> Result<(), String> {
    if raw.is_empty() || raw.len() > 256 || raw.chars().any(char::is_control) {
        return Err(format!(
            "expected an MQTT filter of 1 to 256 characters, got '{raw}'"
        ));
    }
    let levels: Vec<&str> = raw.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        let wildcard_inside = level.len() > 1 && level.contains(['+', '#']);
        if wildcard_inside || (*level == "#" && i + 1 != levels.len()) {
            return Err(format!(
                "'{raw}' is not an MQTT filter: + and # stand for whole levels, # only last"
            ));
        }
    }
    Ok(())
}

pub fn check_device_prefix(raw: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
    if raw.len() > 32 || !raw.chars().all(allowed) {
        return Err(format!(
            "expected up to 32 of A-Z a-z 0-9 _ - . :, got '{raw}'"
        ));
    }
    Ok(())
}
