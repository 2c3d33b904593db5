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
//! - The readings come from one ordered pass over the series' head rows and sealed chunks
//!   (`rollup_fold.rs`), folded one bucket at a time: memory is about one decoded chunk plus
//!   one page of points, and the pass stops at the first reading of the bucket after the page,
//!   so a page costs its own readings. (`GROUP BY ts / step` in SQL would sort every row of
//!   the range in a temporary B-tree, and could not read the chunks.)
//! - A [`RollupCursor`] is the page's last bucket and the step, `r{bucket_ms}_{step_ms}`: the
//!   `r` keeps it from ever passing for a raw cursor (`{ts}_{seq}`).

use std::sync::Arc;

pub use super::rollup_fold::Agg;
use super::rollup_fold::FoldRange;
use super::{Cursor, Store, StoreError, StoredReading, TelemetryQuery};

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

impl Store {
    /// Readings of `q` ([`Store::query`]), or with `rollup` the non-empty buckets of the one
    /// series `q` names, in time order. A rollup of an unknown device or metric, with
    /// `from >= to` or past the cursor is an empty page, not an error.
    ///
    /// Both go through the one call of [`Store::query`] below: a second call site made the
    /// router build carry the query twice, inlined and not.
    pub fn telemetry(
        &self,
        rows: TelemetryQuery,
        rollup: Option<&Rollup>,
    ) -> Result<TelemetryPage, StoreError> {
        let Some(r) = rollup else {
            let page = self.query(&rows)?;
            return Ok(TelemetryPage {
                items: page.items,
                next_cursor: page.next_cursor.map(|c| c.encode()),
            });
        };
        let mut page = TelemetryPage::default();
        let step = r.step_ms.max(1);
        let after = match r.after {
            Some(c) => c.bucket_ms.checked_add(step),
            None => Some(0),
        };
        let device = rows.device.as_ref().and_then(|d| self.st.devices.get(d));
        let metric = rows.metric.as_ref().and_then(|m| self.st.metrics.get(m));
        let (Some(after), Some(device), Some(&metric), true) =
            (after, device, metric, rows.limit > 0)
        else {
            return Ok(page);
        };
        let range = FoldRange {
            device_id: device.id,
            metric_id: metric,
            lower: rows.from_ms.unwrap_or(0).max(after),
            to: rows.to_ms,
            step,
            agg: r.agg,
            limit: rows.limit,
        };
        let (buckets, more) = self.fold_rollup(&range)?;
        let (device, metric): (Arc<str>, Arc<str>) = (
            self.device_key(range.device_id).into(),
            self.metric_name(range.metric_id).into(),
        );
        page.items = buckets
            .iter()
            .map(|&(start, value)| StoredReading {
                seq: 0,
                device: device.clone(),
                metric: metric.clone(),
                ts_ms: start,
                value,
            })
            .collect();
        if more {
            page.next_cursor = buckets.last().map(|&(start, _)| {
                RollupCursor {
                    bucket_ms: start,
                    step_ms: step,
                }
                .encode()
            });
        }
        Ok(page)
    }
}
