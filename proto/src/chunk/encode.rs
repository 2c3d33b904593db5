//! The encoder: measures the candidate layouts of a chunk, then writes the smallest.
//!
//! Invariants: one function, [`write`], defines the byte layout; measuring is the same function
//! run on an empty buffer, so a measured size is the written size. Nothing is written past the
//! returned length; on an error the buffer's content is unspecified. Points are validated (no
//! NaN, a count that fits the header) before anything is written.

use super::wire::{zigzag, Writer};
use super::{pow10, scaled, ChunkError, Point, MAX_SCALE, SCALE_MASK, TS_DELTA, VALUE_DOD};

/// Encodes `points` into `out` and returns the chunk's length.
///
/// A NaN value is [`ChunkError::NanValue`]; a buffer shorter than the chunk is
/// [`ChunkError::BufferTooSmall`] with the exact length needed (a buffer of
/// [`super::max_encoded_len`] always fits).
pub fn encode(points: &[Point], out: &mut [u8]) -> Result<usize, ChunkError> {
    let flags = choose_flags(points)?;
    let got = out.len();
    let mut w = Writer::new(out);
    write(points, flags, &mut w);
    match w.len() {
        needed if needed > got => Err(ChunkError::BufferTooSmall { needed, got }),
        len => Ok(len),
    }
}

/// The exact length [`encode`] gives `points`, without writing anything.
pub fn encoded_len(points: &[Point]) -> Result<usize, ChunkError> {
    let flags = choose_flags(points)?;
    let mut w = Writer::new(&mut []);
    write(points, flags, &mut w);
    Ok(w.len())
}

/// Encodes the longest prefix of `points` whose chunk fits in `out`, for a caller that seals
/// at a byte budget; returns the number of points encoded and the chunk's length.
///
/// [`ChunkError::BufferTooSmall`] only if not even an empty chunk fits; a NaN in `points` is
/// refused even beyond the prefix.
pub fn encode_prefix(points: &[Point], out: &mut [u8]) -> Result<(usize, usize), ChunkError> {
    match encode(points, out) {
        Ok(len) => return Ok((points.len(), len)),
        Err(ChunkError::BufferTooSmall { .. }) => {}
        Err(e) => return Err(e),
    }
    // The length grows with the prefix: binary search for the longest that fits.
    let (mut fits, mut too_long) = (0, points.len());
    while too_long - fits > 1 {
        let mid = fits + (too_long - fits) / 2;
        if encoded_len(&points[..mid])? <= out.len() {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    Ok((fits, encode(&points[..fits], out)?))
}

/// Checks `points` and picks the scale and modes that give the shortest chunk.
fn choose_flags(points: &[Point]) -> Result<u8, ChunkError> {
    if u32::try_from(points.len()).is_err() {
        return Err(ChunkError::TooManyPoints(points.len()));
    }
    // The scales the values need: a scale no value needs is never better than the next
    // smaller one that some value needs (the same values fit, with larger integers).
    let mut scales = 0u16;
    for (index, point) in points.iter().enumerate() {
        if point.value.is_nan() {
            return Err(ChunkError::NanValue { index });
        }
        let mut p = 1.0;
        for k in 0..=MAX_SCALE {
            if scaled(point.value, p).is_some() {
                scales |= 1 << k;
                break;
            }
            p *= 10.0;
        }
    }
    let cost = |flags| {
        let mut w = Writer::new(&mut []);
        write(points, flags, &mut w);
        w.len()
    };
    // A time token's length does not depend on the values: pick the time mode once. With no
    // decimal value at all the scale does not matter; 0 it is.
    let k0 = if scales == 0 {
        0
    } else {
        scales.trailing_zeros() as u8
    };
    let time_mode = if cost(k0 | TS_DELTA) < cost(k0) {
        TS_DELTA
    } else {
        0
    };
    let mut best = (usize::MAX, k0 | time_mode);
    for k in (0..=MAX_SCALE).filter(|k| scales & 1 << k != 0) {
        for value_mode in [0, VALUE_DOD] {
            let flags = k | value_mode | time_mode;
            let len = cost(flags);
            if len < best.0 {
                best = (len, flags);
            }
        }
    }
    Ok(best.1)
}

/// Writes the chunk of `points` with `flags` (see the format table of the module).
fn write(points: &[Point], flags: u8, w: &mut Writer<'_>) {
    let p = pow10(flags & SCALE_MASK);
    w.byte(super::VERSION);
    w.byte(flags);
    w.varint(points.len() as u64);

    let (mut prev_ts, mut prev_delta) = (0i64, 0i64);
    let (mut prev_bits, mut prev_scaled, mut prev_step) = (0u64, 0i64, 0i64);
    for (index, point) in points.iter().enumerate() {
        let time = if index == 0 {
            point.ts_ms
        } else {
            let delta = point.ts_ms.wrapping_sub(prev_ts);
            let dod = delta.wrapping_sub(prev_delta);
            prev_delta = delta;
            if flags & TS_DELTA != 0 {
                delta
            } else {
                dod
            }
        };
        prev_ts = point.ts_ms;

        let bits = point.value.to_bits();
        let same = bits == prev_bits;
        w.flagged(same, zigzag(time));
        if same {
            continue;
        }
        match scaled(point.value, p) {
            Some(i) => {
                // |i| <= 2^53, so neither difference can overflow, nor the token.
                let step = i - prev_scaled;
                let d = if flags & VALUE_DOD != 0 {
                    step - prev_step
                } else {
                    step
                };
                w.varint(zigzag(d) + 1);
                prev_scaled = i;
                prev_step = step;
            }
            None => {
                let xor = bits ^ prev_bits; // not 0: the value differs
                let lead = xor.leading_zeros() / 8;
                let trail = xor.trailing_zeros() / 8;
                let len = 8 - lead - trail;
                w.byte(0);
                w.byte((lead << 4 | len) as u8);
                for i in (0..len).rev() {
                    w.byte((xor >> (8 * (trail + i))) as u8);
                }
            }
        }
        prev_bits = bits;
    }
}
