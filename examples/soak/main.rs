//! `make soak`: the release daemon for an hour at 1,000 readings/s (QoS 1, persistent session)
//! while the attack clients of the hardening suite take turns against it (see [`attacks`]).
//! Prints RSS after warm-up (one full round of attacks) and at the end, readings published and
//! stored, and exits non-zero if any reading was lost or RSS grew by more than 1 MiB after
//! warm-up. Not part of `make test`.
//!
//! `SOAK_SECONDS` (default 3600) sets the length; `SOAK_RATE` (default 1000) readings/s.

#[path = "../bench/harness.rs"]
#[allow(dead_code)]
mod harness;

mod attacks;

use harness::{free_port, start_broker, status_kb, DaemonSpec};
use rumqttc::QoS;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Readings per MQTT message.
const PER_MESSAGE: u64 = 10;
/// Each attack runs this long, then the next one starts.
const TURN: Duration = Duration::from_secs(20);
/// Most RSS growth allowed after warm-up.
const MAX_GROWTH_KB: u64 = 1024;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds = env_u64("SOAK_SECONDS", 3600);
    let rate = env_u64("SOAK_RATE", 1000);
    let dir = tempfile::tempdir().unwrap();
    let broker_port = free_port();
    let _broker = start_broker(dir.path(), broker_port, "");
    let mut spec = DaemonSpec::new(dir.path(), broker_port);
    // Room for every reading of the run: nothing may be evicted.
    spec.max_rows = seconds * rate * 2 + 100_000;
    spec.max_mb = 4096;
    let daemon = spec.start().expect("daemon");
    let pid = daemon.pid();
    println!(
        "soak: {seconds} s at {rate} readings/s, daemon pid {pid}, API port {}, binary {}",
        daemon.api,
        spec.binary.display()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let stop = stop.clone();
        std::thread::spawn(move || publish(broker_port, rate, &stop))
    };
    let rss_start = status_kb(pid, "VmRSS");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let rounds = attacks::ALL.len() as u32;
    let warm_up = (TURN * rounds).min(Duration::from_secs(seconds / 4));
    let mut rss_warm = None;
    let mut turn = 0usize;
    let mut peak = rss_start;
    while Instant::now() < deadline {
        let (name, attack) = attacks::ALL[turn % attacks::ALL.len()];
        let until = (Instant::now() + TURN).min(deadline);
        let outcome = attack(&attacks::Target {
            api: daemon.api,
            broker: broker_port,
            token: daemon.token.clone().unwrap_or_default(),
            until,
        });
        peak = peak.max(status_kb(pid, "VmRSS"));
        let health = daemon.health();
        let answered = health.is_some();
        println!(
            "soak: t={:>5}s attack={name:<22} {outcome:<40} health={} rss={} KiB",
            started.elapsed().as_secs(),
            if answered { "ok" } else { "NO ANSWER" },
            status_kb(pid, "VmRSS"),
        );
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        turn += 1;
        if rss_warm.is_none() && started.elapsed() >= warm_up {
            // Settle: the last attack's connections are closed.
            std::thread::sleep(Duration::from_secs(2));
            rss_warm = Some(status_kb(pid, "VmRSS"));
        }
    }
    stop.store(true, Relaxed);
    let sent = publisher.join().unwrap();
    let stored = wait_stored(&daemon, sent);
    std::thread::sleep(Duration::from_secs(2));
    let rss_end = status_kb(pid, "VmRSS");
    let rss_warm = rss_warm.unwrap_or(rss_start);
    let health = daemon.health().unwrap_or_default();
    let lost = sent.saturating_sub(stored);
    let growth = rss_end.saturating_sub(rss_warm);
    println!("soak: readings published (acknowledged by the broker) {sent}");
    println!("soak: readings stored (ingest.committed) {stored}");
    println!("soak: readings lost {lost}");
    println!(
        "soak: RSS start {rss_start} KiB, after warm-up {rss_warm} KiB, end {rss_end} KiB, \
         peak seen {peak} KiB, VmHWM {} KiB, growth after warm-up {growth} KiB",
        status_kb(pid, "VmHWM")
    );
    println!(
        "soak: http {} ws {} mqtt.malformed {}",
        health["api"]["connections"], health["ws"], health["mqtt"]["malformed"]
    );
    if lost > 0 || growth > MAX_GROWTH_KB {
        println!("soak: FAILED (lost {lost}, RSS growth {growth} KiB > {MAX_GROWTH_KB} KiB?)");
        std::process::exit(1);
    }
    println!("soak: passed");
}

/// Publishes `rate` readings/s as QoS 1 messages of [`PER_MESSAGE`] readings on a persistent
/// session until `stop`; returns the readings the broker acknowledged.
fn publish(port: u16, rate: u64, stop: &AtomicBool) -> u64 {
    let (client, connection) = harness::connect(port, "soak-publisher", false);
    let (acked, driver) = harness::count_acks(connection, true);
    let messages_per_s = (rate / PER_MESSAGE).max(1);
    let start = Instant::now();
    let mut i = 0u64;
    while !stop.load(Relaxed) {
        let ts = 1_767_225_600_000u64 + i * PER_MESSAGE;
        let batch: Vec<String> = (0..PER_MESSAGE)
            .map(|k| format!("{{\"ts\":{},\"t\":{}}}", ts + k, (i + k) % 1000))
            .collect();
        let topic = format!("acs/soak{}/telemetry", i % 20);
        client
            .publish(
                topic,
                QoS::AtLeastOnce,
                false,
                format!("[{}]", batch.join(",")),
            )
            .unwrap();
        i += 1;
        let due = start + Duration::from_secs_f64(i as f64 / messages_per_s as f64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
    let _ = harness::wait_for(Duration::from_secs(120), || acked.load(Relaxed) >= i);
    let _ = client.disconnect();
    let _ = driver.join();
    acked.load(Relaxed) * PER_MESSAGE
}

/// Follows `ingest.committed` until it reaches `sent` or stops moving for 30 s.
fn wait_stored(daemon: &harness::Daemon, sent: u64) -> u64 {
    let mut last = (daemon.committed(), Instant::now());
    loop {
        let now = daemon.committed();
        if now >= sent || last.1.elapsed() > Duration::from_secs(30) {
            return now;
        }
        if now != last.0 {
            last = (now, Instant::now());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
