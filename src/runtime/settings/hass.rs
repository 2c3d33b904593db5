//! `config hass` -> the settings of Home Assistant discovery: the ingest broker's connection,
//! the two topic roots and the gateway id.

use super::mqtt_settings;
use crate::config::Config;
use crate::hass::HassSettings;

pub fn hass_settings(config: &Config) -> HassSettings {
    HassSettings {
        mqtt: mqtt_settings(config),
        discovery_prefix: config.hass.discovery_prefix.clone(),
        base_topic: config.hass.base_topic.clone(),
        gateway_id: config.gateway_id(),
    }
}
