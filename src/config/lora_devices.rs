//! LoRa device sections (`config lorawan_device 'NAME'`, `config lora_frame_device 'NAME'`):
//! the typed keys of every LoRa device, built from their checked instances.
//!
//! Invariants: keys never appear in `Debug` output (they are [`Key128`]); device ids are unique
//! across both section types, because the LoRa decoder keeps one frame counter per device id;
//! two frame devices never share an EUI, which is how a frame finds its key. The sections are
//! part of every build's schema (the config file is the same for every build); only a build
//! with the `lora` feature uses them.

use super::error::ConfigError;
use super::instances::Instance;
use super::options::keys::{Flag, Text};
use super::options::lora_devices::{
    LorawanPayload, LORAWAN_DEVICE, LORAWAN_PAYLOAD, LORA_FRAME_DEVICE,
};
use std::fmt;

/// A 128-bit AES key from the config file. Its `Debug` output is `***`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key128(pub [u8; 16]);

impl fmt::Debug for Key128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Every LoRa device section, enabled or not, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoraDevices {
    pub lorawan: Vec<LorawanDevice>,
    pub frames: Vec<LoraFrameDevice>,
}

/// `config lorawan_device '<name>'`: a LoRaWAN 1.0.x ABP device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LorawanDevice {
    /// The section name.
    pub name: String,
    /// `device_id`, or the section name.
    pub device_id: String,
    pub dev_addr: u32,
    pub nwkskey: Key128,
    pub appskey: Key128,
    pub payload: LorawanPayload,
    pub enabled: bool,
    /// Line of the section, for messages.
    pub line: usize,
}

/// `config lora_frame_device '<name>'`: a node sending AUTHENTICATED acs-proto frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoraFrameDevice {
    pub name: String,
    /// `device_id`, or the EUI as 16 lowercase hex digits.
    pub device_id: String,
    pub eui: u64,
    pub key: Key128,
    pub enabled: bool,
    pub line: usize,
}

/// The typed LoRa devices of the `lorawan_device` and `lora_frame_device` instances; a device
/// whose EUI or id repeats another's is refused into `errors` and left out.
pub fn lora_devices_from(instances: &[Instance], errors: &mut Vec<ConfigError>) -> LoraDevices {
    let mut devices = LoraDevices::default();
    // (device id, kind, section name, line of the section or of its device_id option)
    let mut ids: Vec<(String, &'static str, &str, usize)> = Vec::new();
    let lora = instances
        .iter()
        .filter(|i| i.kind == LORAWAN_DEVICE.name || i.kind == LORA_FRAME_DEVICE.name);
    for i in lora {
        let kind = i.kind;
        let v = &i.values;
        let is_frame = kind == LORA_FRAME_DEVICE.name;
        let frame_eui = is_frame.then(|| hex_u64(v.text(Text::LoraFrameDeviceEui)));
        if let Some(eui) = frame_eui {
            if let Some(other) = devices.frames.iter().find(|d| d.eui == eui) {
                errors.push(ConfigError::Instance {
                    line: v.line(Text::LoraFrameDeviceEui).unwrap_or(i.line),
                    kind,
                    name: i.name.clone(),
                    message: format!(
                        "eui {eui:016X} is already that of lora_frame_device '{}' at line {}",
                        other.name, other.line
                    ),
                });
                continue;
            }
        }
        let id_key = if is_frame {
            Text::LoraFrameDeviceId
        } else {
            Text::LorawanDeviceId
        };
        let id_line = v.line(id_key).unwrap_or(i.line);
        let device_id = match (v.opt_text(id_key), frame_eui) {
            (Some(id), _) => id,
            (None, Some(eui)) => format!("{eui:016x}"),
            (None, None) => i.name.clone(),
        };
        if let Some((_, other_kind, other, line)) = ids.iter().find(|(id, ..)| *id == device_id) {
            errors.push(ConfigError::Instance {
                line: id_line,
                kind,
                name: i.name.clone(),
                message: format!(
                    "device id '{device_id}' is already used by {other_kind} '{other}' at line \
                     {line}; each LoRa device needs its own (set option device_id)"
                ),
            });
            continue;
        }
        ids.push((device_id.clone(), kind, &i.name, id_line));
        match frame_eui {
            None => devices.lorawan.push(LorawanDevice {
                name: i.name.clone(),
                device_id,
                dev_addr: hex_u64(v.text(Text::LorawanDeviceDevAddr)) as u32,
                nwkskey: key(v.text(Text::LorawanDeviceNwkskey)),
                appskey: key(v.text(Text::LorawanDeviceAppskey)),
                payload: v.choice(&LORAWAN_PAYLOAD),
                enabled: v.flag(Flag::LorawanDeviceEnabled),
                line: i.line,
            }),
            Some(eui) => devices.frames.push(LoraFrameDevice {
                name: i.name.clone(),
                device_id,
                eui,
                key: key(v.text(Text::LoraFrameDeviceKey)),
                enabled: v.flag(Flag::LoraFrameDeviceEnabled),
                line: i.line,
            }),
        }
    }
    devices
}

/// The option table has checked the digits (8 or 16 of them) and the required check their
/// presence, so every text here is valid hex.
fn hex_u64(digits: &str) -> u64 {
    u64::from_str_radix(digits, 16).unwrap_or_default()
}

/// 32 hex digits, checked by the option table.
fn key(digits: &str) -> Key128 {
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = digits
            .get(2 * i..2 * i + 2)
            .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            .unwrap_or_default();
    }
    Key128(bytes)
}
