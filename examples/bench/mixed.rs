//! The store on the mixed workload ([`crate::workload`]): bytes on disk per reading and
//! readings a 4 MB store holds (the real daemon filled over MQTT until eviction starts), the
//! day query of 86,400 points in process on a row store and a sealing store holding the
//! workload, an hourly rollup over REST (of readings held, and of kept rollups of evicted
//! ones), bytes per kept hourly bucket, and QoS 1 ingest of the workload next to a broker-only
//! QoS 1 subscriber in the same run.

use crate::harness::{connect, count_acks, free_port, start_broker, wait_for, Daemon, DaemonSpec};
use crate::report::{ratio, Row};
use crate::workload::{one_series, Workload, DEVICES, METRICS};
use acs_edge::model::{Reading, Transport};
use acs_edge::store::Batch;
use rumqttc::{Event, Packet, QoS};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const READINGS_PER_MESSAGE: u64 = METRICS;

/// Publishes `messages` at QoS 1 as fast as the client goes; returns when every PUBACK came.
fn publish(port: u16, messages: &[(String, String)]) {
    let (client, connection) = connect(port, &format!("mix-pub-{}", free_port()), true);
    let (acked, driver) = count_acks(connection, false);
    for (topic, payload) in messages {
        client
            .publish(topic.as_str(), QoS::AtLeastOnce, false, payload.as_bytes())
            .unwrap();
    }
    let n = messages.len() as u64;
    let _ = wait_for(Duration::from_secs(600), || {
        acked.load(Ordering::Relaxed) >= n
    });
    let _ = client.disconnect();
    let _ = driver.join();
}

/// Messages/s a QoS 1 subscriber that only counts receives, the broker alone.
fn broker_qos1(port: u16, messages: &[(String, String)]) -> f64 {
    let (sub, mut connection) = connect(port, "mix-sub", true);
    sub.subscribe("acs/+/telemetry", QoS::AtLeastOnce).unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let r = received.clone();
    let reader = std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    r.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let n = messages.len() as u64;
    let start = Instant::now();
    publish(port, messages);
    let _ = wait_for(Duration::from_secs(120), || {
        received.load(Ordering::Relaxed) >= n
    });
    let secs = start.elapsed().as_secs_f64().max(1e-3);
    let _ = sub.disconnect();
    let _ = reader.join();
    received.load(Ordering::Relaxed) as f64 / secs
}

/// Messages/s from the first publish until the daemon committed every reading of them.
fn daemon_qos1(daemon: &Daemon, port: u16, messages: &[(String, String)]) -> f64 {
    let before = daemon.committed();
    let want = messages.len() as u64 * READINGS_PER_MESSAGE;
    let start = Instant::now();
    publish(port, messages);
    let _ = wait_for(Duration::from_secs(300), || {
        daemon.committed() - before >= want
    });
    (daemon.committed() - before) as f64
        / READINGS_PER_MESSAGE as f64
        / start.elapsed().as_secs_f64().max(1e-3)
}

fn store_field(daemon: &Daemon, field: &str) -> u64 {
    daemon
        .health()
        .map(|h| h["store"][field].as_u64().unwrap_or(0))
        .unwrap_or(0)
}

/// The 4 MB daemon (200 ms commits, as the other ingest figures): QoS 1 ingest of the first
/// `ingest` messages (a full ring evicts on the way), then more until the ring evicts; the
/// rows it holds then, and the file per reading after a clean stop.
fn four_mb(dir: &Path, ingest: usize, rows: &mut Vec<Row>) -> Result<(), String> {
    let port = free_port();
    let _broker = start_broker(dir, port, "");
    let mut workload = Workload::new(17);
    let first: Vec<(String, String)> = workload.by_ref().take(ingest).collect();
    let broker = broker_qos1(port, &first);
    let mut spec = DaemonSpec::new(&dir.join("four-mb"), port);
    (spec.max_rows, spec.max_mb, spec.max_age_days) = (10_000_000, 4, Some(0));
    let mut daemon = spec.start()?;
    let ours = daemon_qos1(&daemon, port, &first);
    rows.push(Row::vs(
        format!(
            "mixed workload: ingest MQTT QoS 1 -> committed, {} readings/msg",
            READINGS_PER_MESSAGE
        ),
        ours,
        "msg/s",
        format!("broker-only QoS 1 subscriber, same messages: {broker:.0} msg/s (goal 0.90x)"),
        ratio(ours, broker),
    ));
    while store_field(&daemon, "evicted_total") == 0 {
        let more: Vec<(String, String)> = workload.by_ref().take(2_000).collect();
        let want = daemon.committed() + more.len() as u64 * READINGS_PER_MESSAGE;
        publish(port, &more);
        wait_for(Duration::from_secs(120), || daemon.committed() >= want)?;
    }
    let held = store_field(&daemon, "rows");
    rows.push(Row::vs(
        "mixed workload: readings a 4 MB store holds (rows when eviction starts)",
        held as f64,
        "readings",
        "compressed-store goal 1,000,000",
        ratio(held as f64, 1_000_000.0),
    ));
    daemon.terminate();
    // After a clean stop, the head's last rows sealed too: what the pages in use hold.
    let mut store = crate::store::open_scratch(&spec.store_path(), 10_000_000);
    store.seal_all().map_err(|e| e.to_string())?;
    let stats = store.stats();
    let per = stats.used_bytes as f64 / stats.rows as f64;
    rows.push(Row::vs(
        format!(
            "mixed workload: bytes on disk per reading, 4 MB store after sealing ({} readings, pages in use)",
            stats.rows
        ),
        per,
        "B",
        "goal 4 B (row store 50.8 B)",
        ratio(per, 4.0),
    ));
    Ok(())
}

/// The readings of the first `messages` messages of the workload with `seed`.
fn workload_readings(seed: u64, messages: usize) -> impl Iterator<Item = (Transport, Reading)> {
    Workload::new(seed)
        .take(messages)
        .flat_map(|(topic, payload)| {
            let device = topic.split('/').nth(1).unwrap().to_owned();
            let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
            let ts = v["ts"].as_i64().unwrap();
            v.as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != "ts")
                .map(|(k, x)| {
                    let r = Reading {
                        device: device.clone(),
                        metric: k.clone(),
                        ts_ms: ts,
                        value: x.as_f64().unwrap(),
                    };
                    (Transport::Mqtt, r)
                })
                .collect::<Vec<_>>()
        })
}

/// Kept hourly rollups: `days` of the workload through a ring of 20,000 readings, so nearly
/// every reading is evicted and folded; the bytes per kept bucket and what a year of hourly
/// buckets of the 100 series takes at that rate.
fn kept_hourly(dir: &Path, days: u64) -> Vec<Row> {
    const HOUR: i64 = 3_600_000;
    let path = dir.join("mixed-kept.db");
    let _ = std::fs::remove_file(&path);
    let mut store = acs_edge::store::Store::open(acs_edge::store::StoreOptions {
        kept: vec![acs_edge::store::KeptLevel {
            step_ms: HOUR,
            keep_ms: 3650 * 86_400_000,
        }],
        ..crate::store::options(&path, 20_000, acs_edge::store::seal_points_for(20_000))
    })
    .expect("open the store");
    // Messages per day: half the devices every 60 s, half every 10 s.
    let per_day = (DEVICES / 2) * (1440 + 8640);
    let mut readings = workload_readings(7, (per_day * days) as usize);
    let t = Instant::now();
    let mut n = 0u64;
    loop {
        let batch: Vec<_> = readings.by_ref().take(5000).collect();
        if batch.is_empty() {
            break;
        }
        n += batch.len() as u64;
        store
            .insert_batch(
                &Batch {
                    readings: batch,
                    statuses: Vec::new(),
                },
                0,
            )
            .expect("insert");
    }
    let secs = t.elapsed().as_secs_f64();
    let stats = store.stats();
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("reopen");
    let buckets: i64 = conn
        .query_row(
            "SELECT coalesce(sum((last_bucket - first_bucket) / step + 1), 0) FROM kept",
            [],
            |r| r.get(0),
        )
        .expect("count buckets");
    let per_bucket = stats.rollup_bytes as f64 / buckets.max(1) as f64;
    let year = per_bucket * (DEVICES * METRICS) as f64 * 8760.0;
    vec![
        Row::vs(
            format!(
                "kept hourly rollups: bytes per bucket ({buckets} buckets of {} series from {days} days, {n} readings, {} evicted, {:.0} readings/s)",
                DEVICES * METRICS,
                stats.evicted_total,
                n as f64 / secs
            ),
            per_bucket,
            "B",
            "count, sum, min, max, last and last ts per bucket",
            None,
        ),
        Row::vs(
            format!("kept hourly rollups: a year of {} series at that rate", DEVICES * METRICS),
            year / 1e6,
            "MB",
            "goal: well under 1 MB",
            ratio(year / 1e6, 1.0),
        ),
    ]
}

/// The day query (86,400 points of one series, jittered, 0.1 degree steps) in process, on a
/// store that also holds `background` readings of the workload.
fn day_in_process(dir: &Path, background: usize, row_store: bool) -> Row {
    let path = dir.join(format!("mixed-day-{row_store}.db"));
    let _ = std::fs::remove_file(&path);
    let mut store = if row_store {
        crate::store::open_row_store(&path, 10_000_000)
    } else {
        crate::store::open_scratch(&path, 10_000_000)
    };
    let mut rng = crate::workload::Rng::new(5);
    let mut day = (0..crate::store::DAY_POINTS as i64).map(|k| {
        let ts = crate::workload::T0 + k * 1000 + rng.jitter(400) + 400;
        let value = (200 + (k / 60) % 50) as f64 / 10.0;
        (
            Transport::Mqtt,
            Reading {
                device: "day".into(),
                metric: "t".into(),
                ts_ms: ts,
                value,
            },
        )
    });
    let mut mixed = workload_readings(3, background);
    loop {
        let mut readings: Vec<_> = day.by_ref().take(1000).collect();
        readings.extend(mixed.by_ref().take(1000));
        if readings.is_empty() {
            break;
        }
        store
            .insert_batch(
                &Batch {
                    readings,
                    statuses: Vec::new(),
                },
                0,
            )
            .expect("insert");
    }
    let (ms, got) = crate::store::day_query(&store, crate::store::DAY_POINTS);
    drop(store);
    Row::vs(
        format!(
            "mixed workload: day query (86,400 points) in process, {} with {} more readings",
            if row_store {
                "row store"
            } else {
                "sealed store"
            },
            background as u64 * READINGS_PER_MESSAGE
        ),
        ms,
        "ms",
        format!("goal 20 ms ({got} points returned)"),
        ratio(ms, 20.0),
    )
}

/// A rollup over REST: `days` of 60 s readings of one series, hourly buckets (`agg=mean`).
/// With `ring` the daemon keeps that many readings, so nearly all of them are evicted and the
/// rollup reads the kept hourly buckets.
fn rollup(dir: &Path, days: u64, ring: Option<u64>) -> Result<Row, String> {
    let port = free_port();
    let _broker = start_broker(dir, port, "");
    let name = if ring.is_some() {
        "rollup-kept"
    } else {
        "rollup"
    };
    let mut spec = DaemonSpec::new(&dir.join(name), port);
    spec.max_age_days = Some(0);
    if let Some(rows) = ring {
        spec.max_rows = rows;
    }
    let daemon = spec.start()?;
    // Ends an hour before now: the daemon refuses readings far in the future.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = (now - days as i64 * 86_400_000) / 3_600_000 * 3_600_000 - 3_600_000;
    let n = days * 1440;
    let messages: Vec<(String, String)> = one_series(start, n, 60_000, 11)
        .into_iter()
        .map(|m| ("acs/roll/telemetry".to_owned(), m))
        .collect();
    publish(port, &messages);
    wait_for(Duration::from_secs(300), || daemon.committed() >= n)?;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let url = daemon.url(&format!(
        "/api/v1/telemetry?device=roll&metric=temperature&from={}&to={}&step=3600&agg=mean&limit=10000",
        start - 3_600_000,
        start + days as i64 * 86_400_000 + 3_600_000
    ));
    let mut times = Vec::new();
    let mut points = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let body: serde_json::Value = daemon
            .authed(agent.get(&url))
            .call()
            .map_err(|e| e.to_string())?
            .into_json()
            .map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        points = body["items"].as_array().map_or(0, Vec::len);
    }
    times.sort_by(f64::total_cmp);
    let source = match ring {
        Some(rows) => {
            format!("{n} readings through a {rows}-reading ring, read from kept hourly rollups")
        }
        None => format!("{n} rows"),
    };
    Ok(Row::vs(
        format!("rollup over REST: {points} hourly means of {days} days of 60 s readings ({source}, median of 5)"),
        times[2],
        "ms",
        "goal 20 ms (a year of hourly rollups, compressed store)",
        ratio(times[2], 20.0),
    ))
}

/// Every figure of the mixed workload: `ingest` messages for the QoS 1 comparison, a day
/// query beside `background` messages' readings, a rollup over `days` days.
pub fn bench(work: &Path, ingest: usize, background: usize, days: u64) -> Vec<Row> {
    let dir = work.join("mixed");
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "  {} series: {DEVICES} devices x {METRICS} metrics",
        DEVICES * METRICS
    );
    let mut rows = Vec::new();
    if let Err(e) = four_mb(&dir, ingest, &mut rows) {
        rows.push(Row::skipped("mixed workload on a 4 MB daemon store", e));
    }
    rows.extend(kept_hourly(&dir, days.min(7)));
    rows.push(day_in_process(&dir, background, true));
    rows.push(day_in_process(&dir, background, false));
    for ring in [None, Some(10_000)] {
        match rollup(&dir, days, ring) {
            Ok(row) => rows.push(row),
            Err(e) => rows.push(Row::skipped("rollup over REST", e)),
        }
    }
    rows
}
