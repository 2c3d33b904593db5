//! Upstream store-and-forward against a real cloud broker (a second mosquitto with TLS and
//! client certificates made by the test): outages, broker restarts, daemon crashes, eviction of
//! unsent readings and a wrong CA.

use crate::common;

use common::cloud::{check_delivery, Certs, Cloud, Collector};
use common::{command, patience, wait_until, Broker, Daemon, DaemonConfig, Publisher};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const BASE_TS: i64 = 1_767_225_600_000;
/// Most readings in one upstream message and most unacknowledged messages (`sync::worker`).
const MAX_BATCH_READINGS: usize = 500;
const WINDOW: usize = 1;

fn drain_patience() -> Duration {
    patience() * 6
}

fn upstream_config(cloud: &Cloud, certs: &Certs, ca: &str) -> String {
    format!(
        "config upstream 'upstream'\n\toption enabled '1'\n\
         \toption url 'mqtts://127.0.0.1:{port}'\n\toption ca_file '{ca}'\n\
         \toption cert_file '{cert}'\n\toption key_file '{key}'\n\
         \toption reconnect_max_s '1'\n",
        port = cloud.tls_port,
        ca = certs.path(ca).display(),
        cert = certs.path("client.pem").display(),
        key = certs.path("client.key").display(),
    )
}

/// Publishes readings `from..from+n` of `device` (metric `v`, ts = BASE_TS + i, value = i) in
/// messages of 500; returns the number of messages.
fn publish_readings(publisher: &Publisher, device: &str, from: i64, n: i64) -> u64 {
    let mut messages = 0;
    let mut i = from;
    while i < from + n {
        let end = (i + 500).min(from + n);
        let batch: Vec<Value> = (i..end)
            .map(|k| json!({"ts": BASE_TS + k, "v": k}))
            .collect();
        publisher.publish(
            &format!("acs/{device}/telemetry"),
            serde_json::to_vec(&batch).unwrap(),
        );
        messages += 1;
        i = end;
    }
    messages
}

fn upstream(daemon: &Daemon) -> Value {
    daemon.health()["upstream"].clone()
}

fn wait_stored(daemon: &Daemon, total: i64) {
    wait_until("readings to be stored", patience(), || {
        (daemon.health()["store"]["next_seq"].as_i64().unwrap() > total).then_some(())
    });
}

fn expected(devices: &[&str], n: i64) -> BTreeSet<(String, i64)> {
    devices
        .iter()
        .flat_map(|d| (0..n).map(move |i| (d.to_string(), BASE_TS + i)))
        .collect()
}

/// A cloud that had the collector's session set up, then went down.
fn cloud_down_with_collector(certs: &Certs) -> (Cloud, Collector) {
    let mut cloud = Cloud::new(certs);
    cloud.start();
    let collector = Collector::connect(&cloud);
    cloud.stop();
    (cloud, collector)
}

#[test]
fn readings_stored_while_the_cloud_is_down_arrive_once_and_in_order_when_it_comes_up() {
    let certs = Certs::generate();
    let (mut cloud, collector) = cloud_down_with_collector(&certs);
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = upstream_config(&cloud, &certs, "ca.pem");
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let mut messages = 0;
    for chunk in 0..3 {
        for device in ["d0", "d1"] {
            messages += publish_readings(&publisher, device, chunk * 500, 500);
        }
    }
    publisher.wait_acked(messages);
    wait_stored(&daemon, 3000);
    let up = wait_until("the backlog and the outage in health", patience(), || {
        let up = upstream(&daemon);
        (up["backlog"] == 3000 && up["last_error"].is_string()).then_some(up)
    });
    assert!(
        up["state"] == "backoff" || up["state"] == "connecting",
        "{up}"
    );
    assert_eq!(up["sent_total"], 0);
    assert!(up["lag_s"].as_u64().is_some(), "{up}");

    cloud.start();
    collector.wait_distinct(3000, drain_patience());
    let delivery = check_delivery(&collector.readings());
    assert_eq!(
        delivery.duplicates, 0,
        "no outage during the drain, no repeats"
    );
    let got: BTreeSet<(String, i64)> = delivery
        .by_seq
        .values()
        .map(|r| (r.device.clone(), r.ts))
        .collect();
    assert_eq!(got, expected(&["d0", "d1"], 1500));
    assert_eq!(
        delivery.by_seq.keys().copied().collect::<Vec<_>>(),
        (1..=3000).collect::<Vec<i64>>()
    );
    for r in delivery.by_seq.values() {
        assert_eq!(r.metric, "v");
        assert_eq!(r.value, (r.ts - BASE_TS) as f64);
    }
    let messages = collector.messages.lock().unwrap().clone();
    let store_id = messages[0]["store"].as_str().unwrap().to_owned();
    assert_eq!(store_id.len(), 16);
    for msg in &messages {
        assert_eq!(msg["v"], 1);
        assert_eq!(msg["gateway"], "test-gw");
        assert_eq!(msg["store"], store_id.as_str());
        let readings = msg["readings"].as_array().unwrap();
        assert_eq!(msg["first_seq"], readings[0]["seq"]);
        assert_eq!(msg["last_seq"], readings[readings.len() - 1]["seq"]);
    }

    let up = wait_until("health to show the drained backlog", patience(), || {
        let up = upstream(&daemon);
        (up["backlog"] == 0 && up["sent_total"] == 3000).then_some(up)
    });
    assert_eq!(up["state"], "connected");
    assert_eq!(up["last_error"], Value::Null);
    assert_eq!(up["lag_s"], 0);
    assert_eq!(up["evicted_unsynced"], 0);
    assert_eq!(up["cursor"], 3000);
    assert!(up["last_sync_ms"].as_i64().unwrap() > 0);
    // Sent readings stay queryable: the outbox is the ring buffer.
    assert_eq!(daemon.all_readings("d0").len(), 1500);
}

#[test]
fn five_cloud_restarts_during_a_drain_lose_nothing_and_repeat_at_most_one_window_each() {
    let certs = Certs::generate();
    let (mut cloud, collector) = cloud_down_with_collector(&certs);
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = upstream_config(&cloud, &certs, "ca.pem");
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let per_device = 20_000;
    let mut messages = 0;
    for device in ["d0", "d1"] {
        messages += publish_readings(&publisher, device, 0, per_device);
    }
    publisher.wait_acked(messages);
    wait_stored(&daemon, 2 * per_device);

    let outages = 5;
    cloud.start();
    for _ in 0..outages {
        // Let some batches through, then take the cloud away mid-drain.
        let before = upstream(&daemon)["sent_total"].as_u64().unwrap();
        wait_until("the drain to progress", drain_patience(), || {
            (upstream(&daemon)["sent_total"].as_u64().unwrap() > before).then_some(())
        });
        cloud.stop();
        wait_until("the daemon to notice the outage", patience(), || {
            (upstream(&daemon)["state"] != "connected").then_some(())
        });
        cloud.start();
    }
    collector.wait_distinct(2 * per_device as usize, drain_patience());
    let delivery = check_delivery(&collector.readings());
    let got: BTreeSet<(String, i64)> = delivery
        .by_seq
        .values()
        .map(|r| (r.device.clone(), r.ts))
        .collect();
    assert_eq!(got, expected(&["d0", "d1"], per_device));
    assert!(
        delivery.duplicates <= outages * WINDOW * MAX_BATCH_READINGS,
        "{} repeated readings after {outages} outages",
        delivery.duplicates
    );
    let up = wait_until("the backlog to drain", patience(), || {
        let up = upstream(&daemon);
        (up["backlog"] == 0).then_some(up)
    });
    assert!(up["connects"].as_u64().unwrap() > outages as u64, "{up}");
    assert_eq!(up["evicted_unsynced"], 0);
}

#[test]
fn a_daemon_killed_mid_drain_resumes_from_the_persisted_cursor() {
    let certs = Certs::generate();
    let (mut cloud, collector) = cloud_down_with_collector(&certs);
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = upstream_config(&cloud, &certs, "ca.pem");
    // The cursor persisted at every acknowledgement: the head in the file.
    cfg.flush_interval_s = Some(0);
    let mut daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let total = 60_000;
    let messages = publish_readings(&publisher, "d0", 0, total);
    publisher.wait_acked(messages);
    wait_stored(&daemon, total);

    cloud.start();
    wait_until("the drain to start", drain_patience(), || {
        let up = upstream(&daemon);
        (up["sent_total"].as_u64().unwrap() > 0).then_some(())
    });
    daemon.kill9();
    daemon.spawn();
    collector.wait_distinct(total as usize, drain_patience());
    let delivery = check_delivery(&collector.readings());
    let got: BTreeSet<(String, i64)> = delivery
        .by_seq
        .values()
        .map(|r| (r.device.clone(), r.ts))
        .collect();
    assert_eq!(got, expected(&["d0"], total));
    assert!(
        delivery.duplicates <= WINDOW * MAX_BATCH_READINGS,
        "{} repeated readings after one crash",
        delivery.duplicates
    );
    // The second run started from where the first one's acknowledgements had got to.
    let log = daemon.log();
    let cursors: Vec<i64> = log
        .lines()
        .filter(|l| l.contains("connected to the upstream broker"))
        .filter_map(|l| l.split("cursor=").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert!(cursors.len() >= 2, "{log}");
    assert_eq!(cursors[0], 0);
    assert!(
        cursors[1] > 0 && cursors[1] < total,
        "resumed at {}",
        cursors[1]
    );
    wait_until("the backlog to drain", patience(), || {
        (upstream(&daemon)["backlog"] == 0).then_some(())
    });
}

#[test]
fn a_backlog_larger_than_the_ring_reports_exactly_what_the_cloud_is_missing() {
    let certs = Certs::generate();
    let (mut cloud, collector) = cloud_down_with_collector(&certs);
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.max_rows = 1000;
    cfg.extra = upstream_config(&cloud, &certs, "ca.pem");
    // The ring bound at every commit: the head in the file (a RAM head meets it at a flush).
    cfg.flush_interval_s = Some(0);
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let total = 3500;
    let messages = publish_readings(&publisher, "d0", 0, total);
    publisher.wait_acked(messages);
    wait_stored(&daemon, total);
    let up = upstream(&daemon);
    assert_eq!(up["backlog"], 1000);
    assert_eq!(up["evicted_unsynced"], 2500);

    cloud.start();
    collector.wait_distinct(1000, drain_patience());
    wait_until("the backlog to drain", patience(), || {
        (upstream(&daemon)["backlog"] == 0).then_some(())
    });
    let delivery = check_delivery(&collector.readings());
    // The newest readings arrived; the oldest were evicted before they could be sent.
    assert_eq!(
        delivery.by_seq.keys().copied().collect::<Vec<_>>(),
        (2501..=3500).collect::<Vec<i64>>()
    );
    let missing = total as u64 - delivery.by_seq.len() as u64;
    let up = upstream(&daemon);
    assert_eq!(up["evicted_unsynced"].as_u64().unwrap(), missing);
    assert_eq!(daemon.health()["store"]["evicted_unsynced"], missing);
}

#[test]
fn a_wrong_ca_never_connects_and_says_why_in_health_and_log() {
    let certs = Certs::generate().with_other_ca();
    let mut cloud = Cloud::new(&certs);
    cloud.start();
    let collector = Collector::connect(&cloud);
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = upstream_config(&cloud, &certs, "other-ca.pem");
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    publisher.wait_acked(publish_readings(&publisher, "d0", 0, 100));
    wait_stored(&daemon, 100);
    let up = wait_until("the TLS error in health", patience(), || {
        let up = upstream(&daemon);
        up["last_error"].is_string().then_some(up)
    });
    let error = up["last_error"].as_str().unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert!(
        up["state"] == "backoff" || up["state"] == "connecting",
        "{up}"
    );
    assert_eq!(up["backlog"], 100);
    assert_eq!(up["connects"], 0);
    let log = daemon.log();
    assert!(
        log.lines()
            .any(|l| l.contains("upstream connection failed") && l.contains("certificate")),
        "{log}"
    );
    assert!(collector.readings().is_empty());
}

#[test]
fn an_unreadable_client_key_is_a_startup_error_naming_the_option() {
    let certs = Certs::generate();
    let cloud = Cloud::new(&certs);
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = upstream_config(&cloud, &certs, "ca.pem").replace("client.key", "missing.key");
    let config = dir.path().join("acs-edge");
    common::write_config(&config, dir.path(), common::free_port(), &cfg);
    let out = command().arg("--config").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("upstream.key_file") && stderr.contains("missing.key"),
        "{stderr}"
    );
}

#[test]
fn a_batch_the_cloud_refuses_is_not_counted_as_sent_and_the_cursor_stays() {
    let certs = Certs::generate();
    let mut cloud = Cloud::refusing_publishes(&certs);
    cloud.start();
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = upstream_config(&cloud, &certs, "ca.pem");
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    publisher.wait_acked(publish_readings(&publisher, "d0", 0, 100));
    wait_stored(&daemon, 100);
    let up = wait_until("the refusal in health", patience(), || {
        let up = upstream(&daemon);
        let error = up["last_error"].as_str().unwrap_or_default().to_owned();
        error.contains("refused a batch").then_some(up)
    });
    assert!(
        up["last_error"].as_str().unwrap().contains("NotAuthorized"),
        "{up}"
    );
    assert!(up["connects"].as_u64().unwrap() >= 1, "{up}");
    assert_eq!(up["sent_total"], 0, "{up}");
    assert_eq!(up["cursor"], 0, "{up}");
    assert_eq!(up["backlog"], 100, "{up}");
    let log = daemon.log();
    assert!(
        log.lines().any(|l| l.contains("upstream connection failed")
            && l.contains("refused a batch: NotAuthorized")),
        "{log}"
    );
}
