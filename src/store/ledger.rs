//! The counters a transaction works on (`Counters`), copied into the store's memory only
//! after the transaction committed, so that memory and file never disagree.

use rusqlite::Connection;

use super::State;

/// Counters a transaction works on; copied into `State` after commit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    pub next_seq: i64,
    pub oldest_seq: i64,
    pub head_rows: u64,
    pub sealed: u64,
    pub evicted_total: u64,
    pub evicted_unsynced: u64,
    pub kept_bytes: i64,
    /// Head rows left other than by sealing: the per-series head counts are read again.
    pub head_changed: bool,
    /// The `next_seq` written to the file (see `head.rs`).
    pub seq_reserved: i64,
}

impl Counters {
    pub(super) fn rows(&self) -> u64 {
        self.head_rows + self.sealed
    }
}

impl State {
    pub(super) fn counters(&self) -> Counters {
        Counters {
            next_seq: self.next_seq,
            oldest_seq: self.oldest_seq,
            head_rows: self.head_rows,
            sealed: self.sealed,
            evicted_total: self.evicted_total,
            evicted_unsynced: self.evicted_unsynced,
            kept_bytes: self.kept_bytes,
            head_changed: false,
            seq_reserved: self.seq_reserved,
        }
    }

    /// Takes the committed counters; when head rows left other than by sealing, counts the
    /// head's series again (the head is a few seal chunks' worth, so this is cheap).
    pub(super) fn apply(&mut self, conn: &Connection, c: Counters) {
        self.next_seq = c.next_seq;
        self.oldest_seq = c.oldest_seq;
        self.head_rows = c.head_rows;
        self.sealed = c.sealed;
        self.evicted_total = c.evicted_total;
        self.evicted_unsynced = c.evicted_unsynced;
        self.kept_bytes = c.kept_bytes;
        self.seq_reserved = c.seq_reserved;
        if c.head_changed && self.opts.seal_points > 0 {
            if let Err(e) = self.count_head_series(conn) {
                log::warn!("head series not counted, sealing waits for the next count: {e}");
            }
        }
    }

    pub(super) fn count_head_series(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare_cached(
            "SELECT device_id, metric_id, count(*) FROM readings GROUP BY device_id, metric_id",
        )?;
        let mut rows = stmt.query([])?;
        self.head_series.clear();
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(2)?;
            self.head_series.insert((r.get(0)?, r.get(1)?), n as u32);
        }
        Ok(())
    }
}
