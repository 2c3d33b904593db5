//! Rollups: every aggregate against a reference computed here from the inserted readings,
//! bucket alignment, readings before the epoch left out, paging across chunks, cursors.

use std::collections::BTreeMap;

use super::*;
/// A range longer than this spans several chunks of 256 points and the head.
const CHUNK: usize = 4096;

pub(super) const AGGS: [Agg; 5] = [Agg::Mean, Agg::Min, Agg::Max, Agg::Count, Agg::Last];

fn store_with(dir: &Path, readings: &[(i64, f64)]) -> Store {
    let mut s = Store::open(StoreOptions {
        max_rows: 100_000,
        ..opts(dir)
    })
    .unwrap();
    for chunk in readings.chunks(97) {
        let mut readings: Vec<_> = chunk
            .iter()
            .map(|&(ts, v)| reading("d", "m", ts, v))
            .collect();
        // Another series in the same buckets must not leak into the rollup.
        readings.push(reading("d", "other", chunk[0].0, 1e9));
        readings.push(reading("e", "m", chunk[0].0, -1e9));
        let batch = Batch {
            readings,
            statuses: vec![],
        };
        s.insert_batch(&batch, 0).unwrap();
    }
    s
}

/// The buckets computed without the store (readings from the epoch on), values in
/// `(ts, insertion)` order so that the last is the highest `(ts, seq)`.
fn reference(readings: &[(i64, f64)], step: i64, agg: Agg) -> Vec<(i64, f64)> {
    let mut sorted: Vec<(usize, i64, f64)> = readings
        .iter()
        .enumerate()
        .map(|(i, &(ts, v))| (i, ts, v))
        .filter(|&(_, ts, _)| ts >= 0)
        .collect();
    sorted.sort_by_key(|&(i, ts, _)| (ts, i));
    let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (_, ts, v) in sorted {
        let start = ts.div_euclid(step) * step;
        buckets.entry(start).or_default().push(v);
    }
    buckets
        .into_iter()
        .map(|(start, vs)| {
            let value = match agg {
                Agg::Mean => vs.iter().sum::<f64>() / vs.len() as f64,
                Agg::Min => vs.iter().cloned().fold(f64::INFINITY, f64::min),
                Agg::Max => vs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                Agg::Count => vs.len() as f64,
                Agg::Last => *vs.last().unwrap(),
            };
            (start, value)
        })
        .collect()
}

/// A rollup's inputs in one value, as the API gathers them.
#[derive(Debug, Clone)]
pub(super) struct RollupQuery {
    pub(super) device: String,
    pub(super) metric: String,
    pub(super) from_ms: Option<i64>,
    pub(super) to_ms: Option<i64>,
    pub(super) step_ms: i64,
    pub(super) agg: Agg,
    pub(super) limit: usize,
    pub(super) after: Option<RollupCursor>,
}

fn rollup(s: &Store, q: &RollupQuery) -> TelemetryPage {
    let query = TelemetryQuery {
        device: Some(q.device.clone()),
        metric: Some(q.metric.clone()),
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        limit: q.limit,
        // Ignored by a rollup: a stray raw cursor must not move the page.
        after: Some(Cursor {
            ts_ms: i64::MAX,
            seq: 1,
        }),
    };
    let r = Rollup {
        step_ms: q.step_ms,
        agg: q.agg,
        after: q.after,
    };
    s.telemetry(query, Some(&r)).unwrap()
}

pub(super) fn query(step_ms: i64, agg: Agg, limit: usize) -> RollupQuery {
    RollupQuery {
        device: "d".into(),
        metric: "m".into(),
        from_ms: None,
        to_ms: None,
        step_ms,
        agg,
        limit,
        after: None,
    }
}

/// Every page of `q`, each cursor through its text form; checks page sizes on the way.
pub(super) fn all_buckets(s: &Store, q: &RollupQuery) -> Vec<(i64, f64)> {
    let mut q = q.clone();
    let mut out = Vec::new();
    loop {
        let page = rollup(s, &q);
        assert!(page.items.len() <= q.limit);
        for r in &page.items {
            assert_eq!((&*r.device, &*r.metric), (&*q.device, &*q.metric));
        }
        out.extend(page.items.iter().map(|r| (r.ts_ms, r.value)));
        match page.next_cursor {
            Some(c) => {
                assert_eq!(page.items.len(), q.limit, "a short page has no cursor");
                let c = RollupCursor::decode(&c).unwrap();
                assert_eq!(c.step_ms, q.step_ms);
                q.after = Some(c);
            }
            None => return out,
        }
    }
}

fn jittered(n: i64) -> Vec<(i64, f64)> {
    // Out of order, duplicate timestamps, gaps of several empty buckets.
    (0..n)
        .map(|i| {
            let ts = 1_767_225_600_000 + (i * 7_919 % (n / 2)) * 13_000 + (i % 3) * 40_000_000;
            (ts, ((i * 37) % 101) as f64 / 10.0 - 3.0)
        })
        .collect()
}

#[test]
fn every_aggregate_matches_the_reference_in_one_page_and_in_pages_of_any_size() {
    let dir = tempfile::tempdir().unwrap();
    let readings = jittered(1_000);
    let s = store_with(dir.path(), &readings);
    for step in [1_000, 60_000, 3_600_000] {
        for agg in AGGS {
            let want = reference(&readings, step, agg);
            assert!(want.len() > 3, "several buckets at step {step}");
            let whole = all_buckets(&s, &query(step, agg, 10_000));
            assert_eq!(whole.len(), want.len(), "step {step} {agg:?}");
            for (got, want) in whole.iter().zip(&want) {
                assert_eq!(got.0, want.0, "bucket start, step {step} {agg:?}");
                assert!(
                    (got.1 - want.1).abs() <= 1e-9 * want.1.abs().max(1.0),
                    "step {step} {agg:?} bucket {}: {} != {}",
                    got.0,
                    got.1,
                    want.1
                );
                assert_eq!(got.0.rem_euclid(step), 0, "aligned to the epoch");
            }
            for limit in [1, 2, 7] {
                assert_eq!(all_buckets(&s, &query(step, agg, limit)), whole);
            }
        }
    }
}

#[test]
fn last_is_the_latest_inserted_of_equal_timestamps_and_one_reading_is_one_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_with(dir.path(), &[(5_000, 1.0), (5_000, 2.0), (4_000, 3.0)]);
    let page = rollup(&s, &query(10_000, Agg::Last, 100));
    assert_eq!(page.items.len(), 1);
    assert_eq!((page.items[0].ts_ms, page.items[0].value), (0, 2.0));
    assert_eq!(page.next_cursor, None);

    let dir = tempfile::tempdir().unwrap();
    let s = store_with(dir.path(), &[(1_767_225_600_123, 21.5)]);
    for agg in AGGS {
        let page = rollup(&s, &query(60_000, agg, 1));
        let want = if agg == Agg::Count { 1.0 } else { 21.5 };
        assert_eq!(page.items.len(), 1);
        assert_eq!(
            (page.items[0].ts_ms, page.items[0].value),
            (1_767_225_600_000, want)
        );
        assert_eq!(
            page.next_cursor, None,
            "exactly `limit` buckets and no more"
        );
    }
}

#[test]
fn readings_before_the_epoch_are_left_out_and_zero_starts_the_first_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let readings = [(-1, 1.0), (-1_000, 2.0), (0, 4.0), (999, 5.0), (1_000, 6.0)];
    let s = store_with(dir.path(), &readings);
    let got = all_buckets(&s, &query(1_000, Agg::Count, 1));
    assert_eq!(got, vec![(0, 2.0), (1_000, 1.0)]);
    assert_eq!(got, reference(&readings, 1_000, Agg::Count));
    let from_below = RollupQuery {
        from_ms: Some(-5_000),
        ..query(1_000, Agg::Min, 10)
    };
    assert_eq!(all_buckets(&s, &from_below), vec![(0, 4.0), (1_000, 6.0)]);
}

#[test]
fn a_page_spanning_several_query_chunks_folds_them_without_a_seam() {
    let dir = tempfile::tempdir().unwrap();
    // 3 chunks of rows in one bucket, then buckets that each straddle a chunk boundary.
    let n = 3 * CHUNK as i64 + 500;
    let readings: Vec<(i64, f64)> = (0..n).map(|i| (i * 10, (i % 13) as f64)).collect();
    let s = store_with(dir.path(), &readings);
    for (step, limit) in [(1_000_000, 10), (3_000, 4), (7_777, 1_000)] {
        for agg in AGGS {
            let got = all_buckets(&s, &query(step, agg, limit));
            assert_eq!(got, reference(&readings, step, agg), "step {step} {agg:?}");
        }
    }
}

#[test]
fn from_and_to_cut_buckets_which_keep_their_aligned_start() {
    let dir = tempfile::tempdir().unwrap();
    let readings: Vec<(i64, f64)> = (0..100).map(|i| (i * 1_000, i as f64)).collect();
    let s = store_with(dir.path(), &readings);
    let q = RollupQuery {
        from_ms: Some(15_000),
        to_ms: Some(42_000),
        ..query(10_000, Agg::Count, 100)
    };
    let got = all_buckets(&s, &q);
    assert_eq!(
        got,
        vec![(10_000, 5.0), (20_000, 10.0), (30_000, 10.0), (40_000, 2.0)]
    );
    // A cursor past `from` resumes at the next bucket, paging agrees with one page.
    assert_eq!(
        all_buckets(
            &s,
            &RollupQuery {
                limit: 1,
                ..q.clone()
            }
        ),
        got
    );
    let empty = RollupQuery {
        from_ms: Some(50_000),
        to_ms: Some(50_000),
        ..q
    };
    assert_eq!(rollup(&s, &empty), TelemetryPage::default());
}

#[test]
fn unknown_series_extreme_timestamps_and_last_cursors_give_empty_pages_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_with(dir.path(), &[(i64::MIN, 1.0), (i64::MAX, 2.0), (0, 3.0)]);
    let unknown = RollupQuery {
        device: "nobody".into(),
        ..query(1_000, Agg::Mean, 10)
    };
    assert_eq!(rollup(&s, &unknown), TelemetryPage::default());
    // i64::MIN is before the epoch; i64::MAX is in the last bucket there is.
    let last_bucket = i64::MAX - i64::MAX % 1_000;
    let got = all_buckets(&s, &query(1_000, Agg::Max, 1));
    assert_eq!(got, vec![(0, 3.0), (last_bucket, 2.0)]);
    let past_the_end = RollupQuery {
        after: Some(RollupCursor {
            bucket_ms: i64::MAX - 500,
            step_ms: 1_000,
        }),
        ..query(1_000, Agg::Max, 10)
    };
    assert_eq!(rollup(&s, &past_the_end), TelemetryPage::default());
}

#[test]
fn cursors_round_trip_and_anything_else_is_refused() {
    for c in [
        RollupCursor {
            bucket_ms: 0,
            step_ms: 1,
        },
        RollupCursor {
            bucket_ms: 1_767_225_600_000,
            step_ms: 3_600_000,
        },
        RollupCursor {
            bucket_ms: i64::MAX,
            step_ms: i64::MAX,
        },
    ] {
        assert_eq!(RollupCursor::decode(&c.encode()), Some(c));
    }
    for bad in [
        "",
        "r",
        "r1",
        "r1_",
        "r_1",
        "r1_0",
        "r-5_1",
        "r+5_1",
        "r05_1",
        "r5_01",
        "r5_-1",
        "r5_+1",
        "5_1",
        "1767225600000_3",
        "R5_1",
        "r5_1_2",
        "r5_99999999999999999999",
        "rr5_1",
    ] {
        assert_eq!(RollupCursor::decode(bad), None, "{bad:?}");
    }
    // The two cursor forms never overlap.
    let rollup = RollupCursor {
        bucket_ms: 5,
        step_ms: 1,
    };
    assert_eq!(Cursor::decode(&rollup.encode()), None);
    assert_eq!(
        RollupCursor::decode(&Cursor { ts_ms: 5, seq: 1 }.encode()),
        None
    );
}

/// Time of a year of hourly means over a year of 60 s readings, sealed
/// (`cargo test --release --lib -- --ignored year_of_hourly_rollups_cost --nocapture`).
#[test]
#[ignore]
fn year_of_hourly_rollups_cost() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 10_000_000,
        seal_points: 256,
        ..opts(dir.path())
    };
    let mut s = Store::open(o).unwrap();
    let t0 = 1_735_689_600_000i64;
    let n = 525_600i64;
    for start in (0..n).step_by(10_000) {
        let readings = (start..(start + 10_000).min(n))
            .map(|i| {
                reading(
                    "d",
                    "m",
                    t0 + i * 60_000 + (i * 37 % 1600) - 800,
                    (200 + i % 50) as f64 / 10.0,
                )
            })
            .collect();
        insert(&mut s, readings);
    }
    s.seal_all().unwrap();
    let q = query(3_600_000, Agg::Mean, 10_000);
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let got = all_buckets(&s, &q);
        println!(
            "{} buckets in {:.1} ms",
            got.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
