//! `make bench`: prints throughput and memory figures measured on this machine, in one run.
//!
//! 1. store: batched inserts/s straight into a full (evicting) ring of 10k rows and of 1M rows,
//!    and the ratio of the two insert costs (the "flat insert cost" property);
//! 2. ingest end to end: readings/s from MQTT publish (a real mosquitto) to committed rows in
//!    the release daemon, next to the broker's own delivery rate to a subscriber that only
//!    counts, measured the same way in the same run;
//! 3. memory: the daemon's resident set idle and its peak after the ingest run;
//! 4. rules: QoS 1 ingest with 100 automation rules against ingest with none, alternating
//!    (none, rules, three times) in one daemon so both see the same machine state.
//!    `ACS_BENCH_ONLY=rules` runs just this part (and writes no results file).
//!
//! Figures are printed and written to `bench/results.json`; nothing here asserts a time.

use acs_edge::model::{Reading, Transport};
use acs_edge::store::{Batch, Store, StoreOptions};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let ingest_readings: u64 = arg_or("ACS_BENCH_READINGS", 200_000);
    let mut results = Vec::new();
    let work = tempfile::tempdir().unwrap();

    if std::env::var("ACS_BENCH_ONLY").as_deref() == Ok("rules") {
        let broker_port = free_port();
        let _broker = start_broker(work.path(), broker_port);
        let daemon = Daemon::start(work.path(), broker_port);
        bench_rules(&daemon, broker_port, ingest_readings);
        return;
    }
    results.extend(bench_store(work.path()));
    if std::env::var("ACS_BENCH_ONLY").as_deref() == Ok("store") {
        return;
    }

    let broker_port = free_port();
    let _broker = start_broker(work.path(), broker_port);
    let broker_rate = bench_broker(broker_port, ingest_readings);
    results.push(figure(
        "broker QoS 0 delivery to a counting subscriber",
        broker_rate,
        "msg/s",
    ));

    let daemon = Daemon::start(work.path(), broker_port);
    std::thread::sleep(Duration::from_secs(2));
    results.push(figure(
        "daemon RSS idle",
        daemon.rss_kb("VmRSS") as f64 / 1024.0,
        "MB",
    ));
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let rate = daemon.ingest(broker_port, ingest_readings, qos);
        let label = format!("ingest MQTT -> committed row, {qos:?}, 1 reading/message");
        results.push(figure(&label, rate, "readings/s"));
    }
    results.push(figure(
        "daemon RSS peak (VmHWM)",
        daemon.rss_kb("VmHWM") as f64 / 1024.0,
        "MB",
    ));
    results.extend(bench_rules(&daemon, broker_port, ingest_readings));

    println!("\n{:<58} {:>14}  unit", "figure", "value");
    for r in &results {
        println!(
            "{:<58} {:>14.1}  {}",
            r["figure"].as_str().unwrap(),
            r["value"].as_f64().unwrap(),
            r["unit"].as_str().unwrap()
        );
    }
    let out = PathBuf::from("bench/results.json");
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let doc = json!({"machine": machine, "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), "results": results});
    std::fs::write(&out, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    println!("\nwritten to {}", out.display());
}

fn arg_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn figure(name: &str, value: f64, unit: &str) -> serde_json::Value {
    println!("{name}: {value:.1} {unit}");
    json!({"figure": name, "value": value, "unit": unit})
}

fn reading(i: u64) -> (Transport, Reading) {
    (
        Transport::Mqtt,
        Reading {
            device: format!("dev{}", i % 50),
            metric: ["temperature", "humidity", "pressure"][(i % 3) as usize].to_owned(),
            ts_ms: 1_767_225_600_000 + i as i64,
            value: i as f64 * 0.5,
        },
    )
}

/// Steady-state cost of a batched insert into a full ring of `cap` rows (every insert also
/// evicts): fills the ring, then times `measure` more readings. Returns (readings/s, us/reading).
fn bench_full_ring(dir: &Path, cap: u64, measure: u64) -> (f64, f64) {
    const BATCH: u64 = 1000;
    let mut store = Store::open(StoreOptions {
        path: dir.join(format!("bench-store-{cap}.db")),
        max_rows: cap,
        max_bytes: 1 << 40,
        max_age_ms: None,
        max_devices: 1000,
        max_metrics: 1000,
        exclusive: true,
        sync_enabled: false,
    })
    .unwrap();
    let mut insert = |from: u64, n: u64| {
        for start in (from..from + n).step_by(BATCH as usize) {
            let batch = Batch {
                readings: (start..start + BATCH).map(reading).collect(),
                statuses: Vec::new(),
            };
            store.insert_batch(&batch, 0).unwrap();
        }
    };
    insert(0, cap);
    let start = Instant::now();
    insert(cap, measure);
    let secs = start.elapsed().as_secs_f64();
    (measure as f64 / secs, secs * 1e6 / measure as f64)
}

fn bench_store(dir: &Path) -> Vec<serde_json::Value> {
    let big: u64 = arg_or("ACS_BENCH_BIG_RING", 1_000_000);
    let (rate_small, cost_small) = bench_full_ring(dir, 10_000, 200_000);
    let (rate_big, cost_big) = bench_full_ring(dir, big, 200_000);
    vec![
        figure(
            "store batched insert, full 10k-row ring",
            rate_small,
            "readings/s",
        ),
        figure(
            &format!("store batched insert, full {big}-row ring"),
            rate_big,
            "readings/s",
        ),
        figure(
            &format!("store insert cost ratio {big} vs 10k rows"),
            cost_big / cost_small,
            "x",
        ),
    ]
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_broker(dir: &Path, port: u16) -> Killed {
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 1000\n")).unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    wait(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    Killed(child)
}

fn wait(mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn connect(port: u16, id: &str) -> (Client, rumqttc::Connection) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options
        .set_inflight(1000)
        .set_max_packet_size(1 << 20, 1 << 20);
    Client::new(options, 10_000)
}

/// Publishes `n` one-reading messages as fast as the client goes; returns when the broker has
/// taken them all (QoS 1: every PUBACK seen).
fn publish_all(port: u16, n: u64, qos: QoS) {
    let (client, mut connection) = connect(port, "bench-pub");
    let acked = Arc::new(AtomicU64::new(0));
    let counter = acked.clone();
    let driver = std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    for i in 0..n {
        let payload = format!("{{\"ts\":{},\"t\":{}}}", 1_767_225_600_000u64 + i, i % 1000);
        client
            .publish(format!("acs/b{}/telemetry", i % 50), qos, false, payload)
            .unwrap();
    }
    if qos == QoS::AtLeastOnce {
        wait(|| acked.load(Ordering::Relaxed) >= n);
    }
    std::thread::sleep(Duration::from_millis(200));
    let _ = client.disconnect();
    let _ = driver.join();
}

/// The broker's limit: QoS 0 messages/s delivered to a subscriber that only counts.
fn bench_broker(port: u16, n: u64) -> f64 {
    let (sub, mut connection) = connect(port, "bench-sub");
    sub.subscribe("acs/+/telemetry", QoS::AtMostOnce).unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let first = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let (r, f) = (received.clone(), first.clone());
    std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::SubAck(_))) => {}
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    f.lock().unwrap().get_or_insert_with(Instant::now);
                    r.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    std::thread::spawn(move || publish_all(port, n, QoS::AtMostOnce));
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
    let got = received.load(Ordering::Relaxed);
    let elapsed = last.1.duration_since(start).as_secs_f64().max(1e-3);
    let _ = sub.disconnect();
    println!("broker delivered {got} of {n} QoS 0 messages");
    got as f64 / elapsed
}

struct Daemon {
    child: Killed,
    api: u16,
}

impl Daemon {
    fn start(dir: &Path, broker_port: u16) -> Daemon {
        let api = free_port();
        let config = dir.join("acs-edge");
        std::fs::write(&config, format!(
            "config main 'main'\n\toption log_level 'warn'\n\nconfig store 'store'\n\toption path '{}'\n\toption max_rows '2000000'\n\toption max_mb '1024'\n\toption commit_interval_ms '200'\n\nconfig mqtt 'mqtt'\n\toption port '{broker_port}'\n\toption client_id 'bench-daemon'\n\nconfig api 'api'\n\toption listen '127.0.0.1:{api}'\n",
            dir.join("daemon.db").display()
        )).unwrap();
        let binary =
            std::env::var("ACS_EDGE_BIN").unwrap_or_else(|_| "target/release/acs-edge".into());
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config)
            .spawn()
            .expect("start the release daemon (cargo build --release)");
        let daemon = Daemon {
            child: Killed(child),
            api,
        };
        wait(|| {
            daemon
                .health()
                .is_some_and(|h| h["mqtt"]["connected"] == true)
        });
        daemon
    }

    fn health(&self) -> Option<serde_json::Value> {
        ureq::get(&format!("http://127.0.0.1:{}/api/v1/health", self.api))
            .call()
            .ok()?
            .into_json()
            .ok()
    }

    fn committed(&self) -> u64 {
        self.health()
            .map(|h| h["ingest"]["committed"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    }

    fn ingest(&self, broker_port: u16, n: u64, qos: QoS) -> f64 {
        let before = self.committed();
        let start = Instant::now();
        std::thread::spawn(move || publish_all(broker_port, n, qos));
        let mut last = (before, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.committed();
            if now - before >= n || (now == last.0 && last.1.elapsed() > Duration::from_secs(3)) {
                break;
            }
            if now != last.0 {
                last = (now, Instant::now());
            }
        }
        let got = self.committed() - before;
        let elapsed = last.1.duration_since(start).as_secs_f64().max(1e-3);
        println!("daemon committed {got} of {n} readings ({qos:?})");
        got as f64 / elapsed
    }

    fn rss_kb(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.child.0.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// Ingest with 100 rules vs none, QoS 1 (lossless, so both runs commit every reading). The
/// rules watch the devices the benchmark publishes for: 50 on the published metric (looked up
/// and evaluated for every reading, never firing) and 50 on another metric of the same
/// devices (a device hit, a metric miss). Runs alternate, none/rules three times, and the means
/// are reported, so a slow moment of the shared machine does not land on one side only.
fn bench_rules(daemon: &Daemon, broker_port: u16, n: u64) -> Vec<serde_json::Value> {
    let mut none = Vec::new();
    let mut with = Vec::new();
    for _ in 0..3 {
        none.push(daemon.ingest(broker_port, n, QoS::AtLeastOnce));
        let ids = daemon.create_rules(100);
        with.push(daemon.ingest(broker_port, n, QoS::AtLeastOnce));
        daemon.delete_rules(&ids);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("ingest without rules: {none:.0?} readings/s; with 100 rules: {with:.0?} readings/s");
    let (none, with) = (mean(&none), mean(&with));
    vec![
        figure("ingest QoS 1, no rules (mean of 3)", none, "readings/s"),
        figure("ingest QoS 1, 100 rules (mean of 3)", with, "readings/s"),
        figure("ingest with 100 rules / with none", with / none, "x"),
    ]
}

impl Daemon {
    fn create_rules(&self, n: usize) -> Vec<i64> {
        (0..n)
            .map(|i| {
                let metric = if i % 2 == 0 { "t" } else { "humidity" };
                let rule = json!({"name": format!("bench {i}"),
                    "trigger": {"kind": "threshold", "device": format!("b{}", i / 2),
                                "metric": metric, "op": ">", "value": 1.0e9, "hysteresis": 1},
                    "action": {"kind": "mqtt_publish", "topic": "bench/alerts/{device}",
                               "payload": "{value}"}});
                let response = ureq::post(&format!(
                    "http://127.0.0.1:{}/api/v1/automation/rules",
                    self.api
                ))
                .send_json(rule)
                .expect("create a rule");
                let body: serde_json::Value = response.into_json().unwrap();
                body["id"].as_i64().unwrap()
            })
            .collect()
    }

    fn delete_rules(&self, ids: &[i64]) {
        for id in ids {
            ureq::delete(&format!(
                "http://127.0.0.1:{}/api/v1/automation/rules/{id}",
                self.api
            ))
            .call()
            .expect("delete a rule");
        }
    }
}
