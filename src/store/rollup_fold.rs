//! The rollup fold: one pass over a series' head rows and sealed chunks in the range, in
//! `(ts, seq)` order, one bucket open at a time.
//!
//! Invariants: head rows come from the `(device_id, metric_id, ts)` index in order, streamed;
//! chunks are taken in `ts_first` order and decoded only when the next point could be in
//! them, and their points merged into the pending ones (chunks may overlap through late
//! readings). So readings are folded in exactly the order a row store reads them, and a mean
//! is the same `f64` to the last bit. Memory is the decoded chunks not yet folded (about one
//! chunk), whatever the range; a page stops at its `limit`-th bucket without reading further.

use std::collections::VecDeque;

use rusqlite::params;

use super::kept::{KeptReader, Part};
use super::{Ctx, Store, StoreError};

/// What a bucket's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Mean,
    Min,
    Max,
    Count,
    Last,
}

impl Agg {
    /// The API's names: `mean`, `min`, `max`, `count`, `last`.
    pub fn parse(name: &str) -> Option<Agg> {
        Some(match name {
            "mean" => Agg::Mean,
            "min" => Agg::Min,
            "max" => Agg::Max,
            "count" => Agg::Count,
            "last" => Agg::Last,
            _ => return None,
        })
    }
}

/// The running aggregate of one bucket.
struct Bucket {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last_key: (i64, i64),
    last: f64,
}

impl Bucket {
    fn new(ts: i64, seq: i64, value: f64) -> Bucket {
        Bucket {
            count: 1,
            sum: value,
            min: value,
            max: value,
            last_key: (ts, seq),
            last: value,
        }
    }

    /// A kept bucket's aggregate. Its `last` ranks below a stored reading with the same `ts`,
    /// which was inserted later.
    fn kept(part: &Part) -> Bucket {
        Bucket {
            count: part.count,
            sum: part.sum(),
            min: part.min,
            max: part.max,
            last_key: (part.last_ts, i64::MIN),
            last: part.last,
        }
    }

    fn merge(&mut self, o: &Bucket) {
        self.count += o.count;
        self.sum += o.sum;
        // Comparisons, not f64::min/max: no NaN is ever stored, and they cost the build less.
        if o.min < self.min {
            self.min = o.min;
        }
        if o.max > self.max {
            self.max = o.max;
        }
        if o.last_key > self.last_key {
            self.last_key = o.last_key;
            self.last = o.last;
        }
    }

    fn value(&self, agg: Agg) -> f64 {
        match agg {
            Agg::Mean => self.sum / self.count as f64,
            Agg::Min => self.min,
            Agg::Max => self.max,
            Agg::Count => self.count as f64,
            Agg::Last => self.last,
        }
    }
}

/// What a fold covers: one series, `[lower, to)` (`to` `None`: no end), buckets of `step` ms.
pub(crate) struct FoldRange {
    pub device_id: i64,
    pub metric_id: i64,
    pub lower: i64,
    pub to: Option<i64>,
    pub step: i64,
    pub agg: Agg,
    pub limit: usize,
}

impl Store {
    /// Up to `r.limit` non-empty buckets of the series in `[r.lower, r.to)`, in time order;
    /// true when the page is full and more may follow.
    pub(crate) fn fold_rollup(&self, r: &FoldRange) -> Result<(Vec<(i64, f64)>, bool), StoreError> {
        // The last timestamp in range (`i64::MAX` itself is a valid one).
        let last = r.to.map_or(i64::MAX, |to| to.saturating_sub(1));
        let mut chunks: Vec<(i64, i64)> = if self.st.sealed > 0 {
            self.conn
                .prepare_cached(
                    "SELECT ts_first, id FROM chunks WHERE device_id = ?1 AND metric_id = ?2 \
                     AND ts_last >= ?3 AND ts_first <= ?4",
                )
                .and_then(|mut s| {
                    s.query_map(params![r.device_id, r.metric_id, r.lower, last], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })?
                    .collect()
                })
                .ctx("rollup: chunks")?
        } else {
            Vec::new()
        };
        chunks.sort_unstable();
        let mut chunks = chunks.into_iter().peekable();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT ts, seq, value FROM readings WHERE device_id = ?1 AND metric_id = ?2 \
                 AND ts >= ?3 AND ts <= ?4 ORDER BY ts, seq",
            )
            .ctx("rollup: prepare")?;
        let mut rows = stmt
            .query(params![r.device_id, r.metric_id, r.lower, last])
            .ctx("rollup: head")?;
        let mut next_row = || -> Result<Option<Point>, StoreError> {
            let Some(row) = rows.next().ctx("rollup: head")? else {
                return Ok(None);
            };
            let read = || Ok((row.get(0)?, row.get(1)?, row.get(2)?));
            read().ctx("rollup: head row").map(Some)
        };
        let mut head = next_row()?;
        let mut kept = KeptReader::open(
            &self.conn,
            &self.st.opts.kept,
            (r.device_id, r.metric_id),
            r.step,
            (r.lower, last),
        )?;
        // Decoded chunk points not folded yet, in `(ts, seq)` order.
        let mut pending: VecDeque<Point> = VecDeque::new();
        let mut fold = Fold {
            r,
            out: Vec::new(),
            open: None,
        };
        loop {
            // The smallest point at hand is the next in order only if no chunk left could
            // hold a smaller one: decode chunks until the next one starts after it.
            let smallest = match (head, pending.front()) {
                (Some(h), Some(p)) => Some(if (h.0, h.1) <= (p.0, p.1) { h } else { *p }),
                (h, p) => h.or(p.copied()),
            };
            let next_kept = match &mut kept {
                Some(k) => k.peek(&self.conn)?,
                None => None,
            };
            let earliest = match (smallest, next_kept) {
                (Some(s), Some(k)) => Some(s.0.min(k)),
                (s, k) => s.map(|s| s.0).or(k),
            };
            let next_chunk = chunks.peek().map(|c| c.0);
            if let Some(first) = next_chunk {
                if earliest.is_none_or(|t| first <= t) {
                    let Some((_, id)) = chunks.next() else { break };
                    merge(&mut pending, self.chunk_points(id, r.lower, last)?);
                    continue;
                }
            }
            // A kept bucket goes before the readings after its start; in the same rollup
            // bucket the order does not matter but to the last bit of a mean.
            if let Some(k) = next_kept.filter(|&k| smallest.is_none_or(|s| k <= s.0)) {
                let part = kept.as_mut().and_then(|r| r.next());
                if part.is_some_and(|(_, p)| fold.add_bucket(k, Bucket::kept(&p))) {
                    return Ok((fold.out, true));
                }
                continue;
            }
            let Some(point) = smallest else { break };
            if head == Some(point) {
                head = next_row()?;
                if fold.add(point) {
                    return Ok((fold.out, true));
                }
                continue;
            }
            // A run of pending points: every one before the next head row and the next chunk.
            while let Some(&p) = pending.front() {
                let after_head = head.is_some_and(|h| (p.0, p.1) > (h.0, h.1));
                let after_kept = next_kept.is_some_and(|k| k <= p.0);
                if after_head || after_kept || next_chunk.is_some_and(|c| p.0 >= c) {
                    break;
                }
                pending.pop_front();
                if fold.add(p) {
                    return Ok((fold.out, true));
                }
            }
        }
        Ok((fold.finish(), false))
    }

    /// The points of chunk `id` with `lower <= ts <= last`, in `(ts, seq)` order.
    fn chunk_points(&self, id: i64, lower: i64, last: i64) -> Result<Vec<Point>, StoreError> {
        let mut points: Vec<Point> = super::chunks::load(&self.conn, id)?
            .into_iter()
            .filter(|p| p.ts_ms >= lower && p.ts_ms <= last)
            .map(|p| (p.ts_ms, p.seq, p.value))
            .collect();
        if !points.is_sorted_by_key(|p| (p.0, p.1)) {
            points.sort_by_key(|p| (p.0, p.1));
        }
        Ok(points)
    }
}

/// `(ts, seq, value)`.
type Point = (i64, i64, f64);

/// Buckets folded so far and the open one.
struct Fold<'a> {
    r: &'a FoldRange,
    out: Vec<(i64, f64)>,
    open: Option<(i64, Bucket)>,
}

impl Fold<'_> {
    /// Adds the next point in order; true once a page's worth of buckets is closed and the
    /// point opened one more.
    fn add(&mut self, (ts, seq, value): Point) -> bool {
        self.add_bucket(ts, Bucket::new(ts, seq, value))
    }

    /// Adds `b`, the aggregate of readings at `ts` or later within `ts`'s bucket.
    fn add_bucket(&mut self, ts: i64, b: Bucket) -> bool {
        let start = ts - ts % self.r.step;
        match &mut self.open {
            Some((at, bucket)) if *at == start => bucket.merge(&b),
            _ => {
                if let Some((at, bucket)) = self.open.take() {
                    self.out.push((at, bucket.value(self.r.agg)));
                }
                if self.out.len() >= self.r.limit {
                    return true;
                }
                self.open = Some((start, b));
            }
        }
        false
    }

    fn finish(mut self) -> Vec<(i64, f64)> {
        if let Some((at, bucket)) = self.open.take() {
            self.out.push((at, bucket.value(self.r.agg)));
        }
        self.out
    }
}

/// Merges sorted `more` into sorted `pending`.
fn merge(pending: &mut VecDeque<Point>, more: Vec<Point>) {
    let key = |p: &Point| (p.0, p.1);
    let in_order = match (pending.back(), more.first()) {
        (Some(b), Some(f)) => key(b) <= key(f),
        _ => true,
    };
    pending.extend(more);
    if !in_order {
        pending.make_contiguous().sort_by_key(key);
    }
}
