//! mosquitto with persistence as a store-and-forward baseline, on the ingest workload: a
//! durable subscriber (clean session off, QoS 1) is offline while the publisher sends the
//! benchmark's QoS 1 messages, so the broker holds every one (in memory, saved to its
//! persistence file every second); then the subscriber comes back and takes them all.
//! Measured: messages/s stored (every PUBACK seen), messages/s forwarded, the broker's peak
//! RSS and the bytes it passed to write() per stored message (`/proc/<pid>/io`).

use crate::harness::{connect, free_port, publish_all, start_broker, wait_for};
use crate::report::{ratio, Row};
use rumqttc::{Event, Packet, QoS};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn wchar(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("wchar:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `ours_qos1`: acs-edge's QoS 1 ingest rate of this run; `ours_drain`: its upstream drain.
pub fn bench(work: &Path, n: u64, ours_qos1: Option<f64>, ours_drain: Option<f64>) -> Vec<Row> {
    let label = "mosquitto store-and-forward (persistence on)";
    let dir = work.join("mosquitto-persist");
    let _ = std::fs::create_dir_all(&dir);
    let port = free_port();
    let broker = start_broker(
        &dir,
        port,
        &format!(
            "user root\npersistence true\npersistence_location {}/\nautosave_interval 1\n",
            dir.display()
        ),
    );
    let version = crate::report::command_line("sh", &["-c", "mosquitto -h | head -1"]);
    // The durable subscriber registers its session, then goes away.
    {
        let (sub, mut conn) = connect(port, "bench-durable", false);
        sub.subscribe("acs/+/telemetry", QoS::AtLeastOnce).unwrap();
        for event in conn.iter() {
            if let Ok(Event::Incoming(Packet::SubAck(_))) = event {
                break;
            }
        }
        let _ = sub.disconnect();
        for _ in conn.iter().take(3) {}
    }
    let w0 = wchar(broker.pid());
    let start = Instant::now();
    publish_all(port, n, QoS::AtLeastOnce, None);
    // publish_all waits 200 ms after the last PUBACK before it returns.
    let store_secs = (start.elapsed().as_secs_f64() - 0.2).max(1e-3);
    std::thread::sleep(Duration::from_millis(2500)); // at least two autosaves
    let written = wchar(broker.pid()) - w0;
    let file = crate::harness::file_size(&dir.join("mosquitto.db"));

    let received = Arc::new(AtomicU64::new(0));
    let r = received.clone();
    let start = Instant::now();
    let (sub, mut conn) = connect(port, "bench-durable", false);
    let reader = std::thread::spawn(move || {
        for event in conn.iter() {
            match event {
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    r.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let forwarded = wait_for(Duration::from_secs(300), || {
        received.load(Ordering::Relaxed) >= n
    });
    let forward_secs = start.elapsed().as_secs_f64();
    let got = received.load(Ordering::Relaxed);
    let _ = sub.disconnect();
    let _ = reader.join();
    let rss = crate::daemon::peak_mb(broker.pid());
    drop(broker);

    let stored_rate = n as f64 / store_secs;
    let mut rows = vec![Row::vs(
        format!("{label}: QoS 1 messages stored for an offline subscriber ({version})"),
        stored_rate,
        "msg/s",
        ours_qos1.map_or("acs-edge QoS 1 ingest not measured".into(), |o| {
            format!("acs-edge QoS 1 ingest {o:.0}/s")
        }),
        ours_qos1.and_then(|o| ratio(stored_rate, o)),
    )];
    match forwarded {
        Ok(()) => {
            let rate = got as f64 / forward_secs;
            rows.push(Row::vs(
                format!("{label}: stored messages forwarded on reconnect"),
                rate,
                "msg/s",
                ours_drain.map_or("acs-edge drain not measured".into(), |o| {
                    format!("acs-edge upstream drain {o:.0}/s")
                }),
                ours_drain.and_then(|o| ratio(rate, o)),
            ));
        }
        Err(e) => rows.push(Row::skipped(
            format!("{label}: forward on reconnect"),
            format!("{got} of {n} forwarded: {e}"),
        )),
    }
    rows.push(Row::plain(
        format!("{label}: broker RSS peak (VmHWM)"),
        rss,
        "MB",
    ));
    rows.push(Row::vs(
        format!("{label}: bytes to write() per stored message (autosave every 1 s)"),
        written as f64 / n as f64,
        "B/msg",
        format!("persistence file {:.0} B/msg", file as f64 / n as f64),
        ratio(written as f64, file as f64),
    ));
    rows
}
