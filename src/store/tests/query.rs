//! Queries, paging and the device registry.

use super::*;
use crate::model::Transport;

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
                .filter(|r| device.is_none_or(|d| &*r.device == d))
                .filter(|r| metric.is_none_or(|m| &*r.metric == m))
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
    let plan = s.explain(&TelemetryQuery {
        device: Some("a".into()),
        metric: Some("t".into()),
        from_ms: Some(5),
        to_ms: Some(9),
        limit: 100,
        after: Some(Cursor { ts_ms: 6, seq: 3 }),
    });
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
        Cursor { ts_ms: 0, seq: 1 },
        Cursor {
            ts_ms: i64::MAX,
            seq: i64::MAX,
        },
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
        // Never produced: negative parts, seq 0, leading zeros, i64 overflow.
        "-1_-1",
        "-5_1",
        "1_-1",
        "1_0",
        "01_2",
        "1_02",
        "9223372036854775808_1",
        "1_9223372036854775808",
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
fn a_message_that_does_not_fit_the_registry_caps_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(StoreOptions {
        max_devices: 2,
        max_metrics: 3,
        ..opts(dir.path())
    })
    .unwrap();
    let message = |device: &str, metrics: &[&str]| -> Vec<(Transport, Reading)> {
        metrics.iter().map(|m| reading(device, m, 1, 1.0)).collect()
    };
    // Four messages: fits; needs 2 new metrics with room for 1; a third device; fits.
    let mut readings = message("a", &["m0", "m1"]);
    readings.extend(message("a", &["m0", "m2", "m3"]));
    readings.extend(message("b", &["m0"]));
    readings.extend(message("c", &["m0", "m1"]));
    readings.extend(message("a", &["m1", "m2"]));
    let ends = [2, 5, 6, 8, 10];
    let b = Batch {
        readings,
        statuses: vec![],
    };
    let done = s.insert_messages(&b, &ends, &[], 1).unwrap();
    let out = done.outcome;
    assert_eq!(out.inserted, 2 + 1 + 2);
    assert_eq!((out.rejected_metric_cap, out.rejected_device_cap), (3, 2));
    assert_eq!(done.refused, [2..5, 6..8]);
    assert_eq!((s.stats().devices, s.stats().metrics), (2, 3));
    // Without message boundaries every reading is a message of its own: only m3 is refused.
    let done = s.insert_messages(&b, &[], &[], 1).unwrap();
    let out = done.outcome;
    assert_eq!((out.inserted, out.rejected_metric_cap), (7, 1));
    assert_eq!(out.rejected_device_cap, 2);
    assert_eq!(done.refused, [4..5, 6..7, 7..8]);
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
fn a_page_deep_into_a_time_range_visits_its_own_rows_not_the_pages_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(StoreOptions {
        max_rows: 100_000,
        ..opts(dir.path())
    })
    .unwrap();
    s.insert_batch(&batch("day", "t", 1_000, 20_000), 1)
        .unwrap();
    let first = TelemetryQuery {
        device: Some("day".into()),
        metric: Some("t".into()),
        from_ms: Some(1_000),
        to_ms: Some(21_000),
        limit: 100,
        after: None,
    };
    let page = s.query(&first).unwrap();
    let last_of_first = page.items.last().unwrap();
    let cursor_deep = Cursor {
        ts_ms: 1_000 + 19_000,
        seq: last_of_first.seq + 19_000,
    };
    let deep = TelemetryQuery {
        after: Some(cursor_deep),
        ..first.clone()
    };
    let deep_page = s.query(&deep).unwrap();
    assert_eq!(deep_page.items.len(), 100);
    assert_eq!(deep_page.items[0].ts_ms, 20_001);
    let first_cost = s.query_rows_visited(&first);
    let deep_cost = s.query_rows_visited(&deep);
    assert!(
        deep_cost < first_cost * 3,
        "the page after 19,000 rows stepped {deep_cost} VM instructions, the first page {first_cost}"
    );
}
