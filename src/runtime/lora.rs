//! The LoRa inputs of the running daemon: the packet-forwarder server and the attached radio,
//! sharing one decoder seeded with the persisted frame counters. Device keys come from the
//! `lorawan_device` / `lora_frame_device` sections; a reload swaps them in the running decoder,
//! which keeps its counters, so neither input restarts. Without the Cargo feature `lora` the
//! same interface starts nothing (the config layer warns when LoRa is switched on).

#[cfg(feature = "lora")]
pub(super) use with_lora::*;
#[cfg(not(feature = "lora"))]
pub(super) use without_lora::*;

#[cfg(feature = "lora")]
mod with_lora {
    use super::super::settings::lora::{lora_keys, lora_settings, radio_settings};
    use super::super::StartError;
    use crate::config::Config;
    use crate::ingest::lora::uplink::UplinkDecoder;
    use crate::ingest::lora::{
        phy, GwmpSource, LoraKeys, RadioSource, SharedDecoder, DEDUP_WINDOW,
    };
    use crate::ingest::stats::IngestStats;
    use crate::model::Event;
    use crate::store::SharedStore;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// The LoRa inputs that run; both share one decoder (keys and frame counters).
    #[derive(Default)]
    pub(in crate::runtime) struct LoraInputs {
        gwmp: Option<GwmpSource>,
        radio: Option<RadioSource>,
        /// The decoder both inputs share; `None` when neither runs.
        decoder: Option<SharedDecoder>,
    }

    impl LoraInputs {
        /// Applies the device sections of a reloaded config to the running decoder.
        pub(in crate::runtime) fn reload_keys(&self, config: &Config) {
            let Some(decoder) = &self.decoder else {
                return;
            };
            let keys = lora_keys(config);
            log_keys(&keys, "reloaded");
            decoder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .set_keys(keys);
        }

        pub(in crate::runtime) fn request_stop(&self) {
            if let Some(gwmp) = &self.gwmp {
                gwmp.request_stop();
            }
            if let Some(radio) = &self.radio {
                radio.request_stop();
            }
        }

        pub(in crate::runtime) fn wait_finished(&self, grace: Duration) {
            if let Some(gwmp) = &self.gwmp {
                gwmp.wait_finished(grace);
            }
            if let Some(radio) = &self.radio {
                radio.wait_finished(grace);
            }
        }

        pub(in crate::runtime) fn stop(&mut self) {
            if let Some(gwmp) = self.gwmp.take() {
                gwmp.stop();
            }
            if let Some(radio) = self.radio.take() {
                radio.stop();
            }
        }
    }

    /// Starts the GWMP server (`lora.gwmp_enabled`) and the radio (`lora.radio_enabled`), seeded
    /// with the persisted frame counters and the keys of the enabled device sections.
    pub(in crate::runtime) fn start_lora(
        config: &Config,
        store: &SharedStore,
        tx: &async_channel::Sender<Event>,
        stats: &Arc<IngestStats>,
    ) -> Result<LoraInputs, StartError> {
        let mut inputs = LoraInputs::default();
        if !config.lora.gwmp_enabled && !config.lora.radio_enabled {
            return Ok(inputs);
        }
        let keys = lora_keys(config);
        log_keys(&keys, "loaded");
        let counters = store.lock().frame_counters()?;
        let decoder = Arc::new(Mutex::new(UplinkDecoder::new(keys, counters, DEDUP_WINDOW)));
        inputs.decoder = Some(decoder.clone());
        if config.lora.radio_enabled {
            inputs.radio = Some(start_radio(config, decoder.clone(), tx, stats)?);
        }
        if config.lora.gwmp_enabled {
            let settings = lora_settings(config);
            let addr = settings.gwmp_listen;
            let gwmp = GwmpSource::spawn(settings, decoder, tx.clone(), stats.clone())
                .map_err(|source| StartError::GwmpListen { addr, source })?;
            inputs.gwmp = Some(gwmp);
        }
        Ok(inputs)
    }

    fn log_keys(keys: &LoraKeys, what: &str) {
        log::info!(
            "lorawan_devices={} frame_devices={} LoRa device keys {what}",
            keys.lorawan.len(),
            keys.frames.len()
        );
        if keys.lorawan.is_empty() && keys.frames.is_empty() {
            log::warn!(
                "no enabled lorawan_device or lora_frame_device section: every LoRa frame \
                 counts as from an unknown device"
            );
        }
    }

    fn start_radio(
        config: &Config,
        decoder: SharedDecoder,
        tx: &async_channel::Sender<Event>,
        stats: &Arc<IngestStats>,
    ) -> Result<RadioSource, StartError> {
        let settings = radio_settings(config);
        RadioSource::spawn(
            move || phy::open(settings),
            decoder,
            tx.clone(),
            stats.clone(),
        )
        .map_err(|source| StartError::Spawn {
            what: "the LoRa radio",
            source,
        })
    }
}

#[cfg(not(feature = "lora"))]
mod without_lora {
    use super::super::StartError;
    use crate::config::Config;
    use crate::ingest::stats::IngestStats;
    use crate::model::Event;
    use crate::store::SharedStore;
    use std::sync::Arc;
    use std::time::Duration;

    /// No LoRa input runs in a build without the `lora` feature.
    #[derive(Default)]
    pub(in crate::runtime) struct LoraInputs {}

    impl LoraInputs {
        pub(in crate::runtime) fn reload_keys(&self, _config: &Config) {}
        pub(in crate::runtime) fn request_stop(&self) {}
        pub(in crate::runtime) fn wait_finished(&self, _grace: Duration) {}
        pub(in crate::runtime) fn stop(&mut self) {}
    }

    pub(in crate::runtime) fn start_lora(
        _config: &Config,
        _store: &SharedStore,
        _tx: &async_channel::Sender<Event>,
        _stats: &Arc<IngestStats>,
    ) -> Result<LoraInputs, StartError> {
        Ok(LoraInputs {})
    }
}
