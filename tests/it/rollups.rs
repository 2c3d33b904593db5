//! Rollups over REST (`step` and `agg` on `GET /api/v1/telemetry`) from the real daemon:
//! every aggregate against values computed here from the published readings, buckets aligned
//! to the epoch whatever `from` is, paging across buckets without gaps or repeats, and the
//! errors for every malformed combination.

use crate::common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// 2026-01-01T00:00:00Z, a multiple of every step used here.
const BASE: i64 = 1_767_225_600_000;
const STEP_MS: i64 = 600_000;

/// About 4 hours of one series: jittered, some buckets empty, equal timestamps in pairs (the
/// later one published is the bucket's last when it ends the bucket).
fn readings() -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    for i in 0..300i64 {
        if (i / 25) % 4 == 3 {
            continue; // a gap of empty buckets
        }
        let ts = BASE + i * 50_000 + (i * 7_919 % 1_600) - 800;
        let value = ((i * 37) % 101) as f64 / 4.0 - 5.0;
        out.push((ts, value));
        if i % 12 == 11 {
            out.push((ts, value + 100.0));
        }
    }
    out
}

/// Buckets computed from the readings in publish order: `(start, values in (ts, order))`.
fn buckets(readings: &[(i64, f64)], from: i64) -> BTreeMap<i64, Vec<f64>> {
    let mut sorted: Vec<(i64, usize, f64)> = readings
        .iter()
        .enumerate()
        .filter(|(_, r)| r.0 >= from)
        .map(|(i, &(ts, v))| (ts, i, v))
        .collect();
    sorted.sort_by_key(|&(ts, i, _)| (ts, i));
    let mut out: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (ts, _, v) in sorted {
        out.entry(ts / STEP_MS * STEP_MS).or_default().push(v);
    }
    out
}

fn expected(buckets: &BTreeMap<i64, Vec<f64>>, agg: &str) -> Vec<(i64, f64)> {
    buckets
        .iter()
        .map(|(&start, vs)| {
            let v = match agg {
                "mean" => vs.iter().sum::<f64>() / vs.len() as f64,
                "min" => vs.iter().cloned().fold(f64::INFINITY, f64::min),
                "max" => vs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                "count" => vs.len() as f64,
                "last" => *vs.last().unwrap(),
                _ => unreachable!(),
            };
            (start, v)
        })
        .collect()
}

/// Every page of a rollup query, following `next_cursor`; checks each item's shape.
fn pages(daemon: &Daemon, query: &str, limit: usize) -> (Vec<(i64, f64)>, usize) {
    let mut out = Vec::new();
    let mut cursor = None::<String>;
    let mut pages = 0;
    loop {
        let mut path = format!("/api/v1/telemetry?{query}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, body) = daemon.get(&path);
        assert_eq!(status, 200, "{path}: {body}");
        pages += 1;
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        for item in items {
            let keys: Vec<&str> = item
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            assert_eq!(keys, ["device", "metric", "ts", "value"], "{item}");
            assert_eq!(
                (&item["device"], &item["metric"]),
                (&json!("roll"), &json!("t"))
            );
            out.push((
                item["ts"].as_i64().unwrap(),
                item["value"].as_f64().unwrap(),
            ));
        }
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert!(c.starts_with('r'), "a rollup cursor: {c}");
                cursor = Some(c.to_owned());
            }
            None => return (out, pages),
        }
    }
}

fn close(got: &[(i64, f64)], want: &[(i64, f64)], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.0, w.0, "{what}: bucket start");
        assert!(
            (g.1 - w.1).abs() < 1e-9,
            "{what} at {}: {} != {}",
            g.0,
            g.1,
            w.1
        );
    }
}

#[test]
fn every_aggregate_matches_values_computed_from_the_published_readings() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    let readings = readings();
    for chunk in readings.chunks(100) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|&(ts, t)| json!({"ts": ts, "t": t}))
            .collect();
        publisher.publish("acs/roll/telemetry", serde_json::to_vec(&batch).unwrap());
    }
    // Another series in the same buckets must stay out of the rollup.
    publisher.publish(
        "acs/roll/telemetry",
        json!({"ts": BASE, "h": 1e6}).to_string(),
    );
    publisher.publish(
        "acs/other/telemetry",
        json!({"ts": BASE, "t": 1e6}).to_string(),
    );
    wait_until("every reading stored", patience(), || {
        (daemon.all_readings("roll").len() == readings.len() + 1).then_some(())
    });
    let all = buckets(&readings, i64::MIN);
    assert!(all.len() >= 15, "{} buckets", all.len());
    let gaps = all
        .keys()
        .zip(all.keys().skip(1))
        .filter(|(a, b)| *b - *a > STEP_MS);
    assert!(gaps.count() >= 2, "empty buckets between non-empty ones");

    for agg in ["mean", "min", "max", "count", "last"] {
        let query = format!("device=roll&metric=t&step=600&agg={agg}");
        let want = expected(&all, agg);
        let (one, pages_one) = pages(&daemon, &query, 10_000);
        assert_eq!(pages_one, 1);
        close(&one, &want, agg);
        // Pages of 4 buckets: no gap, no repeat, and no empty last page when it ends evenly.
        let (paged, n) = pages(&daemon, &query, 4);
        close(&paged, &want, agg);
        assert_eq!(n, want.len().div_ceil(4), "{agg}: page count");
    }

    // `from` inside a bucket: the bucket keeps its aligned start, only later readings count.
    let from = BASE + 3 * STEP_MS + 123_457;
    let (got, _) = pages(
        &daemon,
        &format!("device=roll&metric=t&step=600&agg=count&from={from}"),
        3,
    );
    let want = expected(&buckets(&readings, from), "count");
    close(&got, &want, "count from mid-bucket");
    assert_eq!(got[0].0, BASE + 3 * STEP_MS);
    // A coarser step on the same data: hourly buckets sum the 10-minute counts.
    let (hourly, _) = pages(&daemon, "device=roll&metric=t&step=3600&agg=count", 100);
    let total: f64 = hourly.iter().map(|h| h.1).sum();
    assert_eq!(total, readings.len() as f64);
    assert!(hourly.iter().all(|h| (h.0 - BASE) % 3_600_000 == 0));
}

#[test]
fn malformed_rollups_and_cursors_of_the_other_mode_are_refused_with_400() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    let batch: Vec<Value> = (0..20)
        .map(|i| json!({"ts": BASE + i * 60_000, "t": i}))
        .collect();
    publisher.publish("acs/roll/telemetry", serde_json::to_vec(&batch).unwrap());
    wait_until("readings stored", patience(), || {
        (daemon.all_readings("roll").len() == 20).then_some(())
    });
    let (_, raw) = daemon.get("/api/v1/telemetry?device=roll&metric=t&limit=2");
    let raw_cursor = raw["next_cursor"].as_str().unwrap().to_owned();
    let series = "device=roll&metric=t";
    let (_, rolled) = daemon.get(&format!(
        "/api/v1/telemetry?{series}&step=60&agg=max&limit=2"
    ));
    let rollup_cursor = rolled["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        rolled["items"][1],
        json!({"device": "roll", "metric": "t", "ts": BASE + 60_000, "value": 1.0})
    );

    for query in [
        format!("{series}&step=60"),
        format!("{series}&agg=mean"),
        format!("{series}&step=0&agg=mean"),
        format!("{series}&step=-60&agg=mean"),
        format!("{series}&step=1.5&agg=mean"),
        format!("{series}&step=31622401&agg=mean"),
        format!("{series}&step=99999999999999999999&agg=mean"),
        format!("{series}&step=60&agg=median"),
        format!("{series}&step=60&agg="),
        "device=roll&step=60&agg=mean".into(),
        "metric=t&step=60&agg=mean".into(),
        format!("{series}&step=60&agg=mean&step=60"),
        format!("{series}&step=60&agg=mean&cursor={raw_cursor}"),
        format!("{series}&step=120&agg=mean&cursor={rollup_cursor}"),
        format!("{series}&step=60&agg=mean&cursor=r60000_x"),
        format!("{series}&cursor={rollup_cursor}"),
    ] {
        let (status, body) = daemon.get(&format!("/api/v1/telemetry?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.len() > 10, "{query}: {message}");
    }
    // The cursor resumes with another aggregate over the same buckets.
    let (status, next) = daemon.get(&format!(
        "/api/v1/telemetry?{series}&step=60&agg=min&limit=2&cursor={rollup_cursor}"
    ));
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["items"][0]["ts"], BASE + 120_000);
    let (status, unknown) = daemon.get("/api/v1/telemetry?device=nobody&metric=t&step=60&agg=mean");
    assert_eq!(
        (status, unknown),
        (200, json!({"items": [], "next_cursor": null}))
    );
}

/// Readings the ring has evicted stay in rollups: a 1,000-reading ring takes 5,000 readings
/// of one series (60 s apart, ending an hour ago), and hourly and per-minute rollups still
/// count, average and bound all 5,000, as computed here from the published readings.
#[test]
fn readings_the_ring_evicted_still_answer_hourly_and_minute_rollups() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.max_rows = 1_000;
    cfg.flush_interval_s = Some(0);
    cfg.store_options = "\toption rollup_minute_days '30'\n".into();
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let now = acs_edge::model::now_ms();
    let start = (now - 5_000 * 60_000) / 3_600_000 * 3_600_000 - 3_600_000;
    let readings: Vec<(i64, f64)> = (0..5_000i64)
        .map(|i| {
            let ts = start + i * 60_000 + (i * 7_919 % 1_600) - 800;
            (ts, (200 + (i / 9) % 37 - (i % 5)) as f64 / 10.0)
        })
        .collect();
    for chunk in readings.chunks(250) {
        let batch: Vec<Value> = chunk
            .iter()
            .map(|&(ts, t)| json!({"ts": ts, "t": t}))
            .collect();
        publisher.publish("acs/roll/telemetry", serde_json::to_vec(&batch).unwrap());
    }
    wait_until("every reading committed", patience(), || {
        (daemon.health()["ingest"]["committed"].as_u64() == Some(5_000)).then_some(())
    });
    let store = daemon.health()["store"].clone();
    assert_eq!(store["rows"], 1_000, "{store}");
    assert_eq!(store["evicted_total"], 4_000, "{store}");
    assert!(store["rollup_bytes"].as_u64().unwrap() > 0, "{store}");

    for (step_s, agg) in [
        (3600, "count"),
        (3600, "mean"),
        (3600, "min"),
        (3600, "max"),
    ]
    .into_iter()
    .chain([(3600, "last"), (60, "count"), (60, "last"), (7200, "mean")])
    {
        let step_ms = step_s * 1000;
        let mut want: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for &(ts, v) in &readings {
            want.entry(ts / step_ms * step_ms).or_default().push(v);
        }
        let want = expected(&want, agg);
        let query = format!("device=roll&metric=t&step={step_s}&agg={agg}");
        let (got, _) = pages(&daemon, &query, 1_000);
        close(&got, &want, &format!("{agg} over {step_s} s"));
    }
}
