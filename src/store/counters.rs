//! Persisted frame counters for replay protection of radio sources (LoRaWAN FCnt, acs-proto
//! frame counters): one row per device, `frame_counters(device TEXT PRIMARY KEY, counter)`.
//!
//! Invariants: a counter is written in the same transaction as the readings of the frame that
//! advanced it (see [`Store::insert_batch_with_counters`]), so after a crash the stored counter
//! never runs ahead of the stored readings; a stored counter only grows (`max` on conflict), so
//! batches committed out of order cannot move it back.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::{Ctx, Store, StoreError};
use crate::model::FrameCounter;

impl Store {
    /// Every persisted frame counter, by device id (loaded once when a radio source starts).
    pub fn frame_counters(&self) -> Result<HashMap<String, u32>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT device, counter FROM frame_counters")
            .ctx("frame_counters: prepare")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .ctx("frame_counters: query")?;
        let mut out = HashMap::new();
        for row in rows {
            let (device, counter) = row.ctx("frame_counters: row")?;
            out.insert(device, u32::try_from(counter).unwrap_or(u32::MAX));
        }
        Ok(out)
    }
}

/// Upserts `counters` inside the caller's transaction.
pub(crate) fn write_frame_counters(
    conn: &Connection,
    counters: &[FrameCounter],
) -> Result<(), StoreError> {
    if counters.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO frame_counters (device, counter) VALUES (?1, ?2) \
             ON CONFLICT (device) DO UPDATE SET counter = max(counter, excluded.counter)",
        )
        .ctx("frame_counters: prepare upsert")?;
    for c in counters {
        stmt.execute(params![c.device, i64::from(c.counter)])
            .ctx("frame_counters: upsert")?;
    }
    Ok(())
}
