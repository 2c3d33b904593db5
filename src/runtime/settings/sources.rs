//! `config source` sections -> what MQTT ingest subscribes to and decodes: only enabled
//! sections, each with its filters or, when it names none, its format's defaults. A build
//! without the `sources` feature runs none (config loading has warned about enabled ones).

#[cfg(feature = "sources")]
pub use with_sources::*;
#[cfg(not(feature = "sources"))]
pub use without_sources::*;

#[cfg(feature = "sources")]
mod with_sources {
    use crate::config::{Config, SourceFormat};
    use crate::ingest::sources::{Format, SourceSettings};

    pub fn source_settings(config: &Config) -> Vec<SourceSettings> {
        config
            .sources
            .iter()
            .filter(|s| s.enabled)
            .map(|s| {
                let format = match s.format {
                    SourceFormat::Zigbee2mqtt => Format::Zigbee2mqtt,
                    SourceFormat::Tasmota => Format::Tasmota,
                    SourceFormat::Shelly => Format::Shelly,
                    SourceFormat::Esphome => Format::Esphome,
                };
                let filters = if s.topics.is_empty() {
                    format
                        .default_filters()
                        .iter()
                        .map(|f| f.to_string())
                        .collect()
                } else {
                    s.topics.clone()
                };
                SourceSettings {
                    name: s.name.clone(),
                    format,
                    filters,
                    device_prefix: s.device_prefix.clone(),
                }
            })
            .collect()
    }
}

#[cfg(not(feature = "sources"))]
mod without_sources {
    use crate::config::Config;
    use crate::ingest::sources::SourceSettings;

    pub fn source_settings(_config: &Config) -> Vec<SourceSettings> {
        Vec::new()
    }
}
