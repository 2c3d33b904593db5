//! Reading kept buckets for a rollup: the buckets of one series at the coarsest kept level
//! whose step divides the rollup's, each lying wholly inside the range, in time order.
//!
//! A bucket cut by the range's `from` or `to` is left out: its readings cannot be split, and
//! counting ones outside the range would be wrong. Blocks are decoded one at a time, when the
//! rollup reaches them.

use std::collections::VecDeque;

use rusqlite::{params, Connection};

use super::{KeptLevel, Part};
use crate::store::{Ctx, StoreError};

pub(crate) struct KeptReader {
    step: i64,
    lower: i64,
    last: i64,
    /// Blocks not decoded yet, in `first_bucket` order.
    blocks: VecDeque<i64>,
    /// Buckets of the decoded block not handed out yet.
    pending: VecDeque<(i64, Part)>,
}

impl KeptReader {
    /// `None` when no kept level divides `step` or the series has no block in range
    /// (`lower..=last`, in ms).
    pub(crate) fn open(
        conn: &Connection,
        levels: &[KeptLevel],
        (device, metric): (i64, i64),
        step: i64,
        (lower, last): (i64, i64),
    ) -> Result<Option<KeptReader>, StoreError> {
        let Some(kept_step) = levels
            .iter()
            .map(|l| l.step_ms)
            .filter(|&s| step % s == 0)
            .max()
        else {
            return Ok(None);
        };
        let blocks: VecDeque<i64> = conn
            .prepare_cached(
                "SELECT id FROM kept WHERE device_id = ?1 AND metric_id = ?2 AND step = ?3 \
                 AND last_bucket >= ?4 AND first_bucket <= ?5 ORDER BY first_bucket",
            )
            .and_then(|mut s| {
                s.query_map(params![device, metric, kept_step, lower, last], |r| {
                    r.get(0)
                })?
                .collect()
            })
            .ctx("kept: blocks in range")?;
        Ok((!blocks.is_empty()).then_some(KeptReader {
            step: kept_step,
            lower,
            last,
            blocks,
            pending: VecDeque::new(),
        }))
    }

    /// The start of the next bucket, decoding the next block when needed.
    pub(crate) fn peek(&mut self, conn: &Connection) -> Result<Option<i64>, StoreError> {
        while self.pending.is_empty() {
            let Some(id) = self.blocks.pop_front() else {
                return Ok(None);
            };
            let data: Vec<u8> = conn
                .prepare_cached("SELECT data FROM kept WHERE id = ?1")
                .and_then(|mut s| s.query_row([id], |r| r.get(0)))
                .ctx("kept: read block")?;
            let (lower, last, step) = (self.lower, self.last, self.step);
            self.pending = super::decode(id, step, &data)?
                .into_iter()
                .filter(|(start, _)| *start >= lower && start.saturating_add(step - 1) <= last)
                .collect();
        }
        Ok(self.pending.front().map(|b| b.0))
    }

    /// The next bucket (after [`KeptReader::peek`] said there is one).
    pub(crate) fn next(&mut self) -> Option<(i64, Part)> {
        self.pending.pop_front()
    }
}
