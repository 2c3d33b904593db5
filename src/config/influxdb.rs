//! `config influxdb 'influxdb'` typed. With the `influxdb` feature: '' turned into `None`, the
//! URL's scheme and what the chosen API requires checked while the section is enabled. Without
//! it only `enabled` is kept, for the warning that the build does not run the section: the
//! rest would be code in the default build (inside its size budget) for a part it lacks.

use super::error::ConfigError;
use super::options::keys::Flag;
use super::values::Values;

#[cfg(not(feature = "influxdb"))]
#[derive(Debug, Clone, PartialEq)]
pub struct Influxdb {
    pub enabled: bool,
}

#[cfg(not(feature = "influxdb"))]
pub fn influxdb_from(v: &Values, _errors: &mut [ConfigError]) -> Influxdb {
    Influxdb {
        enabled: v.flag(Flag::InfluxdbEnabled),
    }
}

#[cfg(feature = "influxdb")]
pub use with_influxdb::*;

#[cfg(feature = "influxdb")]
mod with_influxdb {
    use super::*;
    use crate::config::options::influxdb::{InfluxApi, INFLUXDB_API};
    use crate::config::options::keys::{Int, Text};
    use crate::config::secret::Secret;
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
        let mut invalid = |option: &'static str, key: Text, message: String| {
            errors.push(ConfigError::Invalid {
                line: v.line(key).or(v.line(Flag::InfluxdbEnabled)),
                section: "influxdb",
                option,
                message,
            });
        };
        let host = db
            .url
            .strip_prefix("http://")
            .or_else(|| db.url.strip_prefix("https://"));
        if !host.is_some_and(|h| !h.is_empty() && !h.starts_with([':', '/'])) {
            let message = format!(
                "expected http://host:port or https://host:port, got '{}'",
                db.url
            );
            invalid("url", Text::InfluxdbUrl, message);
        }
        let required = |api: &str| format!("is required with api '{api}'");
        match db.api {
            InfluxApi::V1 if db.database.is_empty() => {
                invalid("database", Text::InfluxdbDatabase, required("v1"))
            }
            InfluxApi::V1 => {}
            InfluxApi::V2 => {
                if db.org.is_none() {
                    invalid("org", Text::InfluxdbOrg, required("v2"));
                }
                if db.bucket.is_none() {
                    invalid("bucket", Text::InfluxdbBucket, required("v2"));
                }
            }
        }
        db
    }
}
