//! The same crash loop one level up: the real daemon SIGKILLed 20 times while QoS 1 messages
//! of ten readings each stream in, the store read back through `Store::open` and queries after
//! every kill.
//!
//! What may differ from the store-level loop, and why:
//! - Loss: the daemon acknowledges a QoS 1 publish when it receives it, not when it commits it
//!   (ARCHITECTURE.md, "The acknowledgement window"), so messages received in the last commit
//!   interval before a kill may be missing. Readings the daemon reported committed may not.
//! - Duplicates: a message the daemon committed but had not yet acknowledged is delivered again
//!   to its persistent session after the restart and stored again. MQTT's at-least-once allows
//!   that; what the store must still guarantee is that messages are stored whole, so every
//!   reading of a message is stored the same number of times.

use crate::common;

use common::*;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KILLS: u32 = 20;
const PER_MESSAGE: i64 = 10;
const DEVICE: &str = "crashd";

/// How many times each value is stored, read through the store's queries (one series per
/// metric `m0`..`m9`), plus the integrity check's verdict.
fn stored_counts(daemon: &Daemon) -> (HashMap<i64, u32>, String) {
    let store = common::store::open(&daemon.db_path());
    let verdict = store.integrity_check().unwrap();
    let mut counts = HashMap::new();
    for j in 0..PER_MESSAGE {
        let metric = format!("m{j}");
        for r in common::store::query_all(&store, Some(DEVICE), Some(&metric), 10_000) {
            let value = r.value as i64;
            assert_eq!(value % PER_MESSAGE, j, "value {value} under {metric}");
            *counts.entry(value).or_insert(0) += 1;
        }
    }
    (counts, verdict)
}

#[test]
fn sigkill_20_times_while_qos1_messages_stream_in_keeps_the_store_sound_committed_and_messages_whole(
) {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.commit_interval_ms = 50;
    // Every commit durable on return: the head in the file.
    cfg.flush_interval_s = Some(0);
    let mut daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let started = Instant::now();

    // About 1,000 messages a second: the broker queues what arrives while the daemon is down
    // (well under mosquitto's default of 1,000 queued messages per session).
    let stop = Arc::new(AtomicBool::new(false));
    let stream = std::thread::spawn({
        let (client, stop) = (publisher.client.clone(), stop.clone());
        move || {
            let mut m = 0i64;
            while !stop.load(Ordering::SeqCst) {
                let obj: serde_json::Map<String, serde_json::Value> = (0..PER_MESSAGE)
                    .map(|j| (format!("m{j}"), json!(m * PER_MESSAGE + j)))
                    .collect();
                let payload = serde_json::to_vec(&obj).unwrap();
                client
                    .publish(
                        format!("acs/{DEVICE}/telemetry"),
                        rumqttc::QoS::AtLeastOnce,
                        false,
                        payload,
                    )
                    .unwrap();
                m += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            m
        }
    });

    let seed = acs_edge::model::now_ms() as u64;
    println!("daemon crash loop: seed {seed}");
    let mut rng = super::Rng(seed);
    let mut stored_before = 0u64;
    for kill in 1..=KILLS {
        // Kill at a random moment once this run has committed something.
        wait_until("a commit in this run", patience(), || {
            (daemon.health()["ingest"]["committed"].as_u64().unwrap() > 0).then_some(())
        });
        std::thread::sleep(Duration::from_millis(rng.between(0, 250)));
        let committed = daemon.health()["ingest"]["committed"].as_u64().unwrap();
        daemon.kill9();

        let (counts, verdict) = stored_counts(&daemon);
        assert_eq!(verdict, "ok", "kill {kill}");
        let stored: u64 = counts.values().map(|&c| u64::from(c)).sum();
        assert!(
            stored >= stored_before + committed,
            "kill {kill}: {stored} readings stored, but {stored_before} were before this run \
             and it reported {committed} committed"
        );
        stored_before = stored;
        check_whole_messages(&counts, &format!("kill {kill}"));
        daemon.spawn();
    }
    stop.store(true, Ordering::SeqCst);
    let published = stream.join().unwrap();
    // Let the last run take what the broker still queues for it, then stop it cleanly.
    let mut committed = 0;
    wait_until("the daemon to catch up", patience(), || {
        std::thread::sleep(Duration::from_millis(500));
        let now = daemon.health()["ingest"]["committed"].as_u64().unwrap();
        (std::mem::replace(&mut committed, now) == now).then_some(())
    });
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    let (counts, verdict) = stored_counts(&daemon);
    assert_eq!(verdict, "ok");
    let (messages, twice) = check_whole_messages(&counts, "at the end");
    println!(
        "daemon crash loop: {KILLS} kills, {published} messages published, {messages} stored \
         ({} lost in acknowledgement windows, {twice} stored more than once), {:.1} s",
        published - messages as i64,
        started.elapsed().as_secs_f64()
    );
}

/// Asserts that every message is stored whole: its readings the same number of times. Returns
/// how many messages are stored, and how many of them more than once.
fn check_whole_messages(counts: &HashMap<i64, u32>, when: &str) -> (usize, usize) {
    let mut messages: HashMap<i64, Vec<u32>> = HashMap::new();
    for (&value, &count) in counts {
        messages.entry(value / PER_MESSAGE).or_default().push(count);
    }
    for (m, copies) in &messages {
        assert!(
            copies.len() == PER_MESSAGE as usize && copies.iter().all(|&c| c == copies[0]),
            "{when}: message {m} is stored partially: {copies:?}"
        );
    }
    let twice = messages.values().filter(|c| c[0] > 1).count();
    (messages.len(), twice)
}
