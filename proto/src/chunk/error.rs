//! Why a chunk could not be encoded or decoded.
//!
//! Invariants: every variant is `Copy` and carries only numbers, like the crate's frame
//! [`crate::Error`], so it outlives the buffers; `Display` names the cause and the position.

use core::fmt;

/// Why a chunk could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// Encoding: the value of the point at this index is NaN, which chunks never hold.
    NanValue {
        /// Index of the point in the slice given to the encoder.
        index: usize,
    },
    /// Encoding: more points than the `u32` count of the header can declare.
    TooManyPoints(usize),
    /// Encoding: the output buffer is too small; `needed` is the exact chunk length.
    BufferTooSmall {
        /// Bytes the chunk needs.
        needed: usize,
        /// Bytes the buffer has.
        got: usize,
    },
    /// Decoding: the version byte is not [`super::VERSION`].
    UnsupportedVersion(u8),
    /// Decoding: a reserved flag bit is set, or the scale exceeds [`super::MAX_SCALE`] (the raw
    /// flags byte).
    UnknownFlags(u8),
    /// Decoding: the input ends inside the header or before the last declared point.
    Truncated {
        /// Bytes the input has.
        len: usize,
    },
    /// Decoding: bytes that no encoder writes.
    Malformed {
        /// Offset of the item that is wrong.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Decoding: bytes follow the last declared point.
    TrailingBytes {
        /// Bytes the declared points occupy.
        used: usize,
        /// Bytes the input has.
        len: usize,
    },
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChunkError::NanValue { index } => {
                write!(
                    f,
                    "point {index} has a NaN value, which chunks do not store"
                )
            }
            ChunkError::TooManyPoints(n) => {
                write!(f, "{n} points exceed the chunk maximum of {}", u32::MAX)
            }
            ChunkError::BufferTooSmall { needed, got } => {
                write!(f, "chunk buffer too small: needs {needed} bytes, got {got}")
            }
            ChunkError::UnsupportedVersion(v) => write!(f, "unsupported chunk version {v}"),
            ChunkError::UnknownFlags(flags) => {
                write!(f, "unknown chunk flags {flags:#04x}")
            }
            ChunkError::Truncated { len } => {
                write!(f, "chunk truncated: ends after {len} bytes")
            }
            ChunkError::Malformed { offset, reason } => {
                write!(f, "malformed chunk at byte {offset}: {reason}")
            }
            ChunkError::TrailingBytes { used, len } => write!(
                f,
                "{} trailing bytes after the {used}-byte chunk",
                len.saturating_sub(used)
            ),
        }
    }
}

impl core::error::Error for ChunkError {}
