//! Telemetry queries with keyset paging.
//!
//! Results are ordered by `(ts, seq)`; a [`Cursor`] is the `(ts, seq)` of the last row of a
//! page, and the next page starts strictly after it. Unlike `OFFSET`, this costs the same on
//! page 1 and page 1000 and neither skips nor repeats rows when the ring buffer evicts or
//! appends between pages (evicted rows simply no longer appear).
//!
//! The common query (device + metric + time range) is a range scan of the index
//! `(device_id, metric_id, ts)`, whose entries end in the rowid (`seq`), so it comes out in
//! `(ts, seq)` order with no sort. Queries without both filters scan (device only: the device's
//! index range; otherwise the table) and sort with a top-`limit` sorter, so memory stays
//! bounded by `limit` but time grows with the rows scanned.

use std::sync::Arc;

use rusqlite::types::Value;
use serde::Serialize;

use super::{Ctx, Store, StoreError};

/// A position in `(ts, seq)` order. Encoded as `"{ts}_{seq}"`: opaque to clients, URL-safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub ts_ms: i64,
    pub seq: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.ts_ms, self.seq)
    }

    /// `None` for anything [`Cursor::encode`] could not have produced: both parts plain decimal
    /// without sign or leading zeros, `ts` >= 0 (no stored reading is older than the epoch) and
    /// `seq` >= 1 (sequence numbers start at 1), both within `i64`.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (ts, seq) = s.split_once('_')?;
        let number = |p: &str| -> Option<i64> {
            let canonical = p == "0" || (!p.starts_with('0') && !p.is_empty());
            if !canonical || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let cursor = Cursor {
            ts_ms: number(ts)?,
            seq: number(seq)?,
        };
        (cursor.seq >= 1).then_some(cursor)
    }
}

/// Filters of `GET /telemetry`. `limit` is capped by the caller (the API allows 10,000).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryQuery {
    pub device: Option<String>,
    pub metric: Option<String>,
    /// Inclusive.
    pub from_ms: Option<i64>,
    /// Exclusive.
    pub to_ms: Option<i64>,
    pub limit: usize,
    pub after: Option<Cursor>,
}

/// One page of readings; `next_cursor` is `Some` only when more rows may follow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<StoredReading>,
    pub next_cursor: Option<Cursor>,
}

/// A stored reading, serialized exactly like [`crate::model::Reading`] (`seq` is internal).
/// The names are shared: a page of one series holds each name once, not once per row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredReading {
    #[serde(skip)]
    pub seq: i64,
    pub device: Arc<str>,
    pub metric: Arc<str>,
    #[serde(rename = "ts")]
    pub ts_ms: i64,
    pub value: f64,
}

/// A reading found by a query, before its names are resolved.
struct Found {
    seq: i64,
    device_id: i64,
    metric_id: i64,
    ts_ms: i64,
    value: f64,
}

/// The names of the last device and metric seen: rows of one series (the common query) share
/// one allocation per name instead of one per row.
#[derive(Default)]
struct NameCache {
    device: Option<(i64, Arc<str>)>,
    metric: Option<(i64, Arc<str>)>,
}

impl NameCache {
    fn device(&mut self, id: i64, lookup: impl FnOnce() -> String) -> Arc<str> {
        Self::get(&mut self.device, id, lookup)
    }

    fn metric(&mut self, id: i64, lookup: impl FnOnce() -> String) -> Arc<str> {
        Self::get(&mut self.metric, id, lookup)
    }

    fn get(
        slot: &mut Option<(i64, Arc<str>)>,
        id: i64,
        lookup: impl FnOnce() -> String,
    ) -> Arc<str> {
        match slot {
            Some((cached, name)) if *cached == id => name.clone(),
            _ => {
                let name: Arc<str> = lookup().into();
                *slot = Some((id, name.clone()));
                name
            }
        }
    }
}

impl Store {
    /// Readings matching `q` in `(ts, seq)` order. Unknown device or metric names give an
    /// empty page, not an error.
    // Out of line: inlined into its one caller, `Store::telemetry`, it measured 320 B larger on
    // the mipsel router build.
    #[inline(never)]
    pub fn query(&self, q: &TelemetryQuery) -> Result<Page, StoreError> {
        let Some((sql, args)) = self.query_sql(q) else {
            return Ok(Page::default());
        };
        let fetch = q.limit.saturating_add(1);
        let mut stmt = self.conn.prepare_cached(&sql).ctx("query: prepare")?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args)).ctx("query")?;
        let mut found: Vec<Found> = Vec::with_capacity(fetch.min(10_001));
        while let Some(r) = rows.next().ctx("query: step")? {
            let row = (|| {
                Ok(Found {
                    seq: r.get(0)?,
                    device_id: r.get(1)?,
                    metric_id: r.get(2)?,
                    ts_ms: r.get(3)?,
                    value: r.get(4)?,
                })
            })()
            .ctx("query: read row")?;
            found.push(row);
        }
        if self.st.sealed > 0 {
            self.merge_sealed(q, fetch, &mut found)?;
        }
        let mut names = NameCache::default();
        let mut items: Vec<StoredReading> = found
            .into_iter()
            .map(|f| StoredReading {
                seq: f.seq,
                device: names.device(f.device_id, || self.device_key(f.device_id)),
                metric: names.metric(f.metric_id, || self.metric_name(f.metric_id)),
                ts_ms: f.ts_ms,
                value: f.value,
            })
            .collect();
        let next_cursor = if items.len() > q.limit {
            items.truncate(q.limit);
            items.last().map(|r| Cursor {
                ts_ms: r.ts_ms,
                seq: r.seq,
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Adds the sealed points that belong among the first `fetch` results of `q` to `found`
    /// (the head's first `fetch`, in order) and leaves the first `fetch` of both, in order.
    ///
    /// Chunks overlapping the range are taken in `ts_first` order; once `fetch` points are
    /// found and the last of them is older than the next chunk's first point, no later chunk
    /// can hold a point that belongs on the page, so a page decodes about its own chunks.
    fn merge_sealed(
        &self,
        q: &TelemetryQuery,
        fetch: usize,
        found: &mut Vec<Found>,
    ) -> Result<(), StoreError> {
        let lower = match (q.from_ms, q.after.map(|c| c.ts_ms)) {
            (Some(from), Some(cursor)) => from.max(cursor),
            (from, cursor) => from.or(cursor).unwrap_or(i64::MIN),
        };
        let to = q.to_ms.unwrap_or(i64::MAX);
        let device = q
            .device
            .as_ref()
            .and_then(|d| self.st.devices.get(d))
            .map(|d| d.id);
        let metric = q
            .metric
            .as_ref()
            .and_then(|m| self.st.metrics.get(m))
            .copied();
        // One statement per filter combination, so that SQLite can seek `chunks_series`.
        let mut sql = String::from(
            "SELECT ts_first, id, device_id, metric_id FROM chunks WHERE ts_last >= ? AND ts_first < ?",
        );
        let mut args = vec![lower, to];
        for (column, id) in [("device_id", device), ("metric_id", metric)] {
            if let Some(id) = id {
                sql.push_str(&format!(" AND {column} = ?"));
                args.push(id);
            }
        }
        let mut candidates: Vec<(i64, i64, i64, i64)> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(rusqlite::params_from_iter(args), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect()
            })
            .ctx("query: chunks")?;
        candidates.sort_unstable();
        let key = |f: &Found| (f.ts_ms, f.seq);
        // `found` holds the head's rows (sorted); `sealed` the chunks' points, kept sorted and
        // at most `fetch` long: a chunk's points come in order, and chunks of one series
        // rarely overlap, so appending is the common case. Both are merged at the end.
        let mut sealed: Vec<Found> = Vec::new();
        for (ts_first, id, device_id, metric_id) in candidates {
            let before = |v: &[Found]| v.partition_point(|f| f.ts_ms < ts_first);
            if before(found) + before(&sealed) >= fetch {
                break;
            }
            let tail = sealed.len();
            for p in super::chunks::load(&self.conn, id)? {
                let after = q.after.is_none_or(|c| (p.ts_ms, p.seq) > (c.ts_ms, c.seq));
                if p.ts_ms >= lower && p.ts_ms < to && after {
                    sealed.push(Found {
                        seq: p.seq,
                        device_id,
                        metric_id,
                        ts_ms: p.ts_ms,
                        value: p.value,
                    });
                }
            }
            let in_order = sealed[tail..].is_sorted_by_key(key)
                && (tail == 0
                    || sealed.len() == tail
                    || key(&sealed[tail - 1]) < key(&sealed[tail]));
            if !in_order {
                sealed.sort_by_key(key);
            }
            sealed.truncate(fetch);
        }
        if !sealed.is_empty() {
            found.append(&mut sealed);
            // Two sorted runs: the standard sort merges them in linear time.
            found.sort_by_key(key);
            found.truncate(fetch);
        }
        Ok(())
    }

    /// The statement and arguments of `q` (the last argument is the row limit, `limit + 1`),
    /// or `None` when nothing can match: a zero limit, an unknown device or metric name.
    fn query_sql(&self, q: &TelemetryQuery) -> Option<(String, Vec<Value>)> {
        if q.limit == 0 {
            return None;
        }
        let mut conds: Vec<&str> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        if let Some(name) = &q.device {
            conds.push("device_id = ?");
            args.push(Value::Integer(self.st.devices.get(name)?.id));
        }
        if let Some(name) = &q.metric {
            conds.push("metric_id = ?");
            args.push(Value::Integer(*self.st.metrics.get(name)?));
        }
        // One lower bound on ts, the later of `from` and the cursor's: given two, SQLite may
        // seek the index with `from` and rescan every earlier page's rows on each page.
        let lower = match (q.from_ms, q.after.map(|c| c.ts_ms)) {
            (Some(from), Some(cursor)) => Some(from.max(cursor)),
            (from, cursor) => from.or(cursor),
        };
        if let Some(lower) = lower {
            conds.push("ts >= ?");
            args.push(Value::Integer(lower));
        }
        if let Some(to) = q.to_ms {
            conds.push("ts < ?");
            args.push(Value::Integer(to));
        }
        if let Some(c) = q.after {
            // The OR drops the rows up to and including the cursor.
            conds.push("(ts > ? OR seq > ?)");
            args.extend([c.ts_ms, c.seq].map(Value::Integer));
        }
        let mut sql = String::from("SELECT seq, device_id, metric_id, ts, value FROM readings");
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql.push_str(" ORDER BY ts, seq LIMIT ?");
        let fetch = q.limit.saturating_add(1);
        args.push(Value::Integer(i64::try_from(fetch).unwrap_or(i64::MAX)));
        Some((sql, args))
    }

    /// How many index entries SQLite stepped through to answer `q` (tests check that a page
    /// costs its own rows, not the rows of every page before it).
    #[cfg(test)]
    pub(crate) fn query_rows_visited(&self, q: &TelemetryQuery) -> i64 {
        let Some((sql, args)) = self.query_sql(q) else {
            return 0;
        };
        let mut stmt = self.conn.prepare(&sql).unwrap();
        let mut rows = stmt.query(rusqlite::params_from_iter(args)).unwrap();
        while rows.next().unwrap().is_some() {}
        drop(rows);
        i64::from(stmt.get_status(rusqlite::StatementStatus::VmStep))
    }

    pub(super) fn device_key(&self, id: i64) -> String {
        self.st
            .device_keys
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    pub(super) fn metric_name(&self, id: i64) -> String {
        self.st
            .metric_names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// SQLite's plan for the statement `query` runs for `q` (one line per plan step).
    #[cfg(test)]
    pub(crate) fn explain(&self, q: &TelemetryQuery) -> Vec<String> {
        let Some((sql, args)) = self.query_sql(q) else {
            return Vec::new();
        };
        let mut stmt = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }
}
