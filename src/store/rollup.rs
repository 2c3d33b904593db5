//! Rollups: one aggregate (mean, min, max, count, last) per time bucket of one series.
//!
//! - Buckets are aligned to multiples of the step since the epoch (floor division, also for
//!   negative `ts`), so different `from` values and different pages agree on the boundaries.
//!   A bucket's point carries the bucket's start as `ts`; only readings inside `[from, to)`
//!   count, so a bucket cut by `from` or `to` aggregates its part inside the range.
//! - Empty buckets are skipped: a page holds up to `limit` non-empty buckets in time order.
//! - `last` is the value of the reading with the highest `(ts, seq)` in the bucket.
//! - The rows are read in `(ts, seq)` order straight off the `(device_id, metric_id, ts)`
//!   index and folded here, one bucket at a time: no sorter, memory bounded by the page, and
//!   the scan stops at the first row of the bucket after the page, so a page costs its own
//!   rows. (`GROUP BY ts / step` in SQL would sort every row of the range in a temporary
//!   B-tree, since SQLite cannot see that the expression follows the index order.)
//! - A [`RollupCursor`] is the step and the index of the page's last bucket; the next page
//!   starts at the following bucket. Its text form starts with `r`, so it is never mistaken
//!   for a raw reading cursor, and a rollup of another step refuses it.

use std::sync::Arc;

use super::{Ctx, Store, StoreError, StoredReading};

/// One series' readings in `[from, to)`, in the index's own order.
const ROLLUP_SQL: &str = "SELECT ts, value FROM readings WHERE device_id = ?1 AND metric_id = ?2 \
                          AND ts >= ?3 AND ts < ?4 ORDER BY ts, seq";

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

/// Where a rollup page ends: the bucket `index` (bucket start = `index * step_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupCursor {
    pub step_ms: i64,
    pub index: i64,
}

impl RollupCursor {
    /// `r{step_ms}_{index}`: URL-safe, and never a raw cursor (those start with a digit).
    pub fn encode(&self) -> String {
        format!("r{}_{}", self.step_ms, self.index)
    }

    /// `None` for anything [`RollupCursor::encode`] could not have produced: canonical
    /// decimals (no `+`, no leading zeros, no `-0`), a step >= 1.
    pub fn decode(s: &str) -> Option<RollupCursor> {
        let (step, index) = s.strip_prefix('r')?.split_once('_')?;
        let number = |p: &str| -> Option<i64> {
            let n: i64 = p.parse().ok()?;
            (n.to_string() == p).then_some(n)
        };
        let cursor = RollupCursor {
            step_ms: number(step)?,
            index: number(index)?,
        };
        (cursor.step_ms >= 1).then_some(cursor)
    }
}

/// One series' rollup. `step_ms` >= 1; `limit` counts buckets and is capped by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupQuery {
    pub device: String,
    pub metric: String,
    /// Inclusive.
    pub from_ms: Option<i64>,
    /// Exclusive.
    pub to_ms: Option<i64>,
    pub step_ms: i64,
    pub agg: Agg,
    pub limit: usize,
    /// Only buckets after this one; its step must equal `step_ms` (the caller checks).
    pub after: Option<RollupCursor>,
}

/// One page of buckets; `next_cursor` is `Some` only when another non-empty bucket follows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupPage {
    pub items: Vec<StoredReading>,
    pub next_cursor: Option<RollupCursor>,
}

/// The running aggregate of one bucket.
struct Bucket {
    index: i64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
}

impl Bucket {
    fn new(index: i64, value: f64) -> Bucket {
        Bucket {
            index,
            count: 1,
            sum: value,
            min: value,
            max: value,
            last: value,
        }
    }

    fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.last = value;
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

impl Store {
    /// The non-empty buckets of `q` in time order. An unknown device or metric, `from >= to`
    /// or a range past the cursor give an empty page, not an error.
    pub fn rollup(&self, q: &RollupQuery) -> Result<RollupPage, StoreError> {
        let mut page = RollupPage::default();
        let (Some(dev), Some(&metric)) = (
            self.st.devices.get(&q.device),
            self.st.metrics.get(&q.metric),
        ) else {
            return Ok(page);
        };
        let step = q.step_ms.max(1);
        // The cursor's next bucket, when its start is still a representable ts.
        let after = match q.after {
            Some(c) => match c.index.checked_add(1).and_then(|i| i.checked_mul(step)) {
                Some(start) => Some(start),
                None => return Ok(page),
            },
            None => None,
        };
        let lower = match (q.from_ms, after) {
            (Some(from), Some(after)) => from.max(after),
            (from, after) => from.or(after).unwrap_or(i64::MIN),
        };
        let upper = q.to_ms.unwrap_or(i64::MAX);
        if q.limit == 0 || lower >= upper {
            return Ok(page);
        }
        let mut stmt = self
            .conn
            .prepare_cached(ROLLUP_SQL)
            .ctx("rollup: prepare")?;
        let mut rows = stmt
            .query(rusqlite::params![dev.id, metric, lower, upper])
            .ctx("rollup")?;
        let device: Arc<str> = q.device.as_str().into();
        let metric: Arc<str> = q.metric.as_str().into();
        let point = |b: &Bucket| StoredReading {
            seq: 0,
            device: device.clone(),
            metric: metric.clone(),
            // Clamped only for the bucket that holds i64::MIN itself.
            ts_ms: b.index.saturating_mul(step),
            value: b.value(q.agg),
        };
        let mut open: Option<Bucket> = None;
        while let Some(r) = rows.next().ctx("rollup: step")? {
            let (ts, value): (i64, f64) =
                (|| Ok((r.get(0)?, r.get(1)?)))().ctx("rollup: read row")?;
            let index = ts.div_euclid(step);
            match &mut open {
                Some(b) if b.index == index => b.add(value),
                _ => {
                    if let Some(done) = open.take() {
                        page.items.push(point(&done));
                        if page.items.len() == q.limit {
                            page.next_cursor = Some(RollupCursor {
                                step_ms: step,
                                index: done.index,
                            });
                            return Ok(page);
                        }
                    }
                    open = Some(Bucket::new(index, value));
                }
            }
        }
        page.items.extend(open.as_ref().map(point));
        Ok(page)
    }

    /// SQLite's plan for the statement [`Store::rollup`] runs (tests check it needs no sort).
    #[cfg(test)]
    pub(crate) fn rollup_plan(&self) -> Vec<String> {
        let mut stmt = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {ROLLUP_SQL}"))
            .unwrap();
        stmt.query_map(rusqlite::params![1, 1, 0, 10], |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }
}
