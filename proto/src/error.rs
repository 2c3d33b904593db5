//! The one error type of this crate, for parsing and for emitting.
//!
//! Invariants: every variant is `Copy` and carries only numbers (no borrowed input, no heap),
//! so an error can be logged or counted after the frame buffer is gone. `Display` names what
//! was wrong and, where there is one, the offending value.

use core::fmt;

/// Why a frame could not be parsed or emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The buffer is shorter than the frame needs (the 20-byte minimum, or `20 + body length`).
    Truncated {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        got: usize,
    },
    /// The buffer is longer than `20 + body length`.
    TrailingBytes {
        /// Bytes the frame occupies.
        expected: usize,
        /// Bytes the buffer has.
        got: usize,
    },
    /// The version byte is not one this crate understands.
    UnsupportedVersion(u8),
    /// A reserved flag bit is set (the raw flags byte).
    UnknownFlags(u8),
    /// The body is longer than [`crate::MAX_BODY_LEN`].
    BodyTooLong {
        /// Body length declared in the header (parse) or needed by the readings (emit).
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The CRC-32 trailer does not match the frame's bytes.
    BadCrc {
        /// CRC computed over the header and body.
        computed: u32,
        /// CRC found in the trailer.
        trailer: u32,
    },
    /// The frame is AUTHENTICATED: its trailer is a MIC that only the device key can check.
    NeedsKey,
    /// The postcard body could not be decoded.
    MalformedBody {
        /// Offset within the body where the failing item starts.
        offset: usize,
        /// What the decoder tripped over.
        reason: &'static str,
    },
    /// A free-form metric name breaks the naming rule.
    BadMetricName(BadName),
    /// A reading's value is NaN or infinite.
    NonFiniteValue,
    /// The MIC of an AUTHENTICATED frame does not match under the device key.
    BadMic,
    /// A MIC check was asked for a frame without the AUTHENTICATED flag (its trailer is a CRC).
    NotAuthenticated,
    /// The output buffer is too small for the frame being emitted.
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
        /// Bytes the buffer has.
        got: usize,
    },
}

/// How a metric name breaks the rule "1..=64 bytes of `[A-Za-z0-9_.:-]`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadName {
    /// Zero bytes long.
    Empty,
    /// Longer than 64 bytes (its length).
    TooLong(usize),
    /// Contains a byte outside the allowed set (the first such byte).
    BadByte(u8),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { needed, got } => {
                write!(f, "frame truncated: needs {needed} bytes, got {got}")
            }
            Error::TrailingBytes { expected, got } => write!(
                f,
                "{} trailing bytes after the {expected}-byte frame",
                got.saturating_sub(expected)
            ),
            Error::UnsupportedVersion(v) => write!(f, "unsupported frame version {v}"),
            Error::UnknownFlags(flags) => {
                write!(f, "unknown flag bits set: flags {flags:#04x}")
            }
            Error::BodyTooLong { len, max } => {
                write!(f, "body of {len} bytes exceeds the {max}-byte maximum")
            }
            Error::BadCrc { computed, trailer } => write!(
                f,
                "CRC mismatch: trailer {trailer:#010x}, computed {computed:#010x}"
            ),
            Error::NeedsKey => {
                f.write_str("frame is authenticated: verify its MIC with the device key")
            }
            Error::MalformedBody { offset, reason } => {
                write!(f, "malformed body at byte {offset}: {reason}")
            }
            Error::BadMetricName(bad) => write!(f, "bad metric name: {bad}"),
            Error::NonFiniteValue => f.write_str("reading value is NaN or infinite"),
            Error::BadMic => f.write_str("MIC mismatch (wrong device key, or forged frame)"),
            Error::NotAuthenticated => {
                f.write_str("frame is not authenticated: its trailer is a CRC, not a MIC")
            }
            Error::BufferTooSmall { needed, got } => {
                write!(
                    f,
                    "output buffer too small: needs {needed} bytes, got {got}"
                )
            }
        }
    }
}

impl fmt::Display for BadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BadName::Empty => f.write_str("is empty"),
            BadName::TooLong(len) => write!(
                f,
                "is {len} bytes, longer than {}",
                crate::MAX_METRIC_NAME_LEN
            ),
            BadName::BadByte(b) => write!(
                f,
                "contains byte {b:#04x}; allowed are letters, digits and _ . : -"
            ),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_problem() {
        let cases = [
            (
                Error::Truncated { needed: 20, got: 3 },
                "frame truncated: needs 20 bytes, got 3",
            ),
            (
                Error::TrailingBytes {
                    expected: 25,
                    got: 27,
                },
                "2 trailing bytes after the 25-byte frame",
            ),
            (Error::UnsupportedVersion(2), "unsupported frame version 2"),
            (
                Error::UnknownFlags(0x81),
                "unknown flag bits set: flags 0x81",
            ),
            (
                Error::BodyTooLong {
                    len: 2000,
                    max: 1024,
                },
                "body of 2000 bytes exceeds the 1024-byte maximum",
            ),
            (
                Error::BadCrc {
                    computed: 0xdeadbeef,
                    trailer: 1,
                },
                "CRC mismatch: trailer 0x00000001, computed 0xdeadbeef",
            ),
            (
                Error::MalformedBody {
                    offset: 7,
                    reason: "bad varint",
                },
                "malformed body at byte 7: bad varint",
            ),
            (
                Error::BadMetricName(BadName::BadByte(b' ')),
                "bad metric name: contains byte 0x20; allowed are letters, digits and _ . : -",
            ),
            (
                Error::BadMetricName(BadName::TooLong(70)),
                "bad metric name: is 70 bytes, longer than 64",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
    }
}
