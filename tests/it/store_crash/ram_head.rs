//! The crash loop with the head in RAM (the daemon's default): a writer process inserts batches
//! into the RAM head and flushes it into the file every few batches, and is SIGKILLed 100
//! times: in a third of the rounds at a random moment, in a third shortly after a flush began
//! (inside its sealing, compaction, commit or fsync, or just after), in a third among the
//! first batches after the restart, mostly before the run's first flush. After every kill:
//!
//! - the file passes `PRAGMA integrity_check`;
//! - every reading up to the last flush that returned is there, exactly once;
//! - past it, either nothing or exactly what the flush in progress covered (a flush is whole
//!   or nothing), never readings of batches committed to RAM only: those are the power-cut
//!   window, lost and counted;
//! - each reading has the seq the writer's batch gave it (none shifted or stored twice), and
//!   the restarted store hands out seqs above every seq the killed run handed out.
//!
//! The writer reports `open NEXT_SEQ`, `begin FIRST LAST SEQ` before `insert_batch` (SEQ the
//! seq of `FIRST`), `commit LAST NEXT_SEQ` after it returned `Ok`, `flush begin` before
//! `Store::flush` and `flushed LAST` after it returned `Ok` (`LAST` the highest counter it made
//! durable). It keeps the head below `head_limit`, so that `insert_batch` never flushes by
//! itself and every flush is one it reported.

use super::{child, contiguous_once, counter_of, mix, Rng};
use crate::common;

use acs_edge::model::now_ms;
use acs_edge::store::{head_limit, Store};
use std::path::Path;
use std::time::{Duration, Instant};

const ROUNDS: u32 = 100;
/// Small chunks, so that flushes seal full chunks and leave short ones that compaction merges
/// in later flushes.
const SEAL_POINTS: usize = 32;
/// Most batches between two flushes.
const FLUSH_EVERY: u64 = 8;
const CHILD: &str = "store_crash::ram_head::ram_head_child";

fn open(path: &Path) -> Store {
    common::store::open_with(common::store::ram_head_options(path, SEAL_POINTS))
}

/// The writer process (see the module doc); does nothing unless the crash loop started it.
#[test]
#[ignore = "the writer process of the RAM head crash loop, started by it"]
fn ram_head_child() {
    let Some(task) = child::task() else {
        return;
    };
    let (mut next, mut rng) = (task.first, Rng(task.seed));
    let mut store = open(&task.path);
    let limit = head_limit(SEAL_POINTS);
    // A write error means the parent is gone: stop.
    let mut say = child::Say::new();
    if !say.line(format_args!("open {}", store.stats().next_seq)) {
        return;
    }
    let mut until_flush = rng.between(1, FLUSH_EVERY);
    loop {
        let size = rng.batch_size() as i64;
        let stats = store.stats();
        if until_flush == 0 || stats.rows - stats.sealed + size as u64 >= limit {
            if !say.line(format_args!("flush begin")) {
                return;
            }
            store.flush(false).unwrap();
            assert_eq!(
                store.stats().rows,
                store.stats().sealed,
                "a flush seals all"
            );
            if !say.line(format_args!("flushed {}", next - 1)) {
                return;
            }
            until_flush = rng.between(1, FLUSH_EVERY);
        }
        let last = next + size - 1;
        if !say.line(format_args!(
            "begin {next} {last} {}",
            store.stats().next_seq
        )) {
            return;
        }
        let outcome = store
            .insert_batch(&super::batch(next, last), now_ms())
            .unwrap();
        assert_eq!(outcome.inserted, size as u64, "{outcome:?}");
        assert_eq!(outcome.evicted, 0, "{outcome:?}");
        let stats = store.stats();
        assert!(stats.rows > stats.sealed, "insert_batch flushed by itself");
        if !say.line(format_args!("commit {last} {}", stats.next_seq)) {
            return;
        }
        next = last + 1;
        until_flush -= 1;
    }
}

/// What the writer said before it died; counters are ends (one past the last).
struct Report {
    open_seq: Option<i64>,
    /// `(first, last, seq of first)` of every batch begun.
    batches: Vec<(i64, i64, i64)>,
    committed_end: i64,
    /// Above every seq handed out by a batch that committed.
    committed_next_seq: Option<i64>,
    /// The batch begun after the last commit, if any (never in the file: RAM only).
    in_flight: bool,
    flushed_end: i64,
    /// The flush begun and not reported done: the end it covers.
    flush_in_flight: Option<i64>,
    flushes: u64,
}

impl Report {
    fn parse(lines: &[String], first: i64) -> Report {
        let mut report = Report {
            open_seq: None,
            batches: Vec::new(),
            committed_end: first,
            committed_next_seq: None,
            in_flight: false,
            flushed_end: first,
            flush_in_flight: None,
            flushes: 0,
        };
        for line in lines {
            let words: Vec<&str> = line.split(' ').collect();
            let number = |i: usize| -> i64 { words[i].parse().unwrap() };
            match (words[0], words.get(1)) {
                ("open", _) => report.open_seq = Some(number(1)),
                ("begin", _) => {
                    assert_eq!(number(1), report.committed_end, "{line:?}");
                    report.batches.push((number(1), number(2), number(3)));
                    report.in_flight = true;
                }
                ("commit", _) => {
                    assert!(report.in_flight, "{line:?}");
                    report.committed_end = number(1) + 1;
                    report.committed_next_seq = Some(number(2));
                    report.in_flight = false;
                }
                ("flush", Some(&"begin")) => report.flush_in_flight = Some(report.committed_end),
                ("flushed", _) => {
                    assert_eq!(report.flush_in_flight, Some(number(1) + 1), "{line:?}");
                    report.flushed_end = number(1) + 1;
                    report.flush_in_flight = None;
                    report.flushes += 1;
                }
                _ => panic!("the writer said {line:?}"),
            }
        }
        report
    }

    /// For messages: the report without its list of batches (hundreds of them).
    fn summary(&self) -> String {
        format!(
            "opened at seq {:?}, {} batches begun, committed up to {} (next seq {:?}), {} \
             flushes up to {}, a flush of up to {:?} in progress, a batch in flight: {}",
            self.open_seq,
            self.batches.len(),
            self.committed_end,
            self.committed_next_seq,
            self.flushes,
            self.flushed_end,
            self.flush_in_flight,
            self.in_flight
        )
    }

    /// The seq the writer's batch gave reading `n`.
    fn seq_of(&self, n: i64) -> Option<i64> {
        let i = self.batches.partition_point(|b| b.1 < n);
        let &(first, last, seq) = self.batches.get(i)?;
        (first..=last).contains(&n).then_some(seq + n - first)
    }
}

/// Checks the readings the killed run left in the file (`stored`: `(counter, seq)` of every
/// reading above the seqs of earlier runs) against what it reported; returns the next counter.
fn check_run(stored: &[(i64, i64)], first: i64, report: &Report, what: &str) -> i64 {
    for &(n, seq) in stored {
        assert_eq!(
            Some(seq),
            report.seq_of(n),
            "{what}: reading {n} is stored with another seq than its batch gave it"
        );
    }
    let end = contiguous_once(stored.iter().map(|r| r.0).collect(), first, what);
    assert!(
        end >= report.flushed_end,
        "{what}: flushed readings lost: stored up to {end}, flushed up to {}",
        report.flushed_end
    );
    if end > report.flushed_end {
        assert_eq!(
            Some(end),
            report.flush_in_flight,
            "{what}: readings past the last flush are stored, and not exactly what the flush \
             in progress covered"
        );
    }
    end
}

#[test]
fn sigkill_100_times_with_the_head_in_ram_loses_only_unflushed_readings_and_never_part_of_a_flush()
{
    let seed = std::env::var("ACS_EDGE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| now_ms() as u64);
    println!("RAM head crash loop: seed {seed} (ACS_EDGE_CRASH_SEED repeats the run)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let started = Instant::now();
    // The next counter to write, and the seq the store hands out next.
    let (mut next, mut next_seq) = (0i64, 1i64);
    let (mut flushes, mut lost, mut before_open) = (0, 0, 0);
    let (mut in_flush, mut flush_stored, mut unflushed_run) = (0, 0, 0);
    let (mut aimed_flush, mut aimed_start) = (0, 0);
    for round in 1..=ROUNDS {
        let task = child::Task {
            path: path.clone(),
            first: next,
            seed: mix(seed ^ u64::from(round)),
        };
        let writer = child::Child::start(CHILD, &task);
        let wait_for = |what: &str, n: u64| {
            for _ in 0..n {
                assert!(
                    writer.wait_for(Duration::from_secs(30), |l| l.starts_with(what)),
                    "round {round}: the writer stopped before {what:?}"
                );
            }
        };
        match rng.between(0, 2) {
            0 => std::thread::sleep(Duration::from_millis(rng.between(20, 200))),
            1 => {
                // Inside or just after the first to third flush: 0-20 ms into it.
                wait_for("flush begin", rng.between(1, 3));
                std::thread::sleep(Duration::from_micros(rng.between(0, 20_000)));
                aimed_flush += 1;
            }
            _ => {
                // Among the first batches after the restart, mostly before its first flush:
                // the file knows of their seqs only through the reservation made at open.
                wait_for("commit", rng.between(1, 4));
                aimed_start += 1;
            }
        }
        let report = Report::parse(&writer.kill(), next);
        let what = format!("round {round} (seed {seed}; writer: {})", report.summary());

        let store = open(&path);
        assert_eq!(store.integrity_check().unwrap(), "ok", "{what}");
        if let Some(seen) = report.open_seq {
            assert_eq!(
                seen, next_seq,
                "{what}: the writer's store opened elsewhere"
            );
        }
        if let Some(handed_out) = report.committed_next_seq {
            assert!(
                store.next_seq() >= handed_out,
                "{what}: seqs from {} would be handed out again (the run reached {handed_out})",
                store.next_seq()
            );
        }
        let stored: Vec<(i64, i64)> = common::store::walk_from(&store, next_seq - 1)
            .iter()
            .map(|r| (counter_of(&r.device, &r.metric, r.ts, r.value), r.seq))
            .collect();
        let end = check_run(&stored, next, &report, &what);
        assert_eq!(
            store.stats().rows,
            end as u64,
            "{what}: the store's own count"
        );
        if round % super::FULL_CHECK_EVERY == 0 || round == ROUNDS {
            super::check_everything(&store, end);
        }

        flushes += report.flushes;
        lost += report.committed_end - end;
        before_open += u32::from(report.open_seq.is_none());
        in_flush += u32::from(report.flush_in_flight.is_some());
        unflushed_run += u32::from(report.flushes == 0 && report.committed_next_seq.is_some());
        flush_stored += u32::from(report.flush_in_flight.is_some() && end > report.flushed_end);
        next = end;
        next_seq = store.next_seq();
    }
    println!(
        "RAM head crash loop: {ROUNDS} rounds ({aimed_flush} aimed at a flush, {aimed_start} at \
         the first batches), {next} readings kept through {flushes} completed flushes, {lost} \
         committed to RAM and lost unflushed; killed {before_open} times before the store was \
         open, {unflushed_run} times after commits but before the run's first flush completed, \
         {in_flush} times inside a flush (found complete {flush_stored} times); {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        in_flush >= ROUNDS / 5,
        "only {in_flush} kills inside a flush"
    );
    assert!(
        unflushed_run >= ROUNDS / 20,
        "only {unflushed_run} kills before a run's first flush"
    );
    assert!(flushes >= u64::from(ROUNDS), "only {flushes} flushes");
}
