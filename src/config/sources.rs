//! `config source '<name>'` sections: home-automation formats read by MQTT ingest. Each names
//! its format, its topic filters (none: the format's defaults, which the ingest layer knows)
//! and a device-id prefix; the values are checked by the option table.

use super::instances::Instance;
use super::options::keys::{Flag, List, Text};
use super::options::source::{SourceFormat, SOURCE, SOURCE_FORMAT};

/// `config source '<name>'`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub name: String,
    pub enabled: bool,
    pub format: SourceFormat,
    /// MQTT filters; empty means the format's defaults.
    pub topics: Vec<String>,
    pub device_prefix: String,
    pub line: usize,
}

/// The typed source sections, in file order (the order a topic is routed in).
pub fn sources_from(named: &[Instance]) -> Vec<SourceSpec> {
    named
        .iter()
        .filter(|i| i.kind == SOURCE.name)
        .map(|i| SourceSpec {
            name: i.name.clone(),
            enabled: i.values.flag(Flag::SourceEnabled),
            format: i.values.choice(&SOURCE_FORMAT),
            topics: i.values.list(List::SourceTopic).to_vec(),
            device_prefix: i.values.text(Text::SourceDevicePrefix).to_owned(),
            line: i.line,
        })
        .collect()
}
