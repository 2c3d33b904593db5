//! The data model every part of the daemon shares: a sensor reading, a device status change,
//! the events sources hand to the store writer, and the rules for the names that identify
//! devices and metrics. Sources produce `Reading`s; nothing downstream knows which radio a
//! reading came from except through `Device::transport`. This module is the bottom layer: it
//! uses no other part of the crate, so ingest, store and bus meet here rather than in each
//! other.

use serde::Serialize;

/// Longest device id or metric name accepted from any source.
pub const MAX_NAME_LEN: usize = 64;

/// One measured value: `{"device": "dev1", "metric": "temperature", "ts": 1767225600123, "value": 21.5}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub device: String,
    pub metric: String,
    /// Epoch milliseconds, as measured by the device (or the receive time when it sent none).
    #[serde(rename = "ts")]
    pub ts_ms: i64,
    pub value: f64,
}

/// How a device reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Mqtt,
    Ble,
    Lora,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Mqtt => "mqtt",
            Transport::Ble => "ble",
            Transport::Lora => "lora",
        }
    }

    pub fn parse(s: &str) -> Option<Transport> {
        match s {
            "mqtt" => Some(Transport::Mqtt),
            "ble" => Some(Transport::Ble),
            "lora" => Some(Transport::Lora),
            _ => None,
        }
    }
}

/// A device came online or went offline (MQTT `status` topic, BLE connect/disconnect, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceStatus {
    pub device: String,
    pub transport: Transport,
    pub online: bool,
    pub ts_ms: i64,
}

/// The highest frame counter accepted from a device (replay protection of radio sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameCounter {
    /// The device id readings are stored under.
    pub device: String,
    pub counter: u32,
}

/// What a source hands to the writer. The readings of one message travel together, so the
/// writer commits a message whole or not at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Readings(Transport, Vec<Reading>),
    Status(DeviceStatus),
    /// Readings of a radio frame plus the frame counter that admitted it: committed in one
    /// transaction, so the persisted counter never runs ahead of the stored readings.
    Counted(Transport, Vec<Reading>, FrameCounter),
}

/// Why a device id or metric name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_NAME_LEN} bytes")]
    TooLong,
    #[error("contains {0:?}; allowed are letters, digits and _ - . :")]
    BadChar(char),
    #[error("has no letter or digit")]
    NoAlphanumeric,
}

/// Device ids and metric names: 1..=64 of `[A-Za-z0-9_.:-]`, at least one of them a letter or
/// a digit. The same rule holds for every transport so that ids are safe in MQTT topics, URLs
/// and file names alike: punctuation alone (`.`, `..`, `-`) would be a path segment that
/// clients rewrite or a file name with a meaning of its own.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
    {
        Some(c) => Err(NameError::BadChar(c)),
        None if !name.bytes().any(|b| b.is_ascii_alphanumeric()) => Err(NameError::NoAlphanumeric),
        None => Ok(()),
    }
}

/// The first character that must not appear in text people read (device names, tags, rule
/// names): control characters, line and paragraph separators, and the invisible
/// bidirectional-text controls, which make a name display as something else (U+202E shows
/// "cod.exe" for "\u{202E}exe.doc").
pub fn unsafe_text_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        c.is_control()
            || matches!(
                c,
                '\u{061C}'
                    | '\u{200E}'
                    | '\u{200F}'
                    | '\u{2028}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}'
            )
    })
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_documented_alphabet() {
        assert_eq!(validate_name("dev-1_a.b:c"), Ok(()));
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(validate_name("a/b"), Err(NameError::BadChar('/')));
        assert_eq!(validate_name(&"x".repeat(65)), Err(NameError::TooLong));
        for punctuation_only in [".", "..", "-", "_", ":", "-.-", "___"] {
            assert_eq!(
                validate_name(punctuation_only),
                Err(NameError::NoAlphanumeric),
                "{punctuation_only}"
            );
        }
        assert_eq!(validate_name("_1"), Ok(()));
        assert_eq!(validate_name(".a"), Ok(()));
    }

    #[test]
    fn text_with_controls_or_bidi_overrides_is_found_unsafe() {
        for bad in [
            "a\u{7}b",
            "tab\tin",
            "\u{202E}exe.doc",
            "x\u{2066}y",
            "x\u{2069}",
            "\u{200E}",
            "\u{200F}x",
            "a\u{061C}",
            "line\u{2028}break",
            "\u{85}",
        ] {
            assert!(unsafe_text_char(bad).is_some(), "{bad:?}");
        }
        for good in ["Kitchen", "Küche 2", "é", "שלום", "温度", "a-b (c)"] {
            assert_eq!(unsafe_text_char(good), None, "{good:?}");
        }
    }
}
