//! `config lorawan_device 'NAME'` and `config lora_frame_device 'NAME'`: the LoRa devices
//! whose frames are checked and decrypted with configured keys. Keys are never repeated in a
//! refusal: a mistyped key is still mostly a key.

use super::check::check_name_or_empty;
use super::keys::{ChoiceSlot, Flag, Text};
use super::spec::{ChoiceKey, Kind, MultiSectionSpec, OptionSpec};

pub const LORAWAN_DEVICE: MultiSectionSpec = MultiSectionSpec {
    name: "lorawan_device",
    doc: "A LoRaWAN 1.0.x device activated by personalisation (ABP), named by the section:\n\
          its uplinks, from a packet forwarder or the radio, are checked (MIC, frame\n\
          counter) and decrypted with these session keys. The last frame counter is kept\n\
          across restarts and key changes: a device whose counter restarts at 0 needs a new\n\
          device_id. A reload applies key changes without restarting the LoRa inputs.\n\
          The example's keys are those of examples/lora_node.rs: never use them for a device.",
    required: &["dev_addr", "nwkskey", "appskey"],
    example: "config lorawan_device 'field_1'\n\
              \toption device_id 'field-1'\n\
              \toption dev_addr '26011BDA'\n\
              \toption nwkskey '2B7E151628AED2A6ABF7158809CF4F3C'\n\
              \toption appskey '3C4FCF098815F7ABA6D2AE2816157E2B'\n\
              \toption payload 'lpp'\n\
              \toption enabled '1'\n",
    options: &[
        OptionSpec {
            name: "device_id",
            kind: Kind::Text {
                key: Text::LorawanDeviceId,
                check: check_name_or_empty,
            },
            default: "",
            reload: true,
            doc: "The device id its readings are stored under: 1-64 letters, digits, _ - . :\n\
                  '' = the section name.",
        },
        OptionSpec {
            name: "dev_addr",
            kind: Kind::Text {
                key: Text::LorawanDeviceDevAddr,
                check: check_dev_addr,
            },
            default: "",
            reload: true,
            doc: "The device address (DevAddr): 8 hex digits, most significant first, as network\n\
                  consoles show it. Several devices may share one (their keys tell them apart).",
        },
        OptionSpec {
            name: "nwkskey",
            kind: Kind::Text {
                key: Text::LorawanDeviceNwkskey,
                check: check_aes_key,
            },
            default: "",
            reload: true,
            doc: "Network session key (NwkSKey): 32 hex digits. Checks the MIC. Never logged.",
        },
        OptionSpec {
            name: "appskey",
            kind: Kind::Text {
                key: Text::LorawanDeviceAppskey,
                check: check_aes_key,
            },
            default: "",
            reload: true,
            doc: "Application session key (AppSKey): 32 hex digits. Decrypts the payload.\n\
                  Never logged.",
        },
        OptionSpec {
            name: "payload",
            kind: LORAWAN_PAYLOAD.kind(),
            default: "lpp",
            reload: true,
            doc: "The payload decoder. lpp: Cayenne LPP, readings named <type>_<channel>.\n\
                  none: no readings from the payload (the frame is still checked and counted, and\n\
                  rssi and snr are stored), for devices in another format.",
        },
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::LorawanDeviceEnabled),
            default: "1",
            reload: true,
            doc: "0 forgets the keys: the device's frames count as unknown devices.",
        },
    ],
};

pub const LORA_FRAME_DEVICE: MultiSectionSpec = MultiSectionSpec {
    name: "lora_frame_device",
    doc: "A node sending AUTHENTICATED acs-proto frames over raw LoRa (examples/lora_node.rs),\n\
          named by the section: frames are checked with its CMAC key and frame counter,\n\
          which is kept across restarts. A reload applies key changes. The example's key\n\
          is the one examples/lora_node.rs uses: never use it for a device.",
    required: &["eui", "key"],
    example: "config lora_frame_device 'node_1'\n\
              \toption device_id 'node-1'\n\
              \toption eui '70B3D57ED0000001'\n\
              \toption key '6578616D706C652D6E6F64652D6B6579'\n\
              \toption enabled '1'\n",
    options: &[
        OptionSpec {
            name: "device_id",
            kind: Kind::Text {
                key: Text::LoraFrameDeviceId,
                check: check_name_or_empty,
            },
            default: "",
            reload: true,
            doc: "The device id its readings are stored under: 1-64 letters, digits, _ - . :\n\
                  '' = the EUI as 16 lowercase hex digits (the id MQTT frames of it get).",
        },
        OptionSpec {
            name: "eui",
            kind: Kind::Text {
                key: Text::LoraFrameDeviceEui,
                check: check_eui,
            },
            default: "",
            reload: true,
            doc: "The EUI-64 in the frame header: 16 hex digits, most significant first.",
        },
        OptionSpec {
            name: "key",
            kind: Kind::Text {
                key: Text::LoraFrameDeviceKey,
                check: check_aes_key,
            },
            default: "",
            reload: true,
            doc: "The device's AES-128-CMAC key: 32 hex digits. Never logged.",
        },
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::LoraFrameDeviceEnabled),
            default: "1",
            reload: true,
            doc: "0 forgets the key: the device's frames count as unknown devices.",
        },
    ],
};

/// How a LoRaWAN device's payload becomes readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LorawanPayload {
    /// Cayenne LPP.
    Lpp,
    /// No readings from the payload.
    None,
}

pub const LORAWAN_PAYLOAD: ChoiceKey<LorawanPayload> = ChoiceKey {
    slot: ChoiceSlot::LorawanDevicePayload,
    words: &["lpp", "none"],
    values: &[LorawanPayload::Lpp, LorawanPayload::None],
};

/// '' (for a required option, refused by the required check) or exactly `digits` hex digits.
pub fn check_hex_digits(v: &str, digits: usize) -> Result<(), String> {
    if v.is_empty() || (v.len() == digits && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(())
    } else {
        Err(format!("expected {digits} hex digits, got '{v}'"))
    }
}

pub fn check_dev_addr(v: &str) -> Result<(), String> {
    check_hex_digits(v, 8)
}

pub fn check_eui(v: &str) -> Result<(), String> {
    check_hex_digits(v, 16)
}

/// A 128-bit key. The refusal does not repeat the value: a mistyped key is still mostly a key.
pub fn check_aes_key(v: &str) -> Result<(), String> {
    if v.is_empty() || (v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(())
    } else {
        Err(format!(
            "expected 32 hex digits (a 128-bit key), got {} characters{}",
            v.chars().count(),
            if v.len() == 32 {
                " with a non-hex one"
            } else {
                ""
            }
        ))
    }
}
