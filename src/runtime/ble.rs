//! The BLE inputs of the running daemon: the BlueZ scanner (`ble.enabled`) and the capture-file
//! replay asked for with `--replay-ble`. Without the Cargo feature `ble` nothing starts (the
//! config layer warns about `ble.enabled`), and asking for a replay is a start error that names
//! the feature.

use super::StartError;
use crate::config::Config;
use crate::ingest::stats::IngestStats;
use crate::model::Event;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "ble")]
use crate::ingest::ble::replay::ReplaySource;
#[cfg(feature = "ble")]
use crate::ingest::ble::scanner::{use_system_bus, ScannerSource};

/// Applies `ble.dbus_address` to the process; called once at start, before other threads run.
pub(super) fn prepare(config: &Config) {
    #[cfg(feature = "ble")]
    if let (true, Some(address)) = (config.ble.enabled, config.ble.dbus_address.as_deref()) {
        use_system_bus(address);
    }
    #[cfg(not(feature = "ble"))]
    let _ = config;
}

/// The BLE inputs that run.
pub(super) struct BleInputs {
    #[cfg(feature = "ble")]
    replay: Option<ReplaySource>,
    #[cfg(feature = "ble")]
    scanner: Option<ScannerSource>,
}

impl BleInputs {
    #[cfg(feature = "ble")]
    pub(super) fn start(
        config: &Config,
        replay: Option<PathBuf>,
        tx: &async_channel::Sender<Event>,
        stats: &Arc<IngestStats>,
    ) -> Result<BleInputs, StartError> {
        let replay = match replay {
            Some(path) => {
                log::info!("file={} replaying BLE advertisements", path.display());
                let source = ReplaySource::spawn(
                    path,
                    super::settings::ble_settings(config),
                    tx.clone(),
                    stats.clone(),
                )
                .map_err(|source| StartError::Spawn {
                    what: "the BLE replay",
                    source,
                })?;
                Some(source)
            }
            None => None,
        };
        let scanner = if config.ble.enabled {
            let source = ScannerSource::spawn(
                super::settings::ble_scan_settings(config),
                super::settings::ble_settings(config),
                tx.clone(),
                stats.clone(),
            )
            .map_err(|source| StartError::Spawn {
                what: "the BLE scanner",
                source,
            })?;
            Some(source)
        } else {
            None
        };
        Ok(BleInputs { replay, scanner })
    }

    #[cfg(not(feature = "ble"))]
    pub(super) fn start(
        _config: &Config,
        replay: Option<PathBuf>,
        _tx: &async_channel::Sender<Event>,
        _stats: &Arc<IngestStats>,
    ) -> Result<BleInputs, StartError> {
        match replay {
            Some(_) => Err(StartError::NotBuilt {
                what: "--replay-ble",
                feature: "ble",
            }),
            None => Ok(BleInputs {}),
        }
    }

    pub(super) fn request_stop(&self) {
        #[cfg(feature = "ble")]
        if let Some(replay) = &self.replay {
            replay.request_stop();
        }
        #[cfg(feature = "ble")]
        if let Some(scanner) = &self.scanner {
            scanner.request_stop();
        }
    }

    pub(super) fn stop(self) {
        #[cfg(feature = "ble")]
        if let Some(replay) = self.replay {
            replay.stop();
        }
        #[cfg(feature = "ble")]
        if let Some(scanner) = self.scanner {
            scanner.stop();
        }
    }
}
