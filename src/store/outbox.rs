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
    /// Up to `limit` stored readings with `seq > after_seq`, in seq order, from both tiers
    /// (seqs of evicted readings are missing from the range).
    ///
    /// Seqs are dense apart from evictions, so the window `after_seq + 1..=after_seq + limit`
    /// holds at most `limit` readings: the head rows in it are one rowid range, and the chunks
    /// that can hold some are those with `seq_last > after_seq` and `seq_first` inside it
    /// (the `chunks_seq_last` index). An empty window (everything in it evicted) is doubled
    /// until it finds readings or reaches the newest seq.
    pub fn unsynced_batch(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<OutboxReading>, StoreError> {
        if after_seq + 1 >= self.st.next_seq || limit == 0 {
            return Ok(Vec::new());
        }
        let mut width = limit as i64;
        loop {
            let upper = after_seq.saturating_add(width);
            let found = self.stored_between(after_seq, upper, limit)?;
            if !found.is_empty() || upper >= self.st.next_seq - 1 {
                return Ok(found);
            }
            width = width.saturating_mul(2);
        }
    }

    /// Up to `limit` readings with `after < seq <= upper`, in seq order.
    fn stored_between(
        &self,
        after: i64,
        upper: i64,
        limit: usize,
    ) -> Result<Vec<OutboxReading>, StoreError> {
        let mut rows: Vec<(i64, i64, i64, i64, f64)> = self
            .conn
            .prepare_cached(
                "SELECT seq, device_id, metric_id, ts, value FROM readings \
                 WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
            )
            .and_then(|mut s| {
                s.query_map(params![after, upper, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .ctx("unsynced_batch: head")?;
        if self.st.sealed > 0 {
            let chunks: Vec<(i64, i64, i64)> = self
                .conn
                .prepare_cached(
                    "SELECT id, device_id, metric_id FROM chunks \
                     WHERE seq_last > ?1 AND seq_first <= ?2",
                )
                .and_then(|mut s| {
                    s.query_map(params![after, upper], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect()
                })
                .ctx("unsynced_batch: chunks")?;
            for (id, device_id, metric_id) in chunks {
                for p in super::chunks::load(&self.conn, id)? {
                    if p.seq > after && p.seq <= upper {
                        rows.push((p.seq, device_id, metric_id, p.ts_ms, p.value));
                    }
                }
            }
            rows.sort_unstable_by_key(|r| r.0);
            rows.truncate(limit);
        }
        let name = |names: &std::collections::HashMap<i64, String>, id: i64| {
            names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
        };
        Ok(rows
            .into_iter()
            .map(|(seq, device_id, metric_id, ts, value)| OutboxReading {
                seq,
                device: name(&self.st.device_keys, device_id),
                metric: name(&self.st.metric_names, metric_id),
                ts,
                value,
            })
            .collect())
    }

    /// How many readings with `first <= seq <= last` are stored now.
    fn stored_count(&self, first: i64, last: i64) -> Result<u64, StoreError> {
        let head: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM readings WHERE seq >= ?1 AND seq <= ?2")
            .and_then(|mut s| s.query_row([first, last], |r| r.get(0)))
            .ctx("ack_synced: count head")?;
        let mut n = head as u64;
        if self.st.sealed > 0 {
            let ids: Vec<i64> = self
                .conn
                .prepare_cached("SELECT id FROM chunks WHERE seq_last >= ?1 AND seq_first <= ?2")
                .and_then(|mut s| s.query_map([first, last], |r| r.get(0))?.collect())
                .ctx("ack_synced: chunks")?;
            for id in ids {
                let seqs = super::chunks::load_seqs(&self.conn, id)?;
                n += seqs.iter().filter(|&&s| s >= first && s <= last).count() as u64;
            }
        }
        Ok(n)
    }

    /// Records that the upstream acknowledged the batch `first..=last` of `count` readings
    /// (as read by [`Store::unsynced_batch`]): moves the cursor to `last` in one transaction
    /// and takes the batch's readings that were evicted while in flight (counted as unsynced
    /// then, but delivered) out of `evicted_unsynced`. No seq inside the batch's range is
    /// handed out later, so those are exactly `count` minus the ones still stored. Batches
    /// must be acknowledged in seq order; a batch at or below the cursor is ignored.
    pub fn ack_synced(&mut self, first: i64, last: i64, count: u64) -> Result<(), StoreError> {
        if last <= self.st.sync_cursor || first > last {
            return Ok(());
        }
        let delivered_evicted = if self.st.opts.sync_enabled && self.st.evicted_unsynced > 0 {
            count.saturating_sub(self.stored_count(first, last)?)
        } else {
            0
        };
        let evicted_unsynced = self.st.evicted_unsynced.saturating_sub(delivered_evicted);
        if self.st.opts.memory_head {
            // Written by the next flush, with the readings it makes durable (`head.rs`).
            self.st.sync_cursor = last;
            self.st.evicted_unsynced = evicted_unsynced;
            return Ok(());
        }
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
        let (backlog, oldest_unsynced_ts) = self.waiting_after(self.st.sync_cursor);
        OutboxStats {
            cursor: self.st.sync_cursor,
            backlog,
            oldest_unsynced_ts,
            evicted_unsynced: self.st.evicted_unsynced,
        }
    }

    /// Stored readings above `cursor` and the `ts` of the first of them: a rowid range of the
    /// head, the counts of the chunks above the cursor, and the seqs of the few chunks that
    /// straddle it.
    pub(crate) fn waiting_after(&self, cursor: i64) -> (u64, Option<i64>) {
        if cursor + 1 >= self.st.next_seq || self.st.rows() == 0 {
            return (0, None);
        }
        let backlog = match self.count_above(cursor) {
            Ok(n) => n,
            Err(e) => {
                log::warn!("backlog not counted: {e}");
                return (0, None);
            }
        };
        if backlog == 0 {
            return (0, None);
        }
        let oldest_ts = self
            .unsynced_batch(cursor, 1)
            .ok()
            .and_then(|b| b.first().map(|r| r.ts));
        (backlog, oldest_ts)
    }

    fn count_above(&self, cursor: i64) -> Result<u64, StoreError> {
        let head: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM readings WHERE seq > ?1")
            .and_then(|mut s| s.query_row([cursor], |r| r.get(0)))
            .ctx("backlog: head")?;
        if self.st.sealed == 0 {
            return Ok(head as u64);
        }
        let above: i64 = self
            .conn
            .prepare_cached("SELECT coalesce(sum(count), 0) FROM chunks WHERE seq_first > ?1")
            .and_then(|mut s| s.query_row([cursor], |r| r.get(0)))
            .ctx("backlog: chunks")?;
        let straddling: Vec<super::chunks::ChunkHead> = self
            .conn
            .prepare_cached(
                "SELECT id, seq_first, seq_last, count FROM chunks \
                 WHERE seq_last > ?1 AND seq_first <= ?1",
            )
            .and_then(|mut s| {
                s.query_map([cursor], super::chunks::head_from_row)?
                    .collect()
            })
            .ctx("backlog: chunks")?;
        let mut n = (head + above) as u64;
        for ch in &straddling {
            n += super::chunks::count_above(&self.conn, ch, cursor)?;
        }
        Ok(n)
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
