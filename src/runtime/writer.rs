//! The single store writer: drains the source channel into batches and commits each batch in
//! one transaction (group commit). A batch closes when `commit_interval` has passed since its
//! first event, or when it holds `MAX_BATCH` readings, whichever comes first; a message's
//! readings are never split across batches, and the store stores or refuses each message whole.
//!
//! Invariants: events are committed in the order they were queued; when the channel closes the
//! writer commits what it holds and returns (this is the clean-shutdown flush); a batch that
//! fails to commit is retried with backoff, and only dropped, loudly and counted
//! (`ingest.lost`), after `COMMIT_ATTEMPTS` failures so one bad disk write cannot stall ingest
//! forever. While commits fail, health names the store's error.
//!
//! Stopping: once the stop channel closes, a failing batch is not retried and the backoff in
//! progress ends at once; after `STOP_BUDGET` the rest of the queue is counted as lost without
//! trying. The daemon thus exits within procd's 5 s even on a full or broken disk.
//!
//! Every source's readings pass here, so this is where a message stamped beyond
//! `store.max_future_skew_s` ahead of the gateway clock is refused, whole, and counted: one
//! such reading would otherwise sit at the head of every "latest" query until that date.

use crate::ingest::stats::{IngestStats, ReadingCounters};
use crate::logging::WarnLimit;
use crate::model::{now_ms, Event, FrameCounter};
use crate::store::{Batch, BatchOutcome, Committed, SharedStore};
use portable_atomic::AtomicU64;
use smol::future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Readings per transaction beyond which a batch closes early: bounds the writer's memory (~1 MB) and how long a
/// REST query may wait for the store lock.
pub const MAX_BATCH: usize = 8192;
const COMMIT_ATTEMPTS: u32 = 5;
/// How long the writer keeps trying to commit after the stop signal.
const STOP_BUDGET: Duration = Duration::from_secs(2);

/// Settings the writer re-reads for every batch, so a reload applies them at once.
#[derive(Debug)]
pub struct WriterSettings {
    pub commit_interval_ms: AtomicU64,
    pub max_future_skew_ms: AtomicU64,
}

/// Called after every successful commit with the committed batch and what the store did with
/// it (the live bus hooks in here).
pub type CommitHook = Box<dyn Fn(&Batch, &Committed) + Send>;

/// What the writer works with besides its queue.
pub struct WriterParts {
    pub store: SharedStore,
    pub settings: Arc<WriterSettings>,
    pub stats: Arc<IngestStats>,
    pub on_commit: Option<CommitHook>,
    /// Closed (or its sender dropped) when the daemon stops: no more retries.
    pub stop: async_channel::Receiver<()>,
}

pub fn spawn(
    rx: async_channel::Receiver<Event>,
    parts: WriterParts,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            smol::block_on(run(rx, parts));
        })
}

async fn run(rx: async_channel::Receiver<Event>, parts: WriterParts) {
    let settings = &parts.settings;
    let mut committer = Committer {
        parts: &parts,
        stopped_at: None,
        warn: WarnLimit::new("failed commits"),
        lost: WarnLimit::new("dropped batches"),
    };
    let mut admit = Admit {
        settings,
        stats: &parts.stats.readings,
        warn: WarnLimit::new("messages from the future"),
    };
    let mut batch = Batch::default();
    let mut counters: Vec<FrameCounter> = Vec::new();
    // Where each message's readings end in the batch: the store refuses a message whole.
    let mut ends: Vec<usize> = Vec::new();
    loop {
        let Ok(first) = rx.recv().await else {
            break; // closed and drained
        };
        push(&mut batch, &mut counters, &mut ends, admit.check(first));
        let interval = Duration::from_millis(settings.commit_interval_ms.load(Relaxed));
        let deadline = Instant::now() + interval;
        let mut closed = false;
        while batch_len(&batch) < MAX_BATCH {
            let next = future::or(async { Some(rx.recv().await) }, async {
                smol::Timer::at(deadline).await;
                None
            })
            .await;
            match next {
                Some(Ok(event)) => push(&mut batch, &mut counters, &mut ends, admit.check(event)),
                Some(Err(_)) => {
                    closed = true;
                    break;
                }
                None => break,
            }
        }
        parts
            .stats
            .readings
            .queue_depth
            .store(rx.len() as u64, Relaxed);
        committer.commit(&batch, &ends, &counters).await;
        batch.readings.clear();
        batch.statuses.clear();
        counters.clear();
        ends.clear();
        if closed {
            break;
        }
    }
    if batch_len(&batch) > 0 || !counters.is_empty() {
        committer.commit(&batch, &ends, &counters).await;
    }
}

/// The time check every message passes before it joins a batch.
struct Admit<'a> {
    settings: &'a WriterSettings,
    stats: &'a ReadingCounters,
    warn: WarnLimit,
}

impl Admit<'_> {
    /// `event` without its readings when one of them is stamped too far ahead (a frame's
    /// counter is kept: the frame was authentic and must not be accepted again).
    fn check(&mut self, mut event: Event) -> Event {
        let (Event::Readings(_, readings) | Event::Counted(_, readings, _)) = &mut event else {
            return event;
        };
        let skew = self.settings.max_future_skew_ms.load(Relaxed);
        let limit = now_ms().saturating_add(i64::try_from(skew).unwrap_or(i64::MAX));
        if let Some(r) = readings.iter().find(|r| r.ts_ms > limit) {
            self.stats
                .rejected_future_ts
                .fetch_add(readings.len() as u64, Relaxed);
            self.warn.warn(format_args!(
                "device={} ts={} refused a message stamped more than store.max_future_skew_s \
                 ahead of the gateway clock",
                r.device, r.ts_ms
            ));
            readings.clear();
        }
        event
    }
}

fn push(batch: &mut Batch, counters: &mut Vec<FrameCounter>, ends: &mut Vec<usize>, event: Event) {
    match event {
        Event::Readings(transport, readings) => batch
            .readings
            .extend(readings.into_iter().map(|r| (transport, r))),
        Event::Status(status) => return batch.statuses.push(status),
        Event::Counted(transport, readings, counter) => {
            batch
                .readings
                .extend(readings.into_iter().map(|r| (transport, r)));
            counters.push(counter);
        }
    }
    ends.push(batch.readings.len());
}

fn batch_len(batch: &Batch) -> usize {
    batch.readings.len() + batch.statuses.len()
}

struct Committer<'a> {
    parts: &'a WriterParts,
    /// When the writer first saw the stop signal.
    stopped_at: Option<Instant>,
    warn: WarnLimit,
    lost: WarnLimit,
}

impl Committer<'_> {
    fn stopping(&mut self) -> bool {
        if self.stopped_at.is_none() && self.parts.stop.is_closed() {
            self.stopped_at = Some(Instant::now());
        }
        self.stopped_at.is_some()
    }

    async fn commit(&mut self, batch: &Batch, ends: &[usize], counters: &[FrameCounter]) {
        let WriterParts {
            store,
            stats,
            on_commit,
            stop,
            ..
        } = self.parts;
        let stats = &stats.readings;
        let mut delay = Duration::from_millis(200);
        let mut last_error = String::new();
        for attempt in 1..=COMMIT_ATTEMPTS {
            if self.stopping() && self.stopped_at.is_some_and(|t| t.elapsed() > STOP_BUDGET) {
                last_error = "not tried: the daemon is stopping".into();
                break;
            }
            let result = store
                .lock()
                .insert_messages(batch, ends, counters, now_ms());
            match result {
                Ok(done) => {
                    count(stats, &done.outcome);
                    stats.set_store_error(None);
                    if let Some(hook) = on_commit {
                        hook(batch, &done);
                    }
                    return;
                }
                Err(error) => {
                    stats.store_errors.fetch_add(1, Relaxed);
                    let kind = if error.is_disk_full() {
                        "disk full"
                    } else {
                        "write error"
                    };
                    stats.set_store_error(Some(format!("commits failing ({kind}): {error}")));
                    self.warn.warn(format_args!(
                        "attempt={attempt} readings={} commit failed: {error}",
                        batch.readings.len()
                    ));
                    last_error = error.to_string();
                    if self.stopping() {
                        break;
                    }
                    if attempt < COMMIT_ATTEMPTS {
                        // The backoff ends early when the daemon stops.
                        future::or(
                            async {
                                smol::Timer::after(delay).await;
                            },
                            async {
                                let _ = stop.recv().await;
                            },
                        )
                        .await;
                        delay *= 2;
                    }
                }
            }
        }
        stats.lost.fetch_add(batch.readings.len() as u64, Relaxed);
        self.lost.warn(format_args!(
            "lost={} statuses={} batch dropped: {last_error}",
            batch.readings.len(),
            batch.statuses.len()
        ));
    }
}

fn count(stats: &ReadingCounters, outcome: &BatchOutcome) {
    stats.committed.fetch_add(outcome.inserted, Relaxed);
    stats.batches.fetch_add(1, Relaxed);
    stats
        .rejected_device_cap
        .fetch_add(outcome.rejected_device_cap, Relaxed);
    stats
        .rejected_metric_cap
        .fetch_add(outcome.rejected_metric_cap, Relaxed);
    stats
        .dropped_disabled
        .fetch_add(outcome.dropped_disabled, Relaxed);
    stats
        .rejected_invalid
        .fetch_add(outcome.rejected_invalid, Relaxed);
    stats.last_commit_ms.store(now_ms(), Relaxed);
}
