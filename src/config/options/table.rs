//! The whole option table: every section in the order `print-config` renders it.

use super::spec::{MultiSectionSpec, OptionSpec, SectionSpec};
use super::{
    api, auth, ble, hass, influxdb, lora, lora_devices, main, model, mqtt, source, store, upstream,
};

pub const SECTIONS: &[SectionSpec] = &[
    main::MAIN,
    store::STORE,
    mqtt::MQTT,
    api::API,
    upstream::UPSTREAM,
    influxdb::INFLUXDB,
    lora::LORA,
    ble::BLE,
    hass::HASS,
];

pub const MULTI_SECTIONS: &[MultiSectionSpec] = &[
    auth::USER,
    auth::API_TOKEN,
    ble::BLE_DEVICE,
    lora_devices::LORAWAN_DEVICE,
    lora_devices::LORA_FRAME_DEVICE,
    model::MODEL,
    source::SOURCE,
];

/// The options of a section type, single or multi-instance (none for an unknown type).
pub fn options_of(section: &str) -> &'static [OptionSpec] {
    let single = SECTIONS
        .iter()
        .find(|s| s.name == section)
        .map(|s| s.options);
    let multi = || {
        MULTI_SECTIONS
            .iter()
            .find(|m| m.name == section)
            .map(|m| m.options)
    };
    single.or_else(multi).unwrap_or_default()
}

/// Every option of every section, with its section's name.
pub fn all_options() -> impl Iterator<Item = (&'static str, &'static OptionSpec)> {
    let single = SECTIONS.iter().map(|s| (s.name, s.options));
    let multi = MULTI_SECTIONS.iter().map(|m| (m.name, m.options));
    single
        .chain(multi)
        .flat_map(|(section, options)| options.iter().map(move |o| (section, o)))
}
