//! The crash loop with a small ring and kept rollups: nearly every batch evicts, and eviction
//! folds what it evicts into per-minute and per-hour buckets in the same transaction. The
//! writer (sealing chunks, or keeping every reading a row, by its seed) is SIGKILLed at
//! random points 40 times; after every kill the file passes
//! `integrity_check` and every reading ever committed is counted exactly once, stored or
//! folded: the hourly and the per-minute `count` rollups of every series add up to the
//! readings written (the committed ones, plus the unreported batch whole or not at all), and
//! so do the store's own rows and evictions.

use super::{batch, child, mix, Report, Rng, DEVICES, METRICS};
use crate::common;
use acs_edge::store::{Agg, KeptLevel, Rollup, RollupCursor, Store, StoreOptions, TelemetryQuery};
use std::path::Path;
use std::time::{Duration, Instant};

const ROUNDS: u32 = 40;
const MAX_ROWS: u64 = 2_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;

/// The loop's store; `seal_points` 0 keeps every reading a row, so that evictions take head
/// rows rather than chunks (the writer picks one of the two by its seed).
fn options(path: &Path, seal_points: usize) -> StoreOptions {
    let keep_ms = 3650 * 86_400_000;
    StoreOptions {
        max_rows: MAX_ROWS,
        seal_points,
        kept: vec![
            KeptLevel {
                step_ms: MINUTE,
                keep_ms,
            },
            KeptLevel {
                step_ms: HOUR,
                keep_ms,
            },
        ],
        ..common::store::options(path)
    }
}

/// The writer process of this loop: [`super::writer_child`] on a small ring with rollups.
#[test]
#[ignore = "the writer process of the kept-rollup crash loop, started by it"]
fn kept_writer_child() {
    let Some(task) = child::task() else {
        return;
    };
    let (mut next, mut rng) = (task.first, Rng(task.seed));
    let seal_points = if task.seed % 2 == 0 { 0 } else { 32 };
    let mut store = common::store::open_with(options(&task.path, seal_points));
    let mut say = child::Say::new();
    if !say.line(format_args!("open")) {
        return;
    }
    loop {
        let last = next + rng.batch_size() as i64 - 1;
        if !say.line(format_args!("begin {next} {last}")) {
            return;
        }
        store
            .insert_batch(&batch(next, last), acs_edge::model::now_ms())
            .unwrap();
        if !say.line(format_args!("commit {last}")) {
            return;
        }
        next = last + 1;
    }
}

/// The readings every series' `count` rollup of `step_ms` adds up to, all pages.
fn counted(store: &Store, step_ms: i64) -> i64 {
    let mut total = 0.0;
    for d in 0..DEVICES {
        for m in 0..METRICS {
            let mut after = None;
            loop {
                let rows = TelemetryQuery {
                    device: Some(format!("crash{d}")),
                    metric: Some(format!("m{m}")),
                    from_ms: None,
                    to_ms: None,
                    limit: 1_000,
                    after: None,
                };
                let rollup = Rollup {
                    step_ms,
                    agg: Agg::Count,
                    after,
                };
                let page = store.telemetry(rows, Some(&rollup)).unwrap();
                total += page.items.iter().map(|r| r.value).sum::<f64>();
                match page.next_cursor {
                    Some(c) => after = RollupCursor::decode(&c),
                    None => break,
                }
            }
        }
    }
    total as i64
}

#[test]
fn sigkill_while_evictions_fold_into_rollups_never_loses_or_doubles_a_reading() {
    let seed = std::env::var("ACS_EDGE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| acs_edge::model::now_ms() as u64);
    println!("kept crash loop: seed {seed} (ACS_EDGE_CRASH_SEED repeats the run)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let started = Instant::now();
    let (mut next, mut in_batch, mut evicted) = (0i64, 0u32, 0u64);
    for round in 1..=ROUNDS {
        let task = child::Task {
            path: path.clone(),
            first: next,
            seed: mix(seed ^ u64::from(round)),
        };
        let writer = child::Child::start("store_crash::kept::kept_writer_child", &task);
        std::thread::sleep(Duration::from_millis(rng.between(20, 200)));
        let report = Report::parse(&writer.kill());
        let what = format!("round {round} (seed {seed}, writer said {report:?})");

        let store = common::store::open_with(options(&path, 32));
        assert_eq!(store.integrity_check().unwrap(), "ok", "{what}");
        let total = counted(&store, HOUR);
        let committed_end = report.last_committed.map_or(next, |n| n + 1);
        let whole_batch = report
            .in_flight
            .is_some_and(|(begun, last)| begun == committed_end && total == last + 1);
        assert!(
            total == committed_end || whole_batch,
            "{what}: hourly rollups count {total} readings, {committed_end} were committed"
        );
        assert_eq!(counted(&store, MINUTE), total, "{what}: per-minute rollups");
        let stats = store.stats();
        assert_eq!(stats.rows + stats.evicted_total, total as u64, "{what}");
        assert!(stats.rows <= MAX_ROWS, "{what}: {stats:?}");
        in_batch += u32::from(report.in_flight.is_some());
        evicted = stats.evicted_total;
        next = total;
    }
    println!(
        "kept crash loop: {ROUNDS} rounds, {next} readings, {evicted} of them evicted and \
         folded; killed {in_batch} times inside insert_batch; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        in_batch >= ROUNDS / 2,
        "only {in_batch} kills inside a batch"
    );
    assert!(evicted > 10_000, "only {evicted} readings evicted");
}
