//! Device keys of the LoRa source. They arrive as plain structs ([`LoraKeys`]) so that the
//! configuration layer can fill them from UCI sections (`config lorawan_device '<name>'`).
//!
//! Until that wiring exists, [`LoraKeys::from_env`] reads a JSON keys file named by the
//! `ACS_EDGE_LORA_KEYS` environment variable (temporary; see the README). Invariants: keys never
//! appear in `Debug` output or logs; every device id satisfies the naming rule.

use acs_proto::lorawan::AesKey;
use acs_proto::FrameKey;
use serde::Deserialize;
use std::fmt;

use crate::model::validate_name;

/// Environment variable naming the JSON keys file (until UCI device sections exist).
pub const KEYS_ENV: &str = "ACS_EDGE_LORA_KEYS";

/// Session keys of one LoRaWAN 1.0.x ABP device.
#[derive(Clone, PartialEq, Eq)]
pub struct LorawanDeviceKeys {
    /// The device id its readings are stored under.
    pub device_id: String,
    pub dev_addr: u32,
    pub nwk_s_key: AesKey,
    pub app_s_key: AesKey,
}

/// The AES-128-CMAC key of one device sending AUTHENTICATED acs-proto frames.
#[derive(Clone, PartialEq, Eq)]
pub struct FrameDeviceKey {
    /// The device id its readings are stored under.
    pub device_id: String,
    /// The EUI-64 in the frame header.
    pub eui: u64,
    pub key: FrameKey,
}

/// Every key the LoRa source knows.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LoraKeys {
    pub lorawan: Vec<LorawanDeviceKeys>,
    pub frames: Vec<FrameDeviceKey>,
}

impl fmt::Debug for LorawanDeviceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (DevAddr {:08X}, keys hidden)",
            self.device_id, self.dev_addr
        )
    }
}

impl fmt::Debug for FrameDeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (EUI {:016x}, key hidden)", self.device_id, self.eui)
    }
}

impl fmt::Debug for LoraKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoraKeys")
            .field("lorawan", &self.lorawan)
            .field("frames", &self.frames)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    lorawan: Vec<FileLorawan>,
    #[serde(default)]
    frames: Vec<FileFrame>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLorawan {
    device: String,
    dev_addr: String,
    nwk_s_key: String,
    app_s_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFrame {
    device: Option<String>,
    eui: String,
    key: String,
}

impl LoraKeys {
    /// Reads the file named by [`KEYS_ENV`]; no keys when the variable is unset.
    pub fn from_env() -> Result<LoraKeys, String> {
        let Some(path) = std::env::var_os(KEYS_ENV) else {
            return Ok(LoraKeys::default());
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{KEYS_ENV}={}: {e}", path.to_string_lossy()))?;
        LoraKeys::from_json(&text)
            .map_err(|e| format!("{KEYS_ENV}={}: {e}", path.to_string_lossy()))
    }

    /// `{"lorawan": [{"device", "dev_addr", "nwk_s_key", "app_s_key"}], "frames": [{"device"?,
    /// "eui", "key"}]}` with hex values (DevAddr and EUI most significant byte first).
    pub fn from_json(text: &str) -> Result<LoraKeys, String> {
        let doc: FileDoc = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut keys = LoraKeys::default();
        for d in doc.lorawan {
            validate_name(&d.device).map_err(|e| format!("device {:?} {e}", d.device))?;
            keys.lorawan.push(LorawanDeviceKeys {
                dev_addr: u32::from_be_bytes(parse_hex(&d.dev_addr, "dev_addr")?),
                nwk_s_key: parse_hex(&d.nwk_s_key, "nwk_s_key")?,
                app_s_key: parse_hex(&d.app_s_key, "app_s_key")?,
                device_id: d.device,
            });
        }
        for d in doc.frames {
            let eui = u64::from_be_bytes(parse_hex(&d.eui, "eui")?);
            let device_id = d.device.unwrap_or_else(|| format!("{eui:016x}"));
            validate_name(&device_id).map_err(|e| format!("device {device_id:?} {e}"))?;
            keys.frames.push(FrameDeviceKey {
                device_id,
                eui,
                key: parse_hex(&d.key, "key")?,
            });
        }
        Ok(keys)
    }
}

/// Exactly `N` bytes of hex (spaces and colons allowed), naming the field in the error.
pub fn parse_hex<const N: usize>(text: &str, field: &str) -> Result<[u8; N], String> {
    let bytes = crate::hex::decode(text).map_err(|e| format!("{field}: {e}"))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "{field}: expected {N} bytes ({} hex digits), got {}",
            2 * N,
            bytes.len()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_file_parses_and_debug_hides_keys() {
        let keys = LoraKeys::from_json(
            r#"{"lorawan": [{"device": "field-1", "dev_addr": "49BE7DF1",
                 "nwk_s_key": "44024241ed4ce9a68c6a8bc055233fd3",
                 "app_s_key": "ec925802ae430ca77fd3dd73cb2cc588"}],
                "frames": [{"eui": "0011223344556677", "key": "000102030405060708090a0b0c0d0e0f"}]}"#,
        )
        .unwrap();
        assert_eq!(keys.lorawan[0].dev_addr, 0x49BE_7DF1);
        assert_eq!(keys.lorawan[0].nwk_s_key[0], 0x44);
        assert_eq!(keys.frames[0].device_id, "0011223344556677");
        let debug = format!("{keys:?}");
        assert!(
            debug.contains("49BE7DF1") && !debug.contains("44024241"),
            "{debug}"
        );
    }

    #[test]
    fn bad_keys_name_the_field() {
        let err = LoraKeys::from_json(
            r#"{"lorawan": [{"device": "a", "dev_addr": "49BE7D", "nwk_s_key": "00", "app_s_key": "00"}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("dev_addr: expected 4 bytes"), "{err}");
        let err = LoraKeys::from_json(r#"{"frames": [{"eui": "zz", "key": ""}]}"#).unwrap_err();
        assert!(err.contains("eui"), "{err}");
    }
}
