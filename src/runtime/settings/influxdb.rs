//! Settings of the InfluxDB upstream (`config influxdb`).

use crate::config::{Config, InfluxApi};
use crate::sync::influxdb::{InfluxSettings, WriteApi};

pub fn influx_settings(config: &Config) -> InfluxSettings {
    let db = &config.influxdb;
    let expose = |s: &Option<crate::config::Secret>| s.as_ref().map(|s| s.expose().to_owned());
    InfluxSettings {
        url: db.url.clone(),
        api: match db.api {
            InfluxApi::V1 => WriteApi::V1 {
                database: db.database.clone(),
                retention_policy: db.retention_policy.clone(),
            },
            InfluxApi::V2 => WriteApi::V2 {
                org: db.org.clone().unwrap_or_default(),
                bucket: db.bucket.clone().unwrap_or_default(),
            },
        },
        token: expose(&db.token),
        username: db.username.clone(),
        password: expose(&db.password),
        ca_file: db.ca_file.clone(),
        gateway_id: config.gateway_id(),
        batch_size: db.batch_size,
        reconnect_max: db.reconnect_max,
    }
}
