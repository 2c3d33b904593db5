//! `config influxdb 'influxdb'` typed: '' turned into `None`, and the checks that involve more
//! than one option (what the chosen API requires), made only while the section is enabled.

use super::error::ConfigError;
use super::options::influxdb::{InfluxApi, INFLUXDB_API};
use super::options::keys::{Flag, Int, Text};
use super::secret::Secret;
use super::values::Values;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Influxdb {
    pub enabled: bool,
    pub url: String,
    pub api: InfluxApi,
    pub database: String,
    pub retention_policy: Option<String>,
    pub org: Option<String>,
    pub bucket: Option<String>,
    pub token: Option<Secret>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    pub batch_size: usize,
    pub reconnect_max: Duration,
}

pub fn influxdb_from(v: &Values, errors: &mut Vec<ConfigError>) -> Influxdb {
    let db = Influxdb {
        enabled: v.flag(Flag::InfluxdbEnabled),
        url: v.text(Text::InfluxdbUrl).to_owned(),
        api: v.choice(&INFLUXDB_API),
        database: v.text(Text::InfluxdbDatabase).to_owned(),
        retention_policy: v.opt_text(Text::InfluxdbRetentionPolicy),
        org: v.opt_text(Text::InfluxdbOrg),
        bucket: v.opt_text(Text::InfluxdbBucket),
        token: v.opt_text(Text::InfluxdbToken).map(Secret::new),
        username: v.opt_text(Text::InfluxdbUsername),
        password: v.opt_text(Text::InfluxdbPassword).map(Secret::new),
        ca_file: v.opt_text(Text::InfluxdbCaFile).map(PathBuf::from),
        batch_size: v.int(Int::InfluxdbBatchSize) as usize,
        reconnect_max: Duration::from_secs(v.int(Int::InfluxdbReconnectMaxS)),
    };
    if !db.enabled {
        return db;
    }
    let mut require = |option: &'static str, key: Text, missing: bool, api: &str| {
        if missing {
            errors.push(ConfigError::Invalid {
                line: v.line(key).or(v.line(Flag::InfluxdbEnabled)),
                section: "influxdb",
                option,
                message: format!("is required with api '{api}'"),
            });
        }
    };
    match db.api {
        InfluxApi::V1 => require(
            "database",
            Text::InfluxdbDatabase,
            db.database.is_empty(),
            "v1",
        ),
        InfluxApi::V2 => {
            require("org", Text::InfluxdbOrg, db.org.is_none(), "v2");
            require("bucket", Text::InfluxdbBucket, db.bucket.is_none(), "v2");
        }
    }
    db
}
