//! Kept rollups: readings the ring evicts still answer rollups, the same as a store that
//! never evicted them; ranges cutting a kept bucket; the tier's share of `max_bytes`; retention;
//! levels turned off.

use super::rollup::{all_buckets, query, RollupQuery, AGGS};
use super::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000;

fn levels(keep_ms: i64) -> Vec<KeptLevel> {
    vec![
        KeptLevel {
            step_ms: MINUTE,
            keep_ms,
        },
        KeptLevel {
            step_ms: HOUR,
            keep_ms,
        },
    ]
}

/// A reading about every 20 s with jitter for `days`, of "d"/"m" (0.1 steps) and "d"/"rssi"
/// (integers); every 97th arrives two hours late, every 89th twice with the same value.
fn workload(days: i64) -> Vec<Batch> {
    let n = days * DAY / 20_000;
    let mut readings = Vec::new();
    for i in 0..n {
        let mut ts = T0 + i * 20_000 + (i * 7_919) % 1_600;
        if i % 97 == 0 {
            ts -= 2 * HOUR;
        }
        let temp = 200 + ((i / 30) % 40) - ((i / 7) % 3);
        readings.push(reading("d", "m", ts, temp as f64 / 10.0));
        readings.push(reading("d", "rssi", ts, -60.0 - (i % 13) as f64));
        if i % 89 == 0 {
            readings.push(reading("d", "m", ts, temp as f64 / 10.0));
        }
    }
    readings
        .chunks(50)
        .map(|c| Batch {
            readings: c.to_vec(),
            statuses: vec![],
        })
        .collect()
}

fn fill(opts: StoreOptions, batches: &[Batch]) -> Store {
    let mut s = Store::open(opts).unwrap();
    for b in batches {
        s.insert_batch(b, 0).unwrap();
    }
    s
}

fn kept_store(dir: &Path, batches: &[Batch]) -> Store {
    kept_store_sealing(dir, batches, 32)
}

/// `seal_points` 0: every reading stays a row, so evictions take head rows, not chunks.
fn kept_store_sealing(dir: &Path, batches: &[Batch], seal_points: usize) -> Store {
    fill(
        StoreOptions {
            max_rows: 3_000,
            seal_points,
            kept: levels(3650 * DAY),
            ..opts(dir)
        },
        batches,
    )
}

fn series(metric: &str, step_ms: i64, agg: Agg) -> RollupQuery {
    RollupQuery {
        metric: metric.into(),
        ..query(step_ms, agg, 500)
    }
}

/// Equal buckets: exact but for the mean, whose sum the kept tier adds in another order.
fn assert_same(kept: &[(i64, f64)], all: &[(i64, f64)], agg: Agg, what: &str) {
    assert_eq!(kept.len(), all.len(), "{what}: bucket count");
    for (k, a) in kept.iter().zip(all) {
        assert_eq!(k.0, a.0, "{what}: bucket start");
        if agg == Agg::Mean {
            assert!(
                (k.1 - a.1).abs() <= 1e-9 * a.1.abs().max(1.0),
                "{what}: {k:?} vs {a:?}"
            );
        } else {
            assert_eq!(k.1.to_bits(), a.1.to_bits(), "{what} at {}", k.0);
        }
    }
}

#[test]
fn evicted_readings_answer_rollups_like_a_store_that_kept_them() {
    let all_dir = tempfile::tempdir().unwrap();
    let batches = workload(3);
    let all = fill(
        StoreOptions {
            max_rows: 1_000_000,
            seal_points: 32,
            ..opts(all_dir.path())
        },
        &batches,
    );
    assert_eq!(all.stats().evicted_total, 0);
    for seal_points in [32, 0] {
        let dir = tempfile::tempdir().unwrap();
        let kept = kept_store_sealing(dir.path(), &batches, seal_points);
        let stats = kept.stats();
        assert!(stats.evicted_total > 20_000, "{stats:?}");
        assert!(stats.rollup_bytes > 0, "{stats:?}");
        for metric in ["m", "rssi"] {
            for step in [MINUTE, 5 * MINUTE, HOUR, 2 * HOUR, DAY] {
                for agg in AGGS {
                    let q = series(metric, step, agg);
                    let what = format!("seal {seal_points}: {metric} step {step} {agg:?}");
                    assert_same(&all_buckets(&kept, &q), &all_buckets(&all, &q), agg, &what);
                }
            }
        }
        // A step no kept level divides sees only the readings still stored.
        let q = series("m", 90_000, Agg::Count);
        let counted: f64 = all_buckets(&kept, &q).iter().map(|b| b.1).sum();
        assert!(counted as u64 <= 3_000, "{counted}");
    }
}

#[test]
fn a_range_cutting_a_kept_bucket_leaves_that_bucket_out() {
    let (dir, all_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let batches = workload(2);
    let kept = kept_store(dir.path(), &batches);
    let all = fill(
        StoreOptions {
            max_rows: 1_000_000,
            ..opts(all_dir.path())
        },
        &batches,
    );
    let from = T0 + 3 * HOUR + 30 * MINUTE;
    let q = RollupQuery {
        from_ms: Some(from),
        to_ms: Some(T0 + 20 * HOUR),
        ..series("m", HOUR, Agg::Count)
    };
    let (k, a) = (all_buckets(&kept, &q), all_buckets(&all, &q));
    assert_eq!(
        a[0].0,
        T0 + 3 * HOUR,
        "the full store counts the cut bucket's part"
    );
    assert_eq!(
        k[0].0,
        T0 + 4 * HOUR,
        "the kept one leaves the cut bucket out"
    );
    assert_same(&k, &a[1..], Agg::Count, "after the cut");
}

#[test]
fn the_kept_tier_stays_within_its_share_and_drops_minutes_before_hours() {
    let dir = tempfile::tempdir().unwrap();
    let max_bytes = 160 * 1024;
    let s = fill(
        StoreOptions {
            max_rows: 2_000,
            max_bytes,
            seal_points: 32,
            kept: levels(3650 * DAY),
            ..opts(dir.path())
        },
        &workload(4),
    );
    let stats = s.stats();
    assert!(stats.rollup_bytes <= max_bytes / KEPT_SHARE, "{stats:?}");
    assert!(stats.used_bytes <= max_bytes, "{stats:?}");
    let first = |step| all_buckets(&s, &series("m", step, Agg::Count))[0].0;
    assert_eq!(
        first(HOUR),
        T0 - 2 * HOUR,
        "hours from the very first reading"
    );
    assert!(first(MINUTE) > T0 + DAY, "the oldest minutes went for room");
}

#[test]
fn kept_blocks_past_their_retention_go_and_levels_turned_off_go_whole() {
    let dir = tempfile::tempdir().unwrap();
    let batches = workload(3);
    let mut s = fill(
        StoreOptions {
            max_rows: 3_000,
            seal_points: 32,
            kept: levels(DAY),
            ..opts(dir.path())
        },
        &batches,
    );
    let blocks = |s: &Store, sql: &str, cutoff: i64| -> i64 {
        s.conn.query_row(sql, [cutoff], |r| r.get(0)).unwrap()
    };
    let ended_before = "SELECT count(*) FROM kept WHERE last_bucket + step <= ?1";
    let now = T0 + 87 * HOUR;
    let cutoff = now - DAY;
    assert!(blocks(&s, ended_before, cutoff) > 0, "a block to expire");
    let hours = |s: &Store| all_buckets(s, &series("m", HOUR, Agg::Count));
    let before = hours(&s);
    s.evict_expired(now).unwrap();
    assert_eq!(blocks(&s, ended_before, cutoff), 0);
    assert!(
        blocks(&s, "SELECT count(*) FROM kept WHERE ?1 = ?1", 0) > 0,
        "not emptied"
    );
    let after = hours(&s);
    assert!(
        after.len() < before.len(),
        "{} -> {}",
        before.len(),
        after.len()
    );
    let kept_before = s.stats().rollup_bytes;
    assert!(kept_before > 0);
    drop(s);

    let mut s = Store::open(StoreOptions {
        max_rows: 3_000,
        seal_points: 32,
        kept: vec![],
        ..opts(dir.path())
    })
    .unwrap();
    assert_eq!(s.stats().rollup_bytes, kept_before, "counted again at open");
    s.evict_expired(now).unwrap();
    assert_eq!(s.stats().rollup_bytes, 0);
    assert_eq!(s.integrity_check().unwrap(), "ok");
}

#[test]
fn kept_rollups_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let s = kept_store(dir.path(), &workload(2));
    let q = series("m", HOUR, Agg::Mean);
    let before = all_buckets(&s, &q);
    drop(s);
    let s = Store::open(StoreOptions {
        max_rows: 3_000,
        seal_points: 32,
        kept: levels(3650 * DAY),
        ..opts(dir.path())
    })
    .unwrap();
    let after = all_buckets(&s, &q);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((b.0, b.1.to_bits()), (a.0, a.1.to_bits()));
    }
}

#[test]
fn age_eviction_folds_what_it_evicts_rows_late_rows_and_chunks() {
    let count = |s: &Store| -> f64 {
        ["m", "rssi"]
            .iter()
            .flat_map(|m| all_buckets(s, &series(m, HOUR, Agg::Count)))
            .map(|b| b.1)
            .sum()
    };
    for seal_points in [0, 32] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = fill(
            StoreOptions {
                max_rows: 1_000_000,
                max_age_ms: Some(DAY),
                seal_points,
                kept: levels(3650 * DAY),
                ..opts(dir.path())
            },
            &workload(3),
        );
        let (rows, before) = (s.stats().rows, count(&s));
        assert_eq!(before as u64, rows, "nothing evicted yet");
        s.evict_expired(T0 + 3 * DAY).unwrap();
        while s.expire_pending() {
            s.evict_expired(T0 + 3 * DAY).unwrap();
        }
        let stats = s.stats();
        assert!(stats.rows < rows / 2, "seal {seal_points}: {stats:?}");
        assert_eq!(
            count(&s),
            before,
            "seal {seal_points}: every expired reading folded"
        );
    }
}
