//! The `data` column of a kept block: up to [`BLOCK_BUCKETS`](super::BLOCK_BUCKETS) buckets of
//! one series and step, in time order.
//!
//! Format (LEB128 varints, signed values zigzag-mapped):
//! - a version byte (1), a byte of flags saying which of the four value columns (sum, min,
//!   max, last; bits 0-3) are raw `f64`, and four bytes with each scaled column's exponent;
//! - the bucket count, then the first bucket's index (`start / step`);
//! - per bucket: the index delta from the previous bucket (>= 1, 0 for the first), the
//!   reading count (>= 1), the delta of `last_ts - start` from the previous bucket's, then
//!   the four columns.
//!
//! A column is scaled when every value in the block is a whole number of millionths that
//! round-trips bit for bit (`-0.0` and `1/3` do not): it is then stored as the delta of
//! `millionths / 10^exponent` from the previous bucket's, with the largest exponent (<= 6)
//! that divides every value. Sensor readings are short decimals, so a column of a slowly
//! changing series costs about a byte per bucket. Otherwise the column is 8 bytes of `f64`
//! per bucket, so every value round-trips whatever it is.

use super::Part;
use crate::store::chunks::{read_varint, unzigzag, varint, zigzag};

const VERSION: u8 = 1;
const COLUMNS: usize = 4;
const MAX_EXPONENT: u32 = 6;

/// The four value columns of a bucket, as millionths when they are exact.
fn columns(p: &Part) -> [(f64, Option<i64>); COLUMNS] {
    [
        (p.sum(), p.sum_e6),
        (p.min, to_e6(p.min)),
        (p.max, to_e6(p.max)),
        (p.last, to_e6(p.last)),
    ]
}

/// `v` in millionths when that is exact: the decoded `f64` has the same bits.
pub(crate) fn to_e6(v: f64) -> Option<i64> {
    let scaled = (v * 1e6).round();
    // Also refuses NaN and infinities, which a store never holds.
    if scaled.is_nan() || scaled.abs() >= 9.0e15 {
        return None;
    }
    let i = scaled as i64;
    (from_e6(i).to_bits() == v.to_bits()).then_some(i)
}

pub(crate) fn from_e6(i: i64) -> f64 {
    i as f64 / 1e6
}

/// Encodes `buckets` (sorted by start, each start a multiple of `step`, at least one).
pub(crate) fn encode(step: i64, buckets: &[(i64, Part)]) -> Vec<u8> {
    let cols: Vec<[(f64, Option<i64>); COLUMNS]> =
        buckets.iter().map(|(_, p)| columns(p)).collect();
    let mut flags = 0u8;
    let mut exps = [0u32; COLUMNS];
    for c in 0..COLUMNS {
        if cols.iter().any(|b| b[c].1.is_none()) {
            flags |= 1 << c;
            continue;
        }
        exps[c] = (0..=MAX_EXPONENT)
            .rev()
            .find(|&e| cols.iter().all(|b| b[c].1.unwrap_or(1) % 10i64.pow(e) == 0))
            .unwrap_or(0);
    }
    let mut out = Vec::with_capacity(8 + buckets.len() * 8);
    out.push(VERSION);
    out.push(flags);
    out.extend(exps.iter().map(|&e| e as u8));
    varint(&mut out, buckets.len() as u64);
    let (mut prev_index, mut prev_off) = (0i64, 0i64);
    let mut prev = [0i64; COLUMNS];
    for (i, ((start, part), col)) in buckets.iter().zip(&cols).enumerate() {
        let index = start / step;
        if i == 0 {
            varint(&mut out, zigzag(index));
        } else {
            varint(&mut out, (index - prev_index) as u64);
        }
        prev_index = index;
        varint(&mut out, part.count);
        let off = part.last_ts - start;
        varint(&mut out, zigzag(off.wrapping_sub(prev_off)));
        prev_off = off;
        for c in 0..COLUMNS {
            match col[c].1 {
                Some(e6) if flags & (1 << c) == 0 => {
                    let v = e6 / 10i64.pow(exps[c]);
                    varint(&mut out, zigzag(v.wrapping_sub(prev[c])));
                    prev[c] = v;
                }
                _ => out.extend_from_slice(&col[c].0.to_le_bytes()),
            }
        }
    }
    out
}

/// Decodes what [`encode`] wrote for `step`; `None` for anything it could not have written.
pub(crate) fn decode(step: i64, bytes: &[u8]) -> Option<Vec<(i64, Part)>> {
    let (&version, rest) = bytes.split_first()?;
    let (&flags, rest) = rest.split_first()?;
    if version != VERSION || flags >> COLUMNS != 0 || rest.len() < COLUMNS {
        return None;
    }
    let exps: Vec<u32> = rest[..COLUMNS].iter().map(|&e| u32::from(e)).collect();
    if exps.iter().any(|&e| e > MAX_EXPONENT) {
        return None;
    }
    let body = &rest[COLUMNS..];
    let mut pos = 0;
    let n = read_varint(body, &mut pos)?;
    // Every bucket takes at least seven bytes: a count beyond the input is corrupt.
    if n == 0 || n > body.len() as u64 {
        return None;
    }
    let mut out: Vec<(i64, Part)> = Vec::with_capacity(n as usize);
    let (mut index, mut off) = (0i64, 0i64);
    let mut prev = [0i64; COLUMNS];
    for i in 0..n {
        let raw_index = read_varint(body, &mut pos)?;
        index = if i == 0 {
            unzigzag(raw_index)
        } else {
            let delta = i64::try_from(raw_index).ok().filter(|&d| d >= 1)?;
            index.checked_add(delta)?
        };
        let start = index.checked_mul(step).filter(|&s| s >= 0)?;
        let count = read_varint(body, &mut pos)?;
        off = off.wrapping_add(unzigzag(read_varint(body, &mut pos)?));
        if count == 0 || !(0..step).contains(&off) {
            return None;
        }
        let mut vals = [(0f64, None); COLUMNS];
        for c in 0..COLUMNS {
            vals[c] = if flags & (1 << c) == 0 {
                prev[c] = prev[c].wrapping_add(unzigzag(read_varint(body, &mut pos)?));
                let e6 = prev[c].checked_mul(10i64.pow(exps[c]))?;
                (from_e6(e6), Some(e6))
            } else {
                let b = body.get(pos..pos + 8)?;
                pos += 8;
                (f64::from_le_bytes(b.try_into().ok()?), None)
            };
        }
        let part = Part {
            count,
            sum_raw: vals[0].0,
            sum_e6: vals[0].1,
            min: vals[1].0,
            max: vals[2].0,
            last: vals[3].0,
            last_ts: start + off,
        };
        out.push((start, part));
    }
    (pos == body.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000;

    fn hourly_temperature(n: i64) -> Vec<(i64, Part)> {
        (0..n)
            .map(|h| {
                let start = 1_700_000_000_000 / HOUR * HOUR + h * HOUR;
                let mut part = Part::point(start + 12_345, 20.0 + (h % 7) as f64 / 10.0);
                for m in 1..60 {
                    let v = 20.0 + ((h + m) % 9) as f64 / 10.0;
                    part.absorb(&Part::point(start + m * 60_000 + (m * 37) % 800, v));
                }
                (start, part)
            })
            .collect()
    }

    /// `a` decoded from `b`.
    fn same(a: &[(i64, Part)], b: &[(i64, Part)]) {
        assert_eq!(a.len(), b.len());
        for ((sa, pa), (sb, pb)) in a.iter().zip(b) {
            assert_eq!(sa, sb);
            assert_eq!(pa.count, pb.count);
            assert_eq!(pa.sum().to_bits(), pb.sum().to_bits());
            // An exact sum may come back as its `f64` (a block with one inexact sum stores
            // the column raw), never as another exact sum.
            assert!(
                pa.sum_e6.is_none() || pa.sum_e6 == pb.sum_e6,
                "{pa:?} {pb:?}"
            );
            assert_eq!(pa.min.to_bits(), pb.min.to_bits());
            assert_eq!(pa.max.to_bits(), pb.max.to_bits());
            assert_eq!(pa.last.to_bits(), pb.last.to_bits());
            assert_eq!(pa.last_ts, pb.last_ts);
        }
    }

    #[test]
    fn hourly_decimal_buckets_cost_a_few_bytes_each() {
        let buckets = hourly_temperature(64);
        let bytes = encode(HOUR, &buckets);
        assert!(
            bytes.len() <= 64 * 10,
            "{} bytes for 64 buckets",
            bytes.len()
        );
        same(&decode(HOUR, &bytes).unwrap(), &buckets);
    }

    #[test]
    fn values_that_are_not_short_decimals_round_trip_bit_for_bit() {
        let mut buckets = hourly_temperature(3);
        let (one, two) = (buckets[1].0, buckets[2].0);
        buckets[1].1.absorb(&Part::point(one + 5, 1.0 / 3.0));
        buckets[2].1.absorb(&Part::point(two + 9, -0.0));
        buckets[2].1.absorb(&Part::point(two + 9, 1e300));
        let bytes = encode(HOUR, &buckets);
        same(&decode(HOUR, &bytes).unwrap(), &buckets);
    }

    #[test]
    fn truncated_padded_and_inconsistent_blocks_are_refused() {
        let bytes = encode(HOUR, &hourly_temperature(4));
        for cut in 0..bytes.len() {
            assert!(decode(HOUR, &bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(decode(HOUR, &padded).is_none());
        let mut bad_version = bytes.clone();
        bad_version[0] = 9;
        assert!(decode(HOUR, &bad_version).is_none());
        assert!(
            decode(60_000, &bytes).is_none(),
            "an offset beyond a shorter step"
        );
    }

    proptest! {
        #[test]
        fn every_block_round_trips(
            step in 1i64..10_000_000,
            raw in proptest::collection::vec(
                (1i64..5, 1u64..1000, any::<f64>(), -1_000_000i64..1_000_000, 0u8..3), 1..80),
        ) {
            let mut buckets = Vec::new();
            let mut index = 0i64;
            for (gap, count, x, d, kind) in raw {
                index += gap;
                let start = index * step;
                let value = match kind {
                    0 => d as f64 / 10.0,
                    1 => d as f64,
                    _ if x.is_nan() => 0.5,
                    _ => x,
                };
                let mut part = Part::point(start + (d.rem_euclid(step)), value);
                part.count = count;
                buckets.push((start, part));
            }
            let bytes = encode(step, &buckets);
            let back = decode(step, &bytes);
            prop_assert!(back.is_some());
            same(&back.unwrap(), &buckets);
        }
    }
}
