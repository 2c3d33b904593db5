//! Start and stop of the InfluxDB upstream (Cargo feature `influxdb`, compiled only with it).
//! Its section is read at start only; a reload reports a change and keeps the running one.

use super::settings::influxdb::influx_settings;
use super::StartError;
use crate::bus::Bus;
use crate::config::Config;
use crate::store::SharedStore;
use crate::sync::influxdb::{InfluxStatus, InfluxUpstream};
use std::sync::Arc;
use std::time::Duration;

/// The running upstream (none while `influxdb.enabled` is off) and its status for health.
pub struct InfluxPart {
    upstream: Option<InfluxUpstream>,
    pub status: Arc<InfluxStatus>,
}

impl InfluxPart {
    pub fn start(
        config: &Config,
        store: &SharedStore,
        bus: &Arc<Bus>,
    ) -> Result<InfluxPart, StartError> {
        let enabled = config.influxdb.enabled;
        let status = Arc::new(InfluxStatus::new(enabled));
        let upstream = if enabled {
            Some(InfluxUpstream::start(
                influx_settings(config),
                store.clone(),
                status.clone(),
                bus.clone(),
            )?)
        } else {
            None
        };
        Ok(InfluxPart { upstream, status })
    }

    /// Stops the thread within `grace`; an unanswered batch is sent again after a restart.
    pub fn stop(self, grace: Duration) {
        if let Some(upstream) = self.upstream {
            upstream.stop(grace);
        }
    }
}
