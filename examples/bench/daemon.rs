//! Figures of the running release daemon against a real mosquitto: the broker's own QoS 0
//! limit (a subscriber that only counts), resident memory idle and at 5k readings/s with a
//! 1M-row store (steady VmRSS and peak VmHWM), end-to-end ingest at QoS 0 and 1 next to that
//! limit, and ingest with 100 automation rules against ingest with none.

use crate::harness::{connect, publish_all, status_kb, Daemon};
use crate::report::{ratio, Row};
use rumqttc::{Event, Packet, QoS};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The broker's limit: QoS 0 messages/s delivered to a subscriber that only counts.
pub fn broker_limit(port: u16, n: u64) -> f64 {
    let (sub, mut connection) = connect(port, "bench-sub", true);
    sub.subscribe("acs/+/telemetry", QoS::AtMostOnce).unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let r = received.clone();
    std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    r.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    let publisher = std::thread::spawn(move || publish_all(port, n, QoS::AtMostOnce, None));
    // QoS 0 may drop under load: stop when the count has not moved for a second.
    let mut last = (0, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = received.load(Ordering::Relaxed);
        if now >= n || (now == last.0 && last.1.elapsed() > Duration::from_secs(1)) {
            break;
        }
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let _ = publisher.join();
    let got = received.load(Ordering::Relaxed);
    let elapsed = last.1.duration_since(start).as_secs_f64().max(1e-3);
    let _ = sub.disconnect();
    println!("  broker delivered {got} of {n} QoS 0 messages");
    got as f64 / elapsed
}

/// Resident memory idle: VmRSS after the daemon has settled, and VmHWM so far.
pub fn memory_idle(daemon: &Daemon, rows_label: &str) -> Vec<Row> {
    std::thread::sleep(Duration::from_secs(3));
    let rss = daemon.rss_kb("VmRSS") as f64 / 1024.0;
    let hwm = daemon.rss_kb("VmHWM") as f64 / 1024.0;
    vec![
        Row::vs(
            format!("daemon RSS idle (steady VmRSS), {rows_label}-row store"),
            rss,
            "MB",
            "budget 8 MB",
            ratio(rss, 8.0),
        ),
        Row::vs(
            format!("daemon RSS peak (VmHWM) since start, idle, {rows_label}-row store"),
            hwm,
            "MB",
            "budget 8 MB",
            ratio(hwm, 8.0),
        ),
    ]
}

/// Resident memory while ingesting at 5,000 readings/s (paced QoS 0 publisher) into the full
/// ring: the median VmRSS of the second half of the run, and VmHWM at its end.
pub fn memory_at_load(daemon: &Daemon, broker: u16, seconds: u64, rows_label: &str) -> Vec<Row> {
    const RATE: f64 = 5000.0;
    let n = (RATE * seconds as f64) as u64;
    let before = daemon.committed();
    let publisher = std::thread::spawn(move || publish_all(broker, n, QoS::AtMostOnce, Some(RATE)));
    let start = Instant::now();
    let mut samples = Vec::new();
    while !publisher.is_finished() {
        std::thread::sleep(Duration::from_millis(200));
        if start.elapsed().as_secs_f64() > seconds as f64 / 2.0 {
            samples.push(daemon.rss_kb("VmRSS"));
        }
    }
    let _ = publisher.join();
    std::thread::sleep(Duration::from_millis(500));
    let committed = daemon.committed() - before;
    samples.sort_unstable();
    let steady = samples.get(samples.len() / 2).copied().unwrap_or(0) as f64 / 1024.0;
    let hwm = daemon.rss_kb("VmHWM") as f64 / 1024.0;
    println!("  committed {committed} of {n} readings at 5k/s");
    vec![
        Row::vs(
            format!("daemon RSS at 5k readings/s (steady VmRSS), {rows_label}-row store"),
            steady,
            "MB",
            "budget 16 MB",
            ratio(steady, 16.0),
        ),
        Row::vs(
            format!("daemon RSS peak (VmHWM) after 5k readings/s, {rows_label}-row store"),
            hwm,
            "MB",
            "budget 16 MB",
            ratio(hwm, 16.0),
        ),
    ]
}

/// End-to-end ingest at QoS 0 and 1, each next to the broker's QoS 0 limit.
pub fn ingest(daemon: &Daemon, broker: u16, n: u64, limit: f64, rows_label: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (qos, name) in [(QoS::AtMostOnce, "QoS 0"), (QoS::AtLeastOnce, "QoS 1")] {
        let (rate, got) = daemon.ingest(broker, n, qos);
        rows.push(Row::vs(
            format!(
                "ingest MQTT -> committed row, {name}, into a full {rows_label}-row ring ({got}/{n} committed)"
            ),
            rate,
            "readings/s",
            format!("broker QoS 0 limit {limit:.0} msg/s (budget 50k/s)"),
            ratio(rate, limit),
        ));
    }
    rows
}

/// Ingest with 100 rules vs none, QoS 1 (lossless, so both runs commit every reading). The
/// rules watch the devices the benchmark publishes for: 50 on the published metric (looked up
/// and evaluated for every reading, never firing) and 50 on another metric of the same
/// devices. Runs alternate, none/rules `rounds` times, and the means are compared, so a slow
/// moment of the shared machine does not land on one side only.
pub fn rules(daemon: &Daemon, broker: u16, n: u64, rounds: usize) -> Vec<Row> {
    let mut none = Vec::new();
    let mut with = Vec::new();
    for _ in 0..rounds {
        none.push(daemon.ingest(broker, n, QoS::AtLeastOnce).0);
        let ids = match create_rules(daemon, 100) {
            Ok(ids) => ids,
            Err(e) => return vec![Row::skipped("ingest QoS 1 with 100 rules", e)],
        };
        with.push(daemon.ingest(broker, n, QoS::AtLeastOnce).0);
        delete_rules(daemon, &ids);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("  ingest without rules: {none:.0?} readings/s; with 100 rules: {with:.0?}");
    let (none, with) = (mean(&none), mean(&with));
    vec![Row::vs(
        format!("ingest QoS 1 with 100 automation rules (mean of {rounds})"),
        with,
        "readings/s",
        format!("the same without rules: {none:.0}/s"),
        ratio(with, none),
    )]
}

fn create_rules(daemon: &Daemon, n: usize) -> Result<Vec<i64>, String> {
    (0..n)
        .map(|i| {
            let metric = if i % 2 == 0 { "t" } else { "humidity" };
            let rule = json!({"name": format!("bench {i}"),
                "trigger": {"kind": "threshold", "device": format!("b{}", i / 2),
                            "metric": metric, "op": ">", "value": 1.0e9, "hysteresis": 1},
                "action": {"kind": "mqtt_publish", "topic": "bench/alerts/{device}",
                           "payload": "{value}"}});
            let response = daemon
                .authed(ureq::post(&daemon.url("/api/v1/automation/rules")))
                .send_json(rule)
                .map_err(|e| format!("create a rule: {e}"))?;
            let body: serde_json::Value = response.into_json().map_err(|e| e.to_string())?;
            body["id"]
                .as_i64()
                .ok_or_else(|| format!("no rule id in {body}"))
        })
        .collect()
}

fn delete_rules(daemon: &Daemon, ids: &[i64]) {
    for id in ids {
        let _ = daemon
            .authed(ureq::delete(
                &daemon.url(&format!("/api/v1/automation/rules/{id}")),
            ))
            .call();
    }
}

/// Peak resident memory of any process, for the peers.
pub fn peak_mb(pid: u32) -> f64 {
    status_kb(pid, "VmHWM") as f64 / 1024.0
}
