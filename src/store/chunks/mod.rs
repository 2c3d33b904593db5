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

mod seal;
mod seqs;

use rusqlite::{Connection, OptionalExtension};

use super::{Ctx, StoreError};

pub(crate) use seal::{compact, seal_whole_series, COMPACT_BUDGET};
pub use seqs::{decode_seqs, encode_seqs};
pub(crate) use seqs::{read_varint, unzigzag, varint, zigzag};

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

pub(super) fn decode(id: i64, points: &[u8], seqs: &[u8]) -> Result<Vec<SealedPoint>, StoreError> {
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
