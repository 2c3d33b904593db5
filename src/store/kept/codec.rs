//! The `data` column of a kept block: up to [`BLOCK_BUCKETS`](super::BLOCK_BUCKETS) buckets of
//! one series and step, in time order, stored column by column.
//!
//! Format:
//! - a version byte (2); a byte of flags: bit 0 when the sums are raw `f64`, bit 1 when min,
//!   max and last are; the exponent of the scaled sums and of the scaled min/max/last;
//! - the bucket count and the first bucket's index (`start / step`, zigzag), as LEB128 varints;
//! - integer columns, each one byte of bit width `w` (0-64) and then its values packed in `w`
//!   bits each, low bits first, padded to a byte: the index gaps minus one (one value fewer
//!   than buckets), the counts' deltas, the deltas of `last_ts - start`, and when scaled, the
//!   sums' deltas, the mins' deltas, `max - min` and `last - min`; signed values zigzag-mapped;
//! - the raw columns, 8 bytes of `f64` per bucket each.
//!
//! A value group is scaled when every value in the block is a whole number of millionths that
//! round-trips bit for bit (`-0.0` and `1/3` do not): it is stored in units of `10^exponent`
//! millionths, the largest power (<= 6) that divides every value. Sensor readings are short
//! decimals and a bucket's count, last timestamp and values change little from one to the
//! next, so the columns are a few bits wide: regular hourly buckets cost 5-8 bytes. Otherwise
//! the group is raw, so every value round-trips whatever it is.

use super::Part;
use crate::store::chunks::{read_varint, unzigzag, varint, zigzag};

const VERSION: u8 = 2;
const MAX_EXPONENT: u32 = 6;
const RAW_SUM: u8 = 1;
const RAW_RANGE: u8 = 2;

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

/// The largest exponent (<= 6) whose power of ten divides every value.
fn exponent(values: &[i64]) -> u32 {
    (0..=MAX_EXPONENT)
        .rev()
        .find(|&e| values.iter().all(|v| v % 10i64.pow(e) == 0))
        .unwrap_or(0)
}

/// Values in units of `10^e`, as zigzag deltas from the previous one (the first from 0).
fn deltas(values: &[i64], e: u32) -> Vec<u64> {
    let mut prev = 0i64;
    values
        .iter()
        .map(|&v| {
            let v = v / 10i64.pow(e);
            let d = zigzag(v.wrapping_sub(prev));
            prev = v;
            d
        })
        .collect()
}

/// The min/max/last group as millionths `(min, max - min, last - min)`, when all are exact
/// and ordered.
fn range_group(p: &Part) -> Option<(i64, i64, i64)> {
    let (min, max, last) = (to_e6(p.min)?, to_e6(p.max)?, to_e6(p.last)?);
    let (range, over) = (max.checked_sub(min)?, last.checked_sub(min)?);
    (range >= 0 && over >= 0).then_some((min, range, over))
}

/// Encodes `buckets` (sorted by start, each start a multiple of `step`, at least one).
pub(crate) fn encode(step: i64, buckets: &[(i64, Part)]) -> Vec<u8> {
    let sums: Option<Vec<i64>> = buckets.iter().map(|(_, p)| p.sum_e6).collect();
    let ranges: Option<Vec<(i64, i64, i64)>> =
        buckets.iter().map(|(_, p)| range_group(p)).collect();
    let flags =
        if sums.is_some() { 0 } else { RAW_SUM } | if ranges.is_some() { 0 } else { RAW_RANGE };
    let sum_exp = sums.as_deref().map_or(0, exponent);
    let range_exp = ranges.as_deref().map_or(0, |r| {
        let all: Vec<i64> = r.iter().flat_map(|&(a, b, c)| [a, b, c]).collect();
        exponent(&all)
    });
    let mut out = Vec::with_capacity(16 + buckets.len() * 8);
    out.extend([VERSION, flags, sum_exp as u8, range_exp as u8]);
    varint(&mut out, buckets.len() as u64);
    varint(&mut out, zigzag(buckets[0].0 / step));
    let gaps: Vec<u64> = buckets
        .windows(2)
        .map(|w| ((w[1].0 - w[0].0) / step - 1) as u64)
        .collect();
    pack(&mut out, &gaps);
    let counts: Vec<i64> = buckets.iter().map(|(_, p)| p.count as i64).collect();
    pack(&mut out, &deltas(&counts, 0));
    let offsets: Vec<i64> = buckets.iter().map(|(s, p)| p.last_ts - s).collect();
    pack(&mut out, &deltas(&offsets, 0));
    if let Some(sums) = &sums {
        pack(&mut out, &deltas(sums, sum_exp));
    }
    if let Some(ranges) = &ranges {
        let mins: Vec<i64> = ranges.iter().map(|r| r.0).collect();
        pack(&mut out, &deltas(&mins, range_exp));
        let unit = 10i64.pow(range_exp);
        let widths: Vec<u64> = ranges.iter().map(|r| (r.1 / unit) as u64).collect();
        pack(&mut out, &widths);
        let overs: Vec<u64> = ranges.iter().map(|r| (r.2 / unit) as u64).collect();
        pack(&mut out, &overs);
    }
    for (_, p) in buckets {
        if sums.is_none() {
            out.extend_from_slice(&p.sum().to_le_bytes());
        }
        if ranges.is_none() {
            for v in [p.min, p.max, p.last] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

/// Appends one integer column: its bit width, then the values packed low bits first.
fn pack(out: &mut Vec<u8>, values: &[u64]) {
    let width = values
        .iter()
        .map(|v| 64 - v.leading_zeros())
        .max()
        .unwrap_or(0);
    out.push(width as u8);
    let (mut acc, mut bits) = (0u128, 0u32);
    for &v in values {
        acc |= u128::from(v) << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
}

/// Reads one column of `n` values that [`pack`] wrote at `pos`.
fn unpack(bytes: &[u8], pos: &mut usize, n: usize) -> Option<Vec<u64>> {
    let width = u32::from(*bytes.get(*pos)?);
    *pos += 1;
    if width > 64 {
        return None;
    }
    let len = (n * width as usize).div_ceil(8);
    let body = bytes.get(*pos..*pos + len)?;
    *pos += len;
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let (mut acc, mut bits, mut next) = (0u128, 0u32, body.iter());
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        while bits < width {
            acc |= u128::from(*next.next()?) << bits;
            bits += 8;
        }
        out.push(acc as u64 & mask);
        acc >>= width;
        bits -= width;
    }
    // Padding bits are zero in what `pack` writes.
    (acc == 0).then_some(out)
}

/// Undoes [`deltas`]: values in millionths.
fn undelta(zigzags: &[u64], e: u32) -> Option<Vec<i64>> {
    let mut prev = 0i64;
    zigzags
        .iter()
        .map(|&z| {
            prev = prev.wrapping_add(unzigzag(z));
            prev.checked_mul(10i64.pow(e))
        })
        .collect()
}

fn raw(bytes: &[u8], pos: &mut usize) -> Option<f64> {
    let b = bytes.get(*pos..*pos + 8)?;
    *pos += 8;
    Some(f64::from_le_bytes(b.try_into().ok()?))
}

/// Decodes what [`encode`] wrote for `step`; `None` for anything it could not have written.
pub(crate) fn decode(step: i64, bytes: &[u8]) -> Option<Vec<(i64, Part)>> {
    let [version, flags, sum_exp, range_exp, ..] = *bytes else {
        return None;
    };
    let (sum_exp, range_exp) = (u32::from(sum_exp), u32::from(range_exp));
    if version != VERSION || flags > 3 || sum_exp > MAX_EXPONENT || range_exp > MAX_EXPONENT {
        return None;
    }
    let mut pos = 4;
    let n = read_varint(bytes, &mut pos)?;
    // Every bucket takes at least one bit of some column... or none: bound by a block's size.
    if n == 0 || n > super::BLOCK_BUCKETS as u64 {
        return None;
    }
    let n = n as usize;
    let first = unzigzag(read_varint(bytes, &mut pos)?);
    let gaps = unpack(bytes, &mut pos, n - 1)?;
    let counts = undelta(&unpack(bytes, &mut pos, n)?, 0)?;
    let offsets = undelta(&unpack(bytes, &mut pos, n)?, 0)?;
    let sums = match flags & RAW_SUM {
        0 => Some(undelta(&unpack(bytes, &mut pos, n)?, sum_exp)?),
        _ => None,
    };
    let ranges = match flags & RAW_RANGE {
        0 => {
            let mins = undelta(&unpack(bytes, &mut pos, n)?, range_exp)?;
            let unit = 10i64.pow(range_exp);
            let scale = |v: u64| i64::try_from(v).ok()?.checked_mul(unit);
            let widths = unpack(bytes, &mut pos, n)?;
            let overs = unpack(bytes, &mut pos, n)?;
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let max = mins[i].checked_add(scale(widths[i])?)?;
                let last = mins[i].checked_add(scale(overs[i])?)?;
                out.push((mins[i], max, last));
            }
            Some(out)
        }
        _ => None,
    };
    let mut out: Vec<(i64, Part)> = Vec::with_capacity(n);
    let mut index = first;
    for i in 0..n {
        if i > 0 {
            let gap = i64::try_from(gaps[i - 1]).ok()?.checked_add(1)?;
            index = index.checked_add(gap)?;
        }
        let start = index.checked_mul(step).filter(|&s| s >= 0)?;
        let count = u64::try_from(counts[i]).ok().filter(|&c| c >= 1)?;
        let off = offsets[i];
        if !(0..step).contains(&off) {
            return None;
        }
        let (sum_raw, sum_e6) = match &sums {
            Some(s) => (from_e6(s[i]), Some(s[i])),
            None => (raw(bytes, &mut pos)?, None),
        };
        let (min, max, last) = match &ranges {
            Some(r) => (from_e6(r[i].0), from_e6(r[i].1), from_e6(r[i].2)),
            None => (
                raw(bytes, &mut pos)?,
                raw(bytes, &mut pos)?,
                raw(bytes, &mut pos)?,
            ),
        };
        let part = Part {
            count,
            sum_raw,
            sum_e6,
            min,
            max,
            last,
            last_ts: start + off,
        };
        out.push((start, part));
    }
    (pos == bytes.len()).then_some(out)
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
                (1i64..5, 1u64..1000, any::<f64>(), -1_000_000i64..1_000_000, 0u8..3),
                1..=crate::store::kept::BLOCK_BUCKETS),
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
