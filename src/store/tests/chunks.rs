//! Sealed chunks: a store that seals answers every query, outbox read and count exactly like
//! a store that keeps every reading as a row; eviction and age limits hold at chunk
//! granularity and count every reading.

use super::*;

/// A deterministic workload: 4 devices x 3 metrics, jittered timestamps, late and repeated
/// timestamps, and values of every kind the codec handles (short decimals, thirds, -0.0,
/// huge magnitudes).
fn workload(n: usize, seed: u64) -> Vec<(Transport, Reading)> {
    let mut state = seed;
    let mut next = move |m: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % m
    };
    (0..n)
        .map(|i| {
            let device = format!("dev{}", next(4));
            let metric = ["t", "h", "p"][next(3) as usize];
            let mut ts = 1_767_225_600_000 + i as i64 * 1_000 + next(1_600) as i64 - 800;
            if next(50) == 0 {
                ts -= 3_600_000; // late
            }
            if next(40) == 0 {
                ts = 1_767_225_600_000; // repeated
            }
            let value = match next(10) {
                0 => 1.0 / 3.0,
                1 => -0.0,
                2 => 1e300,
                _ => (next(2_000) as f64 - 1_000.0) / 10.0,
            };
            reading(&device, metric, ts, value)
        })
        .collect()
}

fn sealing(dir: &Path, seal_points: usize) -> StoreOptions {
    StoreOptions {
        path: dir.join(format!("s{seal_points}.db")),
        max_rows: 1_000_000,
        seal_points,
        ..opts(dir)
    }
}

fn fill(store: &mut Store, readings: &[(Transport, Reading)]) {
    for part in readings.chunks(37) {
        insert(store, part.to_vec());
    }
}

/// Every page of `q` from the first to the last, as comparable tuples.
fn all_pages(store: &Store, mut q: TelemetryQuery) -> Vec<(i64, String, String, i64, u64)> {
    let mut out = Vec::new();
    loop {
        let page = store.query(&q).unwrap();
        out.extend(page.items.iter().map(|r| {
            (
                r.seq,
                r.device.to_string(),
                r.metric.to_string(),
                r.ts_ms,
                r.value.to_bits(),
            )
        }));
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
}

fn queries() -> Vec<TelemetryQuery> {
    let t0 = 1_767_225_600_000;
    let mut qs = Vec::new();
    for limit in [1, 7, 100, 10_000] {
        qs.push(TelemetryQuery {
            device: Some("dev1".into()),
            metric: Some("t".into()),
            limit,
            ..Default::default()
        });
        qs.push(TelemetryQuery {
            device: Some("dev2".into()),
            from_ms: Some(t0 + 100_000),
            to_ms: Some(t0 + 900_000),
            limit,
            ..Default::default()
        });
        qs.push(TelemetryQuery {
            metric: Some("h".into()),
            to_ms: Some(t0 + 500_000),
            limit,
            ..Default::default()
        });
        qs.push(TelemetryQuery {
            limit,
            ..Default::default()
        });
    }
    qs
}

/// Every rollup page of one series, as `(bucket, value bits)`.
fn all_rollups(store: &Store, device: &str, step: i64, agg: Agg, limit: usize) -> Vec<(i64, u64)> {
    let q = TelemetryQuery {
        device: Some(device.into()),
        metric: Some("t".into()),
        from_ms: Some(1_767_225_600_000 - 1_000_000),
        limit,
        ..Default::default()
    };
    let mut r = Rollup {
        step_ms: step,
        agg,
        after: None,
    };
    let mut out = Vec::new();
    loop {
        let page = store.telemetry(q.clone(), Some(&r)).unwrap();
        out.extend(page.items.iter().map(|p| (p.ts_ms, p.value.to_bits())));
        match page.next_cursor {
            Some(c) => r.after = RollupCursor::decode(&c),
            None => return out,
        }
    }
}

fn outbox_walk(store: &Store, limit: usize) -> Vec<(i64, String, String, i64, u64)> {
    let mut after = 0;
    let mut out = Vec::new();
    loop {
        let batch = store.unsynced_batch(after, limit).unwrap();
        let Some(last) = batch.last() else {
            return out;
        };
        after = last.seq;
        out.extend(batch.iter().map(|r| {
            (
                r.seq,
                r.device.clone(),
                r.metric.clone(),
                r.ts,
                r.value.to_bits(),
            )
        }));
    }
}

#[test]
fn a_sealing_store_answers_every_query_and_outbox_read_like_a_row_store() {
    let dir = tempfile::tempdir().unwrap();
    let readings = workload(3_000, 11);
    let mut rows = Store::open(sealing(dir.path(), 0)).unwrap();
    let mut sealed = Store::open(sealing(dir.path(), 16)).unwrap();
    fill(&mut rows, &readings);
    fill(&mut sealed, &readings);
    assert_eq!(rows.stats().sealed, 0);
    assert!(sealed.stats().sealed > 2_000, "{:?}", sealed.stats());
    assert_eq!(sealed.stats().rows, 3_000);
    let compare = |rows: &Store, sealed: &Store| {
        for q in queries() {
            let want = all_pages(rows, q.clone());
            assert!(!want.is_empty(), "{q:?}");
            assert_eq!(all_pages(sealed, q.clone()), want, "{q:?}");
        }
        for limit in [1, 13, 500] {
            let want = outbox_walk(rows, limit);
            assert_eq!(want.len(), 3_000);
            assert_eq!(outbox_walk(sealed, limit), want, "outbox limit {limit}");
        }
        assert_eq!(rows.series(100).unwrap(), sealed.series(100).unwrap());
        for (step, agg, limit) in [
            (60_000, Agg::Mean, 5),
            (1_000, Agg::Last, 100),
            (300_000, Agg::Min, 1_000),
            (3_600_000, Agg::Count, 1),
            (7_000, Agg::Max, 33),
        ] {
            for device in ["dev0", "dev3"] {
                let want = all_rollups(rows, device, step, agg, limit);
                assert!(!want.is_empty());
                assert_eq!(all_rollups(sealed, device, step, agg, limit), want);
            }
        }
    };
    compare(&rows, &sealed);
    sealed.seal_all().unwrap();
    assert_eq!(sealed.stats().sealed, 3_000);
    compare(&rows, &sealed);
    drop(sealed);
    let sealed = Store::open(sealing(dir.path(), 16)).unwrap();
    assert_eq!((sealed.stats().rows, sealed.stats().sealed), (3_000, 3_000));
    compare(&rows, &sealed);
    assert_eq!(sealed.integrity_check().unwrap(), "ok");
}

#[test]
fn the_ring_bound_holds_at_chunk_granularity_and_counts_every_evicted_reading() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 1_000,
        sync_enabled: true,
        ..sealing(dir.path(), 32)
    };
    let mut s = Store::open(o).unwrap();
    let readings = workload(20_000, 5);
    for (i, part) in readings.chunks(50).enumerate() {
        insert(&mut s, part.to_vec());
        let st = s.stats();
        assert!(st.rows <= 1_000, "{st:?}");
        assert_eq!(st.rows + st.evicted_total, (i as u64 + 1) * 50);
        // Nothing was ever acknowledged: every evicted reading was unsynced.
        assert_eq!(st.evicted_unsynced, st.evicted_total);
    }
    let st = s.stats();
    assert!(st.rows >= 1_000 - 32 - 50, "{st:?}");
    assert!(st.sealed > 0);
    // What is left is the newest: no stored seq is older than the readings evicted after it
    // by more than a chunk's span of seqs.
    let kept = outbox_walk(&s, 500);
    assert_eq!(kept.len() as u64, st.rows);
    assert!(kept[0].0 > 20_000 - 3_000, "oldest kept seq {}", kept[0].0);
}

#[test]
fn readings_evicted_from_chunks_while_in_flight_are_not_reported_missing_once_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 1_000,
        sync_enabled: true,
        ..sealing(dir.path(), 16)
    };
    let mut s = Store::open(o).unwrap();
    fill(&mut s, &workload(1_000, 3));
    s.seal_all().unwrap();
    let in_flight = s.unsynced_batch(0, 300).unwrap();
    assert_eq!(in_flight.len(), 300);
    fill(&mut s, &workload(400, 4));
    let before = s.stats();
    assert!(before.evicted_unsynced >= 400, "{before:?}");
    let (first, last) = (in_flight[0].seq, in_flight.last().unwrap().seq);
    let still = outbox_walk(&s, 1_000)
        .iter()
        .filter(|r| r.0 <= last)
        .count() as u64;
    s.ack_synced(first, last, 300).unwrap();
    assert_eq!(
        s.stats().evicted_unsynced,
        before.evicted_unsynced - (300 - still)
    );
}

#[test]
fn chunks_past_the_age_limit_are_evicted_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_age_ms: Some(1_000_000),
        ..sealing(dir.path(), 16)
    };
    let mut s = Store::open(o).unwrap();
    fill(&mut s, &workload(2_000, 9));
    s.seal_all().unwrap();
    let now = 1_767_225_600_000 + 1_500_000;
    while {
        s.evict_expired(now).unwrap();
        s.expire_pending()
    } {}
    let st = s.stats();
    assert!(st.evicted_total > 0);
    assert_eq!(st.rows + st.evicted_total, 2_000);
    // A chunk goes only once all of it is old: nothing younger than the cutoff is gone.
    let kept = outbox_walk(&s, 1_000);
    let young = workload(2_000, 9)
        .iter()
        .filter(|(_, r)| r.ts_ms >= now - 1_000_000)
        .count();
    assert_eq!(
        kept.iter().filter(|r| r.3 >= now - 1_000_000).count(),
        young
    );
    assert!(kept.len() < 2_000 - 300, "{} kept", kept.len());
}

/// Writes a store of the bench's mixed workload shape (100 series, 10 s and 60 s with
/// +-800 ms jitter, 0.1 / 0.5 / integer / 2-decimal values) to `ACS_STORE_OUT` for a look at
/// where its bytes go (`dbstat`):
/// `ACS_STORE_OUT=/tmp/s.db cargo test --release --lib -- --ignored mixed_store_for_analysis`.
#[test]
#[ignore]
fn mixed_store_for_analysis() {
    let Some(path) = std::env::var_os("ACS_STORE_OUT") else {
        return;
    };
    let _ = std::fs::remove_file(&path);
    let o = StoreOptions {
        path: path.into(),
        max_rows: 10_000_000,
        seal_points: 256,
        ..opts(Path::new("/unused"))
    };
    let mut s = Store::open(o).unwrap();
    let mut state = 7u64;
    let mut next = move |m: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % m
    };
    let t0 = 1_767_225_600_000i64;
    let mut batch = Vec::new();
    // Two days.
    for tick in 0..(2 * 8_640i64) {
        for dev in 0..20 {
            if dev % 2 == 0 && tick % 6 != 0 {
                continue;
            }
            let ts = t0 + tick * 10_000 + next(1_600) as i64 - 800;
            let d = format!("dev{dev}");
            batch.push(reading(
                &d,
                "temperature",
                ts,
                (200 + next(30) as i64) as f64 / 10.0,
            ));
            batch.push(reading(
                &d,
                "humidity",
                ts,
                (80 + next(10) as i64) as f64 / 2.0,
            ));
            batch.push(reading(
                &d,
                "battery",
                ts,
                if next(100) == 0 { 96.0 } else { 97.0 },
            ));
            batch.push(reading(&d, "rssi", ts, -(60.0 + next(20) as f64)));
            batch.push(reading(
                &d,
                "power",
                ts,
                (12_000 + next(500) as i64) as f64 / 100.0,
            ));
        }
        if batch.len() >= 500 {
            insert(&mut s, std::mem::take(&mut batch));
        }
    }
    s.seal_all().unwrap();
    println!("{:?}", s.stats());
}
