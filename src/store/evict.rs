//! Eviction: the ring's bounds (`max_rows`, `max_bytes`) and its age limit, over both tiers.
//!
//! The oldest-inserted data goes first: the unit with the lowest seq, which is either a run of
//! head rows below the oldest chunk's `seq_first`, or that whole chunk. Every evicted reading
//! is counted (`evicted_total`, and `evicted_unsynced` when its seq is above the sync cursor
//! and an upstream exists) in the transaction that deletes it.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::chunks::{self, ChunkHead};
use super::kept;
use super::ledger::Counters;
use super::{
    oldest_stored, page_counts, Ctx, State, Store, StoreError, EXPIRE_CHUNK, EXPIRE_PAIRS,
};

impl Store {
    /// Deletes every reading whose `ts < now_ms - max_age_ms`, whatever order it arrived in.
    ///
    /// First the cheap case in the head: the rows from the oldest-inserted end up to the first
    /// one (in insertion order) that is young enough. Then sealed chunks whose newest point is
    /// past the cutoff (a chunk straddling the cutoff stays until all of it is old). Then the
    /// head rows that arrived late (an old `ts` inserted after younger rows, or behind a row
    /// from the future): a walk over the `(device_id, metric_id)` pairs of the
    /// `(device_id, metric_id, ts)` index, where each pair's expired rows are one index range.
    /// One call deletes at most [`EXPIRE_CHUNK`] readings and visits at most [`EXPIRE_PAIRS`]
    /// pairs; [`Store::expire_pending`] says whether to call again at once.
    pub fn evict_expired(&mut self, now_ms: i64) -> Result<u64, StoreError> {
        self.with_room(|s| s.expire_kept(now_ms))?;
        let Some(max_age) = self.st.opts.max_age_ms else {
            self.st.expire_pending = false;
            return Ok(0);
        };
        let cutoff = now_ms.saturating_sub(max_age);
        let n = self.with_room(|s| s.expire_step(cutoff))?;
        if n > 0 {
            log::info!("evicted={n} max_age_ms={max_age} expired readings evicted");
        }
        Ok(n)
    }

    /// Whether the last [`Store::evict_expired`] stopped at its per-call bound.
    pub fn expire_pending(&self) -> bool {
        self.st.expire_pending
    }

    /// Drops kept rollup blocks past their level's retention (`kept/mod.rs`).
    fn expire_kept(&mut self, now_ms: i64) -> Result<(), StoreError> {
        if self.st.kept_bytes == 0 {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("expire kept: begin")?;
        let mut c = self.st.counters();
        let dropped = kept::expire(&tx, &self.st, &mut c, now_ms)?;
        if dropped > 0 {
            tx.commit().ctx("expire kept: commit")?;
            self.st.apply(&self.conn, c);
            log::info!("blocks={dropped} kept rollups past their retention dropped");
        }
        Ok(())
    }

    fn expire_step(&mut self, cutoff: i64) -> Result<u64, StoreError> {
        let st = &mut self.st;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("evict_expired: begin")?;
        let mut c = st.counters();
        let mut n = 0;
        if c.head_rows > 0 {
            let first_young = {
                let mut stmt = tx
                    .prepare_cached("SELECT seq, ts FROM readings ORDER BY seq LIMIT ?1")
                    .ctx("evict_expired: prepare")?;
                let mut rows = stmt
                    .query([EXPIRE_CHUNK as i64])
                    .ctx("evict_expired: find")?;
                let (mut first_young, mut last) = (None, None);
                while let Some(r) = rows.next().ctx("evict_expired: find")? {
                    let (seq, ts): (i64, i64) = (
                        r.get(0).ctx("evict_expired: row")?,
                        r.get(1).ctx("evict_expired: row")?,
                    );
                    last = Some(seq);
                    if ts >= cutoff {
                        first_young = Some(seq);
                        break;
                    }
                }
                first_young.or(last.map(|l| l + 1))
            };
            if let Some(below) = first_young {
                n += evict_below(&tx, st, &mut c, below)?;
            }
        }
        let mut pending = n >= EXPIRE_CHUNK;
        if !pending && c.sealed > 0 {
            n += expire_chunks(&tx, st, &mut c, cutoff, EXPIRE_CHUNK - n)?;
            pending = n >= EXPIRE_CHUNK;
        }
        let mut from = st.expire_from;
        if !pending && c.head_rows > 0 {
            let (late, done) = evict_late(&tx, st, &mut c, cutoff, EXPIRE_CHUNK - n, &mut from)?;
            n += late;
            pending = !done;
        }
        if n > 0 {
            c.oldest_seq = oldest_stored(&tx)
                .ctx("evict: oldest")?
                .unwrap_or(c.next_seq);
            write_meta(&tx, &c, false, true)?;
            tx.commit().ctx("evict_expired: commit")?;
            st.apply(&self.conn, c);
        }
        st.expire_from = if pending { from } else { (0, 0) };
        st.expire_pending = pending;
        Ok(n)
    }

    /// Changes the bounds (config reload) and evicts at once down to the new ones; returns
    /// the number of readings evicted. `max_age_ms` applies from the next `evict_expired`.
    pub fn set_limits(
        &mut self,
        max_rows: u64,
        max_bytes: u64,
        max_age_ms: Option<i64>,
    ) -> Result<u64, StoreError> {
        if max_rows == 0 || max_bytes == 0 {
            return Err(StoreError::InvalidOptions(
                "max_rows and max_bytes must be at least 1",
            ));
        }
        let st = &mut self.st;
        st.opts.max_rows = max_rows;
        st.opts.max_bytes = max_bytes;
        st.opts.max_age_ms = max_age_ms;
        self.evict_to_bounds()
    }

    /// Periodic upkeep: evicts down to the bounds if an earlier attempt could not (disk full)
    /// and creates the disk-space reserve again when it is missing and there is room.
    pub fn maintain(&mut self) -> Result<u64, StoreError> {
        let n = self.evict_to_bounds()?;
        if self.st.reserve_missing {
            let path = &self.st.opts.path;
            match super::reserve::ensure(path, super::wal_limit_bytes(&self.st.opts)) {
                Ok(()) => {
                    self.st.reserve_missing = false;
                    log::info!("path={} disk-space reserve restored", path.display());
                }
                Err(e) => log::debug!("path={} reserve not restored: {e}", path.display()),
            }
        }
        Ok(n)
    }

    /// Evicts down to the bounds in one transaction; when the disk is full, releases the
    /// reserve and evicts in small steps, each followed by a checkpoint so that the WAL
    /// starts over and the next step reuses its space.
    fn evict_to_bounds(&mut self) -> Result<u64, StoreError> {
        match self.bounds_step(u64::MAX) {
            Err(e) if e.is_disk_full() => {}
            other => return other,
        }
        self.release_reserve();
        self.st.fold_paused = true;
        let freed = self.evict_in_steps();
        self.st.fold_paused = false;
        freed
    }

    fn evict_in_steps(&mut self) -> Result<u64, StoreError> {
        let (mut total, mut step) = (0, 1024);
        loop {
            match self.bounds_step(step) {
                Ok(0) => return Ok(total),
                Ok(n) => total += n,
                Err(e) if e.is_disk_full() && step > 1 => step /= 2,
                Err(e) => {
                    if total > 0 {
                        log::warn!("evicted={total} store still over its bounds: {e}");
                    }
                    return Err(e);
                }
            }
            self.checkpoint();
        }
    }

    /// One transaction evicting at most `cap` readings towards the bounds.
    fn bounds_step(&mut self, cap: u64) -> Result<u64, StoreError> {
        let st = &mut self.st;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("set_limits: begin")?;
        let mut c = st.counters();
        let n = enforce_bounds(&tx, st, &mut c, cap)?;
        if n > 0 {
            write_meta(&tx, &c, false, true)?;
            tx.commit().ctx("set_limits: commit")?;
            st.apply(&self.conn, c);
        }
        Ok(n)
    }

    /// Runs `f`; when it fails for lack of space, frees the reserve and runs it once more,
    /// folding nothing into kept rollups.
    pub(super) fn with_room<T>(
        &mut self,
        mut f: impl FnMut(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match f(self) {
            Err(e) if e.is_disk_full() && self.release_reserve() => {
                // The retry must not need space for kept rollups (`kept/mod.rs`).
                self.st.fold_paused = true;
                let retried = f(self);
                self.st.fold_paused = false;
                retried
            }
            other => other,
        }
    }

    /// Deletes the reserve and checkpoints; false when there was no reserve to free.
    fn release_reserve(&mut self) -> bool {
        let path = &self.st.opts.path;
        let freed = super::reserve::release(path);
        if freed {
            log::warn!(
                "path={} disk full: disk-space reserve released so eviction can run",
                path.display()
            );
        }
        self.st.reserve_missing = true;
        self.checkpoint();
        freed
    }

    /// Copies the WAL back into the database so the next transaction writes the WAL from its
    /// start, into space the file already has. Failure is fine: a later one catches up.
    fn checkpoint(&self) {
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }

    /// The highest seq the upstream has acknowledged (0: none). Readings with
    /// `seq <= cursor` are synced.
    pub fn sync_cursor(&self) -> i64 {
        self.st.sync_cursor
    }

    /// Persists the sync cursor (call after the upstream acknowledged up to `seq`).
    pub fn set_sync_cursor(&mut self, seq: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'sync_cursor'")
            .and_then(|mut s| s.execute([seq]))
            .ctx("set_sync_cursor")?;
        self.st.sync_cursor = seq;
        Ok(())
    }
}

/// Evicts down to `max_rows`, then in steps (1% of the readings, at least 64) while the pages
/// in use exceed `max_bytes`; at most `cap` readings, give or take the last chunk. Returns
/// the readings evicted.
pub(super) fn enforce_bounds(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    cap: u64,
) -> Result<u64, StoreError> {
    let mut n = 0;
    let over = c.rows().saturating_sub(st.opts.max_rows).min(cap);
    if over > 0 {
        n += evict_oldest(conn, st, c, over)?;
    }
    loop {
        let (pages, free) = page_counts(conn).ctx("evict: page_count")?;
        let rows = c.rows();
        if (pages - free) * st.page_size as u64 <= st.opts.max_bytes || rows == 0 || n >= cap {
            break;
        }
        let step = (rows / 100).max(64).min(rows).min(cap - n);
        n += evict_oldest(conn, st, c, step)?;
    }
    if n > 0 {
        c.oldest_seq = oldest_stored(conn)
            .ctx("evict: oldest")?
            .unwrap_or(c.next_seq);
    }
    Ok(n)
}

/// Evicts at least `k` readings (or all), oldest-inserted unit first.
fn evict_oldest(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    k: u64,
) -> Result<u64, StoreError> {
    let mut n = 0;
    while n < k && c.rows() > 0 {
        let chunk = if c.sealed > 0 {
            chunks::oldest(conn)?
        } else {
            None
        };
        let head_min: Option<i64> = if c.head_rows > 0 {
            conn.query_row("SELECT min(seq) FROM readings", [], |r| r.get(0))
                .ctx("evict: head min")?
        } else {
            None
        };
        let before = n;
        match (head_min, chunk) {
            (Some(h), chunk) if chunk.is_none_or(|ch| h < ch.seq_first) => {
                let below = chunk.map_or(i64::MAX, |ch| ch.seq_first);
                // The (k - n + 1)-th head row below the chunk bounds the run evicted.
                let bound: Option<i64> = conn
                    .prepare_cached(
                        "SELECT seq FROM readings WHERE seq < ?1 ORDER BY seq LIMIT 1 OFFSET ?2",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![below, (k - n) as i64], |r| r.get(0))
                            .optional()
                    })
                    .ctx("evict: find")?;
                n += evict_below(conn, st, c, bound.unwrap_or(below))?;
            }
            (_, Some(ch)) => n += evict_chunk(conn, st, c, &ch)?,
            _ => break,
        }
        if n == before {
            break;
        }
    }
    Ok(n)
}

/// Evicts the `k` oldest head rows (by seq), whatever the chunks hold, without folding them
/// into kept rollups: this is a RAM head over its cap because flushes fail, so the file the
/// buckets live in is what fails (they are counted all the same).
pub(super) fn evict_head_rows(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    k: u64,
) -> Result<u64, StoreError> {
    let bound: Option<i64> = conn
        .prepare_cached("SELECT seq FROM readings ORDER BY seq LIMIT 1 OFFSET ?1")
        .and_then(|mut s| s.query_row([k as i64], |r| r.get(0)).optional())
        .ctx("evict: find")?;
    delete_head_below(conn, st, c, bound.unwrap_or(i64::MAX), false)
}

/// Deletes chunk `ch` and counts its points.
fn evict_chunk(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    ch: &ChunkHead,
) -> Result<u64, StoreError> {
    if st.opts.sync_enabled {
        c.evicted_unsynced += chunks::count_above(conn, ch, st.sync_cursor)?;
    }
    if !st.opts.kept.is_empty() {
        // The chunk's series and points in one row read.
        let (device, metric, points, seqs): (i64, i64, Vec<u8>, Vec<u8>) = conn
            .prepare_cached("SELECT device_id, metric_id, points, seqs FROM chunks WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row([ch.id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
            })
            .ctx("evict: read chunk")?;
        let points = chunks::decode(ch.id, &points, &seqs)?;
        kept::fold(
            conn,
            st,
            c,
            points.iter().map(|p| (device, metric, p.ts_ms, p.value)),
        )?;
    }
    chunks::delete(conn, ch.id)?;
    c.sealed -= ch.count;
    c.evicted_total += ch.count;
    Ok(ch.count)
}

/// Deletes the head rows below seq `below` (a rowid range), folds them into kept rollups and
/// counts them.
fn evict_below(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    below: i64,
) -> Result<u64, StoreError> {
    delete_head_below(conn, st, c, below, true)
}

fn delete_head_below(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    below: i64,
    fold: bool,
) -> Result<u64, StoreError> {
    let unsynced = if st.opts.sync_enabled {
        conn.prepare_cached("SELECT count(*) FROM readings WHERE seq > ?1 AND seq < ?2")
            .and_then(|mut s| s.query_row([st.sync_cursor, below], |r| r.get::<_, i64>(0)))
            .ctx("evict: count unsynced")? as u64
    } else {
        0
    };
    if fold && !st.opts.kept.is_empty() {
        let evicted: Vec<kept::Evicted> = conn
            .prepare_cached(
                "SELECT device_id, metric_id, ts, value FROM readings WHERE seq < ?1 ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map([below], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect()
            })
            .ctx("evict: read evicted rows")?;
        kept::fold(conn, st, c, evicted)?;
    }
    let deleted = conn
        .prepare_cached("DELETE FROM readings WHERE seq < ?1")
        .and_then(|mut s| s.execute([below]))
        .ctx("evict: delete")? as u64;
    c.evicted_unsynced += unsynced;
    c.evicted_total += deleted;
    c.head_rows -= deleted;
    c.head_changed |= deleted > 0;
    Ok(deleted)
}

/// Deletes chunks whose newest point is older than `cutoff`, up to about `budget` points.
fn expire_chunks(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    cutoff: i64,
    budget: u64,
) -> Result<u64, StoreError> {
    // `chunks_series` covers these columns: a scan of the index, not of the blobs.
    let expired: Vec<i64> = conn
        .prepare_cached("SELECT id FROM chunks INDEXED BY chunks_series WHERE ts_last < ?1")
        .and_then(|mut s| s.query_map([cutoff], |r| r.get(0))?.collect())
        .ctx("evict_expired: find chunks")?;
    let mut n = 0;
    for id in expired {
        if n >= budget {
            break;
        }
        let ch = conn
            .prepare_cached("SELECT id, seq_first, seq_last, count FROM chunks WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], chunks::head_from_row))
            .ctx("evict_expired: chunk")?;
        n += evict_chunk(conn, st, c, &ch)?;
    }
    Ok(n)
}

/// Deletes expired head rows pair by pair from `from` on, at most `budget` rows and
/// [`EXPIRE_PAIRS`] pairs; returns the rows deleted and whether the walk reached the end.
fn evict_late(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    cutoff: i64,
    budget: u64,
    from: &mut (i64, i64),
) -> Result<(u64, bool), StoreError> {
    let mut next_pair = conn
        .prepare_cached(
            "SELECT device_id, metric_id FROM readings WHERE (device_id, metric_id) > (?1, ?2) \
             ORDER BY device_id, metric_id LIMIT 1",
        )
        .ctx("evict_expired: prepare")?;
    let mut expired = conn
        .prepare_cached(
            "SELECT seq, ts, value FROM readings WHERE device_id = ?1 AND metric_id = ?2 \
             AND ts < ?3 LIMIT ?4",
        )
        .ctx("evict_expired: prepare")?;
    let mut delete = conn
        .prepare_cached("DELETE FROM readings WHERE seq = ?1")
        .ctx("evict_expired: prepare")?;
    let mut n = 0;
    for _ in 0..EXPIRE_PAIRS {
        let pair: Option<(i64, i64)> = next_pair
            .query_row(params![from.0, from.1], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .ctx("evict_expired: walk")?;
        let Some((device, metric)) = pair else {
            return Ok((n, true));
        };
        let left = budget - n;
        let late = expired
            .query_map(params![device, metric, cutoff, left as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .ctx("evict_expired: find late")?;
        kept::fold(
            conn,
            st,
            c,
            late.iter()
                .map(|&(_, ts, value)| (device, metric, ts, value)),
        )?;
        let seqs: Vec<i64> = late.iter().map(|l| l.0).collect();
        for &seq in &seqs {
            delete.execute([seq]).ctx("evict_expired: delete late")?;
            if st.opts.sync_enabled && seq > st.sync_cursor {
                c.evicted_unsynced += 1;
            }
        }
        let k = seqs.len() as u64;
        c.head_rows -= k;
        c.head_changed |= k > 0;
        c.evicted_total += k;
        n += k;
        if n >= budget {
            // This pair may hold more: the next call starts with it again.
            return Ok((n, false));
        }
        *from = (device, metric);
    }
    Ok((n, false))
}

pub(super) fn write_meta(
    conn: &Connection,
    c: &Counters,
    seq: bool,
    evicted: bool,
) -> Result<(), StoreError> {
    let set = |key: &str, value: i64| {
        conn.prepare_cached("UPDATE meta SET value = ?2 WHERE key = ?1")
            .and_then(|mut s| s.execute(params![key, value]))
            .ctx("write meta")
    };
    if seq {
        set("next_seq", c.next_seq.max(c.seq_reserved))?;
    }
    if evicted {
        set("evicted_total", c.evicted_total as i64)?;
        set("evicted_unsynced", c.evicted_unsynced as i64)?;
    }
    Ok(())
}
