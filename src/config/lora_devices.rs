//! LoRa device sections (`config lorawan_device 'NAME'`, `config lora_frame_device 'NAME'`):
//! the typed keys of every LoRa device, built from their checked instances.
//!
//! Invariants: keys never appear in `Debug` output (they are [`Key128`]); device ids are unique
//! across both section types, because the LoRa decoder keeps one frame counter per device id;
//! two frame devices never share an EUI, which is how a frame finds its key. The sections are
//! part of every build's schema (the config file is the same for every build); only a build
//! with the `lora` feature uses them.

use super::instances::Instance;
use super::ConfigError;
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
    /// `lpp` or `none`.
    pub payload: String,
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

/// The typed LoRa devices of the `lorawan_device` and `lora_frame_device` instances.
pub(super) fn lora_devices_from(instances: &[Instance]) -> Result<LoraDevices, ConfigError> {
    let mut devices = LoraDevices::default();
    // (device id, kind, section name, line of the section or of its device_id option)
    let mut ids: Vec<(String, &'static str, &str, usize)> = Vec::new();
    let lora = instances
        .iter()
        .filter(|i| matches!(i.kind, "lorawan_device" | "lora_frame_device"));
    for i in lora {
        let kind = i.kind;
        let v = &i.values;
        let frame_eui = (kind == "lora_frame_device").then(|| hex_u64(v.text(kind, "eui")));
        if let Some(eui) = frame_eui {
            if let Some(other) = devices.frames.iter().find(|d| d.eui == eui) {
                return Err(ConfigError::Instance {
                    line: v.line(kind, "eui").unwrap_or(i.line),
                    kind,
                    name: i.name.clone(),
                    message: format!(
                        "eui {eui:016X} is already that of lora_frame_device '{}' at line {}",
                        other.name, other.line
                    ),
                });
            }
        }
        let id_line = v.line(kind, "device_id").unwrap_or(i.line);
        let device_id = match (v.opt_text(kind, "device_id"), frame_eui) {
            (Some(id), _) => id,
            (None, Some(eui)) => format!("{eui:016x}"),
            (None, None) => i.name.clone(),
        };
        if let Some((_, other_kind, other, line)) = ids.iter().find(|(id, ..)| *id == device_id) {
            return Err(ConfigError::Instance {
                line: id_line,
                kind,
                name: i.name.clone(),
                message: format!(
                    "device id '{device_id}' is already used by {other_kind} '{other}' at line \
                     {line}; each LoRa device needs its own (set option device_id)"
                ),
            });
        }
        ids.push((device_id.clone(), kind, &i.name, id_line));
        match frame_eui {
            None => devices.lorawan.push(LorawanDevice {
                name: i.name.clone(),
                device_id,
                dev_addr: hex_u64(v.text(kind, "dev_addr")) as u32,
                nwkskey: key(v.text(kind, "nwkskey")),
                appskey: key(v.text(kind, "appskey")),
                payload: v.text(kind, "payload").to_owned(),
                enabled: v.flag(kind, "enabled"),
                line: i.line,
            }),
            Some(eui) => devices.frames.push(LoraFrameDevice {
                name: i.name.clone(),
                device_id,
                eui,
                key: key(v.text(kind, "key")),
                enabled: v.flag(kind, "enabled"),
                line: i.line,
            }),
        }
    }
    Ok(devices)
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

#[cfg(test)]
mod tests {
    use super::super::{parse, ConfigError};

    const ABP: &str = "config lorawan_device 'field_1'\n\
                       \toption dev_addr '26011bda'\n\
                       \toption nwkskey '2B7E151628AED2A6ABF7158809CF4F3C'\n\
                       \toption appskey '3C4FCF098815F7ABA6D2AE2816157E2B'\n";

    fn error(text: &str) -> String {
        match parse(text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn lorawan_and_frame_devices_become_typed_keys_with_ids_defaulted() {
        let text = format!(
            "{ABP}\nconfig lora_frame_device 'node_1'\n\toption eui '70B3D57ED0000001'\n\
             \toption key '6578616D706C652D6E6F64652D6B6579'\n\toption enabled '0'\n\n\
             config lora_frame_device 'node_2'\n\toption device_id 'node-2'\n\
             \toption eui '0000000000000002'\n\toption key '00000000000000000000000000000001'\n"
        );
        let devices = parse(&text).unwrap().config.lora_devices;
        let abp = &devices.lorawan[0];
        assert_eq!(abp.device_id, "field_1");
        assert_eq!(abp.dev_addr, 0x2601_1BDA);
        assert_eq!(abp.nwkskey.0[..3], [0x2B, 0x7E, 0x15]);
        assert_eq!(abp.appskey.0[15], 0x2B);
        assert_eq!(abp.payload, "lpp");
        assert!(abp.enabled);
        assert_eq!(devices.frames[0].device_id, "70b3d57ed0000001");
        assert_eq!(&devices.frames[0].key.0, b"example-node-key");
        assert!(!devices.frames[0].enabled);
        assert_eq!(devices.frames[1].device_id, "node-2");
        assert_eq!(devices.frames[1].eui, 2);
    }

    #[test]
    fn debug_output_hides_every_key() {
        let devices = parse(ABP).unwrap().config.lora_devices;
        let debug = format!("{devices:?}");
        assert!(
            debug.contains("26011BDA") || debug.contains("637606874"),
            "{debug}"
        );
        for secret in ["2B7E", "2b7e", "3C4F", "3c4f", "43, 126"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }

    #[test]
    fn bad_keys_name_line_section_and_option_without_echoing_the_key() {
        let short = ABP.replace(
            "2B7E151628AED2A6ABF7158809CF4F3C",
            "2B7E151628AED2A6ABF7158809CF4F",
        );
        let e = error(&short);
        assert!(
            e.starts_with("line 3: option 'nwkskey' in section 'lorawan_device'"),
            "{e}"
        );
        assert!(
            e.contains("expected 32 hex digits") && !e.contains("2B7E"),
            "{e}"
        );
        let e = error(&ABP.replace("26011bda", "26011bdz"));
        assert!(e.starts_with("line 2: option 'dev_addr'"), "{e}");
        let e = error(&ABP.replace("\toption appskey '3C4FCF098815F7ABA6D2AE2816157E2B'\n", ""));
        assert_eq!(
            e,
            "line 1: lorawan_device 'field_1': option 'appskey' is required"
        );
        let e = error("config lora_frame_device 'n'\n\toption eui '0102'\n");
        assert!(
            e.contains("option 'eui' in section 'lora_frame_device'"),
            "{e}"
        );
        let e = error("config lorawan_device\n\toption dev_addr '01020304'\n");
        assert!(e.contains("needs a name"), "{e}");
    }

    #[test]
    fn device_ids_and_euis_must_be_unique() {
        let twice = format!(
            "{ABP}\nconfig lora_frame_device 'n'\n\toption device_id 'field_1'\n\
             \toption eui '0000000000000001'\n\toption key '00000000000000000000000000000001'\n"
        );
        let e = error(&twice);
        assert!(
            e.starts_with("line 7: lora_frame_device 'n': device id 'field_1' is already used by lorawan_device 'field_1' at line 1"),
            "{e}"
        );
        let same_eui = "config lora_frame_device 'a'\n\toption eui '00000000000000AA'\n\
                        \toption key '00000000000000000000000000000001'\n\
                        config lora_frame_device 'b'\n\toption eui '00000000000000aa'\n\
                        \toption key '00000000000000000000000000000002'\n";
        let e = error(same_eui);
        assert!(
            e.contains("lora_frame_device 'b': eui 00000000000000AA is already"),
            "{e}"
        );
        assert!(matches!(
            parse(same_eui),
            Err(ConfigError::Instance { line: 5, .. })
        ));
    }

    #[test]
    fn devices_sharing_a_dev_addr_are_allowed() {
        let two = format!("{ABP}\n{}", ABP.replace("field_1", "field_2"));
        let devices = parse(&two).unwrap().config.lora_devices;
        assert_eq!(devices.lorawan.len(), 2);
    }
}
