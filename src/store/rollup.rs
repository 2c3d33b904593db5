//! Rollups: one aggregate (mean, min, max, count, last) per time bucket of one series, and
//! [`Store::telemetry`], the one entry of `GET /telemetry` for readings and rollups alike.
//!
//! - Buckets are aligned to multiples of the step since the epoch, so different `from` values
//!   and different pages agree on the boundaries. A bucket's point carries the bucket's start
//!   as `ts`; only readings inside `[from, to)` count, so a bucket cut by `from` or `to`
//!   aggregates its part inside the range.
//! - Rollups cover `ts >= 0`: readings stamped before the epoch (only a clock far off makes
//!   them; ingest refuses them from JSON) are left out, so bucket starts and cursors are never
//!   negative and the floor of `ts / step` is plain integer division.
//! - Empty buckets are skipped: a page holds up to `limit` non-empty buckets in time order.
//! - `last` is the value of the reading with the highest `(ts, seq)` in the bucket.
//! - The rows come from [`Store::query`] (the `(device_id, metric_id, ts)` index in
//!   `(ts, seq)` order, no sort) in chunks of [`CHUNK`] and are folded one bucket at a time:
//!   memory is one chunk plus one page of points, and the walk stops at the first row of the
//!   bucket after the page, so a page costs its own rows. (`GROUP BY ts / step` in SQL would
//!   sort every row of the range in a temporary B-tree, as SQLite cannot see that the
//!   expression follows the index order; reusing the query also keeps the router build small.)
//! - A [`RollupCursor`] is the page's last bucket and the step, `r{bucket_ms}_{step_ms}`: the
//!   `r` keeps it from ever passing for a raw cursor (`{ts}_{seq}`).

use super::{Cursor, Store, StoreError, StoredReading, TelemetryQuery};

/// Rows read per [`Store::query`] call while folding.
pub const CHUNK: usize = 4096;

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

/// Where a rollup page ends: the start of its last bucket and the step, both in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupCursor {
    pub bucket_ms: i64,
    pub step_ms: i64,
}

impl RollupCursor {
    /// `r` and the two numbers in a raw cursor's form, whose checks [`Cursor::decode`] does.
    pub fn encode(&self) -> String {
        let raw = Cursor {
            ts_ms: self.bucket_ms,
            seq: self.step_ms,
        };
        ["r", &raw.encode()].concat()
    }

    /// `None` for anything [`RollupCursor::encode`] could not have produced.
    pub fn decode(s: &str) -> Option<RollupCursor> {
        let raw = Cursor::decode(s.strip_prefix('r')?)?;
        Some(RollupCursor {
            bucket_ms: raw.ts_ms,
            step_ms: raw.seq,
        })
    }
}

/// What turns a [`TelemetryQuery`] into a rollup: its `limit` then counts buckets and its
/// `after` is unused. `step_ms` >= 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rollup {
    pub step_ms: i64,
    pub agg: Agg,
    /// Only buckets after this one; its step must equal `step_ms` (the caller checks).
    pub after: Option<RollupCursor>,
}

/// One page of `GET /telemetry`: readings or rollup points, and the encoded cursor of the
/// next page (`Some` only when more may follow).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryPage {
    pub items: Vec<StoredReading>,
    pub next_cursor: Option<String>,
}

/// The running aggregate of the open bucket (none while `count` is 0).
#[derive(Default)]
struct Bucket {
    start: i64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    last: f64,
}

impl Bucket {
    fn add(&mut self, value: f64) {
        if self.count == 0 {
            (self.sum, self.min, self.max) = (0.0, value, value);
        }
        self.count += 1;
        self.sum += value;
        // Comparisons, not f64::min/max: no NaN is ever stored, and they cost the build less.
        if value < self.min {
            self.min = value;
        }
        if value > self.max {
            self.max = value;
        }
        self.last = value;
    }

    /// The bucket's point, named like `row` (a reading of the same series).
    fn point(&self, row: &StoredReading, agg: Agg) -> StoredReading {
        let value = match agg {
            Agg::Mean => self.sum / self.count as f64,
            Agg::Min => self.min,
            Agg::Max => self.max,
            Agg::Count => self.count as f64,
            Agg::Last => self.last,
        };
        StoredReading {
            seq: 0,
            device: row.device.clone(),
            metric: row.metric.clone(),
            ts_ms: self.start,
            value,
        }
    }
}

impl Store {
    /// Readings of `q` ([`Store::query`]), or with `rollup` the non-empty buckets of the one
    /// series `q` names, in time order. A rollup of an unknown device or metric, with
    /// `from >= to` or past the cursor is an empty page, not an error.
    ///
    /// Both go through the one call of [`Store::query`] below: a second call site made the
    /// router build carry the query twice, inlined and not.
    pub fn telemetry(
        &self,
        mut rows: TelemetryQuery,
        rollup: Option<&Rollup>,
    ) -> Result<TelemetryPage, StoreError> {
        let mut page = TelemetryPage::default();
        let (limit, mut step) = (rows.limit, 1);
        if let Some(r) = rollup {
            step = r.step_ms.max(1);
            let after = match r.after {
                Some(c) => c.bucket_ms.checked_add(step),
                None => Some(0),
            };
            let (Some(after), true) = (after, limit > 0) else {
                return Ok(page);
            };
            rows.from_ms = Some(rows.from_ms.unwrap_or(0).max(after));
            rows.limit = CHUNK;
            rows.after = None;
        }
        let mut open = Bucket::default();
        loop {
            let chunk = self.query(&rows)?;
            let Some(r) = rollup else {
                page.items = chunk.items;
                page.next_cursor = chunk.next_cursor.map(|c| c.encode());
                return Ok(page);
            };
            for row in &chunk.items {
                let start = row.ts_ms - row.ts_ms % step;
                if open.count > 0 && open.start != start {
                    page.items.push(open.point(row, r.agg));
                    if page.items.len() == limit {
                        let cursor = RollupCursor {
                            bucket_ms: open.start,
                            step_ms: step,
                        };
                        page.next_cursor = Some(cursor.encode());
                        return Ok(page);
                    }
                    open.count = 0;
                }
                open.start = start;
                open.add(row.value);
            }
            let Some(c) = chunk.next_cursor else {
                // A chunk with a cursor has a row after it, so only an empty first chunk
                // ends here without a row, and then no bucket is open.
                if let Some(row) = chunk.items.last() {
                    page.items.push(open.point(row, r.agg));
                }
                return Ok(page);
            };
            rows.after = Some(c);
        }
    }
}
