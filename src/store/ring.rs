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
use super::evict::{enforce_bounds, evict_head_rows, write_meta};
use super::head::{head_limit, Seen, SEQ_BLOCK};
use super::ledger::Counters;
use super::{Ctx, DevEntry, State, Store, StoreError};
use crate::model::{validate_name, DeviceStatus, FrameCounter, Reading, Transport};

/// Most chunks sealed after one commit: enough to keep up with a burst (a chunk is sealed
/// about as fast as its rows were inserted), few enough to bound one batch's latency.
const SEAL_BUDGET: usize = 256;

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

/// Registry entries created inside the running transaction (undone if it fails), and the
/// series of the rows it inserted (counted into the head after it commits).
#[derive(Default)]
struct Added {
    devices: Vec<String>,
    metrics: Vec<String>,
    series: Vec<(i64, i64)>,
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
                let recounted = c.head_changed;
                st.apply(&self.conn, c);
                if !recounted {
                    for series in added.series {
                        *st.head_series.entry(series).or_default() += 1;
                    }
                }
                if done.outcome.evicted_unsynced > 0 {
                    log::warn!(
                        "evicted_unsynced={} evicted_total={} ring buffer full: evicted readings not yet synced upstream",
                        done.outcome.evicted_unsynced,
                        st.evicted_total
                    );
                }
                // The batch is committed whatever sealing does: a failed seal leaves the rows
                // in the head, and the next batch tries again.
                let sealed = if !st.opts.memory_head {
                    self.seal(SEAL_BUDGET)
                } else if st.head_rows >= head_limit(st.opts.seal_points) {
                    self.flush(false)
                } else {
                    Ok(0)
                };
                if let Err(e) = sealed {
                    log::warn!("readings stay in the head, sealing failed: {e}");
                }
                Ok(done)
            }
            Err(e) => {
                st.forget(&added);
                Err(e)
            }
        }
    }
}

impl State {
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
                c.head_rows += 1;
                out.inserted += 1;
                added.series.push((dev.id, metric));
                seen.insert(dev.id, *transport);
            }
        }
    }
    if st.opts.memory_head {
        for (&id, &transport) in &seen {
            let last_seen = Some(now_ms);
            st.defer_seen(
                id,
                Seen {
                    last_seen,
                    online: true,
                    transport,
                },
            );
        }
    } else if !seen.is_empty() {
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
        if st.opts.memory_head {
            let last_seen = s.online.then_some(s.ts_ms);
            let (online, transport) = (s.online, s.transport);
            st.defer_seen(
                dev.id,
                Seen {
                    last_seen,
                    online,
                    transport,
                },
            );
            continue;
        }
        conn.prepare_cached(
            "UPDATE devices SET online = ?1, transport = ?2, \
             last_seen = CASE WHEN ?1 THEN max(coalesce(last_seen, ?3), ?3) ELSE last_seen END \
             WHERE id = ?4",
        )
        .and_then(|mut u| u.execute(params![s.online, s.transport.as_str(), s.ts_ms, dev.id]))
        .ctx("insert_batch: device status")?;
    }
    if st.opts.memory_head {
        // Bounds are enforced by the flush. While flushes fail (a full disk), RAM stays
        // bounded: beyond twice the flush threshold the oldest head rows are evicted, counted
        // in memory and persisted by the next flush that succeeds.
        let cap = 2 * head_limit(st.opts.seal_points);
        if c.head_rows > cap {
            let (total, unsynced) = (c.evicted_total, c.evicted_unsynced);
            let excess = c.head_rows - cap;
            evict_head_rows(conn, st, &mut c, excess)?;
            out.evicted = c.evicted_total - total;
            out.evicted_unsynced = c.evicted_unsynced - unsynced;
        }
        // The file learns of new seqs one block at a time.
        if c.next_seq > c.seq_reserved {
            c.seq_reserved = c.next_seq + SEQ_BLOCK;
            write_meta(conn, &c, true, false)?;
        }
        return Ok(c);
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
