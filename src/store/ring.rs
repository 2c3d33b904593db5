//! The write path: group commit of a batch, ring-buffer eviction and the persisted counters.
//!
//! Everything a batch changes (rows, devices, metrics, evictions, `meta`) commits in one
//! transaction. The in-memory mirror (`next_seq`, `oldest_seq`, counters, registry caches) is
//! updated only after the commit succeeded; registry entries added by a failed batch are
//! removed again, so memory and file never disagree.
//!
//! A message (the readings of one MQTT publish, frame or advertisement) is stored whole or not
//! at all: every check that can refuse a reading (names, value, disabled device, the registry
//! caps) is made for the whole message before any of it is written, and refuses all of it.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use rusqlite::{params, Connection, TransactionBehavior};

use super::counters::write_frame_counters;
use super::{page_counts, Ctx, DevEntry, State, Store, StoreError, EXPIRE_CHUNK, EXPIRE_PAIRS};
use crate::model::{validate_name, DeviceStatus, FrameCounter, Reading, Transport};

/// What one commit writes.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub readings: Vec<(Transport, Reading)>,
    pub statuses: Vec<DeviceStatus>,
}

/// What one commit did; every reading of the batch is in exactly one of `inserted`,
/// `rejected_*` or `dropped_disabled`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub inserted: u64,
    pub evicted: u64,
    pub evicted_unsynced: u64,
    /// Readings (and statuses) of new devices beyond `max_devices`.
    pub rejected_device_cap: u64,
    /// Readings with a new metric name beyond `max_metrics`.
    pub rejected_metric_cap: u64,
    /// Readings with an invalid device/metric name or a non-finite value (NaN, inf).
    pub rejected_invalid: u64,
    /// Readings of devices with `enabled = 0`.
    pub dropped_disabled: u64,
}

/// What [`Store::insert_messages`] stored: its outcome, and which messages it refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    pub outcome: BatchOutcome,
    /// The ranges of `batch.readings` refused (each one message), in order; every other
    /// reading of the batch was stored.
    pub refused: Vec<Range<usize>>,
}

/// Counters a transaction works on; copied into `State` after commit.
#[derive(Debug, Clone, Copy)]
struct Counters {
    next_seq: i64,
    oldest_seq: i64,
    holes: u64,
    evicted_total: u64,
    evicted_unsynced: u64,
}

/// Registry entries created inside the running transaction (undone if it fails).
#[derive(Default)]
struct Added {
    devices: Vec<String>,
    metrics: Vec<String>,
}

impl Store {
    /// Writes `batch` in one transaction: registry upserts, rows, eviction down to the bounds,
    /// counters. `now_ms` is the gateway's clock, used for `first_seen`/`last_seen`.
    pub fn insert_batch(&mut self, batch: &Batch, now_ms: i64) -> Result<BatchOutcome, StoreError> {
        self.insert_batch_with_counters(batch, &[], now_ms)
    }

    /// [`Store::insert_batch`] plus the frame counters that admitted the batch's radio frames,
    /// in the same transaction.
    pub fn insert_batch_with_counters(
        &mut self,
        batch: &Batch,
        counters: &[FrameCounter],
        now_ms: i64,
    ) -> Result<BatchOutcome, StoreError> {
        self.insert_messages(batch, &[], counters, now_ms)
            .map(|done| done.outcome)
    }

    /// [`Store::insert_batch_with_counters`] for a batch of messages: `message_ends[i]` is the
    /// end (exclusive) in `batch.readings` of message `i`, which starts where the one before it
    /// ended; readings after the last end are one message each. Each message is stored whole
    /// or refused whole; the result says which were refused.
    pub fn insert_messages(
        &mut self,
        batch: &Batch,
        message_ends: &[usize],
        counters: &[FrameCounter],
        now_ms: i64,
    ) -> Result<Committed, StoreError> {
        let mut done = Committed::default();
        if batch.readings.is_empty() && batch.statuses.is_empty() && counters.is_empty() {
            return Ok(done);
        }
        let mut added = Added::default();
        let st = &mut self.st;
        let res = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .ctx("insert_batch: begin")?;
            let c = write_batch(&tx, st, batch, message_ends, now_ms, &mut done, &mut added)?;
            write_frame_counters(&tx, counters)?;
            tx.commit().ctx("insert_batch: commit")?;
            Ok(c)
        })();
        match res {
            Ok(c) => {
                st.apply(c);
                if done.outcome.evicted_unsynced > 0 {
                    log::warn!(
                        "evicted_unsynced={} evicted_total={} ring buffer full: evicted readings not yet synced upstream",
                        done.outcome.evicted_unsynced,
                        st.evicted_total
                    );
                }
                Ok(done)
            }
            Err(e) => {
                st.forget(&added);
                Err(e)
            }
        }
    }

    /// Deletes every row whose `ts < now_ms - max_age_ms`, whatever order it arrived in.
    ///
    /// First the cheap case: a rowid range from the oldest-inserted end up to the first row
    /// (in insertion order) that is young enough. Then the rows that arrived late (an old
    /// `ts` inserted after younger rows, or behind a row from the future): a walk over the
    /// `(device_id, metric_id)` pairs of the `(device_id, metric_id, ts)` index, where each
    /// pair's expired rows are one index range. No index on `ts` alone is needed, so inserts
    /// cost what they did. One call deletes at most [`EXPIRE_CHUNK`] rows and visits at most
    /// [`EXPIRE_PAIRS`] pairs; [`Store::expire_pending`] says whether to call again at once.
    pub fn evict_expired(&mut self, now_ms: i64) -> Result<u64, StoreError> {
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

    fn expire_step(&mut self, cutoff: i64) -> Result<u64, StoreError> {
        let st = &mut self.st;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("evict_expired: begin")?;
        let mut c = st.counters();
        let limit = c
            .oldest_seq
            .saturating_add(EXPIRE_CHUNK as i64)
            .min(c.next_seq);
        let first_young: Option<i64> = tx
            .prepare_cached(
                "SELECT seq FROM readings WHERE seq >= ?1 AND seq < ?2 AND ts >= ?3 \
                 ORDER BY seq LIMIT 1",
            )
            .and_then(|mut s| {
                let mut rows = s.query(params![c.oldest_seq, limit, cutoff])?;
                rows.next()?.map(|r| r.get(0)).transpose()
            })
            .ctx("evict_expired: find")?;
        let mut n = evict_below(&tx, st, &mut c, first_young.unwrap_or(limit))?;
        let mut from = st.expire_from;
        let mut pending = n >= EXPIRE_CHUNK;
        if !pending {
            let (late, done) = evict_late(&tx, st, &mut c, cutoff, EXPIRE_CHUNK - n, &mut from)?;
            n += late;
            pending = !done;
        }
        if n > 0 {
            write_meta(&tx, &c, false, true)?;
            tx.commit().ctx("evict_expired: commit")?;
            st.apply(c);
        }
        st.expire_from = if pending { from } else { (0, 0) };
        st.expire_pending = pending;
        Ok(n)
    }

    /// Changes the bounds (config reload) and evicts at once down to the new ones; returns
    /// the number of rows evicted. `max_age_ms` applies from the next `evict_expired`.
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

    /// One transaction evicting at most `cap` rows towards the bounds.
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
            st.apply(c);
        }
        Ok(n)
    }

    /// Runs `f`; when it fails for lack of space, frees the reserve and runs it once more.
    fn with_room<T>(
        &mut self,
        mut f: impl FnMut(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match f(self) {
            Err(e) if e.is_disk_full() && self.release_reserve() => f(self),
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

    /// The highest seq the upstream has acknowledged (0: none). Rows with `seq <= cursor` are
    /// synced.
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

impl Counters {
    fn rows(&self) -> u64 {
        (self.next_seq - self.oldest_seq) as u64 - self.holes
    }
}

impl State {
    fn counters(&self) -> Counters {
        Counters {
            next_seq: self.next_seq,
            oldest_seq: self.oldest_seq,
            holes: self.holes,
            evicted_total: self.evicted_total,
            evicted_unsynced: self.evicted_unsynced,
        }
    }

    fn apply(&mut self, c: Counters) {
        self.next_seq = c.next_seq;
        self.oldest_seq = c.oldest_seq;
        self.holes = c.holes;
        self.evicted_total = c.evicted_total;
        self.evicted_unsynced = c.evicted_unsynced;
    }

    fn forget(&mut self, added: &Added) {
        for key in &added.devices {
            if let Some(e) = self.devices.remove(key) {
                self.device_keys.remove(&e.id);
            }
        }
        for name in &added.metrics {
            if let Some(id) = self.metrics.remove(name) {
                self.metric_names.remove(&id);
            }
        }
    }
}

fn write_batch(
    conn: &Connection,
    st: &mut State,
    batch: &Batch,
    message_ends: &[usize],
    now_ms: i64,
    done: &mut Committed,
    added: &mut Added,
) -> Result<Counters, StoreError> {
    let Committed {
        outcome: out,
        refused,
    } = done;
    let mut c = st.counters();
    // Device id -> transport of its latest reading; one UPDATE per device per batch.
    let mut seen: HashMap<i64, Transport> = HashMap::new();
    {
        let mut ins = conn
            .prepare_cached(
                "INSERT INTO readings (seq, device_id, metric_id, ts, value) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .ctx("insert_batch: prepare")?;
        let n = batch.readings.len();
        let last = message_ends.last().map_or(0, |&e| e.min(n));
        let ends = message_ends.iter().map(|&e| e.min(n)).chain(last + 1..=n);
        let mut start = 0;
        for end in ends {
            let range = start..end.max(start);
            start = range.end;
            let message = &batch.readings[range.clone()];
            if message.is_empty() {
                continue;
            }
            if let Some(refusal) = refusal(st, message) {
                let count = message.len() as u64;
                match refusal {
                    Refusal::Invalid => out.rejected_invalid += count,
                    Refusal::Disabled => out.dropped_disabled += count,
                    Refusal::DeviceCap => out.rejected_device_cap += count,
                    Refusal::MetricCap(_) => out.rejected_metric_cap += count,
                }
                log_refusal(st, &message[0].1.device, count, refusal);
                refused.push(range);
                continue;
            }
            for (transport, r) in message {
                // `refusal` made sure that both exist or fit under the caps; the counts below
                // are a guard that never panics, not a path that is expected to run.
                let Some(dev) = device_id(conn, st, &r.device, *transport, now_ms, added)? else {
                    out.rejected_device_cap += 1;
                    continue;
                };
                let Some(metric) = metric_id(conn, st, &r.metric, added)? else {
                    out.rejected_metric_cap += 1;
                    continue;
                };
                ins.execute(params![c.next_seq, dev.id, metric, r.ts_ms, r.value])
                    .ctx("insert_batch: insert reading")?;
                c.next_seq += 1;
                out.inserted += 1;
                seen.insert(dev.id, *transport);
            }
        }
    }
    if !seen.is_empty() {
        let mut upd = conn
            .prepare_cached(
                "UPDATE devices SET last_seen = max(coalesce(last_seen, ?1), ?1), online = 1, \
                 transport = ?2 WHERE id = ?3",
            )
            .ctx("insert_batch: prepare")?;
        for (id, transport) in &seen {
            upd.execute(params![now_ms, transport.as_str(), id])
                .ctx("insert_batch: device seen")?;
        }
    }
    // Statuses after readings: a device that sent its last reading and then its will in the
    // same interval ends up offline.
    for s in &batch.statuses {
        if validate_name(&s.device).is_err() {
            continue;
        }
        let Some(dev) = device_id(conn, st, &s.device, s.transport, s.ts_ms, added)? else {
            out.rejected_device_cap += 1;
            log_refusal(st, &s.device, 0, Refusal::DeviceCap);
            continue;
        };
        conn.prepare_cached(
            "UPDATE devices SET online = ?1, transport = ?2, \
             last_seen = CASE WHEN ?1 THEN max(coalesce(last_seen, ?3), ?3) ELSE last_seen END \
             WHERE id = ?4",
        )
        .and_then(|mut u| u.execute(params![s.online, s.transport.as_str(), s.ts_ms, dev.id]))
        .ctx("insert_batch: device status")?;
    }
    let before = c.evicted_total;
    let unsynced_before = c.evicted_unsynced;
    enforce_bounds(conn, st, &mut c, u64::MAX)?;
    out.evicted = c.evicted_total - before;
    out.evicted_unsynced = c.evicted_unsynced - unsynced_before;
    write_meta(conn, &c, out.inserted > 0, out.evicted > 0)?;
    Ok(c)
}

/// Why a whole message is refused.
#[derive(Clone, Copy)]
enum Refusal {
    /// A device or metric name that is not valid, or a value that is not finite.
    Invalid,
    Disabled,
    DeviceCap,
    /// How many new metric names the message brings.
    MetricCap(usize),
}

/// Whether `message` must be refused, judged for all its readings together before any is
/// written: a message that needs more new registry entries than there is room for is refused
/// whole, so it is never stored in part.
fn refusal(st: &State, message: &[(Transport, Reading)]) -> Option<Refusal> {
    // A message is one device in practice, so this list stays at one entry or none.
    let mut new_devices: Vec<&str> = Vec::new();
    let mut new_metrics: HashSet<&str> = HashSet::new();
    for (_, r) in message {
        if !r.value.is_finite()
            || validate_name(&r.device).is_err()
            || validate_name(&r.metric).is_err()
        {
            return Some(Refusal::Invalid);
        }
        match st.devices.get(&r.device) {
            Some(dev) if !dev.enabled => return Some(Refusal::Disabled),
            Some(_) => {}
            None if new_devices.contains(&r.device.as_str()) => {}
            None => {
                if st.devices.len() + new_devices.len() >= st.opts.max_devices {
                    return Some(Refusal::DeviceCap);
                }
                new_devices.push(&r.device);
            }
        }
        if !st.metrics.contains_key(&r.metric) {
            new_metrics.insert(&r.metric);
        }
    }
    (st.metrics.len() + new_metrics.len() > st.opts.max_metrics)
        .then_some(Refusal::MetricCap(new_metrics.len()))
}

/// Logs (rate-limited) a refusal by a registry cap; the other refusals are only counted.
fn log_refusal(st: &mut State, device: &str, readings: u64, refusal: Refusal) {
    let (max_devices, max_metrics, metrics) =
        (st.opts.max_devices, st.opts.max_metrics, st.metrics.len());
    match refusal {
        Refusal::DeviceCap => st.cap_log.warn(format_args!(
            "device={device} readings={readings} refused: store.max_devices ({max_devices}) \
             devices are registered"
        )),
        Refusal::MetricCap(new) => st.cap_log.warn(format_args!(
            "device={device} readings={readings} refused whole: it has {new} new metric names, \
             store.max_metrics ({max_metrics}) leaves room for {}",
            max_metrics.saturating_sub(metrics)
        )),
        Refusal::Invalid | Refusal::Disabled => {}
    }
}

/// The registry entry of `key`, created when new and under the cap; `None` when over the cap.
fn device_id(
    conn: &Connection,
    st: &mut State,
    key: &str,
    transport: Transport,
    first_seen: i64,
    added: &mut Added,
) -> Result<Option<DevEntry>, StoreError> {
    if let Some(e) = st.devices.get(key) {
        return Ok(Some(*e));
    }
    if st.devices.len() >= st.opts.max_devices {
        return Ok(None);
    }
    conn.prepare_cached(
        "INSERT INTO devices (key, transport, first_seen, last_seen, online, enabled, metadata) \
         VALUES (?1, ?2, ?3, ?3, 0, 1, '{}')",
    )
    .and_then(|mut s| s.execute(params![key, transport.as_str(), first_seen]))
    .ctx("insert_batch: new device")?;
    let e = DevEntry {
        id: conn.last_insert_rowid(),
        enabled: true,
    };
    st.devices.insert(key.to_owned(), e);
    st.device_keys.insert(e.id, key.to_owned());
    added.devices.push(key.to_owned());
    log::info!("device={key} transport={} new device", transport.as_str());
    Ok(Some(e))
}

/// The id of metric `name`, created when new and under the cap; `None` when over the cap.
fn metric_id(
    conn: &Connection,
    st: &mut State,
    name: &str,
    added: &mut Added,
) -> Result<Option<i64>, StoreError> {
    if let Some(id) = st.metrics.get(name) {
        return Ok(Some(*id));
    }
    if st.metrics.len() >= st.opts.max_metrics {
        return Ok(None);
    }
    conn.prepare_cached("INSERT INTO metrics (name) VALUES (?1)")
        .and_then(|mut s| s.execute([name]))
        .ctx("insert_batch: new metric")?;
    let id = conn.last_insert_rowid();
    st.metrics.insert(name.to_owned(), id);
    st.metric_names.insert(id, name.to_owned());
    added.metrics.push(name.to_owned());
    Ok(Some(id))
}

/// Evicts down to `max_rows`, then in chunks (1% of rows, at least 64) while the pages in use
/// exceed `max_bytes`; at most `cap` rows. Returns the rows evicted.
fn enforce_bounds(
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
            return Ok(n);
        }
        let chunk = (rows / 100).max(64).min(rows).min(cap - n);
        n += evict_oldest(conn, st, c, chunk)?;
    }
}

/// Evicts the `k` rows with the lowest seqs.
fn evict_oldest(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    k: u64,
) -> Result<u64, StoreError> {
    let new_oldest = if c.holes == 0 {
        c.oldest_seq + k as i64
    } else {
        // Holes: the (k+1)-th row from the low end, found by walking k rowids.
        conn.prepare_cached(
            "SELECT seq FROM readings WHERE seq >= ?1 ORDER BY seq LIMIT 1 OFFSET ?2",
        )
        .and_then(|mut s| {
            let mut rows = s.query(params![c.oldest_seq, k as i64])?;
            rows.next()?.map(|r| r.get(0)).transpose()
        })
        .ctx("evict: find")?
        .unwrap_or(c.next_seq)
    };
    evict_below(conn, st, c, new_oldest)
}

/// Deletes the rows below `new_oldest` (a rowid range) and counts them.
fn evict_below(
    conn: &Connection,
    st: &State,
    c: &mut Counters,
    new_oldest: i64,
) -> Result<u64, StoreError> {
    if new_oldest <= c.oldest_seq {
        return Ok(0);
    }
    let first_unsynced = c.oldest_seq.max(st.sync_cursor + 1);
    let unsynced = if !st.opts.sync_enabled || first_unsynced >= new_oldest {
        0
    } else if c.holes == 0 {
        (new_oldest - first_unsynced) as u64
    } else {
        conn.prepare_cached("SELECT count(*) FROM readings WHERE seq >= ?1 AND seq < ?2")
            .and_then(|mut s| s.query_row([first_unsynced, new_oldest], |r| r.get::<_, i64>(0)))
            .ctx("evict: count unsynced")? as u64
    };
    let deleted = conn
        .prepare_cached("DELETE FROM readings WHERE seq < ?1")
        .and_then(|mut s| s.execute([new_oldest]))
        .ctx("evict: delete")? as u64;
    let range = (new_oldest - c.oldest_seq) as u64;
    // Rows with seq > cursor were not yet acknowledged upstream.
    c.evicted_unsynced += unsynced;
    c.holes -= range - deleted;
    c.evicted_total += deleted;
    c.oldest_seq = new_oldest;
    settle_oldest(conn, c)?;
    Ok(deleted)
}

/// Moves `oldest_seq` up to the lowest stored seq, so that a reopened store (which starts at
/// `min(seq)`) agrees with the persisted `holes`.
fn settle_oldest(conn: &Connection, c: &mut Counters) -> Result<(), StoreError> {
    if c.holes == 0 {
        return Ok(());
    }
    let min: Option<i64> = conn
        .query_row("SELECT min(seq) FROM readings", [], |r| r.get(0))
        .ctx("evict: min seq")?;
    let min = min.unwrap_or(c.next_seq);
    c.holes -= (min - c.oldest_seq) as u64;
    c.oldest_seq = min;
    Ok(())
}

/// Deletes expired rows pair by pair from `from` on, at most `budget` rows and
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
            "SELECT seq FROM readings WHERE device_id = ?1 AND metric_id = ?2 AND ts < ?3 \
             LIMIT ?4",
        )
        .ctx("evict_expired: prepare")?;
    let mut delete = conn
        .prepare_cached("DELETE FROM readings WHERE seq = ?1")
        .ctx("evict_expired: prepare")?;
    let mut n = 0;
    for _ in 0..EXPIRE_PAIRS {
        let pair: Option<(i64, i64)> = {
            let mut rows = next_pair
                .query(params![from.0, from.1])
                .ctx("evict_expired: walk")?;
            rows.next()
                .and_then(|r| r.map(|r| Ok((r.get(0)?, r.get(1)?))).transpose())
                .ctx("evict_expired: walk")?
        };
        let Some((device, metric)) = pair else {
            return Ok((n, true));
        };
        let left = budget - n;
        let seqs = expired
            .query_map(params![device, metric, cutoff, left as i64], |r| {
                r.get::<_, i64>(0)
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .ctx("evict_expired: find late")?;
        for &seq in &seqs {
            delete.execute([seq]).ctx("evict_expired: delete late")?;
            if st.opts.sync_enabled && seq > st.sync_cursor {
                c.evicted_unsynced += 1;
            }
        }
        let k = seqs.len() as u64;
        c.holes += k;
        c.evicted_total += k;
        n += k;
        if n >= budget {
            // This pair may hold more: the next call starts with it again.
            settle_oldest(conn, c)?;
            return Ok((n, false));
        }
        *from = (device, metric);
    }
    settle_oldest(conn, c)?;
    Ok((n, false))
}

fn write_meta(conn: &Connection, c: &Counters, seq: bool, evicted: bool) -> Result<(), StoreError> {
    let set = |key: &str, value: i64| {
        conn.prepare_cached("UPDATE meta SET value = ?2 WHERE key = ?1")
            .and_then(|mut s| s.execute(params![key, value]))
            .ctx("write meta")
    };
    if seq {
        set("next_seq", c.next_seq)?;
    }
    if evicted {
        set("holes", c.holes as i64)?;
        set("evicted_total", c.evicted_total as i64)?;
        set("evicted_unsynced", c.evicted_unsynced as i64)?;
    }
    Ok(())
}
