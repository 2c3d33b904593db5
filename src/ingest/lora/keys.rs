//! Device keys of the LoRa source, as plain structs ([`LoraKeys`]) so that the source does not
//! depend on the config layer: `runtime::settings::lora::lora_keys` fills them from the UCI sections
//! `config lorawan_device` and `config lora_frame_device`, at start and on every reload.
//! Invariants: keys never appear in `Debug` output or logs.

use acs_proto::lorawan::AesKey;
use acs_proto::FrameKey;
use std::fmt;

/// Session keys of one LoRaWAN 1.0.x ABP device.
#[derive(Clone, PartialEq, Eq)]
pub struct LorawanDeviceKeys {
    /// The device id its readings are stored under.
    pub device_id: String,
    pub dev_addr: u32,
    pub nwk_s_key: AesKey,
    pub app_s_key: AesKey,
    pub payload: PayloadCodec,
}

/// How the decrypted FRMPayload of a LoRaWAN device becomes readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PayloadCodec {
    /// Cayenne LPP.
    #[default]
    Lpp,
    /// No readings from the payload: the frame is still checked and counted, and `rssi`/`snr`
    /// are stored (for devices whose format the gateway cannot decode).
    None,
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
            "{} (DevAddr {:08X}, payload {:?}, keys hidden)",
            self.device_id, self.dev_addr, self.payload
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
    fn debug_hides_keys() {
        let keys = LoraKeys {
            lorawan: vec![LorawanDeviceKeys {
                device_id: "field-1".into(),
                dev_addr: 0x49BE_7DF1,
                nwk_s_key: [0x44; 16],
                app_s_key: [0xEC; 16],
                payload: PayloadCodec::Lpp,
            }],
            frames: vec![FrameDeviceKey {
                device_id: "node-1".into(),
                eui: 0x0011_2233_4455_6677,
                key: [0x5A; 16],
            }],
        };
        let debug = format!("{keys:?}");
        assert!(
            debug.contains("49BE7DF1") && debug.contains("0011223344556677"),
            "{debug}"
        );
        for key in ["68", "236", "90", "44", "EC", "5A"] {
            assert!(!debug.contains(&format!("{key}, ")), "{debug}");
        }
    }

    #[test]
    fn bad_hex_names_the_field() {
        let err = parse_hex::<4>("49BE7D", "dev_addr").unwrap_err();
        assert!(err.contains("dev_addr: expected 4 bytes"), "{err}");
        assert!(parse_hex::<8>("zz", "eui").unwrap_err().contains("eui"));
        assert_eq!(parse_hex::<2>("01:ab", "x"), Ok([1, 0xab]));
    }
}
