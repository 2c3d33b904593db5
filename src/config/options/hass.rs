//! `config hass 'hass'`: Home Assistant MQTT discovery on the ingest broker.

use super::keys::{Flag, Text};
use super::spec::{Kind, OptionSpec, SectionSpec};

pub const HASS: SectionSpec = SectionSpec {
    name: "hass",
    doc: "Home Assistant MQTT discovery on the mqtt section's broker: a sensor per device and\n\
          metric, with its readings and the gateway's online/offline status. Needs the `hass`\n\
          feature (both packages). Changes need a restart.",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::HassEnabled),
            default: "0",
            reload: false,
            doc: "Announce sensors to Home Assistant and publish their readings.",
        },
        OptionSpec {
            name: "discovery_prefix",
            kind: Kind::Text {
                key: Text::HassDiscoveryPrefix,
                check: check_topic_levels,
            },
            default: "homeassistant",
            reload: false,
            doc: "Home Assistant's discovery prefix: <prefix>/sensor/<id>/config, <prefix>/status.",
        },
        OptionSpec {
            name: "base_topic",
            kind: Kind::Text {
                key: Text::HassBaseTopic,
                check: check_topic_levels,
            },
            default: "acs-edge",
            reload: false,
            doc: "Readings go to <base_topic>/<gateway_id>/<device>/<metric> (retained), the\n\
                  gateway's status to <base_topic>/<gateway_id>/status.",
        },
    ],
};

/// One or more topic levels to publish under: no wildcards, no empty level, not `$`.
pub fn check_topic_levels(v: &str) -> Result<(), String> {
    let bad = v.is_empty()
        || v.len() > 128
        || v.starts_with('$')
        || v.contains(['+', '#'])
        || v.chars().any(char::is_control)
        || v.split('/').any(str::is_empty);
    if bad {
        Err(format!(
            "expected topic levels without wildcards (+ #), '$' or an empty level, got '{v}'"
        ))
    } else {
        Ok(())
    }
}
