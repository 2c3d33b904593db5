//! Crash safety and bounds with real processes: SIGKILL mid-stream keeps every committed batch,
//! SIGTERM flushes the pending batch, and the ring buffer stays within its bounds.

use crate::common;

use common::*;
use rusqlite::Connection;
use serde_json::json;
use std::time::Duration;

/// Opens the store file the way the daemon does after a crash and returns the stored `n`
/// values of `device` (read through the store's paged queries), sorted, plus the integrity
/// check verdict.
fn inspect(daemon: &Daemon, device: &str) -> (Vec<i64>, String) {
    let store = common::store::open(&daemon.db_path());
    let verdict = store.integrity_check().unwrap();
    let mut values: Vec<i64> = common::store::query_all(&store, Some(device), None, 10_000)
        .iter()
        .map(|r| r.value as i64)
        .collect();
    values.sort_unstable();
    (values, verdict)
}

#[test]
fn sigkill_while_readings_stream_in_keeps_every_committed_batch_and_the_file_intact() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.commit_interval_ms = 50;
    // Every commit durable on return: the head in the file (see store_head.rs for RAM).
    cfg.flush_interval_s = Some(0);
    let mut daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);

    // Each message carries 10 readings; batches commit whole messages, so the stored values
    // must be exactly 0..k*10 for some k with no holes.
    let stream = std::thread::spawn({
        let client = publisher.client.clone();
        move || {
            for m in 0..2000i64 {
                let obj: serde_json::Map<String, serde_json::Value> = (0..10)
                    .map(|j| (format!("m{j}"), json!(m * 10 + j)))
                    .collect();
                let payload = serde_json::to_vec(&obj).unwrap();
                if client
                    .publish(
                        "acs/crash/telemetry",
                        rumqttc::QoS::AtLeastOnce,
                        false,
                        payload,
                    )
                    .is_err()
                {
                    return;
                }
                std::thread::sleep(Duration::from_micros(300));
            }
        }
    });
    wait_until("some commits", patience(), || {
        (daemon.health()["ingest"]["committed"].as_u64().unwrap() >= 2000).then_some(())
    });
    let committed_before_kill = daemon.health()["ingest"]["committed"].as_u64().unwrap();
    daemon.kill9();
    stream.join().unwrap();

    let (values, verdict) = inspect(&daemon, "crash");
    assert_eq!(verdict, "ok");
    assert!(values.len() as u64 >= committed_before_kill);
    assert_eq!(values.len() % 10, 0, "a batch was stored partially");
    assert_eq!(
        values,
        (0..values.len() as i64).collect::<Vec<_>>(),
        "holes or duplicates"
    );

    // The restarted daemon serves every committed row and keeps ingesting. (The broker also
    // delivers what it queued for the daemon's persistent session while it was down.) It
    // reports that the previous run did not stop cleanly.
    daemon.spawn();
    assert_eq!(daemon.health()["last_stop_clean"], false);
    let served: std::collections::HashSet<i64> = daemon
        .all_readings("crash")
        .iter()
        .map(|r| r["value"].as_f64().unwrap() as i64)
        .collect();
    assert!(
        values.iter().all(|v| served.contains(v)),
        "a committed reading is missing after restart"
    );
    publisher.publish("acs/after/telemetry", r#"{"t": 1}"#);
    wait_until("ingest after restart", patience(), || {
        (daemon.all_readings("after").len() == 1).then_some(())
    });
}

#[test]
fn sigterm_flushes_the_pending_batch_and_exits_cleanly() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.commit_interval_ms = 60_000; // nothing would commit on its own during the test
    let mut daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    for i in 0..50 {
        publisher.publish("acs/term/telemetry", format!("{{\"n\": {i}}}"));
    }
    wait_until("all readings received", patience(), || {
        (daemon.health()["ingest"]["received"].as_u64().unwrap() >= 50).then_some(())
    });
    assert_eq!(daemon.health()["ingest"]["committed"], 0);
    assert_eq!(daemon.health()["last_stop_clean"], true, "a first start");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    let (values, verdict) = inspect(&daemon, "term");
    assert_eq!(verdict, "ok");
    assert_eq!(values, (0..50).collect::<Vec<_>>());
    daemon.spawn();
    assert_eq!(
        daemon.health()["last_stop_clean"],
        true,
        "after a clean stop"
    );
}

#[test]
fn ring_buffer_stays_within_max_rows_and_stops_growing_at_ten_times_capacity() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    // The head in the file: bounds and errors per commit (the RAM head meets them at a flush).
    cfg.flush_interval_s = Some(0);
    cfg.max_rows = 1000;
    cfg.max_mb = 1;
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let publish_round = |round: i64| {
        for m in 0..100i64 {
            let obj: serde_json::Map<String, serde_json::Value> = (0..10)
                .map(|j| (format!("m{j}"), json!(round * 1000 + m * 10 + j)))
                .collect();
            publisher.publish("acs/ring/telemetry", serde_json::to_vec(&obj).unwrap());
        }
    };
    let committed = |n: u64| {
        wait_until(&format!("{n} committed"), patience(), || {
            (daemon.health()["ingest"]["committed"].as_u64().unwrap() >= n).then_some(())
        })
    };
    let file_bytes = || daemon.health()["store"]["file_bytes"].as_u64().unwrap();
    for round in 0..4 {
        publish_round(round);
        committed((round as u64 + 1) * 1000);
    }
    let size_after_wraps = file_bytes();
    for round in 4..10 {
        publish_round(round);
        committed((round as u64 + 1) * 1000);
    }

    let health = daemon.health();
    assert_eq!(health["store"]["rows"], 1000);
    assert_eq!(health["store"]["evicted_total"], 9000);
    let values: Vec<i64> = daemon
        .all_readings("ring")
        .iter()
        .map(|r| r["value"].as_f64().unwrap() as i64)
        .collect();
    let mut sorted = values.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        (9000..10_000).collect::<Vec<_>>(),
        "the newest readings are kept"
    );
    // Freed pages are reused: the database stops growing once the ring has wrapped a few times.
    let size_at_end = file_bytes();
    assert!(
        size_at_end <= size_after_wraps + size_after_wraps / 5,
        "store grew from {size_after_wraps} to {size_at_end} bytes"
    );
    // On disk, database plus WAL stay within max_mb plus the WAL limit (a quarter of max_mb,
    // at least 64 pages).
    let db = daemon.db_path();
    let on_disk = std::fs::metadata(&db).unwrap().len()
        + std::fs::metadata(db.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    assert!(
        on_disk <= (1 << 20) + 64 * 4096 + 64 * 24,
        "{on_disk} bytes on disk"
    );
}

#[test]
fn sighup_applies_a_changed_ring_bound_without_a_restart() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    assert_eq!(daemon.health()["store"]["max_rows"], 1_000_000);
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.max_rows = 5000;
    write_config(
        &daemon.config_path,
        daemon.dir.path(),
        daemon.api_port,
        &cfg,
    );
    daemon.signal("HUP");
    wait_until("the reloaded bound", patience(), || {
        (daemon.health()["store"]["max_rows"] == 5000).then_some(())
    });
    // The store takes the new bound before the reload logs its end: wait for the line too
    // (under qemu the gap between the two was seen to outlast a single read of the log).
    wait_until("the reload logged", patience(), || {
        daemon.log().contains("config reloaded").then_some(())
    });
}

#[test]
fn sigterm_with_the_broker_gone_still_commits_and_exits() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.commit_interval_ms = 60_000;
    let mut daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    for i in 0..20 {
        publisher.publish("acs/orphan/telemetry", format!("{{\"n\": {i}}}"));
    }
    wait_until("all readings received", patience(), || {
        (daemon.health()["ingest"]["received"].as_u64().unwrap() >= 20).then_some(())
    });
    drop(publisher);
    drop(broker);
    wait_until("the daemon to see the broker gone", patience(), || {
        (daemon.health()["mqtt"]["connected"] == false).then_some(())
    });
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    let (values, verdict) = inspect(&daemon, "orphan");
    assert_eq!(verdict, "ok");
    assert_eq!(values, (0..20).collect::<Vec<_>>());
}

#[test]
fn a_start_that_fails_on_a_taken_port_exits_with_the_reason_and_is_not_reported_as_a_crash() {
    let broker = Broker::start();
    let mut daemon = Daemon::start(&DaemonConfig::new(broker.port));
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));

    let taken = std::net::TcpListener::bind(("127.0.0.1", daemon.api_port)).unwrap();
    let out = command()
        .arg("--config")
        .arg(&daemon.config_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot listen on") && stderr.contains("api.listen"),
        "{stderr}"
    );
    let mut marker = daemon.db_path().into_os_string();
    marker.push(".running");
    assert!(
        !std::path::Path::new(&marker).exists(),
        "the failed start left its run marker"
    );

    drop(taken);
    daemon.spawn();
    assert_eq!(daemon.health()["last_stop_clean"], true);
    assert!(!daemon.log().contains("did not stop cleanly"));
}

/// A small tmpfs mounted over `dir` (CI and the build machine run the tests as root), so the
/// store can meet a really full file system. Unmounted (lazily: the daemon may still hold
/// files open) when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str, options: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}{options}"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs (the test needs root)");
        Tmpfs(dir.to_owned())
    }

    /// Writes `name` until the file system is full; returns the bytes written.
    fn fill(&self, name: &str) -> u64 {
        use std::io::Write;
        let mut file = std::fs::File::create(self.0.join(name)).unwrap();
        let block = [0x5au8; 4096];
        let mut written = 0;
        while let Ok(n) = file.write(&block) {
            if n == 0 {
                break;
            }
            written += n as u64;
        }
        written
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A daemon whose store lives on a fresh tmpfs of `size`.
fn daemon_on_tmpfs(cfg: &DaemonConfig, size: &str) -> (Daemon, Tmpfs) {
    let mut daemon = Daemon::start(cfg);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    let fs = Tmpfs::mount(daemon.db_path().parent().unwrap(), size, "");
    daemon.spawn();
    (daemon, fs)
}

/// One message of 1000 readings: 20 objects of 50 metrics, values from `start`.
fn thousand_readings(start: i64) -> Vec<u8> {
    let objects: Vec<serde_json::Value> = (0..20)
        .map(|o| {
            let obj: serde_json::Map<String, serde_json::Value> = (0..50)
                .map(|m| (format!("m{m}"), json!(start + o * 50 + m)))
                .collect();
            serde_json::Value::Object(obj)
        })
        .collect();
    serde_json::to_vec(&objects).unwrap()
}

fn counter(daemon: &Daemon, name: &str) -> u64 {
    daemon.health()["ingest"][name].as_u64().unwrap()
}

/// Publishes batches of readings until the store fails to commit and health says why.
fn wait_failing(daemon: &Daemon, publisher: &Publisher, device: &str) -> serde_json::Value {
    let mut start = 0;
    wait_until("health degraded by the full disk", patience(), || {
        publisher.publish(&format!("acs/{device}/telemetry"), thousand_readings(start));
        start += 1000;
        std::thread::sleep(Duration::from_millis(200));
        let health = daemon.health();
        (health["status"] == "degraded" && health["ingest"]["lost"].as_u64().unwrap() > 0)
            .then_some(health)
    })
}

#[test]
fn a_full_disk_fails_batches_counts_the_lost_readings_degrades_health_and_sigterm_exits_in_time() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    // The head in the file: bounds and errors per commit (the RAM head meets them at a flush).
    cfg.flush_interval_s = Some(0);
    cfg.commit_interval_ms = 50;
    cfg.max_mb = 2;
    let (mut daemon, fs) = daemon_on_tmpfs(&cfg, "2m");
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/full/telemetry", thousand_readings(0));
    wait_until("the first readings stored", patience(), || {
        (counter(&daemon, "committed") == 1000).then_some(())
    });
    assert_eq!(daemon.health()["status"], "ok");
    assert!(fs.fill("filler") > 0);

    let health = wait_failing(&daemon, &publisher, "full");
    let reasons = health["reasons"].to_string();
    assert!(
        reasons.contains("store") && reasons.contains("disk full"),
        "{reasons}"
    );
    // Readings keep arriving and keep being counted as lost, and the daemon keeps serving.
    let lost = health["ingest"]["lost"].as_u64().unwrap();
    wait_until("more readings counted as lost", patience(), || {
        publisher.publish("acs/full/telemetry", thousand_readings(0));
        std::thread::sleep(Duration::from_millis(300));
        (counter(&daemon, "lost") > lost).then_some(())
    });
    assert_eq!(daemon.health()["status"], "degraded");

    // Stop while batches are failing (some are queued): within procd's 5 s, cleanly.
    for i in 0..20 {
        publisher.publish("acs/full/telemetry", thousand_readings(i * 1000));
    }
    std::thread::sleep(Duration::from_millis(300));
    let asked = std::time::Instant::now();
    daemon.signal("TERM");
    let code = daemon.wait_exit();
    let took = asked.elapsed();
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    assert_eq!(code, Some(0));
    assert!(
        daemon.log().contains("batch dropped"),
        "lost batches are logged"
    );
}

#[test]
fn a_full_disk_recovers_by_itself_when_space_returns_and_when_max_mb_is_lowered() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    // The head in the file: bounds and errors per commit (the RAM head meets them at a flush).
    cfg.flush_interval_s = Some(0);
    cfg.commit_interval_ms = 50;
    cfg.max_mb = 3;
    let (daemon, fs) = daemon_on_tmpfs(&cfg, "6m");
    let publisher = Publisher::connect(broker.port);
    // Grow the store past 1 MB so that a lower bound has something to evict.
    let mut start = 0;
    while daemon.health()["store"]["used_bytes"].as_u64().unwrap() < 1_300_000 {
        publisher.publish("acs/grow/telemetry", thousand_readings(start));
        start += 1000;
        let want = start as u64;
        wait_until("the readings stored", patience(), || {
            (counter(&daemon, "committed") >= want).then_some(())
        });
    }

    // Space returns: new readings are stored again, without a restart.
    fs.fill("filler");
    wait_failing(&daemon, &publisher, "grow");
    std::fs::remove_file(fs.0.join("filler")).unwrap();
    publisher.publish("acs/back/telemetry", r#"{"t": 1}"#);
    wait_until("a reading stored after space returned", patience(), || {
        (daemon.all_readings("back").len() == 1).then_some(())
    });
    wait_until("health ok again", patience(), || {
        (daemon.health()["status"] == "ok").then_some(())
    });

    // The disk stays full, and max_mb is lowered: eviction makes room inside the store.
    fs.fill("filler");
    wait_failing(&daemon, &publisher, "grow");
    let text = std::fs::read_to_string(&daemon.config_path).unwrap();
    std::fs::write(
        &daemon.config_path,
        text.replace("option max_mb '3'", "option max_mb '1'"),
    )
    .unwrap();
    daemon.signal("HUP");
    wait_until("the lower bound applied", patience(), || {
        (daemon.health()["store"]["used_bytes"].as_u64().unwrap() <= 1 << 20).then_some(())
    });
    publisher.publish("acs/after/telemetry", r#"{"t": 2}"#);
    wait_until(
        "a reading stored on the still full disk",
        patience(),
        || (daemon.all_readings("after").len() == 1).then_some(()),
    );
    assert!(
        std::fs::metadata(fs.0.join("filler")).unwrap().len() > 0,
        "the disk stayed full"
    );
    wait_until("health ok again", patience(), || {
        (daemon.health()["status"] == "ok").then_some(())
    });
}

/// Runs the daemon on a config whose store is `<dir>/data/store.db`; it must refuse to start.
/// Returns what it printed (stderr and stdout).
fn start_refused(dir: &std::path::Path) -> String {
    let config = dir.join("acs-edge");
    let mut cfg = DaemonConfig::new(free_port());
    cfg.user = None;
    write_config(&config, dir, free_port(), &cfg);
    let out = command()
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run acs-edge");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!out.status.success(), "the daemon started: {text}");
    text
}

#[test]
fn a_store_on_a_read_only_file_system_is_refused_naming_the_path_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = data.join("store.db");
    // A new store in a read-only directory.
    let fs = Tmpfs::mount(&data, "1m", ",ro");
    let text = start_refused(dir.path());
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(text.contains("Read-only file system"), "{text}");
    drop(fs);
    // An existing file on a file system that became read-only.
    let fs = Tmpfs::mount(&data, "1m", "");
    std::fs::write(&db, b"").unwrap();
    let status = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    let text = start_refused(dir.path());
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(text.contains("Read-only file system"), "{text}");
    assert!(!text.contains("disk I/O error"), "{text}");
    drop(fs);
}

#[test]
fn a_sqlite_file_that_is_not_a_store_is_refused_in_one_line_without_sql() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/store.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE meta (k TEXT, v TEXT); CREATE TABLE photos (id, blob);")
        .unwrap();
    let text = start_refused(dir.path());
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("not an acs-edge store"))
        .collect();
    assert!(!lines.is_empty(), "{text}");
    assert!(
        lines.iter().all(|l| l.contains(&db.display().to_string())),
        "{text}"
    );
    assert!(!text.contains("CREATE"), "{text}");
    assert!(
        !db.with_extension("db-reserve").exists(),
        "nothing is added beside someone else's file"
    );
    // The file is left as it was.
    let tables: i64 = Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 2);
}

#[test]
fn age_eviction_removes_old_readings_that_arrived_after_younger_ones() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    // The head in the file: bounds and errors per commit (the RAM head meets them at a flush).
    cfg.flush_interval_s = Some(0);
    cfg.store_options = "\toption max_age_days '1'\n".into();
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let three_days_ago = now - 3 * 86_400_000;
    let series = |ts0: i64, n: i64| {
        let objects: Vec<serde_json::Value> = (0..n)
            .map(|i| json!({"ts": ts0 + i * 1000, "t": i}))
            .collect();
        serde_json::to_vec(&objects).unwrap()
    };
    // Young readings first, then a node's backlog from three days ago.
    publisher.publish("acs/fresh/telemetry", series(now - 60_000, 10));
    publisher.publish("acs/backlog/telemetry", series(three_days_ago, 50));
    publisher.publish("acs/fresh/telemetry", series(now - 30_000, 10));
    wait_until("all readings stored", patience(), || {
        (daemon.health()["ingest"]["committed"].as_u64().unwrap() >= 70).then_some(())
    });
    // The daemon looks for expired readings every minute and at once after a reload.
    daemon.signal("HUP");
    wait_until("the backlog evicted by age", patience(), || {
        daemon.all_readings("backlog").is_empty().then_some(())
    });
    assert_eq!(daemon.all_readings("fresh").len(), 20);
    let store = &daemon.health()["store"];
    assert_eq!(store["rows"], 20);
    assert_eq!(store["evicted_total"], 50);
}
