//! Cursors of further upstreams (the InfluxDB writer): each is one `meta` row named by its
//! upstream, beside the MQTT upstream's `sync_cursor` ([`super::outbox`]).
//!
//! Invariants: a named cursor only moves forward and only in a committed transaction
//! (`synchronous=FULL`: durable on return; with the head in RAM, at the next flush), to a seq
//! its upstream acknowledged; a missing row
//! reads as 0, so an upstream switched on for the first time starts with everything stored.
//! Readings the ring evicts before such an upstream took them are not counted here
//! (`evicted_unsynced` is the MQTT upstream's); they show as the cursor's step over the gap.
//! No schema change: `meta` holds any key.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{Ctx, Store, StoreError};

impl Store {
    /// The persisted cursor named `key` (0 when it was never set).
    pub fn named_cursor(&self, key: &str) -> Result<i64, StoreError> {
        if let Some(&seq) = self.st.deferred.named_cursors.get(key) {
            return Ok(seq);
        }
        let value = self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .ctx("named_cursor")?;
        Ok(value.unwrap_or(0))
    }

    /// Moves the cursor named `key` forward to `seq` in one committed transaction; a `seq` at
    /// or below the persisted value leaves it as it is.
    pub fn advance_named_cursor(&mut self, key: &str, seq: i64) -> Result<(), StoreError> {
        if self.st.opts.memory_head {
            // Written by the next flush, with the readings it makes durable (`head.rs`).
            let current = self.named_cursor(key)?;
            self.st
                .deferred
                .named_cursors
                .insert(key.to_owned(), current.max(seq));
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("advance_named_cursor: begin")?;
        tx.prepare_cached(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        )
        .and_then(|mut s| s.execute(params![key, seq]))
        .ctx("advance_named_cursor")?;
        tx.commit().ctx("advance_named_cursor: commit")
    }

    /// Stored readings above `cursor`, and the `ts` of the oldest of them (like
    /// [`Store::outbox_stats`]).
    pub fn backlog_after(&self, cursor: i64) -> (u64, Option<i64>) {
        self.waiting_after(cursor)
    }
}
