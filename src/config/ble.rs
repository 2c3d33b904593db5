//! The Bluetooth LE part of the configuration: the single section `config ble 'ble'` (scanner,
//! bus, allow/deny lists, acs-proto company id) and the named `config ble_device 'NAME'`
//! sections (address, bindkey, device id).
//!
//! Invariants: every address is checked here (a bad one is an error naming the line, section
//! and option); two `ble_device` sections never share an address; a bindkey is 16 bytes and
//! is kept in a [`Secret`]-like wrapper whose Debug output hides it, and no error message
//! quotes it.

use super::instances::Instance;
use super::{ConfigError, Values};
use crate::model::validate_name;
use std::fmt;

/// `config ble 'ble'` and the `config ble_device` sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ble {
    pub enabled: bool,
    /// Adapter name (`hci0`); `None`: the first adapter BlueZ lists.
    pub adapter: Option<String>,
    /// D-Bus address of the system bus; `None`: libdbus' default (`DBUS_SYSTEM_BUS_ADDRESS`
    /// or `/var/run/dbus/system_bus_socket`).
    pub dbus_address: Option<String>,
    /// Company id whose manufacturer data carries acs-proto frames; `None`: not read.
    pub frame_company_id: Option<u16>,
    /// Only these addresses (and those of `ble_device` sections) are accepted, when not empty.
    pub allow: Vec<[u8; 6]>,
    /// Addresses always ignored.
    pub deny: Vec<[u8; 6]>,
    /// Longest wait between attempts to (re)start the scanner.
    pub restart_max: std::time::Duration,
    pub devices: Vec<BleDevice>,
}

/// `config ble_device '<name>'`.
#[derive(Clone, PartialEq, Eq)]
pub struct BleDevice {
    pub name: String,
    pub mac: [u8; 6],
    /// BTHome v2 bindkey (AES-128).
    pub bindkey: Option<[u8; 16]>,
    /// Device id instead of `ble-<mac>`.
    pub id: Option<String>,
    /// Line of the section, for messages.
    pub line: usize,
}

/// Keeps the bindkey out of logs and debug output.
impl fmt::Debug for BleDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BleDevice")
            .field("name", &self.name)
            .field("mac", &format_mac(&self.mac))
            .field("bindkey", &self.bindkey.map(|_| "***"))
            .field("id", &self.id)
            .field("line", &self.line)
            .finish()
    }
}

/// `A4:C1:38:8D:18:B2`
pub fn format_mac(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Accepts `A4:C1:38:8D:18:B2`, `a4-c1-38-8d-18-b2` and `a4c1388d18b2`.
pub fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | '-')).collect();
    let bad = || format!("expected a Bluetooth address such as A4:C1:38:8D:18:B2, got '{text}'");
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let bytes = crate::hex::decode(&digits).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

pub(super) fn check_mac(text: &str) -> Result<(), String> {
    parse_mac(text).map(|_| ())
}

/// An address, or '' (the table's default of a required option).
pub(super) fn check_mac_or_empty(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    check_mac(text)
}

/// `hci0`: the adapter's name in BlueZ ('' = the first adapter).
pub(super) fn check_adapter(text: &str) -> Result<(), String> {
    if text.len() <= 16 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(format!(
            "expected an adapter name such as hci0 (or '' for the first), got '{text}'"
        ))
    }
}

/// A D-Bus server address: `unix:path=/var/run/dbus/system_bus_socket` ('' = the default).
pub(super) fn check_dbus_address(text: &str) -> Result<(), String> {
    let well_formed = text.split(';').all(|address| {
        address
            .split_once(':')
            .is_some_and(|(transport, keys)| !transport.is_empty() && keys.contains('='))
    });
    if text.is_empty() || (well_formed && !text.chars().any(char::is_whitespace)) {
        Ok(())
    } else {
        Err(format!(
            "expected a D-Bus address such as unix:path=/var/run/dbus/system_bus_socket, got '{text}'"
        ))
    }
}

/// A 16-bit company id in hex (`0xffff`, `ffff`), or '' for none.
pub(super) fn check_company_id(text: &str) -> Result<(), String> {
    parse_company_id(text).map(|_| ())
}

fn parse_company_id(text: &str) -> Result<Option<u16>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let bad = || format!("expected a 16-bit hex company id such as 0xffff, got '{text}'");
    if digits.is_empty() || digits.len() > 4 {
        return Err(bad());
    }
    u16::from_str_radix(digits, 16).map(Some).map_err(|_| bad())
}

/// '' or a device id (letters, digits, _ - . :).
pub(super) fn check_device_id(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    validate_name(text).map_err(|e| format!("device id '{text}' {e}"))
}

/// The typed BLE configuration; `ble_device` sections are checked here (bindkeys, repeated
/// addresses), since the option table only knows single values.
pub(super) fn ble_from(v: &Values, instances: &[Instance]) -> Result<Ble, ConfigError> {
    let macs = |name| -> Vec<[u8; 6]> {
        v.list("ble", name)
            .iter()
            .filter_map(|m| parse_mac(m).ok())
            .collect()
    };
    let mut devices: Vec<BleDevice> = Vec::new();
    for i in instances.iter().filter(|i| i.kind == "ble_device") {
        let fail = |message: String| ConfigError::Instance {
            line: i.line,
            kind: "ble_device",
            name: i.name.clone(),
            message,
        };
        let mac = parse_mac(i.values.text("ble_device", "mac")).map_err(&fail)?;
        if let Some(other) = devices.iter().find(|d| d.mac == mac) {
            return Err(fail(format!(
                "address {} is already used by ble_device '{}' (line {})",
                format_mac(&mac),
                other.name,
                other.line
            )));
        }
        let bindkey = match i.values.text("ble_device", "bindkey") {
            "" => None,
            key => Some(parse_bindkey(key).map_err(|e| fail(format!("option 'bindkey': {e}")))?),
        };
        devices.push(BleDevice {
            name: i.name.clone(),
            mac,
            bindkey,
            id: i.values.opt_text("ble_device", "id"),
            line: i.line,
        });
    }
    Ok(Ble {
        enabled: v.flag("ble", "enabled"),
        adapter: v.opt_text("ble", "adapter"),
        dbus_address: v.opt_text("ble", "dbus_address"),
        frame_company_id: parse_company_id(v.text("ble", "frame_company_id")).unwrap_or(None),
        allow: macs("allow"),
        deny: macs("deny"),
        restart_max: std::time::Duration::from_secs(v.int("ble", "restart_max_s")),
        devices,
    })
}

/// 32 hex digits; the message never repeats the key.
fn parse_bindkey(text: &str) -> Result<[u8; 16], String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() != 32 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(format!(
            "expected 32 hex digits (16 bytes); the value has {} characters or a non-hex one",
            digits.len()
        ));
    }
    let bytes = crate::hex::decode(std::str::from_utf8(&digits).unwrap_or_default())
        .map_err(|_| "expected 32 hex digits (16 bytes)".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "expected 32 hex digits (16 bytes)".to_string())
}

#[cfg(test)]
mod tests;
