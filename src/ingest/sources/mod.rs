//! Ingest sources for the MQTT shapes that home devices already publish (`config source`
//! sections): zigbee2mqtt, Tasmota, Shelly Gen2/Gen3 and ESPHome, one decoder per format. The
//! MQTT ingest connection subscribes to each enabled source's filters besides the `acs/`
//! topics, and a publish that no `acs/` filter takes goes to the first source (in file order)
//! with a filter that matches its topic.
//!
//! Invariants: a decoder never fails a message for a field it does not know: numbers, booleans
//! and ON/OFF-style words become readings, everything else is skipped. A payload that is not
//! the format's JSON (or status word) is refused whole and counted as malformed, like a bad
//! `acs/` message. Device ids and metric names are mapped onto the model's naming rule by
//! [`name_from`]: every character outside `[A-Za-z0-9_.:-]` becomes `_`, the result is cut to
//! 64 bytes, and only a name with no letter or digit left is refused.

mod esphome;
mod shelly;
mod tasmota;
mod zigbee2mqtt;

use super::stats::Malformed;
use crate::model::{validate_name, Reading, MAX_NAME_LEN};
use serde_json::Value;

/// The payload shapes a source can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zigbee2mqtt,
    Tasmota,
    Shelly,
    Esphome,
}

impl Format {
    /// The filters a source subscribes to when its section names none: each project's default
    /// topic layout.
    pub fn default_filters(self) -> &'static [&'static str] {
        match self {
            // `#`, not `+`: friendly names may contain `/` (`kitchen/floor_light`).
            Format::Zigbee2mqtt => &["zigbee2mqtt/#"],
            Format::Tasmota => &["tele/+/SENSOR", "tele/+/STATE", "tele/+/LWT"],
            Format::Shelly => &["+/events/rpc"],
            Format::Esphome => &["+/sensor/+/state", "+/binary_sensor/+/state", "+/status"],
        }
    }
}

/// One enabled `config source` section, as the MQTT source uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSettings {
    /// The section name, for messages.
    pub name: String,
    pub format: Format,
    /// MQTT filters, never empty (the format's defaults when the section names none).
    pub filters: Vec<String>,
    /// Put in front of every device id this source yields (`z2m.`); may be empty.
    pub device_prefix: String,
}

impl SourceSettings {
    pub fn filters(&self) -> &[String] {
        &self.filters
    }
}

/// What one message of a source yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Readings(Vec<Reading>),
    /// `(device, online)`.
    Status(String, bool),
    /// A topic or message of the format that carries no readings (a bridge topic, a button
    /// action, a Shelly event, an object with only text fields).
    Nothing,
}

/// The source and filter that take `topic`: the first match in file order.
pub fn route<'s>(
    sources: &'s [SourceSettings],
    topic: &str,
) -> Option<(&'s SourceSettings, &'s str)> {
    sources.iter().find_map(|source| {
        source
            .filters
            .iter()
            .find(|f| super::topic::matches(f, topic))
            .map(|f| (source, f.as_str()))
    })
}

/// Decodes one message that `filter` of `source` took.
pub fn decode(
    source: &SourceSettings,
    filter: &str,
    topic: &str,
    payload: &[u8],
    now_ms: i64,
) -> Result<Decoded, (Malformed, String)> {
    let message = Message {
        prefix: &source.device_prefix,
        levels: topic.split('/').collect(),
        first_wildcard: filter
            .split('/')
            .position(|f| f == "+" || f == "#")
            .unwrap_or(0),
        payload,
        now_ms,
    };
    match source.format {
        Format::Zigbee2mqtt => zigbee2mqtt::decode(&message),
        Format::Tasmota => tasmota::decode(&message),
        Format::Shelly => shelly::decode(&message),
        Format::Esphome => esphome::decode(&message),
    }
}

/// A received message with what every decoder needs from its topic.
struct Message<'a> {
    prefix: &'a str,
    levels: Vec<&'a str>,
    /// Index of the first topic level the source's filter matched with a wildcard: where the
    /// device's own part of the topic starts.
    first_wildcard: usize,
    payload: &'a [u8],
    now_ms: i64,
}

impl Message<'_> {
    /// The device id for the raw name a topic gives, with the source's prefix.
    fn device(&self, raw: &str) -> Result<String, (Malformed, String)> {
        name_from(&format!("{}{raw}", self.prefix))
            .ok_or_else(|| (Malformed::Topic, format!("no valid device id in {raw:?}")))
    }

    fn json(&self) -> Result<Value, (Malformed, String)> {
        serde_json::from_slice(self.payload).map_err(|e| (Malformed::Json, e.to_string()))
    }

    fn status(&self, device: &str) -> Result<Decoded, (Malformed, String)> {
        let online =
            super::topic::parse_status(self.payload).map_err(|e| (Malformed::Status, e))?;
        Ok(Decoded::Status(self.device(device)?, online))
    }
}

/// `raw` mapped onto the naming rule of device ids and metric names: characters outside
/// `[A-Za-z0-9_.:-]` become `_`, cut to 64 bytes; `None` when no letter or digit remains.
pub fn name_from(raw: &str) -> Option<String> {
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    name.truncate(MAX_NAME_LEN);
    validate_name(&name).is_ok().then_some(name)
}

/// A JSON value as a reading's value: numbers as they are, `true`/`false` and the words
/// `ON`/`OFF` (any case) as 1/0; `None` for anything else.
fn value_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) if s.eq_ignore_ascii_case("on") => Some(1.0),
        Value::String(s) if s.eq_ignore_ascii_case("off") => Some(0.0),
        _ => None,
    }
}

/// Adds a reading when `value` has a reading's value and `metric` maps onto a valid name.
fn push(out: &mut Vec<Reading>, device: &str, metric: &str, value: &Value, ts_ms: i64) {
    push_value(out, device, metric, value_of(value), ts_ms);
}

fn push_value(out: &mut Vec<Reading>, device: &str, metric: &str, value: Option<f64>, ts_ms: i64) {
    if let (Some(value), Some(metric)) = (value, name_from(metric)) {
        out.push(Reading {
            device: device.to_owned(),
            metric,
            ts_ms,
            value,
        });
    }
}

fn readings(out: Vec<Reading>) -> Decoded {
    if out.is_empty() {
        Decoded::Nothing
    } else {
        Decoded::Readings(out)
    }
}

#[cfg(test)]
mod tests;
