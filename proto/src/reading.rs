//! The frame body: a base timestamp followed by readings, all postcard, decoded zero-copy.
//!
//! Body layout (every integer is a postcard varint; floats are IEEE-754 little-endian):
//!
//! ```text
//! base_ts_ms   u64 varint (0 = "no clock: the receiver uses its receive time")
//! reading*     back to back until the body ends, each:
//!   metric       enum tag 0 = Code: u16 varint
//!                         1 = Name: length varint + UTF-8 bytes
//!   ts_offset_ms u32 varint, added to the base timestamp
//!   value        enum tag 0 = F32: 4 bytes LE
//!                         1 = F64: 8 bytes LE
//!                         2 = I64: zigzag varint
//! ```
//!
//! Invariants: a [`Reading`] yielded by [`ReadingIter`] has a valid metric name and a finite
//! value; the iterator never reads past the body, never allocates, and stops after the first
//! error. Emission checks the same rules, so a node cannot send what a gateway would refuse.

use core::iter::FusedIterator;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::metric::Metric;

/// One measured value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Single precision, 4 bytes on the wire.
    F32(f32),
    /// Double precision, 8 bytes on the wire.
    F64(f64),
    /// Integer (counters, millivolts, booleans as 0/1), 1..=10 bytes on the wire.
    I64(i64),
}

impl Value {
    /// The value as `f64`; integers beyond 2^53 lose precision.
    pub fn as_f64(self) -> f64 {
        match self {
            Value::F32(v) => f64::from(v),
            Value::F64(v) => v,
            Value::I64(v) => v as f64,
        }
    }

    /// False for NaN and infinities, which frames never carry.
    pub fn is_finite(self) -> bool {
        match self {
            Value::F32(v) => v.is_finite(),
            Value::F64(v) => v.is_finite(),
            Value::I64(_) => true,
        }
    }
}

/// One reading of a frame, borrowing its metric name from the frame buffer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading<'a> {
    /// What was measured.
    #[serde(borrow)]
    pub metric: Metric<'a>,
    /// Milliseconds after the frame's base timestamp.
    pub ts_offset_ms: u32,
    /// The measured value.
    pub value: Value,
}

impl Reading<'_> {
    /// Checks the rules every reading on the wire obeys: valid metric name, finite value.
    pub fn validate(&self) -> Result<(), Error> {
        self.metric.validate()?;
        if !self.value.is_finite() {
            return Err(Error::NonFiniteValue);
        }
        Ok(())
    }

    /// Absolute time of this reading in epoch milliseconds: `base_ts_ms + ts_offset_ms`, where
    /// a base of 0 (the node has no clock) is replaced by the receiver's `receive_ms`.
    pub fn timestamp_ms(&self, base_ts_ms: u64, receive_ms: u64) -> u64 {
        let base = if base_ts_ms == 0 {
            receive_ms
        } else {
            base_ts_ms
        };
        base.saturating_add(u64::from(self.ts_offset_ms))
    }
}

/// Iterates over the readings of a body. Yields `Err` at most once, then ends.
#[derive(Debug, Clone)]
pub struct ReadingIter<'a> {
    body_len: usize,
    rest: &'a [u8],
    base_ts_ms: u64,
    failed: bool,
}

impl<'a> ReadingIter<'a> {
    /// Decodes the base timestamp at the start of `body`; the readings follow lazily.
    pub fn new(body: &'a [u8]) -> Result<Self, Error> {
        let (base_ts_ms, rest) =
            postcard::take_from_bytes::<u64>(body).map_err(|e| malformed(0, &e))?;
        Ok(ReadingIter {
            body_len: body.len(),
            rest,
            base_ts_ms,
            failed: false,
        })
    }

    /// The frame's base timestamp in epoch milliseconds (0: none, use the receive time).
    pub fn base_ts_ms(&self) -> u64 {
        self.base_ts_ms
    }
}

impl<'a> Iterator for ReadingIter<'a> {
    type Item = Result<Reading<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let offset = self.body_len - self.rest.len();
        let decoded = postcard::take_from_bytes::<Reading<'a>>(self.rest)
            .map_err(|e| malformed(offset, &e))
            .and_then(|(reading, tail)| reading.validate().map(|()| (reading, tail)));
        match decoded {
            Ok((reading, tail)) => {
                self.rest = tail;
                Some(Ok(reading))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for ReadingIter<'_> {}

fn malformed(offset: usize, e: &postcard::Error) -> Error {
    use postcard::Error as P;
    let reason = match e {
        P::DeserializeUnexpectedEnd => "unexpected end of body",
        P::DeserializeBadVarint => "bad varint",
        P::DeserializeBadUtf8 => "metric name is not UTF-8",
        // serde's derive reports an unknown variant index as a custom error.
        P::DeserializeBadEnum | P::SerdeDeCustom => "unknown metric or value kind",
        _ => "undecodable postcard",
    };
    Error::MalformedBody { offset, reason }
}

/// Exact size in bytes of the body for `base_ts_ms` and `readings`.
pub fn body_len(base_ts_ms: u64, readings: &[Reading<'_>]) -> usize {
    readings.iter().fold(encoded_len(&base_ts_ms), |n, r| {
        n.saturating_add(encoded_len(r))
    })
}

fn encoded_len<T: Serialize>(value: &T) -> usize {
    // The `Size` flavor only counts bytes; it cannot fail for the types of a body.
    postcard::experimental::serialized_size(value).unwrap_or(0)
}

/// Validates `readings` and writes the body into `buf`; returns the body length.
pub(crate) fn emit_body(
    base_ts_ms: u64,
    readings: &[Reading<'_>],
    buf: &mut [u8],
) -> Result<usize, Error> {
    for reading in readings {
        reading.validate()?;
    }
    let too_small = Error::BufferTooSmall {
        needed: body_len(base_ts_ms, readings),
        got: buf.len(),
    };
    let mut at = postcard::to_slice(&base_ts_ms, buf)
        .map_err(|_| too_small)?
        .len();
    for reading in readings {
        let out = buf.get_mut(at..).ok_or(too_small)?;
        at += postcard::to_slice(reading, out)
            .map_err(|_| too_small)?
            .len();
    }
    Ok(at)
}
