//! The head tier in RAM (`StoreOptions::memory_head`): recent readings wait in memory and reach
//! the durable file only at a flush, so a reading costs the file a few bytes of a chunk
//! instead of a share of every commit's pages.
//!
//! # How
//!
//! The head is a `TEMP` table named `readings` (with its index) on the store's connection.
//! SQLite resolves an unqualified table name in `temp` before `main`, so every statement of
//! the store reads and writes the RAM head without knowing where it lives; `temp_store=MEMORY`
//! keeps it off the disk. At open, rows in the file's own `readings` table (a store written
//! with the head in the file, or by a release before chunks) are sealed first, so nothing is
//! shadowed.
//!
//! Between flushes a batch's commit writes only RAM, except for what must not wait: a new
//! device or metric name, frame counters (replay protection), and one `next_seq` reservation
//! per [`SEQ_BLOCK`] readings. Device `last_seen`/`online`, the sync cursors and the eviction
//! counters are kept in memory and written by the flush.
//!
//! # Invariants
//!
//! - A flush is one transaction: every head row sealed into chunks, the deferred device
//!   figures, cursors and counters, `next_seq`, and the ring bounds enforced. A power cut loses
//!   at most the readings since the last flush (`flush_interval_s`, or sooner when the head
//!   reaches [`head_limit`] rows), never part of a flush.
//! - A seq is never handed out twice, also not after a power cut: the file's `next_seq` is
//!   always above every seq handed out (a reservation up to [`SEQ_BLOCK`] ahead); a restart
//!   after a power cut continues above the reservation, leaving a gap.
//! - A cursor persisted by a flush never points past what that flush made durable, so after a
//!   power cut an upstream re-sends from the last flush (idempotent: keys are store id + seq).

use std::collections::HashMap;

use rusqlite::{params, Connection, TransactionBehavior};

use super::evict::{enforce_bounds, write_meta};
use super::{chunks, Ctx, State, Store, StoreError};
use crate::model::Transport;

/// Seqs reserved in the file at a time while the head is in RAM.
pub const SEQ_BLOCK: i64 = 1 << 16;

/// The head size (rows) at which a RAM head is flushed before its interval: 128 chunks' worth,
/// about 4 MB of RAM with the index.
pub fn head_limit(seal_points: usize) -> u64 {
    (seal_points.max(16) as u64) * 128
}

/// A device's figures seen since the last flush.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub last_seen: Option<i64>,
    pub online: bool,
    pub transport: Transport,
}

/// What the file owes the RAM head: written by the next flush.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    pub seen: HashMap<i64, Seen>,
    pub named_cursors: HashMap<String, i64>,
}

/// Creates the RAM head (`temp.readings`); the file's head must be empty.
pub(crate) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE readings (
             seq INTEGER PRIMARY KEY,
             device_id INTEGER NOT NULL,
             metric_id INTEGER NOT NULL,
             ts INTEGER NOT NULL,
             value REAL NOT NULL
         );
         CREATE INDEX temp.readings_device_metric_ts ON readings (device_id, metric_id, ts);",
    )?;
    // Statements prepared before now named the file's table.
    conn.flush_prepared_statement_cache();
    Ok(())
}

impl State {
    /// Records what a batch saw of a device, for the next flush.
    pub(crate) fn defer_seen(&mut self, id: i64, seen: Seen) {
        let entry = self.deferred.seen.entry(id).or_insert(seen);
        entry.last_seen = match (entry.last_seen, seen.last_seen) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        entry.online = seen.online;
        entry.transport = seen.transport;
    }
}

impl Store {
    /// Whether the head lives in RAM until a flush.
    pub fn memory_head(&self) -> bool {
        self.st.opts.memory_head
    }

    /// Makes everything durable: seals the whole head into chunks and writes what was
    /// deferred, in one transaction; `last` (a clean stop) writes the exact `next_seq`
    /// instead of a reservation. A no-op when the head is in the file. Returns the readings
    /// sealed.
    pub fn flush(&mut self, last: bool) -> Result<u64, StoreError> {
        if !self.st.opts.memory_head {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let n = self.with_room(|s| s.flush_once(last))?;
        log::debug!(
            "sealed={n} took_ms={} head flushed",
            started.elapsed().as_millis()
        );
        Ok(n)
    }

    fn flush_once(&mut self, last: bool) -> Result<u64, StoreError> {
        let st = &mut self.st;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("flush: begin")?;
        let limit = st.opts.seal_points.max(16);
        let mut sealed = 0;
        // Read from the head itself rather than from the counts kept in memory: whatever is
        // in RAM is sealed.
        st.count_head_series(&tx).ctx("flush: head series")?;
        for &series in st.head_series.keys() {
            sealed += chunks::seal_whole_series(&tx, series, limit)?;
        }
        // Every row is in a chunk now. One unconditional DELETE is SQLite's truncate
        // optimization: the head's pages are freed whole instead of row by row, which keeps
        // the RAM the flush's journal of the head takes small.
        tx.execute("DELETE FROM readings", [])
            .ctx("flush: empty the head")?;
        chunks::compact(&tx, st.opts.seal_points, chunks::COMPACT_BUDGET)?;
        write_deferred(&tx, st)?;
        let mut c = st.counters();
        c.head_rows = tx
            .query_row("SELECT count(*) FROM readings", [], |r| r.get::<_, i64>(0))
            .ctx("flush: head rows")? as u64;
        c.sealed += sealed;
        enforce_bounds(&tx, st, &mut c, u64::MAX)?;
        let reserved = if last {
            c.next_seq
        } else {
            c.next_seq + SEQ_BLOCK
        };
        c.seq_reserved = reserved;
        write_meta(&tx, &c, true, true)?;
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'sync_cursor'")
            .and_then(|mut s| s.execute([st.sync_cursor]))
            .ctx("flush: sync cursor")?;
        tx.commit().ctx("flush: commit")?;
        st.head_series.clear();
        st.deferred = Deferred::default();
        st.apply(&self.conn, c);
        Ok(sealed)
    }
}

/// Writes the deferred device figures and named cursors.
fn write_deferred(conn: &Connection, st: &State) -> Result<(), StoreError> {
    let mut upd = conn
        .prepare_cached(
            "UPDATE devices SET online = ?1, transport = ?2, \
             last_seen = max(coalesce(last_seen, ?3), coalesce(?3, last_seen)) WHERE id = ?4",
        )
        .ctx("flush: prepare")?;
    for (id, seen) in &st.deferred.seen {
        upd.execute(params![
            seen.online,
            seen.transport.as_str(),
            seen.last_seen,
            id
        ])
        .ctx("flush: device")?;
    }
    for (key, seq) in &st.deferred.named_cursors {
        conn.prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        )
        .and_then(|mut s| s.execute(params![key, seq]))
        .ctx("flush: cursor")?;
    }
    Ok(())
}
