//! The ring buffer as the upstream outbox: readings above the persisted sync cursor are waiting
//! for the cloud's acknowledgement.
//!
//! Invariants: the cursor only moves forward, only in a committed transaction, and only to a
//! seq the caller says the upstream acknowledged ([`Store::ack_synced`]); reading a batch never
//! deletes anything (rows leave by eviction only). A batch is the contiguous seq range
//! `first..=last` present at read time, so an acknowledged batch can be matched exactly against
//! evictions that happened while it was in flight: those rows were counted as
//! `evicted_unsynced` by the eviction but did reach the cloud, so the acknowledgement takes them
//! back out of the count. `evicted_unsynced` therefore equals the readings the cloud is missing.

use rusqlite::{params, TransactionBehavior};
use serde::Serialize;

use super::{Ctx, Store, StoreError};

/// One reading waiting for upload, with its names resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxReading {
    /// The idempotency key: unique per store, never reused.
    pub seq: i64,
    pub device: String,
    pub metric: String,
    /// Epoch ms as reported by the device.
    pub ts: i64,
    pub value: f64,
}

/// The outbox figures for `/health` (all from memory plus one rowid lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// The highest acknowledged seq (0: none).
    pub cursor: i64,
    /// Stored readings above the cursor.
    pub backlog: u64,
    /// `ts` of the oldest stored reading above the cursor.
    pub oldest_unsynced_ts: Option<i64>,
    /// Readings evicted before the upstream acknowledged them, net of the ones that were in
    /// flight and acknowledged afterwards.
    pub evicted_unsynced: u64,
}

impl Store {
    /// The first seq not yet acknowledged that is still stored.
    fn first_unsynced(&self) -> i64 {
        (self.st.sync_cursor + 1).max(self.st.oldest_seq)
    }

    /// Up to `limit` stored readings with `seq > after_seq`, in seq order (seqs of late rows
    /// that expired by age are missing from the range).
    pub fn unsynced_batch(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<OutboxReading>, StoreError> {
        if after_seq + 1 >= self.st.next_seq || limit == 0 {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, device_id, metric_id, ts, value FROM readings \
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .ctx("unsynced_batch: prepare")?;
        let rows = stmt
            .query_map(params![after_seq, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, f64>(4)?,
                ))
            })
            .ctx("unsynced_batch: query")?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for row in rows {
            let (seq, device_id, metric_id, ts, value) = row.ctx("unsynced_batch: row")?;
            let name = |names: &std::collections::HashMap<i64, String>, id: i64| {
                names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
            };
            out.push(OutboxReading {
                seq,
                device: name(&self.st.device_keys, device_id),
                metric: name(&self.st.metric_names, metric_id),
                ts,
                value,
            });
        }
        Ok(out)
    }

    /// Records that the upstream acknowledged the batch `first..=last` (as read by
    /// [`Store::unsynced_batch`]): moves the cursor to `last` in one transaction and takes the
    /// batch's rows that were evicted while in flight out of `evicted_unsynced`. Batches must
    /// be acknowledged in seq order; a batch at or below the cursor is ignored.
    pub fn ack_synced(&mut self, first: i64, last: i64) -> Result<(), StoreError> {
        if last <= self.st.sync_cursor || first > last {
            return Ok(());
        }
        let first = first.max(self.st.sync_cursor + 1);
        // Rows first..oldest_seq were evicted after being read, and counted as unsynced then.
        let delivered_evicted = if self.st.opts.sync_enabled {
            ((last + 1).min(self.st.oldest_seq) - first).max(0) as u64
        } else {
            0
        };
        let evicted_unsynced = self.st.evicted_unsynced.saturating_sub(delivered_evicted);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("ack_synced: begin")?;
        {
            let mut set = tx
                .prepare_cached("UPDATE meta SET value = ?2 WHERE key = ?1")
                .ctx("ack_synced: prepare")?;
            set.execute(params!["sync_cursor", last])
                .ctx("ack_synced: cursor")?;
            if delivered_evicted > 0 {
                set.execute(params!["evicted_unsynced", evicted_unsynced as i64])
                    .ctx("ack_synced: evicted_unsynced")?;
            }
        }
        tx.commit().ctx("ack_synced: commit")?;
        self.st.sync_cursor = last;
        self.st.evicted_unsynced = evicted_unsynced;
        Ok(())
    }

    /// Backlog, age of the oldest waiting reading and the eviction gap.
    pub fn outbox_stats(&self) -> OutboxStats {
        let first = self.first_unsynced();
        let backlog = ((self.st.next_seq - first).max(0) as u64).min(self.st.rows());
        let oldest_unsynced_ts = if backlog == 0 {
            None
        } else {
            self.conn
                .prepare_cached("SELECT ts FROM readings WHERE seq = ?1")
                .and_then(|mut s| s.query_row([first], |r| r.get(0)))
                .ok()
        };
        OutboxStats {
            cursor: self.st.sync_cursor,
            backlog,
            oldest_unsynced_ts,
            evicted_unsynced: self.st.evicted_unsynced,
        }
    }

    /// This store file's identity in upstream idempotency keys: 16 hex digits, random, made on
    /// first use and persisted in `meta`, so a new file (seqs starting at 1 again) never
    /// reuses the keys of an old one.
    pub fn store_id(&mut self) -> Result<String, StoreError> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', random())")
            .and_then(|mut s| s.execute([]))
            .ctx("store_id: create")?;
        let id: i64 = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = 'store_id'")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .ctx("store_id: read")?;
        Ok(format!("{:016x}", id as u64))
    }

    /// The seq the next stored reading will get; `next_seq - 1` is the newest.
    pub fn next_seq(&self) -> i64 {
        self.st.next_seq
    }
}
