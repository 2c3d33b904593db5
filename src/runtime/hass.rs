//! Start and stop of Home Assistant discovery (`config hass`). Built without the `hass`
//! feature, the same interface runs nothing (config loading has warned about an enabled
//! section), so one config file serves every package variant.

#[cfg(feature = "hass")]
pub use with_hass::*;
#[cfg(not(feature = "hass"))]
pub use without_hass::*;

#[cfg(feature = "hass")]
mod with_hass {
    use crate::bus::Bus;
    use crate::config::{Config, ConfigError, Hass as HassSection};
    use crate::hass::{check_loop, Hass, HassCounters};
    use crate::runtime::settings::{hass::hass_settings, ingest_filters};
    use crate::runtime::StartError;
    use crate::store::SharedStore;
    use std::sync::Arc;

    /// Home Assistant discovery, when it is on.
    pub struct HassPart(Option<Hass>);

    impl HassPart {
        pub fn start(
            config: &Config,
            bus: &Arc<Bus>,
            store: &SharedStore,
            counters: &Arc<HassCounters>,
        ) -> Result<HassPart, StartError> {
            if !config.hass.enabled {
                return Ok(HassPart(None));
            }
            if let Some(e) = loop_error(&config.hass, config) {
                return Err(StartError::Config(e));
            }
            let hass = Hass::start(&hass_settings(config), bus, store.clone(), counters.clone())
                .map_err(|source| StartError::Spawn {
                    what: "home assistant discovery",
                    source,
                })?;
            Ok(HassPart(Some(hass)))
        }

        /// Call after the writer has finished, so the last commit's states go out.
        pub fn stop(self) {
            if let Some(hass) = self.0 {
                hass.stop();
            }
        }
    }

    /// Why an enabled `hass` section would feed its own messages back into the ingest filters
    /// of `config`, as the config error that names the option.
    pub fn loop_error(hass: &HassSection, config: &Config) -> Option<ConfigError> {
        if !hass.enabled {
            return None;
        }
        let filters = ingest_filters(config);
        let gateway_id = config.gateway_id();
        check_loop(
            &hass.base_topic,
            &hass.discovery_prefix,
            &gateway_id,
            &filters,
        )
        .err()
        .map(|(option, message)| ConfigError::Invalid {
            line: None,
            section: "hass",
            option,
            message,
        })
    }
}

#[cfg(not(feature = "hass"))]
mod without_hass {
    use crate::bus::Bus;
    use crate::config::{Config, ConfigError, Hass};
    use crate::hass::HassCounters;
    use crate::runtime::StartError;
    use crate::store::SharedStore;
    use std::sync::Arc;

    /// Nothing is announced in a build without the `hass` feature.
    pub struct HassPart;

    impl HassPart {
        pub fn start(
            _config: &Config,
            _bus: &Arc<Bus>,
            _store: &SharedStore,
            _counters: &Arc<HassCounters>,
        ) -> Result<HassPart, StartError> {
            Ok(HassPart)
        }

        pub fn stop(self) {}
    }

    pub fn loop_error(_hass: &Hass, _config: &Config) -> Option<ConfigError> {
        None
    }
}
