//! Metric identifiers: a compact numeric [`MetricCode`] from a fixed table of well-known
//! metrics, or a free-form [`Metric::Name`].
//!
//! Invariants:
//! - The table below is the single source of truth for code <-> name <-> unit. Codes are
//!   never reused or renumbered; new metrics are only appended.
//! - Unknown codes stay representable (`MetricCode(n)` with `name() == None`), so a gateway
//!   accepts frames from newer firmware; it renders such a metric as `metric_<n>`.
//! - A `Metric::Name` that came out of a parsed frame satisfies [`validate_metric_name`]:
//!   1..=64 bytes of `[A-Za-z0-9_.:-]` (safe in MQTT topics, URLs and file names).

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{BadName, Error};

/// Longest metric name a frame may carry, in bytes.
pub const MAX_METRIC_NAME_LEN: usize = 64;

/// A numeric metric code. On the wire: a postcard varint `u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MetricCode(pub u16);

/// `(code, name, unit)` of every well-known metric, in code order.
const TABLE: &[(u16, &str, Option<&str>)] = &[
    (1, "temperature", Some("°C")),
    (2, "humidity", Some("%")),
    (3, "pressure", Some("hPa")),
    (4, "battery", Some("%")),
    (5, "battery_mv", Some("mV")),
    (6, "voltage", Some("V")),
    (7, "current", Some("A")),
    (8, "power", Some("W")),
    (9, "energy", Some("Wh")),
    (10, "illuminance", Some("lx")),
    (11, "co2", Some("ppm")),
    (12, "pm25", Some("µg/m³")),
    (13, "pm10", Some("µg/m³")),
    (14, "tvoc", Some("ppb")),
    (15, "moisture", Some("%")),
    (16, "rssi", Some("dBm")),
    (17, "snr", Some("dB")),
    (18, "count", None),
    (19, "distance", Some("mm")),
    (20, "motion", None),
    (21, "contact", None),
    (22, "water_leak", None),
    (23, "rain", Some("mm")),
    (24, "wind_speed", Some("m/s")),
    (25, "wind_direction", Some("deg")),
    (26, "uv_index", None),
    (27, "sound_level", Some("dB")),
    (28, "weight", Some("kg")),
];

#[allow(missing_docs)]
impl MetricCode {
    pub const TEMPERATURE: Self = Self(1);
    pub const HUMIDITY: Self = Self(2);
    pub const PRESSURE: Self = Self(3);
    pub const BATTERY: Self = Self(4);
    pub const BATTERY_MV: Self = Self(5);
    pub const VOLTAGE: Self = Self(6);
    pub const CURRENT: Self = Self(7);
    pub const POWER: Self = Self(8);
    pub const ENERGY: Self = Self(9);
    pub const ILLUMINANCE: Self = Self(10);
    pub const CO2: Self = Self(11);
    pub const PM25: Self = Self(12);
    pub const PM10: Self = Self(13);
    pub const TVOC: Self = Self(14);
    pub const MOISTURE: Self = Self(15);
    pub const RSSI: Self = Self(16);
    pub const SNR: Self = Self(17);
    pub const COUNT: Self = Self(18);
    pub const DISTANCE: Self = Self(19);
    pub const MOTION: Self = Self(20);
    pub const CONTACT: Self = Self(21);
    pub const WATER_LEAK: Self = Self(22);
    pub const RAIN: Self = Self(23);
    pub const WIND_SPEED: Self = Self(24);
    pub const WIND_DIRECTION: Self = Self(25);
    pub const UV_INDEX: Self = Self(26);
    pub const SOUND_LEVEL: Self = Self(27);
    pub const WEIGHT: Self = Self(28);
}

impl MetricCode {
    fn entry(self) -> Option<&'static (u16, &'static str, Option<&'static str>)> {
        TABLE.iter().find(|(code, _, _)| *code == self.0)
    }

    /// The well-known name (`"temperature"`), or `None` for a code this version does not know.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|(_, name, _)| *name)
    }

    /// The unit of a well-known metric (`"°C"`); `None` for unknown codes and for
    /// dimensionless metrics such as `count` or `motion`.
    pub fn unit(self) -> Option<&'static str> {
        self.entry().and_then(|(_, _, unit)| *unit)
    }

    /// The code of a well-known name; `None` if the name is not in the table.
    pub fn from_name(name: &str) -> Option<MetricCode> {
        TABLE
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(code, _, _)| MetricCode(*code))
    }

    /// Every well-known code, in code order.
    pub fn known() -> impl Iterator<Item = MetricCode> {
        TABLE.iter().map(|(code, _, _)| MetricCode(*code))
    }
}

/// Renders the well-known name, or `metric_<n>` for an unknown code.
impl fmt::Display for MetricCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "metric_{}", self.0),
        }
    }
}

/// What a reading measures. On the wire: a postcard enum, varint tag `0` followed by a
/// [`MetricCode`], or tag `1` followed by a varint length and that many UTF-8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Metric<'a> {
    /// A compact code, well-known or not.
    Code(MetricCode),
    /// A free-form name, validated by [`validate_metric_name`].
    Name(&'a str),
}

impl Metric<'_> {
    /// Checks the invariant of `Name`; codes are always valid.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Metric::Code(_) => Ok(()),
            Metric::Name(name) => validate_metric_name(name),
        }
    }
}

/// Renders the name the gateway stores: the free-form name, the well-known name of a code,
/// or `metric_<n>` for an unknown code.
impl fmt::Display for Metric<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Code(code) => fmt::Display::fmt(code, f),
            Metric::Name(name) => f.write_str(name),
        }
    }
}

/// Metric names are 1..=64 bytes of `[A-Za-z0-9_.:-]`.
pub fn validate_metric_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::BadMetricName(BadName::Empty));
    }
    if name.len() > MAX_METRIC_NAME_LEN {
        return Err(Error::BadMetricName(BadName::TooLong(name.len())));
    }
    match name
        .bytes()
        .find(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')))
    {
        Some(b) => Err(Error::BadMetricName(BadName::BadByte(b))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_contiguous_unique_and_valid() {
        for (i, (code, name, _)) in TABLE.iter().enumerate() {
            assert_eq!(usize::from(*code), i + 1, "codes are 1.. in order");
            assert_eq!(validate_metric_name(name), Ok(()), "{name}");
            assert_eq!(MetricCode::from_name(name), Some(MetricCode(*code)));
        }
        assert_eq!(MetricCode::known().count(), 28);
    }

    #[test]
    fn well_known_codes_are_pinned() {
        // These numbers are on the wire in deployed firmware: they must never change.
        assert_eq!(MetricCode(1).name(), Some("temperature"));
        assert_eq!(MetricCode(1).unit(), Some("°C"));
        assert_eq!(MetricCode(5).name(), Some("battery_mv"));
        assert_eq!(MetricCode(21).name(), Some("contact"));
        assert_eq!(MetricCode(28).name(), Some("weight"));
        assert_eq!(MetricCode::from_name("co2"), Some(MetricCode::CO2));
        assert_eq!(MetricCode::CO2, MetricCode(11));
        assert_eq!(MetricCode::COUNT.unit(), None);
    }

    #[test]
    fn unknown_codes_stay_representable() {
        assert_eq!(MetricCode(0).name(), None);
        assert_eq!(MetricCode(999).name(), None);
        assert_eq!(MetricCode::from_name("metric_999"), None);
        assert_eq!(MetricCode(999).to_string(), "metric_999");
        assert_eq!(Metric::Code(MetricCode(2)).to_string(), "humidity");
        assert_eq!(Metric::Name("soil.ph").to_string(), "soil.ph");
    }

    #[test]
    fn name_rules() {
        assert_eq!(validate_metric_name("a"), Ok(()));
        assert_eq!(validate_metric_name("Soil_moisture-2.raw:x"), Ok(()));
        assert_eq!(validate_metric_name(&"x".repeat(64)), Ok(()));
        assert_eq!(
            validate_metric_name(""),
            Err(Error::BadMetricName(BadName::Empty))
        );
        assert_eq!(
            validate_metric_name(&"x".repeat(65)),
            Err(Error::BadMetricName(BadName::TooLong(65)))
        );
        assert_eq!(
            validate_metric_name("a b"),
            Err(Error::BadMetricName(BadName::BadByte(b' ')))
        );
        assert_eq!(
            validate_metric_name("a/b"),
            Err(Error::BadMetricName(BadName::BadByte(b'/')))
        );
        // Multi-byte UTF-8 is refused at its first byte.
        assert_eq!(
            validate_metric_name("é"),
            Err(Error::BadMetricName(BadName::BadByte(0xc3)))
        );
    }
}
