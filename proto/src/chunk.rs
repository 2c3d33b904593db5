//! Sealed chunks: the points of one series (device, metric) compressed into a few bytes each,
//! encoded into a caller's buffer and decoded lazily, without allocation.
//!
//! A point is `(ts_ms: i64, value: f64)`. Points keep the order they were given in: timestamps
//! may go backwards or repeat (late readings), and every `i64` round-trips, because the
//! differences are computed with wrapping arithmetic. Values round-trip bit for bit (`-0.0`,
//! subnormals, infinities included); NaN is refused by the encoder and by the decoder.
//!
//! Timestamps are stored as the first one, then deltas of consecutive timestamps, or the
//! differences of those deltas (delta-of-delta), whichever the encoder measures smaller for the
//! chunk. Values that are short decimals, exactly `i / 10^k` for an integer `|i| <= 2^53` (the
//! `f64` nearest to the decimal `i / 10^k`, as parsing "21.5" gives), are stored as the scaled
//! integers `i`, by delta or delta-of-delta. The encoder tries each scale `k` some value needs
//! (at most [`MAX_SCALE`]) with both difference modes and keeps the smallest. A value equal
//! (bit for bit) to the one before costs no byte at all; any other value (`-0.0`, `1/3`, huge
//! magnitudes, infinities, more than nine decimals) is escaped and stored as the XOR of its bit
//! pattern with the previous value's, without its zero bytes at either end.
//!
//! # Chunk, version 1
//!
//! Varints are LEB128 (7 bits a byte, least significant group first); `zz(x)` is the zigzag
//! mapping of an `i64` (`0, -1, 1, -2` -> `0, 1, 2, 3`).
//!
//! | item | encoding |
//! |------|----------|
//! | version | 1 byte, [`VERSION`]; anything else is [`ChunkError::UnsupportedVersion`] |
//! | flags | 1 byte: bits 0..=3 the decimal scale `k` (at most [`MAX_SCALE`]), bit 4 `VALUE_DOD`, bit 5 `TS_DELTA`, bits 6 and 7 reserved, `0`; otherwise [`ChunkError::UnknownFlags`] |
//! | count | varint `n`, at most `u32::MAX` |
//! | then `n` points, each: | |
//! | time token | a flag and `zz(t)` in one varint of 65 bits: first byte bit 0 = `SAME`, bits 1..=6 = the low 6 bits of `zz(t)`, bit 7 = `zz(t) >> 6` follows as a varint. `t` is the timestamp for the first point; then the delta to the previous timestamp with `TS_DELTA`, else that delta minus the previous one (the first delta counts from 0) |
//! | value | none if `SAME`: the value equals the previous one bit for bit (`+0.0` before the first point). Else a varint `u`: |
//! | `u >= 1` | decimal: `zz(d) = u - 1`; `d` is the difference of scaled integers, or with `VALUE_DOD` the difference of consecutive such differences (both start at 0, only decimal values count); the value is `i as f64 / 10^k` |
//! | `u == 0` | escape: a descriptor byte `L << 4 \| M` (`M` >= 1, `L + M` <= 8) and `M` bytes, big-endian: the XOR of the value's and the previous value's bit patterns without its `L` leading and `8 - L - M` trailing zero bytes |
//!
//! The buffer holds exactly one chunk: bytes after the last point are
//! [`ChunkError::TrailingBytes`], reported after the last point.
//!
//! # Example
//!
//! ```
//! use acs_proto::chunk::{self, Point};
//!
//! let points = [
//!     Point { ts_ms: 1_767_225_600_123, value: 21.5 },
//!     Point { ts_ms: 1_767_225_660_370, value: 21.6 },
//!     Point { ts_ms: 1_767_225_719_950, value: 21.6 },
//! ];
//! let mut buf = [0u8; chunk::max_encoded_len(3)];
//! let len = chunk::encode(&points, &mut buf)?;
//! assert_eq!(len, 18);
//!
//! let decoded = chunk::decode(&buf[..len])?;
//! assert_eq!(decoded.point_count(), 3);
//! for (got, want) in decoded.zip(points) {
//!     assert_eq!(got?, want);
//! }
//! # Ok::<(), acs_proto::chunk::ChunkError>(())
//! ```

mod decode;
mod encode;
mod error;
mod wire;

pub use decode::{decode, ChunkIter};
pub use encode::{encode, encode_prefix, encoded_len};
pub use error::ChunkError;

/// The chunk format version this crate reads and writes.
pub const VERSION: u8 = 1;
/// The largest decimal scale: values with up to this many decimals are stored as integers.
pub const MAX_SCALE: u8 = 9;

/// Bits 0..=3 of the flags byte: the decimal scale.
const SCALE_MASK: u8 = 0x0f;
/// Values are stored as differences of differences of their scaled integers.
const VALUE_DOD: u8 = 0x10;
/// Timestamps are stored as plain deltas rather than delta-of-delta.
const TS_DELTA: u8 = 0x20;
/// Scaled integers beyond this magnitude are not exact in an `f64`.
const MAX_SCALED: i64 = 1 << 53;

/// One point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Epoch milliseconds (any `i64`; a chunk does not require them to be sorted).
    pub ts_ms: i64,
    /// The value; never NaN in a chunk.
    pub value: f64,
}

/// The largest chunk `n` points can need: a buffer this long always fits.
pub const fn max_encoded_len(n: usize) -> usize {
    // Header: version, flags, count varint; a point: a 10-byte time token, then an escape
    // (token, descriptor, 8 bytes), which is longer than any decimal token.
    2usize
        .saturating_add(5)
        .saturating_add(n.saturating_mul(10 + 10))
}

/// `10^k` exactly (every power of ten up to `10^22` is an `f64`).
fn pow10(k: u8) -> f64 {
    let mut p = 1.0;
    for _ in 0..k {
        p *= 10.0;
    }
    p
}

/// The integer `i` with `i / 10^k == value` bit for bit, if there is one with `|i| <= 2^53`.
fn scaled(value: f64, p: f64) -> Option<i64> {
    let x = value * p;
    let limit = MAX_SCALED as f64;
    if !(-limit..=limit).contains(&x) {
        return None; // too large, infinite or NaN
    }
    // Round half away from zero (`f64::round` needs std); the check below makes it exact.
    let rounded = if x >= 0.0 { x + 0.5 } else { x - 0.5 };
    let i = rounded as i64;
    let back = i as f64 / p;
    (back.to_bits() == value.to_bits() && (-MAX_SCALED..=MAX_SCALED).contains(&i)).then_some(i)
}

#[cfg(test)]
mod tests;
