//! The data model every part of the daemon shares: a sensor reading, a device, and the rules
//! for the names that identify them. Sources produce `Reading`s; nothing downstream knows which
//! radio a reading came from except through `Device::transport`.

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

/// Why a device id or metric name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_NAME_LEN} bytes")]
    TooLong,
    #[error("contains {0:?}; allowed are letters, digits and _ - . :")]
    BadChar(char),
}

/// Device ids and metric names: 1..=64 of `[A-Za-z0-9_.:-]`. The same rule holds for every
/// transport so that ids are safe in MQTT topics, URLs and file names alike.
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
        None => Ok(()),
    }
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
    }
}
