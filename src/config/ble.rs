//! The Bluetooth LE part of the configuration: the single section `config ble 'ble'` (scanner,
//! bus, allow/deny lists, acs-proto company id) and the named `config ble_device 'NAME'`
//! sections (address, bindkey, device id).
//!
//! Invariants: every address is checked by the option table (`options/ble.rs`: a bad one is an
//! error naming the line, section and option); two `ble_device` sections never share an address; a bindkey is 16 bytes and
//! is kept in a [`Secret`]-like wrapper whose Debug output hides it, and no error message
//! quotes it.

use super::error::ConfigError;
use super::instances::Instance;
use super::options::ble::{parse_company_id, parse_mac, BLE_DEVICE};
use super::options::keys::{Flag, Int, List, Text};
use super::values::Values;
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

/// The typed BLE configuration; `ble_device` sections are checked here (bindkeys, repeated
/// addresses), since the option table only knows single values; a refused one goes to `errors`
/// and is left out.
pub fn ble_from(v: &Values, instances: &[Instance], errors: &mut Vec<ConfigError>) -> Ble {
    let macs = |key| -> Vec<[u8; 6]> {
        v.list(key)
            .iter()
            .filter_map(|m| parse_mac(m).ok())
            .collect()
    };
    let mut devices: Vec<BleDevice> = Vec::new();
    for i in instances.iter().filter(|i| i.kind == BLE_DEVICE.name) {
        let fail = |message: String| ConfigError::Instance {
            line: i.line,
            kind: BLE_DEVICE.name,
            name: i.name.clone(),
            message,
        };
        let checked = (|| {
            let mac = parse_mac(i.values.text(Text::BleDeviceMac)).map_err(&fail)?;
            if let Some(other) = devices.iter().find(|d| d.mac == mac) {
                return Err(fail(format!(
                    "address {} is already used by ble_device '{}' (line {})",
                    format_mac(&mac),
                    other.name,
                    other.line
                )));
            }
            let bindkey = match i.values.text(Text::BleDeviceBindkey) {
                "" => None,
                key => {
                    Some(parse_bindkey(key).map_err(|e| fail(format!("option 'bindkey': {e}")))?)
                }
            };
            Ok((mac, bindkey))
        })();
        let (mac, bindkey) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        devices.push(BleDevice {
            name: i.name.clone(),
            mac,
            bindkey,
            id: i.values.opt_text(Text::BleDeviceId),
            line: i.line,
        });
    }
    Ble {
        enabled: v.flag(Flag::BleEnabled),
        adapter: v.opt_text(Text::BleAdapter),
        dbus_address: v.opt_text(Text::BleDbusAddress),
        frame_company_id: parse_company_id(v.text(Text::BleFrameCompanyId)).unwrap_or(None),
        allow: macs(List::BleAllow),
        deny: macs(List::BleDeny),
        restart_max: std::time::Duration::from_secs(v.int(Int::BleRestartMaxS)),
        devices,
    }
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
