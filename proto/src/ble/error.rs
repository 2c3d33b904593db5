//! The error type of the advertisement decoders.
//!
//! Invariants: `Copy`, numbers only (no borrowed input), so an error can be counted and logged
//! after the advertisement buffer is gone; `Display` names what was wrong.

use core::fmt;

use super::Format;

/// Why an advertisement could not be decoded (or why decoding stopped early).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BleError {
    /// The payload ends before a field or object it announces.
    Truncated {
        /// The format being decoded.
        format: Format,
        /// Bytes needed up to the end of the field.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A length no variant of the format has (`format: None` when the length is what selects
    /// the format, as for UUID 0x181A).
    UnexpectedLength {
        /// The format, when known.
        format: Option<Format>,
        /// The payload length.
        len: usize,
    },
    /// The payload is longer than [`super::MAX_PAYLOAD_LEN`].
    TooLong {
        /// The payload length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// No decoder for service data of this UUID16.
    UnknownServiceData(u16),
    /// No decoder for manufacturer data of this company id.
    UnknownManufacturer(u16),
    /// A version or data format number this decoder does not read.
    UnsupportedVersion {
        /// The format family.
        format: Format,
        /// The version found.
        version: u8,
    },
    /// A BTHome object id missing from the table: its length is unknown, so nothing after it
    /// can be read safely.
    UnknownObject {
        /// The object id.
        id: u8,
        /// Its offset in the (decrypted) object list.
        offset: usize,
    },
    /// The payload is encrypted and no bindkey is configured for the device.
    NeedsBindkey,
    /// The payload is encrypted and the device address, part of the nonce, is unknown.
    NeedsMac,
    /// The message integrity check failed: wrong bindkey, wrong address, or a corrupted payload.
    BadMic,
    /// More than [`super::MAX_READINGS`] readings.
    TooManyReadings,
    /// The acs-proto frame inside manufacturer data failed its checks.
    Frame(crate::Error),
}

impl fmt::Display for BleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BleError::Truncated {
                format,
                needed,
                got,
            } => write!(
                f,
                "{format} payload truncated: needs {needed} bytes, got {got}"
            ),
            BleError::UnexpectedLength {
                format: Some(format),
                len,
            } => write!(f, "{format} payload of unexpected length {len}"),
            BleError::UnexpectedLength { format: None, len } => write!(
                f,
                "service data 0x181a of {len} bytes: neither pvvx custom (15) nor ATC1441 (13)"
            ),
            BleError::TooLong { len, max } => {
                write!(f, "payload of {len} bytes exceeds the {max}-byte maximum")
            }
            BleError::UnknownServiceData(uuid) => {
                write!(
                    f,
                    "unknown format: no decoder for service data UUID 0x{uuid:04x}"
                )
            }
            BleError::UnknownManufacturer(company) => write!(
                f,
                "unknown format: no decoder for manufacturer data of company 0x{company:04x}"
            ),
            BleError::UnsupportedVersion {
                format: Format::BtHomeV2,
                version,
            } => write!(f, "unsupported BTHome version {version} (only 2 is read)"),
            BleError::UnsupportedVersion {
                format: Format::RuuviV5,
                version,
            } => write!(
                f,
                "unsupported Ruuvi data format {version} (only 5 is read)"
            ),
            BleError::UnsupportedVersion { format, version } => {
                write!(f, "unsupported {format} version {version}")
            }
            BleError::UnknownObject { id, offset } => write!(
                f,
                "unknown BTHome object id 0x{id:02x} at byte {offset}: decoding stopped there"
            ),
            BleError::NeedsBindkey => {
                f.write_str("payload is encrypted: a bindkey for this device is needed")
            }
            BleError::NeedsMac => {
                f.write_str("payload is encrypted: the device MAC address is needed for the nonce")
            }
            BleError::BadMic => f.write_str(
                "decryption failed (MIC mismatch): wrong bindkey or MAC, or corrupted payload",
            ),
            BleError::TooManyReadings => write!(
                f,
                "more than {} readings in one advertisement",
                super::MAX_READINGS
            ),
            BleError::Frame(e) => write!(f, "acs-proto frame: {e}"),
        }
    }
}

impl core::error::Error for BleError {}

impl From<crate::Error> for BleError {
    fn from(e: crate::Error) -> Self {
        BleError::Frame(e)
    }
}
