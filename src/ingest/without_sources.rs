//! The interface of [`sources`](super::sources) in a build without the `sources` feature: no
//! source can be configured (a `config source` section is a warning when the config is
//! loaded), so [`SourceSettings`] has no values and MQTT ingest routes nothing to a decoder.

use super::stats::Malformed;
use crate::model::Reading;

/// Uninhabited: a build without the feature runs no source.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSettings {}

impl SourceSettings {
    pub fn filters(&self) -> &[String] {
        match *self {}
    }
}

/// What one message of a source yields (never built here).
pub enum Decoded {
    Readings(Vec<Reading>),
    Status(String, bool),
    Nothing,
}

pub fn route<'s>(
    _sources: &'s [SourceSettings],
    _topic: &str,
) -> Option<(&'s SourceSettings, &'s str)> {
    None
}

pub fn decode(
    source: &SourceSettings,
    _filter: &str,
    _topic: &str,
    _payload: &[u8],
    _now_ms: i64,
) -> Result<Decoded, (Malformed, String)> {
    match *source {}
}
