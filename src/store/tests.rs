use std::path::Path;

use super::*;
use crate::model::{Reading, Transport};

fn opts(dir: &Path) -> StoreOptions {
    StoreOptions {
        max_rows: 1_000,
        max_bytes: 64 << 20,
        ..StoreOptions::new(dir.join("sub/dir/store.db"))
    }
}

fn reading(device: &str, metric: &str, ts_ms: i64, value: f64) -> (Transport, Reading) {
    let r = Reading {
        device: device.into(),
        metric: metric.into(),
        ts_ms,
        value,
    };
    (Transport::Mqtt, r)
}

/// `n` readings of one device/metric with ts = start, start+1, ...
fn batch(device: &str, metric: &str, start: i64, n: i64) -> Batch {
    Batch {
        readings: (start..start + n)
            .map(|ts| reading(device, metric, ts, ts as f64))
            .collect(),
        statuses: Vec::new(),
    }
}

/// A batch spread over 4 devices x 3 metrics, like a small real deployment.
fn mixed_batch(start: i64, n: i64) -> Batch {
    Batch {
        readings: (start..start + n)
            .map(|i| {
                let dev = format!("dev{}", i % 4);
                let metric = ["temperature", "humidity", "co2"][(i % 3) as usize];
                reading(&dev, metric, i * 1000, i as f64 / 10.0)
            })
            .collect(),
        statuses: Vec::new(),
    }
}

fn all_pages(s: &Store, base: &TelemetryQuery) -> Vec<StoredReading> {
    let mut out = Vec::new();
    let mut q = base.clone();
    loop {
        let page = s.query(&q).unwrap();
        assert!(page.items.len() <= q.limit);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(Cursor::decode(&c.encode()).unwrap()),
            None => return out,
        }
    }
}

fn files_size(path: &Path) -> (u64, u64) {
    let db = std::fs::metadata(path).unwrap().len();
    let wal = std::fs::metadata(super::wal_path(path))
        .map(|m| m.len())
        .unwrap_or(0);
    (db, wal)
}

#[test]
fn rows_never_exceed_max_rows_and_eviction_is_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(opts(dir.path())).unwrap();
    let mut inserted = 0u64;
    let mut evicted = 0u64;
    for i in 0..50 {
        let out = s.insert_batch(&mixed_batch(i * 77, 77), 1).unwrap();
        inserted += out.inserted;
        evicted += out.evicted;
        let st = s.stats();
        assert!(st.rows <= 1_000, "rows {} after batch {i}", st.rows);
        assert_eq!(st.rows, inserted.min(1_000));
        assert_eq!(st.evicted_total, evicted);
        assert_eq!(st.evicted_total, inserted - st.rows);
        assert_eq!(st.evicted_unsynced, 0, "no upstream, nothing is unsynced");
    }
    assert_eq!(inserted, 50 * 77);
    let st = s.stats();
    assert_eq!(st.next_seq - st.oldest_seq, 1_000);
    // The rows left are exactly the newest ones.
    let rows = all_pages(
        &s,
        &TelemetryQuery {
            limit: 10_000,
            ..Default::default()
        },
    );
    assert_eq!(rows.len(), 1_000);
    assert_eq!(rows.first().unwrap().seq, st.oldest_seq);
    assert_eq!(rows.last().unwrap().seq, st.next_seq - 1);
}

#[test]
fn evicted_unsynced_counts_only_rows_past_the_sync_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.sync_enabled = true;
    o.max_rows = 100;
    let mut s = Store::open(o.clone()).unwrap();
    s.insert_batch(&batch("d", "m", 0, 100), 1).unwrap(); // seqs 1..=100
    s.set_sync_cursor(30).unwrap(); // 1..=30 acknowledged upstream
    let out = s.insert_batch(&batch("d", "m", 100, 50), 1).unwrap(); // evicts 1..=50
    assert_eq!((out.evicted, out.evicted_unsynced), (50, 20));
    let out = s.insert_batch(&batch("d", "m", 150, 10), 1).unwrap(); // evicts 51..=60
    assert_eq!((out.evicted, out.evicted_unsynced), (10, 10));
    s.set_sync_cursor(200).unwrap();
    let out = s.insert_batch(&batch("d", "m", 160, 10), 1).unwrap();
    assert_eq!((out.evicted, out.evicted_unsynced), (10, 0));
    let st = s.stats();
    assert_eq!((st.evicted_total, st.evicted_unsynced), (70, 30));
    drop(s);
    let s = Store::open(o).unwrap();
    assert_eq!(s.sync_cursor(), 200);
    assert_eq!(
        (s.stats().evicted_total, s.stats().evicted_unsynced),
        (70, 30)
    );
}

#[test]
fn counters_and_next_seq_survive_reopen_and_seq_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 10,
        ..opts(dir.path())
    };
    let mut s = Store::open(o.clone()).unwrap();
    s.insert_batch(&batch("d", "m", 0, 25), 1).unwrap();
    let before = s.stats();
    assert_eq!(
        (before.next_seq, before.oldest_seq, before.evicted_total),
        (26, 16, 15)
    );
    drop(s);

    let mut s = Store::open(o.clone()).unwrap();
    let wal_bytes = s.stats().wal_bytes; // the WAL is checkpointed and removed on close
    assert_eq!(
        StoreStats {
            wal_bytes,
            ..before
        },
        s.stats()
    );
    // Evict everything: the next seq must still continue, not restart from max(seq) + 1.
    s.set_limits(1, 64 << 20, Some(1)).unwrap();
    assert_eq!(s.evict_expired(1_000_000).unwrap(), 1);
    assert_eq!(s.stats().rows, 0);
    drop(s);

    let mut s = Store::open(o).unwrap();
    assert_eq!((s.stats().rows, s.stats().next_seq), (0, 26));
    assert_eq!(s.stats().evicted_total, 25);
    s.insert_batch(&batch("d", "m", 100, 1), 1).unwrap();
    let rows = all_pages(
        &s,
        &TelemetryQuery {
            limit: 10,
            ..Default::default()
        },
    );
    assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![26]);
}

#[test]
fn file_size_stops_growing_after_the_first_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 5_000,
        ..opts(dir.path())
    };
    let path = o.path.clone();
    let mut s = Store::open(o).unwrap();
    // The db file itself only grows at checkpoints, so the logical size (page_count) is what
    // shows the freelist at work; the files on disk are checked as db + WAL.
    // Measured (pages, every 20 batches): 62 65 67 68 68 69 69 ... 69 up to 100x max_rows: the
    // index settles at its fill factor within a few wraps, then nothing grows.
    let (mut logical_at_wrap, mut logical_at_5x, mut at_half) = (0, 0, 0);
    for i in 0..200 {
        // 20x max_rows in batches of 500.
        s.insert_batch(&mixed_batch(i * 500, 500), 1).unwrap();
        if i == 19 {
            logical_at_wrap = s.stats().file_bytes; // two wraps: the freelist is in use
        }
        if i == 49 {
            logical_at_5x = s.stats().file_bytes;
        }
        if i == 99 {
            let (db, wal) = files_size(&path);
            at_half = db + wal;
        }
    }
    let st = s.stats();
    let (db, wal) = files_size(&path);
    println!("logical at wrap {logical_at_wrap}, files at 10x {at_half}, at end db {db} + wal {wal}, {st:?}");
    let grew = |from: u64, pct: u64| st.file_bytes <= from + from * pct / 100;
    assert!(
        grew(logical_at_wrap, 15),
        "db grew: {logical_at_wrap} -> {}",
        st.file_bytes
    );
    assert!(
        grew(logical_at_5x, 5),
        "db grew: {logical_at_5x} -> {}",
        st.file_bytes
    );
    assert!(db <= st.file_bytes);
    // The WAL reaches its high-water mark at the first checkpoint, then is reused from the start.
    assert!(
        db + wal <= at_half + at_half / 20,
        "files grew: {at_half} -> {}",
        db + wal
    );
    assert!(
        wal <= super::wal_limit_bytes(&s.st.opts) + 64 * 4096,
        "wal {wal}"
    );
}

#[test]
fn max_bytes_bound_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 1_000_000,
        max_bytes: 256 * 1024,
        ..opts(dir.path())
    };
    let mut s = Store::open(o).unwrap();
    let mut evicted = 0;
    for i in 0..100 {
        evicted += s
            .insert_batch(&mixed_batch(i * 500, 500), 1)
            .unwrap()
            .evicted;
        let st = s.stats();
        assert!(
            st.used_bytes <= 256 * 1024,
            "used {} after batch {i}",
            st.used_bytes
        );
    }
    let st = s.stats();
    assert!(evicted > 0 && st.rows < 50_000);
    assert_eq!(st.evicted_total, 50_000 - st.rows);
    assert!(
        st.file_bytes <= 256 * 1024 + 16 * 4096,
        "file {}",
        st.file_bytes
    );
    // The WAL is bounded to a quarter of max_bytes (64 pages minimum), plus one commit.
    println!("{st:?}");
    assert!(
        st.wal_bytes <= 64 * 4096 + 32 * 4096,
        "wal {}",
        st.wal_bytes
    );
    // Bytes evict in chunks of at least 64 rows or 1%, not everything.
    assert!(st.rows > 2_000, "rows {}", st.rows);
}

#[test]
fn evict_expired_removes_old_rows_in_insert_order_bounded_per_call() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 100_000,
        max_age_ms: Some(1_000),
        ..opts(dir.path())
    };
    let mut s = Store::open(o).unwrap();
    // ts 0..15000, then one late row with an ancient ts, then ts 20000..20010.
    for i in 0..15 {
        s.insert_batch(&batch("d", "m", i * 1_000, 1_000), 1)
            .unwrap();
    }
    s.insert_batch(&batch("d", "m", -5, 1), 1).unwrap();
    s.insert_batch(&batch("d", "m", 20_000, 10), 1).unwrap();
    assert_eq!(s.stats().rows, 15_011);

    // Cutoff 14_500: rows ts < 14_500 go, but at most EXPIRE_CHUNK per call.
    assert_eq!(s.evict_expired(15_500).unwrap(), EXPIRE_CHUNK);
    assert_eq!(s.evict_expired(15_500).unwrap(), 14_500 - EXPIRE_CHUNK);
    assert_eq!(s.evict_expired(15_500).unwrap(), 0);
    assert_eq!(s.stats().rows, 511);
    assert_eq!(s.stats().evicted_total, 14_500);
    // Insertion order defines "oldest": the late row (ts -5) waits behind younger rows.
    assert_eq!(s.evict_expired(16_000).unwrap(), 500 + 1);
    assert_eq!(s.stats().rows, 10);
    assert_eq!(s.evict_expired(20_005).unwrap(), 0);
    assert_eq!(s.evict_expired(21_005).unwrap(), 5);
}

fn paging_store(dir: &Path) -> Store {
    let mut s = Store::open(StoreOptions {
        max_rows: 100_000,
        ..opts(dir)
    })
    .unwrap();
    // Out-of-order and duplicate timestamps across batches.
    for b in 0..10 {
        let readings = (0..300)
            .map(|i| {
                let dev = ["a", "b", "c"][i % 3];
                let metric = ["t", "h"][(i / 3) % 2];
                reading(dev, metric, ((i * 7 + b * 13) % 500) as i64, i as f64)
            })
            .collect();
        s.insert_batch(
            &Batch {
                readings,
                statuses: vec![],
            },
            1,
        )
        .unwrap();
    }
    s
}

#[test]
fn paging_with_cursors_returns_every_row_once_in_ts_seq_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = paging_store(dir.path());
    let everything = all_pages(
        &s,
        &TelemetryQuery {
            limit: 100_000,
            ..Default::default()
        },
    );
    assert_eq!(everything.len(), 3_000);
    let filters = [
        (None, None, None, None),
        (Some("a"), Some("t"), None, None),
        (Some("b"), None, Some(100), Some(400)),
        (None, Some("h"), Some(0), Some(250)),
        (Some("c"), Some("h"), Some(499), None),
    ];
    for (device, metric, from_ms, to_ms) in filters {
        for limit in [1, 7, 100, 5_000] {
            let q = TelemetryQuery {
                device: device.map(String::from),
                metric: metric.map(String::from),
                from_ms,
                to_ms,
                limit,
                after: None,
            };
            let got = all_pages(&s, &q);
            let mut want: Vec<_> = everything
                .iter()
                .filter(|r| device.is_none_or(|d| r.device == d))
                .filter(|r| metric.is_none_or(|m| r.metric == m))
                .filter(|r| from_ms.is_none_or(|f| r.ts_ms >= f))
                .filter(|r| to_ms.is_none_or(|t| r.ts_ms < t))
                .cloned()
                .collect();
            want.sort_by_key(|r| (r.ts_ms, r.seq));
            assert!(!want.is_empty());
            assert_eq!(
                got, want,
                "filters {device:?} {metric:?} {from_ms:?} {to_ms:?} {limit}"
            );
        }
    }
    // An exactly full last page has no next cursor only if nothing follows.
    let q = TelemetryQuery {
        device: Some("a".into()),
        metric: Some("t".into()),
        limit: 500,
        ..Default::default()
    };
    let p = s.query(&q).unwrap();
    assert_eq!((p.items.len(), p.next_cursor), (500, None));
}

#[test]
fn unknown_device_or_metric_gives_an_empty_page() {
    let dir = tempfile::tempdir().unwrap();
    let s = paging_store(dir.path());
    for (device, metric) in [
        (Some("nope"), None),
        (None, Some("nope")),
        (Some("a"), Some("x")),
    ] {
        let q = TelemetryQuery {
            device: device.map(String::from),
            metric: metric.map(String::from),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(s.query(&q).unwrap(), Page::default());
    }
}

#[test]
fn device_metric_time_query_uses_the_index_without_sorting() {
    let dir = tempfile::tempdir().unwrap();
    let s = paging_store(dir.path());
    let plan = s.explain("device_id = 1 AND metric_id = 1 AND ts >= 5 AND ts < 9 AND ts >= 6 AND (ts > 6 OR seq > 3)");
    let plan = plan.join(" | ");
    assert!(
        plan.contains("USING INDEX readings_device_metric_ts"),
        "{plan}"
    );
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[test]
fn cursor_round_trips_and_rejects_garbage() {
    for c in [
        Cursor {
            ts_ms: 1767225600123,
            seq: 42,
        },
        Cursor { ts_ms: -5, seq: 1 },
    ] {
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
    for bad in [
        "",
        "_",
        "1_",
        "_1",
        "1",
        "a_1",
        "1_2_3",
        "+1_2",
        "1_99999999999999999999",
    ] {
        assert_eq!(Cursor::decode(bad), None, "{bad}");
    }
}

#[test]
fn device_and_metric_caps_reject_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(StoreOptions {
        max_devices: 3,
        max_metrics: 2,
        ..opts(dir.path())
    })
    .unwrap();
    let readings = (0..10)
        .flat_map(|d| ["m0", "m1", "m2"].map(|m| reading(&format!("dev{d}"), m, 1, 1.0)))
        .collect();
    let out = s
        .insert_batch(
            &Batch {
                readings,
                statuses: vec![],
            },
            1,
        )
        .unwrap();
    assert_eq!(out.inserted, 3 * 2);
    assert_eq!(out.rejected_metric_cap, 3);
    assert_eq!(out.rejected_device_cap, 7 * 3);
    let status = DeviceStatus {
        device: "dev9".into(),
        transport: Transport::Ble,
        online: true,
        ts_ms: 5,
    };
    let out = s
        .insert_batch(
            &Batch {
                readings: vec![],
                statuses: vec![status],
            },
            1,
        )
        .unwrap();
    assert_eq!(out.rejected_device_cap, 1);
    assert_eq!((s.stats().devices, s.stats().metrics), (3, 2));
    assert_eq!(s.devices().unwrap().len(), 3);
}

#[test]
fn disabled_device_readings_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(opts(dir.path())).unwrap();
    s.insert_batch(&batch("d", "m", 0, 5), 1).unwrap();
    let patch = DevicePatch {
        enabled: Some(false),
        ..Default::default()
    };
    assert!(!s.patch_device("d", &patch).unwrap().unwrap().enabled);
    let mut b = batch("d", "m", 5, 5);
    b.readings.extend(batch("e", "m", 5, 2).readings);
    let out = s.insert_batch(&b, 1).unwrap();
    assert_eq!((out.inserted, out.dropped_disabled), (2, 5));
    assert_eq!(s.stats().rows, 7);
    assert_eq!(s.patch_device("nope", &patch).unwrap(), None);
}

#[test]
fn invalid_readings_are_rejected_not_failing_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(opts(dir.path())).unwrap();
    let b = Batch {
        readings: vec![
            reading("d", "m", 1, f64::NAN),
            reading("d", "m", 1, f64::INFINITY),
            reading("bad/id", "m", 1, 1.0),
            reading("d", "", 1, 1.0),
            reading("d", "m", 1, 1.0),
        ],
        statuses: vec![],
    };
    let out = s.insert_batch(&b, 1).unwrap();
    assert_eq!((out.inserted, out.rejected_invalid), (1, 4));
}

#[test]
fn registry_tracks_readings_statuses_and_patches() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(opts(dir.path())).unwrap();
    let mut b = batch("d", "m", 0, 2);
    b.readings[1].0 = Transport::Lora;
    s.insert_batch(&b, 1_000).unwrap();
    let d = s.device("d").unwrap().unwrap();
    assert_eq!(
        (d.first_seen_ms, d.last_seen_ms, d.online, d.transport),
        (1_000, 1_000, true, Transport::Lora)
    );
    let off = DeviceStatus {
        device: "d".into(),
        transport: Transport::Lora,
        online: false,
        ts_ms: 3_000,
    };
    s.insert_batch(
        &Batch {
            readings: batch("d", "m", 2, 1).readings,
            statuses: vec![off],
        },
        2_000,
    )
    .unwrap();
    let d = s.device("d").unwrap().unwrap();
    assert_eq!(
        (d.last_seen_ms, d.online),
        (2_000, false),
        "status after readings wins"
    );

    let patch = DevicePatch {
        name: Some(Some("Kitchen".into())),
        metadata: Some(serde_json::json!({"room": "kitchen"})),
        ..Default::default()
    };
    s.patch_device("d", &patch).unwrap();
    let bad = DevicePatch {
        metadata: Some(serde_json::json!([1])),
        ..Default::default()
    };
    assert!(matches!(
        s.patch_device("d", &bad),
        Err(StoreError::InvalidMetadata)
    ));
    let d = s.device("d").unwrap().unwrap();
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"id": "d", "name": "Kitchen", "transport": "lora", "first_seen": 1000,
            "last_seen": 2000, "online": false, "enabled": true, "metadata": {"room": "kitchen"}})
    );
    assert_eq!(s.device("nope").unwrap(), None);
}

#[test]
fn stored_reading_serializes_like_a_reading() {
    let r = StoredReading {
        seq: 9,
        device: "dev1".into(),
        metric: "temperature".into(),
        ts_ms: 1767225600123,
        value: 21.5,
    };
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"device":"dev1","metric":"temperature","ts":1767225600123,"value":21.5}"#
    );
}

#[test]
fn reopen_after_drop_keeps_every_committed_batch_and_integrity_is_ok() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        max_rows: 100_000,
        ..opts(dir.path())
    };
    let mut s = Store::open(o.clone()).unwrap();
    for i in 0..20 {
        s.insert_batch(&mixed_batch(i * 100, 100), 1).unwrap();
    }
    // No close, no checkpoint: the rows live in the WAL until the next open recovers them.
    drop(s);
    let s = Store::open(o).unwrap();
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let rows = all_pages(
        &s,
        &TelemetryQuery {
            limit: 10_000,
            ..Default::default()
        },
    );
    assert_eq!(rows.len(), 2_000);
    assert_eq!((s.stats().devices, s.stats().metrics), (4, 3));
}

#[test]
fn newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    drop(Store::open(o.clone()).unwrap());
    let conn = rusqlite::Connection::open(&o.path).unwrap();
    conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(conn);
    let err = Store::open(o).err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer"));
}

#[test]
fn exclusive_mode_allows_one_connection_only() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let _s = Store::open(o.clone()).unwrap();
    let err = Store::open(o).err().unwrap();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
}

#[test]
fn set_limits_shrinks_at_once_and_rejects_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(opts(dir.path())).unwrap();
    s.insert_batch(&batch("d", "m", 0, 500), 1).unwrap();
    assert_eq!(s.set_limits(100, 64 << 20, None).unwrap(), 400);
    assert_eq!((s.stats().rows, s.stats().max_rows), (100, 100));
    assert!(s.set_limits(0, 1, None).is_err());
    assert!(Store::open(StoreOptions {
        max_rows: 0,
        ..opts(dir.path())
    })
    .is_err());
}

#[test]
fn store_is_send() {
    fn send<T: Send>() {}
    send::<Store>();
}

/// Prints insert cost per reading at 10k and 200k rows (`cargo test --release -- --ignored
/// insert_cost --nocapture`). Figures only; nothing is asserted about time.
#[test]
#[ignore]
fn insert_cost_is_flat_whatever_the_fill() {
    for max_rows in [10_000u64, 200_000] {
        let dir = tempfile::tempdir().unwrap();
        let o = StoreOptions {
            max_rows,
            ..opts(dir.path())
        };
        let path = o.path.clone();
        let mut s = Store::open(o).unwrap();
        let per_batch = 1_000;
        let mut i = 0;
        // Fill to the bound and wrap once, then measure 100 batches at the bound.
        while i < 2 * max_rows as i64 {
            s.insert_batch(&mixed_batch(i, per_batch), 1).unwrap();
            i += per_batch;
        }
        let t = std::time::Instant::now();
        for _ in 0..100 {
            s.insert_batch(&mixed_batch(i, per_batch), 1).unwrap();
            i += per_batch;
        }
        let secs = t.elapsed().as_secs_f64();
        let (db, wal) = files_size(&path);
        println!(
            "max_rows {max_rows}: {:.0} rows/s ({:.1} us/row) at the bound, db {db} B, wal {wal} B, stats {:?}",
            100.0 * per_batch as f64 / secs,
            secs * 1e6 / (100.0 * per_batch as f64),
            s.stats()
        );
    }
}
