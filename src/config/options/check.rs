//! Checking a raw value against its kind, and the text validators several sections share
//! (a section's own validators live beside its table entries).
//!
//! A refusal completes "option 'x' in section 'y': ..." and names the value, except for keys.

use crate::model::validate_name;

const BOOL_HELP: &str = "1/0, true/false, yes/no, on/off, enabled/disabled";

/// 1/0, true/false, yes/no, on/off, enabled/disabled.
pub fn check_bool(raw: &str) -> Result<bool, String> {
    match raw {
        "1" | "true" | "yes" | "on" | "enabled" => Ok(true),
        "0" | "false" | "no" | "off" | "disabled" => Ok(false),
        _ => Err(format!("expected a boolean ({BOOL_HELP}), got '{raw}'")),
    }
}

/// Decimal digits only (no sign, no spaces) within `min..=max`.
pub fn check_int(raw: &str, min: u64, max: u64) -> Result<u64, String> {
    raw.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| raw.parse::<u64>().ok())
        .flatten()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("expected an integer {min}..={max}, got '{raw}'"))
}

/// The index of `raw` among `words`.
pub fn check_choice(raw: &str, words: &[&str]) -> Result<u8, String> {
    words
        .iter()
        .position(|w| *w == raw)
        .map(|i| i as u8)
        .ok_or_else(|| format!("expected one of {}, got '{raw}'", words.join(", ")))
}

pub fn check_any(_: &str) -> Result<(), String> {
    Ok(())
}

pub fn check_not_empty(v: &str) -> Result<(), String> {
    if v.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

/// '' or a name (gateway id, device id) by [`validate_name`]'s rule.
pub fn check_name_or_empty(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    validate_name(v).map_err(|e| format!("'{v}' {e}"))
}

/// '' or a device id, named as one in the refusal.
pub fn check_device_ref(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    validate_name(text).map_err(|e| format!("device id '{text}' {e}"))
}

/// An MQTT client id ('' = derived from the gateway id).
pub fn check_client_id(v: &str) -> Result<(), String> {
    if v.len() > 128 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        Err(format!(
            "expected '' or up to 128 printable ASCII characters without spaces, got '{v}'"
        ))
    } else {
        Ok(())
    }
}

pub fn check_socket_addr(v: &str) -> Result<(), String> {
    v.parse::<std::net::SocketAddr>().map(|_| ()).map_err(|_| {
        format!("expected an address and port such as 127.0.0.1:8080 or [::]:8080, got '{v}'")
    })
}
