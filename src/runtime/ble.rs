//! The BLE inputs of the running daemon: the BlueZ scanner (`ble.enabled`) and the capture-file
//! replay asked for with `--replay-ble`. Without the Cargo feature `ble` the same interface
//! starts nothing (the config layer warns about `ble.enabled`), and asking for a replay is a
//! start error that names the feature.

#[cfg(feature = "ble")]
pub(super) use with_ble::*;
#[cfg(not(feature = "ble"))]
pub(super) use without_ble::*;

#[cfg(feature = "ble")]
mod with_ble {
    use super::super::settings::ble::{ble_scan_settings, ble_settings};
    use super::super::StartError;
    use crate::config::Config;
    use crate::ingest::ble::replay::ReplaySource;
    use crate::ingest::ble::scanner::{use_system_bus, ScannerSource};
    use crate::ingest::stats::IngestStats;
    use crate::model::Event;
    use std::path::PathBuf;
    use std::sync::Arc;

    /// Applies `ble.dbus_address` to the process; called once at start, before other threads
    /// run.
    pub(in crate::runtime) fn prepare(config: &Config) {
        if let (true, Some(address)) = (config.ble.enabled, config.ble.dbus_address.as_deref()) {
            use_system_bus(address);
        }
    }

    /// The BLE inputs that run.
    pub(in crate::runtime) struct BleInputs {
        replay: Option<ReplaySource>,
        scanner: Option<ScannerSource>,
    }

    impl BleInputs {
        pub(in crate::runtime) fn start(
            config: &Config,
            replay: Option<PathBuf>,
            tx: &async_channel::Sender<Event>,
            stats: &Arc<IngestStats>,
        ) -> Result<BleInputs, StartError> {
            let replay = match replay {
                Some(path) => {
                    log::info!("file={} replaying BLE advertisements", path.display());
                    let source =
                        ReplaySource::spawn(path, ble_settings(config), tx.clone(), stats.clone())
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
                    ble_scan_settings(config),
                    ble_settings(config),
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

        pub(in crate::runtime) fn request_stop(&self) {
            if let Some(replay) = &self.replay {
                replay.request_stop();
            }
            if let Some(scanner) = &self.scanner {
                scanner.request_stop();
            }
        }

        pub(in crate::runtime) fn stop(self) {
            if let Some(replay) = self.replay {
                replay.stop();
            }
            if let Some(scanner) = self.scanner {
                scanner.stop();
            }
        }
    }
}

#[cfg(not(feature = "ble"))]
mod without_ble {
    use super::super::StartError;
    use crate::config::Config;
    use crate::ingest::stats::IngestStats;
    use crate::model::Event;
    use std::path::PathBuf;
    use std::sync::Arc;

    pub(in crate::runtime) fn prepare(_config: &Config) {}

    /// No BLE input runs in a build without the `ble` feature.
    pub(in crate::runtime) struct BleInputs {}

    impl BleInputs {
        pub(in crate::runtime) fn start(
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

        pub(in crate::runtime) fn request_stop(&self) {}
        pub(in crate::runtime) fn stop(self) {}
    }
}
