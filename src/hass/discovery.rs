//! The discovery messages and topics (Home Assistant's MQTT discovery: a retained JSON config
//! on `<discovery_prefix>/<component>/<object_id>/config`, whose topic levels may hold only
//! `[a-zA-Z0-9_-]`), and the ids they carry.
//!
//! Ids are stable: they are made from the gateway id, the device id and the metric name only,
//! so a restart, a reconnect or an HA restart announces the same entity again. Device ids and
//! metric names may hold `.` and `:`, which ids may not; and `_` joins the parts. So an id whose
//! parts needed a change (or hold a `_`) ends with a hash of the parts as they are, which keeps
//! two series that read alike (`a.b` and `a_b`) apart.

use super::registry;
use serde_json::{json, Value};

/// What a config says about the device a sensor belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name set through the API, else the device id.
    pub name: String,
    /// What the gateway knows of the hardware: how it reaches the gateway.
    pub model: &'static str,
    /// The device's `metadata.location`, set through the API.
    pub suggested_area: Option<String>,
}

/// The topics one gateway uses, from its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub discovery_prefix: String,
    /// `<base_topic>/<gateway_id>`.
    pub gateway_base: String,
    pub gateway_id: String,
}

impl Topics {
    pub fn new(discovery_prefix: &str, base_topic: &str, gateway_id: &str) -> Topics {
        Topics {
            discovery_prefix: discovery_prefix.to_owned(),
            gateway_base: format!("{base_topic}/{gateway_id}"),
            gateway_id: gateway_id.to_owned(),
        }
    }

    /// Retained `online`, and the will `offline`: the availability of every sensor.
    pub fn status(&self) -> String {
        format!("{}/status", self.gateway_base)
    }

    /// Where the readings of one series go.
    pub fn state(&self, device: &str, metric: &str) -> String {
        format!("{}/{device}/{metric}", self.gateway_base)
    }

    /// Home Assistant's birth and will messages.
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }

    pub fn sensor_config(&self, device: &str, metric: &str) -> String {
        let id = object_id(&[&self.gateway_id, device, metric]);
        format!("{}/sensor/{id}/config", self.discovery_prefix)
    }

    pub fn gateway_config(&self) -> String {
        let id = object_id(&[&self.gateway_id, "status"]);
        format!("{}/binary_sensor/{id}/config", self.discovery_prefix)
    }

    /// The config of the sensor for `metric` of `device`.
    pub fn sensor_payload(&self, device: &str, metric: &str, info: &DeviceInfo) -> Value {
        let id = object_id(&[&self.gateway_id, device, metric]);
        let class = registry::lookup(metric);
        let mut device_block = json!({
            "identifiers": [format!("acs-edge.{}.{device}", self.gateway_id)],
            "name": info.name,
            "model": info.model,
            "via_device": self.gateway_identifier(),
        });
        if let Some(area) = &info.suggested_area {
            device_block["suggested_area"] = json!(area);
        }
        let mut config = json!({
            "name": metric,
            "unique_id": id,
            "default_entity_id": format!("sensor.{}", entity_slug(&[&self.gateway_id, device, metric])),
            "state_topic": self.state(device, metric),
            "availability_topic": self.status(),
            "payload_available": "online",
            "payload_not_available": "offline",
            "state_class": class.state_class,
            "device": device_block,
            "origin": origin(),
        });
        if let Some(device_class) = class.device_class {
            config["device_class"] = json!(device_class);
        }
        if let Some(unit) = class.unit {
            config["unit_of_measurement"] = json!(unit);
        }
        config
    }

    /// The gateway itself: a connectivity sensor on its status topic, and the device every
    /// sensor names as its `via_device`.
    pub fn gateway_payload(&self) -> Value {
        json!({
            "name": "Status",
            "unique_id": object_id(&[&self.gateway_id, "status"]),
            "default_entity_id": format!("binary_sensor.{}", entity_slug(&[&self.gateway_id, "status"])),
            "state_topic": self.status(),
            "payload_on": "online",
            "payload_off": "offline",
            "device_class": "connectivity",
            "device": {
                "identifiers": [self.gateway_identifier()],
                "name": self.gateway_id,
                "model": "acs-edge gateway",
                "sw_version": env!("CARGO_PKG_VERSION"),
            },
            "origin": origin(),
        })
    }

    fn gateway_identifier(&self) -> String {
        format!("acs-edge.{}", self.gateway_id)
    }
}

/// Who published the config (shown by Home Assistant with the entity).
fn origin() -> Value {
    json!({
        "name": "acs-edge",
        "sw_version": env!("CARGO_PKG_VERSION"),
    })
}

/// The parts joined by `_`, each character outside `[a-zA-Z0-9-]` replaced by `_`; when any
/// was replaced (a `_` included), `_` and 8 hex digits of the FNV-1a hash of the parts joined
/// by `/` (which no part holds) follow.
pub fn object_id(parts: &[&str]) -> String {
    let mut id = String::new();
    let mut replaced = false;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            id.push('_');
        }
        for c in part.chars() {
            if c.is_ascii_alphanumeric() || c == '-' {
                id.push(c);
            } else {
                id.push('_');
                replaced = true;
            }
        }
    }
    if replaced {
        id.push_str(&format!("_{:08x}", fnv1a(&parts.join("/"))));
    }
    id
}

/// The entity id Home Assistant should use (`default_entity_id`, without the domain): the parts
/// in lowercase, `[a-z0-9_]` only. HA itself keeps entity ids unique, so no hash is needed.
fn entity_slug(parts: &[&str]) -> String {
    let joined = parts.join("_").to_ascii_lowercase();
    joined
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics() -> Topics {
        Topics::new("homeassistant", "acs-edge", "gw1")
    }

    #[test]
    fn plain_ids_stay_readable_and_only_hold_what_topics_allow() {
        assert_eq!(
            object_id(&["gw1", "dev1", "temperature"]),
            "gw1_dev1_temperature"
        );
        assert_eq!(object_id(&["gw-1", "d-2", "co2"]), "gw-1_d-2_co2");
        for id in [
            object_id(&["gw1", "a.b:c", "x"]),
            object_id(&["gw1", "dev1", "switch:0.aenergy.total"]),
        ] {
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                "{id}"
            );
        }
    }

    #[test]
    fn series_that_read_alike_get_distinct_stable_ids() {
        let ids = [
            object_id(&["gw", "a.b", "t"]),
            object_id(&["gw", "a_b", "t"]),
            object_id(&["gw", "a:b", "t"]),
            object_id(&["gw", "a", "b_t"]),
            object_id(&["gw", "a_b_t", "x"]),
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(ids[0], object_id(&["gw", "a.b", "t"]), "stable");
        assert!(ids[0].starts_with("gw_a_b_t_"), "{}", ids[0]);
        // FNV-1a reference value: "a" -> 0xe40c292c.
        assert_eq!(fnv1a("a"), 0xe40c_292c);
    }

    #[test]
    fn a_sensor_config_carries_its_class_topics_and_device() {
        let info = DeviceInfo {
            name: "Kitchen sensor".into(),
            model: "MQTT device",
            suggested_area: Some("kitchen".into()),
        };
        let config = topics().sensor_payload("dev1", "temperature", &info);
        assert_eq!(config["unique_id"], "gw1_dev1_temperature");
        assert_eq!(config["default_entity_id"], "sensor.gw1_dev1_temperature");
        assert_eq!(config["state_topic"], "acs-edge/gw1/dev1/temperature");
        assert_eq!(config["availability_topic"], "acs-edge/gw1/status");
        assert_eq!(config["device_class"], "temperature");
        assert_eq!(config["unit_of_measurement"], "°C");
        assert_eq!(config["state_class"], "measurement");
        assert_eq!(config["device"]["identifiers"][0], "acs-edge.gw1.dev1");
        assert_eq!(config["device"]["via_device"], "acs-edge.gw1");
        assert_eq!(config["device"]["suggested_area"], "kitchen");
        assert_eq!(config["device"]["name"], "Kitchen sensor");
        assert_eq!(
            topics().sensor_config("dev1", "temperature"),
            "homeassistant/sensor/gw1_dev1_temperature/config"
        );
        let unknown = topics().sensor_payload("dev1", "soil.ph", &info);
        assert!(unknown.get("device_class").is_none());
        assert!(unknown.get("unit_of_measurement").is_none());
        assert_eq!(unknown["state_class"], "measurement");
    }

    #[test]
    fn the_gateway_is_the_device_sensors_are_reached_through() {
        let gateway = topics().gateway_payload();
        assert_eq!(gateway["device"]["identifiers"][0], "acs-edge.gw1");
        assert_eq!(gateway["state_topic"], "acs-edge/gw1/status");
        assert_eq!(
            topics().gateway_config(),
            "homeassistant/binary_sensor/gw1_status/config"
        );
    }
}
