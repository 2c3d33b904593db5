//! Kept rollups: the readings the ring evicts, folded into per-minute and per-hour buckets
//! that outlive them (`store.rollup_minute_days`, `store.rollup_hour_days`), the way RRDtool
//! and InfluxDB retention policies keep coarse history after raw data is gone.
//!
//! # Invariants
//!
//! - A reading is folded into every kept level exactly once: in the transaction that evicts
//!   it (ring bounds, age), so a crash leaves it either a reading or folded, never both or
//!   neither. While a reading is stored it is in no bucket. The exceptions are evictions for a
//!   failing disk: a RAM head over its cap because flushes fail, and eviction freeing a full
//!   disk in small steps, fold nothing (the readings are counted as ever), since writing
//!   buckets could need the space that is missing.
//! - A bucket holds a count, the sum (in exact millionths when every value folded was a
//!   whole number of millionths), min, max, and the last value with its `ts`. Evicted
//!   readings arrive roughly in insertion order, so `last` is the value with the highest `ts`,
//!   ties going to the one evicted later.
//! - `kept(device_id, metric_id, step, first_bucket, last_bucket, data)`: blocks of up to
//!   [`BLOCK_BUCKETS`] buckets of one series and step (`codec.rs`), bucket starts aligned to
//!   multiples of the step since the epoch as rollups are. A series' blocks of one step never
//!   overlap, so they read in `first_bucket` order.
//! - The kept tier takes at most a quarter of `max_bytes` ([`KEPT_SHARE`]): beyond it the
//!   oldest block of the finest level goes first, so hourly history outlives per-minute.
//!   Blocks whose last bucket is older than their level's retention go at `evict_expired`.
//!   Their bytes (`kept_bytes`, blobs plus a row's overhead) are counted in memory.
//! - Readings stamped before the epoch are left out, as rollups leave them out.

mod codec;
mod read;

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

pub(crate) use read::KeptReader;

use super::ledger::Counters;
use super::{Ctx, State, StoreError};

/// Most buckets per block: small enough that rewriting a series' newest block at every
/// eviction costs little flash, large enough that a row's overhead is under a byte a bucket.
pub const BLOCK_BUCKETS: usize = 64;

/// The kept tier's share of `max_bytes`, as a divisor.
pub const KEPT_SHARE: u64 = 4;

/// Bytes a block row costs beyond its blob (row header, ids, index entries), for the count.
const ROW_OVERHEAD: i64 = 40;

/// One kept level: buckets of `step_ms`, kept `keep_ms` after their end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptLevel {
    pub step_ms: i64,
    pub keep_ms: i64,
}

/// The aggregate of some readings of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Part {
    pub count: u64,
    /// The sum as folded in `f64`; [`Part::sum`] prefers the exact one.
    pub sum_raw: f64,
    /// The sum in millionths, while every value folded was a whole number of them.
    pub sum_e6: Option<i64>,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub last_ts: i64,
}

impl Part {
    pub(crate) fn point(ts: i64, value: f64) -> Part {
        Part {
            count: 1,
            sum_raw: value,
            sum_e6: codec::to_e6(value),
            min: value,
            max: value,
            last: value,
            last_ts: ts,
        }
    }

    pub(crate) fn sum(&self) -> f64 {
        self.sum_e6.map_or(self.sum_raw, codec::from_e6)
    }

    /// Adds `later`, folded after `self`.
    pub(crate) fn absorb(&mut self, later: &Part) {
        self.count += later.count;
        self.sum_raw = self.sum() + later.sum();
        self.sum_e6 = match (self.sum_e6, later.sum_e6) {
            (Some(a), Some(b)) => a.checked_add(b),
            _ => None,
        };
        if later.min < self.min {
            self.min = later.min;
        }
        if later.max > self.max {
            self.max = later.max;
        }
        if later.last_ts >= self.last_ts {
            self.last_ts = later.last_ts;
            self.last = later.last;
        }
    }
}

/// An evicted reading: `(device_id, metric_id, ts, value)`.
pub(crate) type Evicted = (i64, i64, i64, f64);

/// Folds `readings` (in eviction order) into every kept level, in the caller's transaction,
/// then keeps the tier inside its share of `max_bytes`.
pub(crate) fn fold(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    readings: impl IntoIterator<Item = Evicted>,
) -> Result<(), StoreError> {
    let levels = &st.opts.kept;
    if levels.is_empty() || st.fold_paused {
        return Ok(());
    }
    let mut parts: BTreeMap<(i64, i64, i64), BTreeMap<i64, Part>> = BTreeMap::new();
    for (device, metric, ts, value) in readings {
        if ts < 0 {
            continue;
        }
        for level in levels {
            let start = ts - ts % level.step_ms;
            let series = parts.entry((device, metric, level.step_ms)).or_default();
            let point = Part::point(ts, value);
            series
                .entry(start)
                .and_modify(|p| p.absorb(&point))
                .or_insert(point);
        }
    }
    for ((device, metric, step), buckets) in parts {
        let buckets: Vec<(i64, Part)> = buckets.into_iter().collect();
        merge_into(conn, c, (device, metric, step), &buckets)?;
    }
    keep_share(conn, st, c)
}

/// A stored block: its id, first bucket and decoded buckets.
struct Block {
    id: i64,
    first: i64,
    bytes: i64,
    buckets: Vec<(i64, Part)>,
}

/// Merges sorted `parts` of one series and step into its blocks.
fn merge_into(
    conn: &Connection,
    c: &mut Counters,
    (device, metric, step): (i64, i64, i64),
    parts: &[(i64, Part)],
) -> Result<(), StoreError> {
    let mut i = 0;
    while i < parts.len() {
        let target = block_for(conn, (device, metric, step), parts[i].0)?;
        let next_first: Option<i64> = match &target {
            Some(b) => conn
                .prepare_cached(
                    "SELECT min(first_bucket) FROM kept WHERE device_id = ?1 AND metric_id = ?2 \
                     AND step = ?3 AND first_bucket > ?4",
                )
                .and_then(|mut s| s.query_row(params![device, metric, step, b.first], |r| r.get(0)))
                .ctx("kept: next block")?,
            None => None,
        };
        let take = parts[i..]
            .iter()
            .take_while(|p| next_first.is_none_or(|n| p.0 < n))
            .count();
        let (row, old_bytes, mut buckets) = match target {
            Some(b) => (Some((b.id, b.first)), b.bytes, b.buckets),
            None => (None, 0, Vec::new()),
        };
        for (start, part) in &parts[i..i + take] {
            match buckets.binary_search_by_key(start, |b| b.0) {
                Ok(at) => buckets[at].1.absorb(part),
                Err(at) => buckets.insert(at, (*start, *part)),
            }
        }
        write_blocks(conn, c, (device, metric, step), row, old_bytes, &buckets)?;
        i += take;
    }
    Ok(())
}

/// The block a bucket starting at `start` goes into: the one with the greatest
/// `first_bucket <= start`, else the series' first block (which then starts earlier). Two
/// index lookups rather than one query ordering every block of the series.
fn block_for(
    conn: &Connection,
    (device, metric, step): (i64, i64, i64),
    start: i64,
) -> Result<Option<Block>, StoreError> {
    let read = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
    let mut row: Option<(i64, i64, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT id, first_bucket, data FROM kept WHERE device_id = ?1 AND metric_id = ?2 \
             AND step = ?3 AND first_bucket <= ?4 ORDER BY first_bucket DESC LIMIT 1",
        )
        .and_then(|mut s| {
            s.query_row(params![device, metric, step, start], read)
                .optional()
        })
        .ctx("kept: find block")?;
    if row.is_none() {
        row = conn
            .prepare_cached(
                "SELECT id, first_bucket, data FROM kept WHERE device_id = ?1 \
                 AND metric_id = ?2 AND step = ?3 ORDER BY first_bucket LIMIT 1",
            )
            .and_then(|mut s| s.query_row(params![device, metric, step], read).optional())
            .ctx("kept: find block")?;
    }
    row.map(|(id, first, data)| {
        Ok(Block {
            id,
            first,
            bytes: data.len() as i64 + ROW_OVERHEAD,
            buckets: decode(id, step, &data)?,
        })
    })
    .transpose()
}

pub(crate) fn decode(id: i64, step: i64, data: &[u8]) -> Result<Vec<(i64, Part)>, StoreError> {
    codec::decode(step, data).ok_or(StoreError::CorruptKept { id })
}

/// Writes `buckets` back as blocks of at most [`BLOCK_BUCKETS`]: the first into `row` (its id
/// and first bucket; or a new row), the rest as new rows.
fn write_blocks(
    conn: &Connection,
    c: &mut Counters,
    (device, metric, step): (i64, i64, i64),
    row: Option<(i64, i64)>,
    old_bytes: i64,
    buckets: &[(i64, Part)],
) -> Result<(), StoreError> {
    c.kept_bytes -= old_bytes;
    for (k, piece) in buckets.chunks(BLOCK_BUCKETS).enumerate() {
        let data = codec::encode(step, piece);
        let (first, last) = (piece[0].0, piece[piece.len() - 1].0);
        c.kept_bytes += data.len() as i64 + ROW_OVERHEAD;
        let written = match row.filter(|_| k == 0) {
            // The usual case, buckets appended to a series' newest block: its first bucket
            // stays, and so do both indexes' entries (fewer pages written per eviction).
            Some((id, old_first)) if old_first == first => conn
                .prepare_cached("UPDATE kept SET last_bucket = ?2, data = ?3 WHERE id = ?1")
                .and_then(|mut s| s.execute(params![id, last, data])),
            Some((id, _)) => conn
                .prepare_cached(
                    "UPDATE kept SET first_bucket = ?2, last_bucket = ?3, data = ?4 WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![id, first, last, data])),
            None => conn
                .prepare_cached(
                    "INSERT INTO kept (device_id, metric_id, step, first_bucket, last_bucket, \
                     data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| s.execute(params![device, metric, step, first, last, data])),
        };
        written.ctx("kept: write block")?;
    }
    Ok(())
}

/// Drops the oldest blocks of the finest level while the tier is over its share.
fn keep_share(conn: &Connection, st: &State, c: &mut Counters) -> Result<(), StoreError> {
    let share = (st.opts.max_bytes / KEPT_SHARE) as i64;
    let mut levels: Vec<i64> = st.opts.kept.iter().map(|l| l.step_ms).collect();
    levels.sort_unstable();
    for step in levels {
        while c.kept_bytes > share {
            let oldest: Option<(i64, i64)> = conn
                .prepare_cached(
                    "SELECT id, length(data) FROM kept INDEXED BY kept_age WHERE step = ?1 \
                     ORDER BY first_bucket LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row([step], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .ctx("kept: oldest block")?;
            let Some((id, len)) = oldest else { break };
            delete_block(conn, c, id, len)?;
        }
    }
    Ok(())
}

fn delete_block(conn: &Connection, c: &mut Counters, id: i64, len: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM kept WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("kept: delete block")?;
    c.kept_bytes -= len + ROW_OVERHEAD;
    Ok(())
}

/// Drops blocks whose last bucket ended more than their level's retention before `now_ms`,
/// and every block of a step that is no longer a level. Returns the blocks dropped.
pub(crate) fn expire(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let steps: Vec<i64> = conn
        .prepare_cached("SELECT DISTINCT step FROM kept INDEXED BY kept_age")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .ctx("kept: steps")?;
    let mut dropped = 0;
    for step in steps {
        let keep = st.opts.kept.iter().find(|l| l.step_ms == step);
        // A bucket ends at `last_bucket + step`; a step no longer kept expires whole.
        let cutoff = keep.map_or(i64::MAX, |l| {
            now_ms.saturating_sub(l.keep_ms).saturating_sub(step)
        });
        let old: Vec<(i64, i64)> = conn
            .prepare_cached(
                "SELECT id, length(data) FROM kept INDEXED BY kept_age WHERE step = ?1 \
                 AND first_bucket < ?2 AND last_bucket < ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![step, cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .ctx("kept: expired blocks")?;
        for (id, len) in old {
            delete_block(conn, c, id, len)?;
            dropped += 1;
        }
    }
    Ok(dropped)
}

/// The tier's bytes as [`Counters::kept_bytes`] counts them, read at open.
pub(crate) fn bytes(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        &format!("SELECT coalesce(sum(length(data) + {ROW_OVERHEAD}), 0) FROM kept"),
        [],
        |r| r.get(0),
    )
}
