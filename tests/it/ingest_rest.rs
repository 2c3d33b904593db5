//! End to end: readings published to a real mosquitto reach the daemon's store and come back
//! over REST; malformed input is counted and dropped while good input keeps flowing.

use crate::common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn readings_of(daemon: &Daemon, device: &str, n: usize) -> Vec<Value> {
    wait_until(&format!("{n} readings of {device}"), patience(), || {
        let items = daemon.all_readings(device);
        (items.len() >= n).then_some(items)
    })
}

#[test]
fn json_reading_published_over_mqtt_is_returned_by_rest_and_device_is_listed() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    publisher.publish(
        "acs/dev1/telemetry",
        r#"{"ts": 1767225600123, "temperature": 21.5, "humidity": 40.2}"#,
    );
    let items = readings_of(&daemon, "dev1", 2);
    assert!(items.contains(
        &json!({"device": "dev1", "metric": "temperature", "ts": 1767225600123i64, "value": 21.5})
    ));
    assert!(items.contains(
        &json!({"device": "dev1", "metric": "humidity", "ts": 1767225600123i64, "value": 40.2})
    ));

    let (status, devices) = daemon.get("/api/v1/devices");
    assert_eq!(status, 200);
    let dev1 = devices["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "dev1")
        .expect("dev1 listed");
    assert_eq!(dev1["transport"], "mqtt");
    assert_eq!(dev1["online"], true);
    assert_eq!(devices["next_cursor"], Value::Null);

    let (status, one) = daemon.get("/api/v1/devices/dev1");
    assert_eq!(status, 200);
    assert_eq!(one["id"], "dev1");
}

#[test]
fn arrays_rfc3339_timestamps_frames_and_status_are_all_ingested() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    publisher.publish(
        "acs/arr/telemetry",
        r#"[{"ts": "2026-01-01T00:00:00Z", "t": 1}, {"ts": "2026-01-01T01:00:00+01:00", "t": 2}, {"ts": 1767225602000, "t": 3}]"#,
    );
    publisher.publish("acs/arr/status", "offline");
    let items = readings_of(&daemon, "arr", 3);
    let ts: Vec<i64> = items.iter().map(|i| i["ts"].as_i64().unwrap()).collect();
    // Ordered by timestamp; the first two are the same instant.
    assert_eq!(ts, vec![1767225600000, 1767225600000, 1767225602000]);
    wait_until("the offline status", patience(), || {
        let (_, d) = daemon.get("/api/v1/devices/arr");
        (d["online"] == false).then_some(())
    });

    let frame = acs_edge::ingest::frame::encode_frame(
        0x0011_2233_4455_6677,
        7,
        1_767_225_600_000,
        &[("temperature", 21.25), ("humidity", 55.0)],
    );
    publisher.publish("acs/node7/frame", frame);
    let items = readings_of(&daemon, "node7", 2);
    assert!(items.contains(
        &json!({"device": "node7", "metric": "temperature", "ts": 1767225600000i64, "value": 21.25})
    ));
}

#[test]
fn telemetry_filters_and_cursor_paging_return_every_reading_once() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    let base = 1_767_225_600_000i64;
    let batch: Vec<Value> = (0..400)
        .map(|i| json!({"ts": base + i * 1000, "t": i, "h": -i}))
        .collect();
    publisher.publish("acs/pager/telemetry", serde_json::to_vec(&batch).unwrap());
    readings_of(&daemon, "pager", 800);

    let mut seen = Vec::new();
    let mut path = format!(
        "/api/v1/telemetry?device=pager&metric=t&limit=40&from={}",
        base + 10_000
    );
    loop {
        let (status, page) = daemon.get(&path);
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 40);
        seen.extend(items.iter().map(|i| i["value"].as_f64().unwrap() as i64));
        match page["next_cursor"].as_str() {
            Some(c) => {
                path = format!(
                    "/api/v1/telemetry?device=pager&metric=t&limit=40&from={}&cursor={c}",
                    base + 10_000
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, (10..400).collect::<Vec<_>>());

    // A page well above tiny_http's 32 KiB chunking threshold still carries its length.
    let big = daemon
        .authed(ureq::get(
            &daemon.url("/api/v1/telemetry?device=pager&limit=1000"),
        ))
        .call()
        .unwrap();
    let length: usize = big
        .header("Content-Length")
        .expect("a Content-Length on a large page")
        .parse()
        .unwrap();
    assert_eq!(big.header("Transfer-Encoding"), None);
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut big.into_reader(), &mut body).unwrap();
    assert!(length > 32 * 1024, "the page is {length} bytes");
    assert_eq!(body.len(), length);

    let (_, window) = daemon.get(&format!(
        "/api/v1/telemetry?device=pager&metric=h&from={}&to={}",
        base + 5000,
        base + 8000
    ));
    let values: Vec<f64> = window["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_f64().unwrap())
        .collect();
    assert_eq!(
        values,
        vec![-5.0, -6.0, -7.0],
        "from is inclusive, to exclusive"
    );
}

#[test]
fn malformed_payloads_of_every_kind_are_counted_and_dropped_while_good_ones_flow() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = "config mqtt 'mqtt'\n\toption max_payload_kb '1'\n".into();
    // The extra section overrides the port too, so repeat it.
    cfg.extra.push_str(&format!(
        "\toption port '{}'\n\toption reconnect_max_s '1'\n",
        broker.port
    ));
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("acs/bad/telemetry", b"not json".to_vec()),
        ("acs/bad/telemetry", b"{\"t\": \"warm\"}".to_vec()),
        (
            "acs/bad/telemetry",
            b"{\"ts\": 1767225600, \"t\": 1}".to_vec(),
        ),
        ("acs/bad/telemetry", b"[1, 2, 3]".to_vec()),
        ("acs/bad/telemetry", vec![0xff, 0xfe, 0x00]),
        (
            "acs/bad/telemetry",
            format!("{{\"t\": 1, \"pad\": \"{}\"}}", "x".repeat(2000)).into_bytes(),
        ),
        ("acs/bad/frame", vec![1, 0, 0, 0]),
        ("acs/bad/frame", b"{\"t\": 1}".to_vec()),
        ("acs/bad/status", b"maybe".to_vec()),
        ("acs/bad$id/telemetry", b"{\"t\": 1}".to_vec()),
    ];
    for (i, (topic, payload)) in bad.iter().enumerate() {
        publisher.publish(topic, payload.clone());
        publisher.publish(
            "acs/good/telemetry",
            format!(
                "{{\"ts\": {}, \"n\": {i}}}",
                1_767_225_600_000i64 + i as i64
            ),
        );
    }
    publisher.wait_acked(2 * bad.len() as u64);
    let good = readings_of(&daemon, "good", bad.len());
    assert_eq!(good.len(), bad.len());
    let health = wait_until("malformed counters", patience(), || {
        let h = daemon.health();
        let m = &h["mqtt"]["malformed"];
        let total: u64 = ["topic", "too_large", "json", "frame", "status"]
            .iter()
            .map(|k| m[k].as_u64().unwrap())
            .sum();
        (total == bad.len() as u64).then_some(h)
    });
    let m = &health["mqtt"]["malformed"];
    assert_eq!(m["json"], 5);
    assert_eq!(m["too_large"], 1);
    assert_eq!(m["frame"], 2);
    assert_eq!(m["status"], 1);
    assert_eq!(m["topic"], 1);
    assert!(daemon.all_readings("bad").is_empty());
    assert!(daemon.log().contains("dropped malformed message"));
}

#[test]
fn bad_queries_get_json_errors_with_the_right_status() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    for (path, status, code) in [
        ("/api/v1/devices/nobody", 404, "not_found"),
        ("/api/v1/nothing", 404, "not_found"),
        ("/api/v1/telemetry?limit=0", 400, "bad_request"),
        ("/api/v1/telemetry?limit=10001", 400, "bad_request"),
        ("/api/v1/telemetry?from=yesterday", 400, "bad_request"),
        ("/api/v1/telemetry?cursor=garbage", 400, "bad_request"),
        ("/api/v1/telemetry?devcie=dev1", 400, "bad_request"),
        ("/api/v1/telemetry?device=a&device=b", 400, "bad_request"),
    ] {
        let (got, body) = daemon.get(path);
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"]["code"], code, "{path}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 3);
    }
    let response = daemon
        .authed(ureq::post(&daemon.url("/api/v1/telemetry")))
        .call();
    match response {
        Err(ureq::Error::Status(405, r)) => {
            assert_eq!(r.header("Allow"), Some("GET, HEAD"));
            let body: Value = r.into_json().unwrap();
            assert_eq!(body["error"]["code"], "method_not_allowed");
        }
        other => panic!("expected 405, got {other:?}"),
    }
    let (_, empty) = daemon.get("/api/v1/telemetry?device=nobody");
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));
}

#[test]
fn daemon_started_before_its_broker_connects_when_the_broker_appears() {
    let port = free_port();
    let daemon = Daemon::start(&DaemonConfig::new(port));
    assert_eq!(daemon.health()["mqtt"]["connected"], false);
    std::thread::sleep(Duration::from_millis(500));
    let broker = Broker::start_on(port);
    daemon.wait_subscribed();
    assert_eq!(daemon.health()["mqtt"]["connected"], true);
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/late/telemetry", r#"{"t": 5}"#);
    readings_of(&daemon, "late", 1);
}

#[test]
fn a_subscription_the_broker_refuses_is_reported_in_health_and_the_granted_topics_still_flow() {
    let broker = Broker::start_granting_subscriptions_only_to(&["acs/+/status"]);
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let mqtt = daemon.health()["mqtt"].clone();
    assert_eq!(mqtt["connected"], true, "{mqtt}");
    assert_eq!(mqtt["subscribed"], false, "{mqtt}");
    let error = mqtt["last_error"].as_str().expect("an error");
    assert!(
        error.contains("acs/+/telemetry") && error.contains("acs/+/frame"),
        "{error}"
    );
    assert!(
        !error.contains("status"),
        "only refused filters are named: {error}"
    );
    assert!(daemon.log().contains("refused the subscription"));

    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/gate/status", "online");
    wait_until("the granted status topic to arrive", patience(), || {
        let (_, devices) = daemon.get("/api/v1/devices");
        (devices.to_string().contains("gate")).then_some(())
    });
}

#[test]
fn messages_stamped_beyond_the_future_skew_are_refused_whole_and_counted() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day = 86_400_000;
    let refused: Vec<(&str, Vec<u8>, u64)> = vec![
        (
            "acs/fut/telemetry",
            br#"{"ts": "9999-12-31T23:59:59Z", "t": 1}"#.to_vec(),
            1,
        ),
        (
            "acs/fut/telemetry",
            format!(r#"{{"ts": {}, "t": 2}}"#, i64::MAX).into_bytes(),
            1,
        ),
        // Partly in the future: nothing of the message is stored.
        (
            "acs/fut/telemetry",
            json!([{"ts": now, "t": 3, "h": 3}, {"ts": now + 2 * day, "t": 4}])
                .to_string()
                .into_bytes(),
            3,
        ),
        (
            "acs/fut/frame",
            acs_edge::ingest::frame::encode_frame(9, 1, 253_402_300_799_000, &[("t", 5.0)]),
            1,
        ),
    ];
    for (topic, payload, _) in &refused {
        publisher.publish(topic, payload.clone());
    }
    // Beyond i64: malformed, not a panic.
    publisher.publish(
        "acs/fut/telemetry",
        r#"{"ts": 18446744073709551615, "t": 6}"#,
    );
    // Within the skew (clocks drift) and in the past: stored.
    publisher.publish(
        "acs/fut/telemetry",
        json!({"ts": now + 3_600_000, "t": 7}).to_string(),
    );
    publisher.publish(
        "acs/fut/telemetry",
        json!({"ts": now - day, "t": 8}).to_string(),
    );
    publisher.wait_acked(refused.len() as u64 + 3);

    let stored = readings_of(&daemon, "fut", 2);
    let health = wait_until("the refusals counted", patience(), || {
        let h = daemon.health();
        (h["ingest"]["rejected_future_ts"].as_u64() == Some(refused.iter().map(|r| r.2).sum()))
            .then_some(h)
    });
    let values: Vec<f64> = daemon
        .all_readings("fut")
        .iter()
        .map(|r| r["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [8.0, 7.0], "{stored:?}");
    assert_eq!(health["mqtt"]["malformed"]["json"], 1, "{health}");
    assert!(daemon.log().contains("max_future_skew_s"));
}

/// A telemetry payload of about `bytes` bytes (valid JSON, so only its size is wrong).
fn padded_payload(bytes: usize) -> Vec<u8> {
    format!("{{\"t\": 1, \"pad\": \"{}\"}}", "x".repeat(bytes)).into_bytes()
}

#[test]
fn oversize_messages_at_every_qos_are_acked_and_dropped_without_a_reconnect_or_stalled_ingest() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    let levels = [
        rumqttc::QoS::AtMostOnce,
        rumqttc::QoS::AtLeastOnce,
        rumqttc::QoS::ExactlyOnce,
    ];
    let idle_rss = daemon.rss_kib();
    let mut max_rss = idle_rss;
    // 200 KiB: above max_payload_kb (64), within the daemon's read limit (256 KiB), so read,
    // acknowledged and counted. 3 MiB: above the Maximum Packet Size the daemon announces in its
    // MQTT 5 CONNECT, so the broker keeps it from the daemon (over MQTT 3.1.1 it would arrive
    // and, above the read limit, drop the connection before the acknowledgement).
    for (round, size) in [200 << 10, 3 << 20].into_iter().enumerate() {
        for (i, qos) in levels.into_iter().enumerate() {
            publisher
                .client
                .publish("acs/x/telemetry", qos, false, padded_payload(size))
                .unwrap();
            let n = round * levels.len() + i;
            publisher.publish(
                &format!("acs/after{n}/telemetry"),
                format!("{{\"ts\": 1767225600000, \"n\": {n}}}"),
            );
            readings_of(&daemon, &format!("after{n}"), 1);
            max_rss = max_rss.max(daemon.rss_kib());
        }
    }
    let mqtt = daemon.health()["mqtt"].clone();
    assert_eq!(mqtt["connects"], 1, "the daemon reconnected: {mqtt}");
    assert_eq!(
        mqtt["malformed"]["too_large"], 3,
        "the 200 KiB messages are read and counted: {mqtt}"
    );
    // The readings after them and the 200 KiB messages: the broker honoured the Maximum Packet
    // Size, which only MQTT 5 has, and sent none of the 3 MiB ones.
    assert_eq!(mqtt["messages"], 9, "{mqtt}");
    assert!(daemon.all_readings("x").is_empty());
    assert!(daemon.log().contains("exceeds mqtt.max_payload_kb"));
    // The budget is 16 MiB under any one misbehaving client, for a release build that idles
    // at about 6 MiB (README, benchmarks); a debug build with every feature idles at 20-35 MiB,
    // so what the messages add is what it can show. A release build is held to the budget.
    assert!(
        max_rss - idle_rss < 4 * 1024,
        "the messages took the daemon's RSS from {idle_rss} to {max_rss} KiB"
    );
    if !cfg!(debug_assertions) && std::env::var_os("ACS_EDGE_WRAPPER").is_none() {
        assert!(
            max_rss < 16 * 1024,
            "the daemon's RSS reached {max_rss} KiB"
        );
    }
}

#[test]
fn malformed_messages_at_qos_1_and_2_are_acked_and_not_redelivered_after_a_restart() {
    let broker = Broker::start();
    let mut daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    let bad: [(&str, &[u8]); 3] = [
        ("acs/bad/telemetry", b"not json"),
        ("acs/bad/telemetry", b"{\"t\": \"warm\"}"),
        ("acs/bad/frame", &[1, 0, 0, 0]),
    ];
    for qos in [rumqttc::QoS::AtLeastOnce, rumqttc::QoS::ExactlyOnce] {
        for (topic, payload) in bad {
            publisher
                .client
                .publish(topic, qos, false, payload.to_vec())
                .unwrap();
        }
    }
    wait_until("the malformed messages to be counted", patience(), || {
        let m = daemon.health()["mqtt"]["malformed"].clone();
        (m["json"] == 4 && m["frame"] == 2).then_some(())
    });
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    // Queued in the daemon's persistent session while it is down.
    publisher.publish("acs/queued/telemetry", r#"{"t": 1}"#);
    publisher.wait_acked(1);
    daemon.spawn();
    readings_of(&daemon, "queued", 1);
    let mqtt = daemon.health()["mqtt"].clone();
    assert_eq!(mqtt["messages"], 1, "only the queued reading came: {mqtt}");
    assert_eq!(mqtt["malformed"]["json"], 0, "{mqtt}");
    assert_eq!(mqtt["malformed"]["frame"], 0, "{mqtt}");
}

#[test]
fn a_message_over_a_registry_cap_is_refused_whole_counted_and_logged() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.store_options = "\toption max_metrics '10'\n\toption max_devices '2'\n".into();
    let daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/a/telemetry", r#"{"m0": 0, "m1": 1, "m2": 2, "m3": 3}"#);
    readings_of(&daemon, "a", 4);

    // 4 metrics are known and 6 more fit: a message with 20 new ones is refused whole.
    let wide: Vec<String> = (0..24).map(|i| format!("\"m{i}\": {i}")).collect();
    publisher.publish("acs/a/telemetry", format!("{{{}}}", wide.join(", ")));
    // A device over max_devices: its whole message goes too.
    publisher.publish("acs/b/telemetry", r#"{"m0": 0}"#);
    publisher.publish("acs/c/telemetry", r#"{"m0": 0, "m1": 1}"#);
    // What fits still flows after them.
    publisher.publish("acs/a/telemetry", r#"{"m0": 10, "m9": 19}"#);
    readings_of(&daemon, "a", 6);
    let ingest = wait_until("the refusals to be counted", patience(), || {
        let ingest = daemon.health()["ingest"].clone();
        (ingest["rejected_device_cap"] == 2).then_some(ingest)
    });
    assert_eq!(ingest["rejected_metric_cap"], 24, "{ingest}");
    let a = daemon.all_readings("a");
    assert_eq!(a.len(), 6, "nothing of the wide message is stored: {a:?}");
    assert!(daemon.all_readings("c").is_empty());
    let log = daemon.log();
    assert!(
        log.contains("device=a readings=24 refused whole"),
        "the metric cap is logged: {log}"
    );
    assert!(
        log.contains("device=c readings=2 refused: store.max_devices (2)"),
        "the device cap is logged: {log}"
    );
}
