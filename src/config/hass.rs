//! `config hass 'hass'` as a typed struct. Whether `base_topic` could loop back into ingest
//! depends on the ingest filters, which the ingest layer knows (a source's default filters);
//! the runtime checks that before it starts the part.

use super::options::keys::{Flag, Text};
use super::values::Values;

#[derive(Debug, Clone, PartialEq)]
pub struct Hass {
    pub enabled: bool,
    pub discovery_prefix: String,
    pub base_topic: String,
}

pub fn hass_from(v: &Values) -> Hass {
    Hass {
        enabled: v.flag(Flag::HassEnabled),
        discovery_prefix: v.text(Text::HassDiscoveryPrefix).to_owned(),
        base_topic: v.text(Text::HassBaseTopic).to_owned(),
    }
}
