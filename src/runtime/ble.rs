//! The BLE inputs of the running daemon: the capture-file replay asked for with
//! `--replay-ble`. Without the Cargo feature `ble` nothing starts, and asking for a replay is a
//! start error that names the feature.

use super::StartError;
use crate::config::Config;
use crate::ingest::Event;
use crate::stats::Stats;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "ble")]
use crate::ingest::ble::replay::ReplaySource;

/// The BLE inputs that run.
pub(super) struct BleInputs {
    #[cfg(feature = "ble")]
    replay: Option<ReplaySource>,
}

impl BleInputs {
    #[cfg(feature = "ble")]
    pub(super) fn start(
        config: &Config,
        replay: Option<PathBuf>,
        tx: &async_channel::Sender<Event>,
        stats: &Arc<Stats>,
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
        Ok(BleInputs { replay })
    }

    #[cfg(not(feature = "ble"))]
    pub(super) fn start(
        _config: &Config,
        replay: Option<PathBuf>,
        _tx: &async_channel::Sender<Event>,
        _stats: &Arc<Stats>,
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
    }

    pub(super) fn stop(self) {
        #[cfg(feature = "ble")]
        if let Some(replay) = self.replay {
            replay.stop();
        }
    }
}
