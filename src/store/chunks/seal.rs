//! Sealing: which head rows become chunks and when, and compaction of short chunks.
//!
//! A series is sealed in chunks of `seal_points` once it has that many head rows; a head over
//! its bound, a flush of a RAM head and a store's first open seal shorter chunks too. Short
//! chunks of a series are merged once together they fill a chunk (`compact`), so each reading
//! is rewritten at most once more and the store converges to full chunks.

use rusqlite::{params, Connection, TransactionBehavior};

use super::{encode_seqs, SealedPoint};
use crate::store::{Ctx, State, Store, StoreError};

/// Seals up to `n` of the series' oldest head rows (by `(ts, seq)`) into one chunk; returns
/// how many it sealed.
pub(crate) fn seal_series(
    conn: &Connection,
    series: (i64, i64),
    n: usize,
) -> Result<u64, StoreError> {
    let rows = head_rows(conn, series, n as i64)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let rows = &rows[..fit(&rows)];
    let last = rows[rows.len() - 1];
    insert_chunk(conn, series, rows, None)?;
    // The rows sealed are exactly the index range up to the last one kept.
    let deleted = conn
        .prepare_cached(
            "DELETE FROM readings WHERE device_id = ?1 AND metric_id = ?2 AND (ts, seq) <= (?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![series.0, series.1, last.ts_ms, last.seq]))
        .ctx("seal: delete head rows")?;
    debug_assert_eq!(deleted, rows.len());
    Ok(rows.len() as u64)
}

/// Seals every head row of `series` into chunks of at most `limit` points (and
/// [`CHUNK_BYTES`]) without deleting them: the caller empties the head (a flush). Returns how
/// many it sealed.
pub(crate) fn seal_whole_series(
    conn: &Connection,
    series: (i64, i64),
    limit: usize,
) -> Result<u64, StoreError> {
    // A negative LIMIT is no limit in SQLite.
    let rows = head_rows(conn, series, -1)?;
    insert_split(conn, series, &rows, limit, &[])?;
    Ok(rows.len() as u64)
}

/// The series' first `limit` head rows in `(ts, seq)` order (all of them when negative).
fn head_rows(
    conn: &Connection,
    series: (i64, i64),
    limit: i64,
) -> Result<Vec<SealedPoint>, StoreError> {
    conn.prepare_cached(
        "SELECT seq, ts, value FROM readings WHERE device_id = ?1 AND metric_id = ?2 \
         ORDER BY ts, seq LIMIT ?3",
    )
    .and_then(|mut s| {
        s.query_map(params![series.0, series.1, limit], |r| {
            Ok(SealedPoint {
                seq: r.get(0)?,
                ts_ms: r.get(1)?,
                value: r.get(2)?,
            })
        })?
        .collect()
    })
    .ctx("seal: read head")
}

/// Writes `points` (in `(ts, seq)` order) as consecutive chunks of at most `limit` points
/// and [`CHUNK_BYTES`] each.
///
/// The chunks take the ids in `reuse` (free ones, ascending) before new ones: a merge puts
/// its output where its inputs were, so the space they leave in the table's pages is filled
/// again instead of staying unused until eviction reaches it (new rows only ever append).
fn insert_split(
    conn: &Connection,
    series: (i64, i64),
    points: &[SealedPoint],
    limit: usize,
    reuse: &[i64],
) -> Result<(), StoreError> {
    let mut rest = points;
    let mut ids = reuse.iter().copied();
    while !rest.is_empty() {
        let k = fit(&rest[..rest.len().min(limit.max(1))]);
        insert_chunk(conn, series, &rest[..k], ids.next())?;
        rest = &rest[k..];
    }
    Ok(())
}

/// Most bytes of a chunk's two blobs. Four rows of this size (with their few dozen bytes of
/// columns and cell headers) fill a 4 KiB page; measured on the mixed workload, rows of
/// 256 points (about 1,050 bytes) left three to a page and 31 % of the table's pages unused.
pub(crate) const CHUNK_BYTES: usize = 960;

/// How many of `points` (at least one) go into one chunk: as many as fit [`CHUNK_BYTES`].
fn fit(points: &[SealedPoint]) -> usize {
    let size = |k: usize| {
        let codec: Vec<acs_proto::chunk::Point> = points[..k]
            .iter()
            .map(|p| acs_proto::chunk::Point {
                ts_ms: p.ts_ms,
                value: p.value,
            })
            .collect();
        let seqs: Vec<i64> = points[..k].iter().map(|p| p.seq).collect();
        acs_proto::chunk::encoded_len(&codec).unwrap_or(usize::MAX) + encode_seqs(&seqs).len()
    };
    let mut k = points.len();
    // Proportional steps first (bytes per point are nearly constant within a series), then
    // one point at a time.
    for _ in 0..4 {
        let bytes = size(k);
        if bytes <= CHUNK_BYTES || k <= 1 {
            return k.max(1);
        }
        k = (k * CHUNK_BYTES / bytes).clamp(1, k - 1);
    }
    while k > 1 && size(k) > CHUNK_BYTES {
        k -= 1;
    }
    k.max(1)
}

/// Most series whose short chunks one transaction merges.
pub(crate) const COMPACT_BUDGET: usize = 64;

/// Writes `points` (in `(ts, seq)` order, at least one) as one chunk of `series`, with row
/// id `id` (a free one) or a new one.
fn insert_chunk(
    conn: &Connection,
    series: (i64, i64),
    points: &[SealedPoint],
    id: Option<i64>,
) -> Result<(), StoreError> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(());
    };
    let codec: Vec<acs_proto::chunk::Point> = points
        .iter()
        .map(|p| acs_proto::chunk::Point {
            ts_ms: p.ts_ms,
            value: p.value,
        })
        .collect();
    let mut blob = vec![0u8; acs_proto::chunk::max_encoded_len(codec.len())];
    // Rows hold finite values only (ingest refuses the rest), so encoding cannot fail; a
    // failure would mean a corrupt head row, reported rather than sealed.
    let len =
        acs_proto::chunk::encode(&codec, &mut blob).map_err(|_| StoreError::CorruptChunk {
            id: 0,
            why: "a value the chunk codec refuses",
        })?;
    blob.truncate(len);
    let seqs: Vec<i64> = points.iter().map(|p| p.seq).collect();
    let (seq_min, seq_max) = seqs
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    conn.prepare_cached(
        "INSERT INTO chunks (device_id, metric_id, ts_first, ts_last, seq_first, seq_last, \
         count, points, seqs, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            series.0,
            series.1,
            first.ts_ms,
            last.ts_ms,
            seq_min,
            seq_max,
            points.len() as i64,
            blob,
            encode_seqs(&seqs),
            id
        ])
    })
    .ctx("seal: insert chunk")?;
    Ok(())
}

/// Merges short chunks (under `seal_points` points and under 90 % of [`CHUNK_BYTES`]), the
/// way a log-structured merge does: a series' short chunks fall in size classes (`count` in
/// `4^k..4^(k+1)`), and four of one class are merged into one chunk of the next (split where
/// a chunk fills). So a reading is rewritten about `log4(seal_points)` times at most, and a
/// series holds at most three short chunks per class. At most `budget` merges. Returns the
/// chunks merged away.
pub(crate) fn compact(
    conn: &Connection,
    seal_points: usize,
    budget: usize,
) -> Result<u64, StoreError> {
    let full = seal_points.max(1);
    let short_bytes = (CHUNK_BYTES * 9 / 10) as i64;
    let shorts: Vec<(i64, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT device_id, metric_id, count, id FROM chunks \
             WHERE count < ?1 AND length(points) + length(seqs) < ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![full as i64, short_bytes], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
        })
        .ctx("compact: find")?;
    let mut classes: std::collections::BTreeMap<(i64, i64, u32), Vec<i64>> = Default::default();
    for (device, metric, count, id) in shorts {
        let class = (count.max(1) as u64).ilog(4);
        classes.entry((device, metric, class)).or_default().push(id);
    }
    let mut merged = 0;
    for ((device, metric, _), ids) in classes {
        if merged as usize >= budget {
            break;
        }
        if ids.len() < 4 {
            continue;
        }
        let mut points = Vec::new();
        for &id in &ids {
            points.extend(super::load(conn, id)?);
            super::delete(conn, id)?;
        }
        points.sort_by_key(|p| (p.ts_ms, p.seq));
        let mut reuse = ids.clone();
        reuse.sort_unstable();
        insert_split(conn, (device, metric), &points, full, &reuse)?;
        merged += ids.len() as u64;
    }
    Ok(merged)
}

/// Which series to seal now and how many rows of each, at most `budget` chunks: every series
/// with a full chunk in the head, then, while the head is over `head_max`, the fullest ones.
pub(crate) fn plan(st: &State, budget: usize) -> Vec<((i64, i64), usize)> {
    let full = st.opts.seal_points;
    if full == 0 {
        return Vec::new();
    }
    let mut plan: Vec<((i64, i64), usize)> = st
        .head_series
        .iter()
        .filter(|(_, &n)| n as usize >= full)
        .map(|(&series, _)| (series, full))
        .take(budget)
        .collect();
    let sealed: u64 = plan.iter().map(|(_, n)| *n as u64).sum();
    let mut head = st.head_rows.saturating_sub(sealed);
    let head_max = head_max_rows(full);
    if head > head_max && plan.len() < budget {
        let mut rest: Vec<((i64, i64), u32)> = st
            .head_series
            .iter()
            .filter(|(_, &n)| (n as usize) < full && n > 0)
            .map(|(&s, &n)| (s, n))
            .collect();
        rest.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (series, n) in rest {
            if head <= head_max / 2 || plan.len() >= budget {
                break;
            }
            plan.push((series, n as usize));
            head = head.saturating_sub(u64::from(n));
        }
    }
    plan
}

/// The head size beyond which series are sealed before their chunk is full.
pub(crate) fn head_max_rows(seal_points: usize) -> u64 {
    seal_points as u64 * 32
}

impl Store {
    /// Seals what is due: full chunks, and early ones while the head is over its bound; at
    /// most `budget` chunks, in one transaction. Returns the readings sealed.
    pub(crate) fn seal(&mut self, budget: usize) -> Result<u64, StoreError> {
        let plan = plan(&self.st, budget);
        self.seal_plan(&plan)
    }

    /// Seals everything due, in transactions of at most 64 chunks, logging progress: the first
    /// open of a store written before chunks existed converts its rows here.
    pub(crate) fn seal_backlog(&mut self) -> Result<u64, StoreError> {
        let started = std::time::Instant::now();
        let mut last_log = started;
        let mut total = 0;
        loop {
            let n = self.seal(64)?;
            if n == 0 {
                break;
            }
            total += n;
            if last_log.elapsed().as_secs() >= 5 {
                last_log = std::time::Instant::now();
                log::info!(
                    "sealed={total} head_rows={} sealing the store's rows into chunks",
                    self.st.head_rows
                );
            }
        }
        if total > 0 {
            log::info!(
                "sealed={total} head_rows={} took_ms={} rows sealed into chunks",
                self.st.head_rows,
                started.elapsed().as_millis()
            );
        }
        Ok(total)
    }

    /// Seals every reading in the head, in as many chunks as its series need. Returns the
    /// readings sealed.
    pub fn seal_all(&mut self) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let limit = self.st.opts.seal_points.max(1);
            let plan: Vec<((i64, i64), usize)> = self
                .st
                .head_series
                .iter()
                .filter(|(_, &n)| n > 0)
                .map(|(&s, &n)| (s, (n as usize).min(limit)))
                .take(64)
                .collect();
            if plan.is_empty() {
                return Ok(total);
            }
            total += self.seal_plan(&plan)?;
        }
    }

    fn seal_plan(&mut self, plan: &[((i64, i64), usize)]) -> Result<u64, StoreError> {
        if plan.is_empty() {
            return Ok(0);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("seal: begin")?;
        let mut done = Vec::with_capacity(plan.len());
        for &(series, n) in plan {
            done.push((series, seal_series(&tx, series, n)?));
        }
        let full = self.st.opts.seal_points;
        if plan.iter().any(|&(_, n)| n < full) {
            compact(&tx, full, COMPACT_BUDGET)?;
        }
        tx.commit().ctx("seal: commit")?;
        let mut total = 0;
        for (series, k) in done {
            total += k;
            if let Some(n) = self.st.head_series.get_mut(&series) {
                *n = n.saturating_sub(k as u32);
                if *n == 0 {
                    self.st.head_series.remove(&series);
                }
            }
        }
        self.st.head_rows -= total;
        self.st.sealed += total;
        Ok(total)
    }
}
