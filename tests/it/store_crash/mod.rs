//! The store's crash loop with real processes, the head in the file: a writer process inserts
//! batches into one store file and is SIGKILLed at a random moment (inside a transaction, an fsync, a checkpoint, or
//! the store's own work after a commit), 100 times over. After every kill the file passes
//! `PRAGMA integrity_check`, every batch the writer saw committed is there, a batch it had not
//! reported yet is there whole or not at all, and no reading is there twice. Everything is read
//! back through `Store::open` and the store's read paths (`common::store`), never its tables.
//!
//! The writer is a child process (`child`: this test binary run again for the hidden
//! `store_crash::writer_child`), told the store, the first counter and its seed. It reports
//! one line per step: `begin FIRST LAST` before `insert_batch`, `commit LAST` after it returned
//! `Ok`, so the parent knows the last committed counter and the one batch that may have
//! committed unreported.
//!
//! Every field of a reading is a function of its counter `n` ([`reading`]), so each reading
//! read back is checked whole, not just counted. `ACS_EDGE_CRASH_SEED` repeats a run.
//!
//! `ram_head` runs the same kind of loop with the head in RAM, killing inside flushes too;
//! `kept` one on a small ring whose evictions fold into kept rollups; `daemon` runs one
//! against the real daemon while MQTT messages stream in.

use crate::common;

mod child;
mod daemon;
mod kept;
mod ram_head;

use acs_edge::model::{Reading, Transport};
use acs_edge::store::{Batch, Store};
use std::time::{Duration, Instant};

const ROUNDS: u32 = 100;
/// Every this many rounds (and in the last) the whole store is checked, otherwise the round's
/// new readings only.
const FULL_CHECK_EVERY: u32 = 10;
const DEVICES: i64 = 4;
const METRICS: i64 = 3;
/// 2026-01-01T00:00:00Z.
const BASE_TS: i64 = 1_767_225_600_000;
/// Fractions that make the values short decimals of different precision (0.1 is not exact in
/// binary, so a lossy encoding would show).
const FRACTIONS: [f64; METRICS as usize] = [0.0, 0.5, 0.1];

/// splitmix64: a small, good mixer, for the seeded choices here and for [`reading`].
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    /// A number in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = mix(self.0);
        lo + self.0 % (hi - lo + 1)
    }

    /// 1..=500, as many batches of 1 as of 2-3, 4-7, ... 256-500: the writer's batches range
    /// from a single reading to full ones without filling the store with big batches only.
    fn batch_size(&mut self) -> u64 {
        let low = 1 << self.between(0, 8);
        self.between(low, (2 * low - 1).min(500))
    }
}

/// Reading number `n`: series `n % 12` (4 devices x 3 metrics), one reading per series and
/// second with +-800 ms of jitter, about 1 in 50 arriving ten minutes late; the value is `n`
/// plus the metric's fraction, so `floor(value)` gives `n` back.
fn reading(n: i64) -> Reading {
    let series = n % (DEVICES * METRICS);
    let metric = series % METRICS;
    let noise = mix(n as u64);
    let mut ts = BASE_TS + n / (DEVICES * METRICS) * 1000 + (noise % 1601) as i64 - 800;
    if noise % 50 == 7 {
        ts -= 600_000;
    }
    Reading {
        device: format!("crash{}", series / METRICS),
        metric: format!("m{metric}"),
        ts_ms: ts,
        value: n as f64 + FRACTIONS[metric as usize],
    }
}

/// The counter of a stored reading, after checking that every field is what [`reading`] made.
fn counter_of(device: &str, metric: &str, ts_ms: i64, value: f64) -> i64 {
    let n = value.floor() as i64;
    let want = reading(n);
    assert!(
        (device, metric, ts_ms, value.to_bits())
            == (
                &*want.device,
                &*want.metric,
                want.ts_ms,
                want.value.to_bits()
            ),
        "stored {device}/{metric} ts={ts_ms} value={value:?}, but reading {n} is {want:?}"
    );
    n
}

/// The writer process (see the module doc); does nothing unless the crash loop started it.
#[test]
#[ignore = "the writer process of the crash loop, started by it"]
fn writer_child() {
    let Some(task) = child::task() else {
        return;
    };
    let (mut next, mut rng) = (task.first, Rng(task.seed));
    let mut store = common::store::open(&task.path);
    // A write error means the parent is gone: stop.
    let mut say = child::Say::new();
    if !say.line(format_args!("open")) {
        return;
    }
    loop {
        let size = rng.batch_size() as i64;
        let last = next + size - 1;
        if !say.line(format_args!("begin {next} {last}")) {
            return;
        }
        let outcome = store
            .insert_batch(&batch(next, last), acs_edge::model::now_ms())
            .unwrap();
        assert_eq!(outcome.inserted, size as u64, "{outcome:?}");
        assert_eq!(outcome.evicted, 0, "{outcome:?}");
        if !say.line(format_args!("commit {last}")) {
            return;
        }
        next = last + 1;
    }
}

/// The readings `first..=last`.
fn batch(first: i64, last: i64) -> Batch {
    Batch {
        readings: (first..=last)
            .map(|n| (Transport::Mqtt, reading(n)))
            .collect(),
        statuses: Vec::new(),
    }
}

/// What the writer said before it died.
#[derive(Debug, Default)]
struct Report {
    opened: bool,
    last_committed: Option<i64>,
    /// The batch begun after the last reported commit, which may or may not have committed.
    in_flight: Option<(i64, i64)>,
    commits: u64,
}

impl Report {
    fn parse(lines: &[String]) -> Report {
        let mut report = Report::default();
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            let number = |i: usize| -> i64 { words[i].parse().unwrap() };
            match words[0] {
                "open" => report.opened = true,
                "begin" => report.in_flight = Some((number(1), number(2))),
                "commit" => {
                    assert_eq!(report.in_flight.map(|b| b.1), Some(number(1)), "{line:?}");
                    report.last_committed = Some(number(1));
                    report.in_flight = None;
                    report.commits += 1;
                }
                _ => panic!("the writer said {line:?}"),
            }
        }
        report
    }
}

/// Checks the counters read back from one range of the store: each at most once, exactly
/// `first..=last_committed`, plus the in-flight batch whole or not at all. Returns the next
/// counter to write.
fn check_counters(stored: Vec<i64>, first: i64, report: &Report, what: &str) -> i64 {
    let end = contiguous_once(stored, first, what);
    let committed_end = report.last_committed.map_or(first, |n| n + 1);
    assert!(
        end >= committed_end,
        "{what}: committed readings lost: stored up to {end}, committed up to {committed_end}"
    );
    if end > committed_end {
        let (begun, last) = report.in_flight.expect("readings beyond every begun batch");
        assert_eq!(
            (committed_end, end),
            (begun, last + 1),
            "{what}: part of the unreported batch {begun}..={last} is stored"
        );
    }
    end
}

/// Checks that `stored` holds each counter at most once and exactly `first..end` (no holes);
/// returns `end`.
fn contiguous_once(mut stored: Vec<i64>, first: i64, what: &str) -> i64 {
    let len = stored.len();
    stored.sort_unstable();
    stored.dedup();
    assert_eq!(stored.len(), len, "{what}: a reading is stored twice");
    let end = stored.last().map_or(first, |last| last + 1);
    assert!(
        stored.first().is_none_or(|&n| n == first) && stored.len() as i64 == end - first,
        "{what}: holes in {first}..{end} ({} stored)",
        stored.len()
    );
    end
}

/// Reads the whole store both ways (the outbox walk in seq order, and paged queries per
/// series with a page size that does not divide anything) and checks both hold exactly the
/// readings `0..end`, each once. Returns how many there are.
fn check_everything(store: &Store, end: i64) -> usize {
    let walked: Vec<i64> = common::store::walk_from(store, 0)
        .iter()
        .map(|r| counter_of(&r.device, &r.metric, r.ts, r.value))
        .collect();
    assert_eq!(contiguous_once(walked.clone(), 0, "outbox walk"), end);
    let mut queried = Vec::with_capacity(walked.len());
    for d in 0..DEVICES {
        for m in 0..METRICS {
            let (device, metric) = (format!("crash{d}"), format!("m{m}"));
            let series = common::store::query_all(store, Some(&device), Some(&metric), 997);
            queried.extend(
                series
                    .iter()
                    .map(|r| counter_of(&r.device, &r.metric, r.ts_ms, r.value)),
            );
        }
    }
    assert_eq!(contiguous_once(queried, 0, "queries"), end);
    assert_eq!(store.stats().rows, end as u64, "the store's own count");
    walked.len()
}

#[test]
fn sigkill_at_random_points_of_the_write_loop_100_times_keeps_the_file_sound_and_every_committed_batch_once(
) {
    let seed = std::env::var("ACS_EDGE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| acs_edge::model::now_ms() as u64);
    println!("store crash loop: seed {seed} (ACS_EDGE_CRASH_SEED repeats the run)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let started = Instant::now();
    // The next counter to write, and the seq the store hands out next.
    let (mut next, mut next_seq) = (0i64, 1i64);
    let (mut commits, mut before_open, mut in_batch, mut unreported_stored) = (0, 0, 0, 0);
    for round in 1..=ROUNDS {
        let task = child::Task {
            path: path.clone(),
            first: next,
            seed: mix(seed ^ u64::from(round)),
        };
        let writer = child::Child::start("store_crash::writer_child", &task);
        std::thread::sleep(Duration::from_millis(rng.between(20, 200)));
        let report = Report::parse(&writer.kill());
        let what = format!("round {round} (seed {seed}, writer said {report:?})");

        let store = common::store::open(&path);
        assert_eq!(store.integrity_check().unwrap(), "ok", "{what}");
        let new: Vec<i64> = common::store::walk_from(&store, next_seq - 1)
            .iter()
            .map(|r| counter_of(&r.device, &r.metric, r.ts, r.value))
            .collect();
        let end = check_counters(new, next, &report, &what);
        if round % FULL_CHECK_EVERY == 0 || round == ROUNDS {
            check_everything(&store, end);
        }

        commits += report.commits;
        before_open += u32::from(!report.opened);
        in_batch += u32::from(report.in_flight.is_some());
        unreported_stored += u32::from(end > report.last_committed.map_or(next, |n| n + 1));
        next = end;
        next_seq = store.next_seq();
    }
    println!(
        "store crash loop: {ROUNDS} rounds, {next} readings in {commits} reported commits; \
         killed {before_open} times before the store was open, {in_batch} times inside \
         insert_batch (whose batch was found committed {unreported_stored} times); {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The loop proves something only if most kills met a store that was being written.
    assert!(
        in_batch >= ROUNDS / 2,
        "only {in_batch} kills inside a batch"
    );
    assert!(next > 10_000, "only {next} readings written");
}
