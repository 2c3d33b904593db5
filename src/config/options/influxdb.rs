//! `config influxdb 'influxdb'`: a second upstream that writes readings to InfluxDB as line
//! protocol over HTTP(S), with its own cursor in the store (docs/UPSTREAM.md, "InfluxDB").

use super::check::check_any;
use super::keys::{ChoiceSlot, Flag, Int, Text};
use super::spec::{ChoiceKey, Kind, OptionSpec, SectionSpec};

pub const INFLUXDB: SectionSpec = SectionSpec {
    name: "influxdb",
    doc: "Store-and-forward to InfluxDB over HTTP (build feature `influxdb`; docs/UPSTREAM.md).",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::InfluxdbEnabled),
            default: "0",
            reload: false,
            doc: "Write readings to InfluxDB.",
        },
        OptionSpec {
            name: "url",
            kind: Kind::Text {
                key: Text::InfluxdbUrl,
                check: check_any,
            },
            default: "http://127.0.0.1:8086",
            reload: false,
            doc: "http://host:port or https://host:port.",
        },
        OptionSpec {
            name: "api",
            kind: INFLUXDB_API.kind(),
            default: "v1",
            reload: false,
            doc: "v1 (/write, InfluxDB 1.x) or v2 (/api/v2/write).",
        },
        OptionSpec {
            name: "database",
            kind: Kind::Text {
                key: Text::InfluxdbDatabase,
                check: check_any,
            },
            default: "acs",
            reload: false,
            doc: "v1: database.",
        },
        OptionSpec {
            name: "retention_policy",
            kind: Kind::Text {
                key: Text::InfluxdbRetentionPolicy,
                check: check_any,
            },
            default: "",
            reload: false,
            doc: "v1: retention policy. '' = the default.",
        },
        OptionSpec {
            name: "org",
            kind: Kind::Text {
                key: Text::InfluxdbOrg,
                check: check_any,
            },
            default: "",
            reload: false,
            doc: "v2: organization.",
        },
        OptionSpec {
            name: "bucket",
            kind: Kind::Text {
                key: Text::InfluxdbBucket,
                check: check_any,
            },
            default: "",
            reload: false,
            doc: "v2: bucket.",
        },
        OptionSpec {
            name: "token",
            kind: Kind::Secret(Text::InfluxdbToken),
            default: "",
            reload: false,
            doc: "API token (v2; v1 from 1.8). '' = none.",
        },
        OptionSpec {
            name: "username",
            kind: Kind::Text {
                key: Text::InfluxdbUsername,
                check: check_any,
            },
            default: "",
            reload: false,
            doc: "v1: user name. '' = none.",
        },
        OptionSpec {
            name: "password",
            kind: Kind::Secret(Text::InfluxdbPassword),
            default: "",
            reload: false,
            doc: "v1: password.",
        },
        OptionSpec {
            name: "ca_file",
            kind: Kind::Text {
                key: Text::InfluxdbCaFile,
                check: check_any,
            },
            default: "",
            reload: false,
            doc: "PEM CA file for https://. '' = the system CA bundle.",
        },
        OptionSpec {
            name: "batch_size",
            kind: Kind::Int {
                key: Int::InfluxdbBatchSize,
                min: 1,
                max: 5000,
            },
            default: "500",
            reload: false,
            doc: "Most readings per request.",
        },
        OptionSpec {
            name: "reconnect_max_s",
            kind: Kind::Int {
                key: Int::InfluxdbReconnectMaxS,
                min: 1,
                max: 3600,
            },
            default: "60",
            reload: false,
            doc: "Longest wait between retries, in seconds.",
        },
    ],
};

/// The write API an InfluxDB server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfluxApi {
    /// InfluxDB 1.x: `/write?db=&rp=`.
    V1,
    /// InfluxDB 2.x and 3.x: `/api/v2/write?org=&bucket=`.
    V2,
}

pub const INFLUXDB_API: ChoiceKey<InfluxApi> = ChoiceKey {
    slot: ChoiceSlot::InfluxdbApi,
    words: &["v1", "v2"],
    values: &[InfluxApi::V1, InfluxApi::V2],
};
