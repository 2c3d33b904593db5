//! The decoder: a lazy iterator over the points of a chunk, borrowing its bytes.
//!
//! Invariants: the header is checked before any point is read; each point consumes at least
//! one byte, so iteration ends within the input's length; arithmetic on untrusted numbers is
//! wrapping (timestamps, as the encoder) or checked (scaled integers, which must stay within
//! `2^53`); no yielded value is NaN; after the first error the iterator only returns `None`.

use core::iter::FusedIterator;

use super::wire::{unzigzag, Reader};
use super::{pow10, ChunkError, Point, MAX_SCALE, MAX_SCALED, SCALE_MASK, TS_DELTA, VALUE_DOD};

/// Checks the header of `bytes` and returns an iterator over its points.
pub fn decode(bytes: &[u8]) -> Result<ChunkIter<'_>, ChunkError> {
    let mut reader = Reader::new(bytes);
    let version = reader.byte()?;
    if version != super::VERSION {
        return Err(ChunkError::UnsupportedVersion(version));
    }
    let flags = reader.byte()?;
    if flags & !(SCALE_MASK | VALUE_DOD | TS_DELTA) != 0 || flags & SCALE_MASK > MAX_SCALE {
        return Err(ChunkError::UnknownFlags(flags));
    }
    let count_at = reader.pos();
    let count = u32::try_from(reader.varint()?).map_err(|_| ChunkError::Malformed {
        offset: count_at,
        reason: "point count exceeds u32",
    })?;
    Ok(ChunkIter {
        reader,
        flags,
        scale: pow10(flags & SCALE_MASK),
        count,
        index: 0,
        failed: false,
        prev_ts: 0,
        prev_delta: 0,
        prev_bits: 0,
        prev_scaled: 0,
        prev_step: 0,
    })
}

/// The points of a chunk, in the order they were encoded. Yields `Err` at most once, then
/// ends; bytes after the last point are an `Err` after the last point.
#[derive(Debug, Clone)]
pub struct ChunkIter<'a> {
    reader: Reader<'a>,
    flags: u8,
    scale: f64,
    count: u32,
    index: u32,
    failed: bool,
    prev_ts: i64,
    prev_delta: i64,
    prev_bits: u64,
    prev_scaled: i64,
    prev_step: i64,
}

impl ChunkIter<'_> {
    /// The number of points the header declares.
    pub fn point_count(&self) -> u32 {
        self.count
    }

    fn point(&mut self) -> Result<Point, ChunkError> {
        let (same, token) = self.reader.flagged()?;
        let time = unzigzag(token);
        let ts_ms = if self.index == 0 {
            time
        } else {
            let delta = if self.flags & TS_DELTA != 0 {
                time
            } else {
                self.prev_delta.wrapping_add(time)
            };
            self.prev_delta = delta;
            self.prev_ts.wrapping_add(delta)
        };
        self.prev_ts = ts_ms;
        if !same {
            self.prev_bits = self.value()?.to_bits();
        }
        Ok(Point {
            ts_ms,
            value: f64::from_bits(self.prev_bits),
        })
    }

    fn value(&mut self) -> Result<f64, ChunkError> {
        let at = self.reader.pos();
        let malformed = |reason| ChunkError::Malformed { offset: at, reason };
        let token = self.reader.varint()?;
        if token == 0 {
            let descriptor = self.reader.byte()?;
            let (lead, len) = (u32::from(descriptor >> 4), u32::from(descriptor & 0x0f));
            if len == 0 || lead + len > 8 {
                return Err(malformed("bad escape descriptor"));
            }
            let mut xor = 0u64;
            for _ in 0..len {
                xor = xor << 8 | u64::from(self.reader.byte()?);
            }
            let value = f64::from_bits(self.prev_bits ^ xor << (8 * (8 - lead - len)));
            return if value.is_nan() {
                Err(malformed("escaped value is NaN"))
            } else {
                Ok(value)
            };
        }
        let d = unzigzag(token - 1);
        let step = if self.flags & VALUE_DOD != 0 {
            self.prev_step.checked_add(d)
        } else {
            Some(d)
        };
        let scaled = step
            .and_then(|step| self.prev_scaled.checked_add(step).map(|i| (step, i)))
            .filter(|&(_, i)| (-MAX_SCALED..=MAX_SCALED).contains(&i));
        let Some((step, i)) = scaled else {
            return Err(malformed("scaled value beyond 2^53"));
        };
        self.prev_step = step;
        self.prev_scaled = i;
        Ok(i as f64 / self.scale)
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = Result<Point, ChunkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = if self.index < self.count {
            self.point()
        } else if self.reader.at_end() {
            return None;
        } else {
            let used = self.reader.pos();
            Err(ChunkError::TrailingBytes {
                used,
                len: used + self.reader.remaining(),
            })
        };
        self.index = self.index.saturating_add(1);
        self.failed = item.is_err();
        Some(item)
    }
}

impl FusedIterator for ChunkIter<'_> {}
