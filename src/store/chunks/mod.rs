//! Sealed chunks: the durable, compressed tier of the ring buffer.
//!
//! Readings arrive as rows in `readings` (the head). Once a series (device, metric) has
//! [`StoreOptions::seal_points`](super::StoreOptions) rows in the head, its oldest ones by
//! `(ts, seq)` are sealed: encoded with [`acs_proto::chunk`] into one `chunks` row and deleted
//! from the head, in one transaction. When many slow series keep the head above
//! `head_max_rows` (32 chunks' worth), the fullest series are sealed early as shorter chunks.
//!
//! # Invariants
//!
//! - A reading is in exactly one tier: sealing inserts the chunk and deletes its rows in the
//!   same transaction, so a crash leaves either the rows or the chunk, never both or neither.
//! - A chunk row carries its series, `ts_first`/`ts_last` (min and max `ts`),
//!   `seq_first`/`seq_last` (min and max `seq`), `count`, the points in `(ts, seq)` order
//!   (`points`, an acs-proto chunk) and their seqs in the same order (`seqs`, see `seqs.rs`).
//!   Seqs of one chunk are interleaved with other series' seqs, so chunks of different series
//!   overlap in seq; within a series, chunks may overlap in time only through late readings.
//! - `count` of every chunk adds up to [`State::sealed`](super::State), kept in memory.
//! - A chunk is evicted whole (ring eviction takes the chunk with the lowest `seq_first` when
//!   it is older than the head's oldest row; age eviction takes chunks whose `ts_last` is
//!   past the cutoff), so the bounds hold at chunk granularity: up to `seal_points - 1`
//!   readings more may go at once than a row store would evict.

mod seqs;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{Ctx, State, Store, StoreError};

pub use seqs::{decode_seqs, encode_seqs};

/// A chunk's header: what the row says without its blobs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkHead {
    pub id: i64,
    pub seq_first: i64,
    pub seq_last: i64,
    pub count: u64,
}

/// One decoded point with its identity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SealedPoint {
    pub seq: i64,
    pub ts_ms: i64,
    pub value: f64,
}

/// The points of chunk `id`, in `(ts, seq)` order. A chunk that does not decode is a
/// corrupt file: reported as an error, never skipped silently.
pub(crate) fn load(conn: &Connection, id: i64) -> Result<Vec<SealedPoint>, StoreError> {
    let (points, seqs): (Vec<u8>, Vec<u8>) = conn
        .prepare_cached("SELECT points, seqs FROM chunks WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))))
        .ctx("chunk: read")?;
    decode(id, &points, &seqs)
}

/// The seqs of chunk `id`, in its point order (cheaper than [`load`] when only seqs count).
pub(crate) fn load_seqs(conn: &Connection, id: i64) -> Result<Vec<i64>, StoreError> {
    let seqs: Vec<u8> = conn
        .prepare_cached("SELECT seqs FROM chunks WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], |r| r.get(0)))
        .ctx("chunk: read seqs")?;
    decode_seqs(&seqs).ok_or(StoreError::CorruptChunk { id, why: "seqs" })
}

fn decode(id: i64, points: &[u8], seqs: &[u8]) -> Result<Vec<SealedPoint>, StoreError> {
    let seqs = decode_seqs(seqs).ok_or(StoreError::CorruptChunk { id, why: "seqs" })?;
    let iter = acs_proto::chunk::decode(points)
        .map_err(|_| StoreError::CorruptChunk { id, why: "points" })?;
    if iter.point_count() as usize != seqs.len() {
        return Err(StoreError::CorruptChunk {
            id,
            why: "point and seq counts differ",
        });
    }
    iter.zip(seqs)
        .map(|(p, seq)| {
            let p = p.map_err(|_| StoreError::CorruptChunk { id, why: "points" })?;
            Ok(SealedPoint {
                seq,
                ts_ms: p.ts_ms,
                value: p.value,
            })
        })
        .collect()
}

/// How many of chunk `head`'s points have a seq above `cursor` (decoding only when the chunk
/// straddles it).
pub(crate) fn count_above(
    conn: &Connection,
    head: &ChunkHead,
    cursor: i64,
) -> Result<u64, StoreError> {
    if head.seq_first > cursor {
        return Ok(head.count);
    }
    if head.seq_last <= cursor {
        return Ok(0);
    }
    let seqs = load_seqs(conn, head.id)?;
    Ok(seqs.iter().filter(|&&s| s > cursor).count() as u64)
}

/// The chunk with the lowest `seq_first`.
pub(crate) fn oldest(conn: &Connection) -> Result<Option<ChunkHead>, StoreError> {
    conn.prepare_cached(
        "SELECT id, seq_first, seq_last, count FROM chunks ORDER BY seq_first LIMIT 1",
    )
    .and_then(|mut s| s.query_row([], head_from_row).optional())
    .ctx("chunk: oldest")
}

pub(crate) fn head_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChunkHead> {
    Ok(ChunkHead {
        id: r.get(0)?,
        seq_first: r.get(1)?,
        seq_last: r.get(2)?,
        count: r.get::<_, i64>(3)? as u64,
    })
}

/// Deletes chunk `id`.
pub(crate) fn delete(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM chunks WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .ctx("chunk: delete")?;
    Ok(())
}

/// Seals up to `n` of the series' oldest head rows (by `(ts, seq)`) into one chunk; returns
/// how many it sealed.
pub(crate) fn seal_series(
    conn: &Connection,
    series: (i64, i64),
    n: usize,
) -> Result<u64, StoreError> {
    let rows: Vec<SealedPoint> = conn
        .prepare_cached(
            "SELECT seq, ts, value FROM readings WHERE device_id = ?1 AND metric_id = ?2 \
             ORDER BY ts, seq LIMIT ?3",
        )
        .and_then(|mut s| {
            s.query_map(params![series.0, series.1, n as i64], |r| {
                Ok(SealedPoint {
                    seq: r.get(0)?,
                    ts_ms: r.get(1)?,
                    value: r.get(2)?,
                })
            })?
            .collect()
        })
        .ctx("seal: read head")?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(0);
    };
    let points: Vec<acs_proto::chunk::Point> = rows
        .iter()
        .map(|p| acs_proto::chunk::Point {
            ts_ms: p.ts_ms,
            value: p.value,
        })
        .collect();
    let mut blob = vec![0u8; acs_proto::chunk::max_encoded_len(points.len())];
    // Rows hold finite values only (ingest refuses the rest), so encoding cannot fail; a
    // failure would mean a corrupt head row, reported rather than sealed.
    let len =
        acs_proto::chunk::encode(&points, &mut blob).map_err(|_| StoreError::CorruptChunk {
            id: 0,
            why: "a head row the chunk codec refuses",
        })?;
    blob.truncate(len);
    let seqs: Vec<i64> = rows.iter().map(|p| p.seq).collect();
    let seq_blob = encode_seqs(&seqs);
    let (seq_min, seq_max) = seqs
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
    conn.prepare_cached(
        "INSERT INTO chunks (device_id, metric_id, ts_first, ts_last, seq_first, seq_last, \
         count, points, seqs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            series.0,
            series.1,
            first.ts_ms,
            last.ts_ms,
            seq_min,
            seq_max,
            rows.len() as i64,
            blob,
            seq_blob
        ])
    })
    .ctx("seal: insert chunk")?;
    // The rows sealed are exactly the index range up to the last one read.
    let deleted = conn
        .prepare_cached(
            "DELETE FROM readings WHERE device_id = ?1 AND metric_id = ?2 AND (ts, seq) <= (?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![series.0, series.1, last.ts_ms, last.seq]))
        .ctx("seal: delete head rows")?;
    debug_assert_eq!(deleted, rows.len());
    Ok(rows.len() as u64)
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
