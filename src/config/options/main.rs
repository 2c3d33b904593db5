//! `config main 'main'`: the gateway's identity, logging and device liveness.

use super::check::check_name_or_empty;
use super::keys::{ChoiceSlot, Flag, Int, Text};
use super::spec::{ChoiceKey, Kind, OptionSpec, SectionSpec};

pub const MAIN: SectionSpec = SectionSpec {
    name: "main",
    doc: "General settings.",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::MainEnabled),
            default: "1",
            reload: false,
            doc: "Run the daemon. The init script does not start it when this is 0.",
        },
        OptionSpec {
            name: "gateway_id",
            kind: Kind::Text { key: Text::MainGatewayId, check: check_name_or_empty },
            default: "",
            reload: false,
            doc: "Name of this gateway in upstream topics and client ids: 1-64 letters, digits, _ - . :\n\
                  '' = the hostname.",
        },
        OptionSpec {
            name: "log_level",
            kind: LOG_LEVEL.kind(),
            default: "info",
            reload: true,
            doc: "Log verbosity.",
        },
        OptionSpec {
            name: "offline_after_s",
            kind: Kind::Int { key: Int::MainOfflineAfterS, min: 0, max: 604_800 },
            default: "0",
            reload: false,
            doc: "Report a device offline (device.status, offline rules) after this many seconds\n\
                  without a reading or status message. 0 = only when its MQTT status topic says so.",
        },
    ],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

pub const LOG_LEVEL: ChoiceKey<LogLevel> = ChoiceKey {
    slot: ChoiceSlot::MainLogLevel,
    words: &["error", "warn", "info", "debug", "trace"],
    values: &[
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ],
};

impl LogLevel {
    pub fn to_filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}
