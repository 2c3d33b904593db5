//! WebSocket live events end to end: a real mosquitto, the real daemon, a tungstenite client
//! through the daemon's connection guard.

use crate::common;

use common::*;
use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

struct Ws(WebSocket<TcpStream>);

impl Ws {
    /// A client authenticated with the daemon's token in the `Authorization` header.
    fn connect(daemon: &Daemon) -> Result<Ws, tungstenite::Error> {
        Ws::connect_with(daemon, daemon.token.as_deref())
    }

    fn connect_with(daemon: &Daemon, token: Option<&str>) -> Result<Ws, tungstenite::Error> {
        use tungstenite::client::IntoClientRequest;
        let stream = TcpStream::connect(("127.0.0.1", daemon.api_port)).unwrap();
        let url = format!("ws://127.0.0.1:{}/api/v1/ws", daemon.api_port);
        let mut request = url.into_client_request()?;
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().unwrap();
            request.headers_mut().insert("Authorization", value);
        }
        let (socket, response) =
            tungstenite::client::client(request, stream).map_err(|e| match e {
                tungstenite::HandshakeError::Failure(e) => e,
                tungstenite::HandshakeError::Interrupted(_) => panic!("handshake interrupted"),
            })?;
        assert_eq!(response.status(), 101);
        socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Ok(Ws(socket))
    }

    /// The next event, or `None` when nothing came within `within`.
    fn next(&mut self, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            match self.0.read() {
                Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("websocket: {e}"),
            }
        }
        None
    }

    /// Reads events until one matches; returns every event read, the match last.
    fn until(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + patience();
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Some(event) = self.next(Duration::from_millis(200)) {
                let done = matches(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
        }
        panic!("timed out waiting for {what}; got {seen:?}");
    }

    fn send(&mut self, message: Value) {
        self.0.send(Message::text(message.to_string())).unwrap();
    }
}

fn is(event: &Value, name: &str) -> bool {
    event["event"] == name
}

#[test]
fn a_client_receives_live_readings_status_changes_and_rule_triggers() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let rule = json!({"name": "too hot",
        "trigger": {"kind": "threshold", "device": "dev1", "metric": "temperature", "op": ">", "value": 30},
        "action": {"kind": "mqtt_publish", "topic": "alerts/{device}", "payload": "{value}"}});
    let (status, rule) = daemon.send("POST", "/api/v1/automation/rules", Some(&rule));
    assert_eq!(status, 201);
    let mut ws = Ws::connect(&daemon).unwrap();
    let publisher = Publisher::connect(broker.port);

    publisher.publish("acs/dev1/status", "online");
    let seen = ws.until("device.status", |e| is(e, "device.status"));
    assert_eq!(
        seen.last().unwrap()["data"],
        json!({"device": "dev1", "online": true, "ts": seen.last().unwrap()["data"]["ts"],
               "source": "status_topic"})
    );

    publisher.publish(
        "acs/dev1/telemetry",
        r#"{"ts": 1767225600123, "temperature": 31}"#,
    );
    let seen = ws.until("automation.trigger", |e| is(e, "automation.trigger"));
    let live = seen
        .iter()
        .find(|e| is(e, "telemetry.live"))
        .expect("telemetry.live first");
    assert_eq!(
        live["data"],
        json!({"device": "dev1", "metric": "temperature", "ts": 1767225600123_i64, "value": 31.0})
    );
    let trigger = &seen.last().unwrap()["data"];
    assert_eq!(trigger["rule"], rule["id"]);
    assert_eq!(trigger["name"], "too hot");
    assert_eq!(trigger["device"], "dev1");
    assert_eq!(trigger["value"], 31.0);
    assert_eq!(trigger["fire_count"], 1);
    assert_eq!(
        trigger["action"],
        json!({"kind": "mqtt_publish", "topic": "alerts/dev1", "queued": true})
    );

    publisher.publish("acs/dev1/status", "offline");
    let seen = ws.until("offline", |e| is(e, "device.status"));
    assert_eq!(seen.last().unwrap()["data"]["online"], false);

    let health = daemon.health();
    assert_eq!(health["ws"]["clients"], 1, "{health}");
    assert!(health["ws"]["events_sent"].as_u64().unwrap() >= 4);
}

#[test]
fn a_subscription_narrows_events_to_its_devices_and_metrics() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let mut ws = Ws::connect(&daemon).unwrap();
    ws.send(json!({"subscribe": {"devices": ["a"], "metrics": ["t"]}}));
    let seen = ws.until("subscribed", |e| is(e, "subscribed"));
    assert_eq!(
        seen.last().unwrap()["data"],
        json!({"devices": ["a"], "metrics": ["t"]})
    );
    ws.send(json!({"subscribe": {"devices": "a"}}));
    let seen = ws.until("an error", |e| is(e, "error"));
    assert_eq!(seen.last().unwrap()["data"]["code"], "bad_request");

    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/b/telemetry", r#"{"t": 1, "h": 1}"#);
    publisher.publish("acs/a/telemetry", r#"{"t": 2, "h": 2}"#);
    publisher.publish("acs/a/telemetry", r#"{"t": 3}"#);
    let seen = ws.until("the last reading", |e| e["data"]["value"] == 3.0);
    let telemetry: Vec<(String, String, f64)> = seen
        .iter()
        .filter(|e| is(e, "telemetry.live"))
        .map(|e| {
            let d = &e["data"];
            (
                d["device"].as_str().unwrap().to_owned(),
                d["metric"].as_str().unwrap().to_owned(),
                d["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        telemetry,
        [("a".into(), "t".into(), 2.0), ("a".into(), "t".into(), 3.0)]
    );
    // Status events are filtered by device too: only a's.
    let statuses: Vec<&Value> = seen.iter().filter(|e| is(e, "device.status")).collect();
    assert!(
        statuses.iter().all(|e| e["data"]["device"] == "a"),
        "{statuses:?}"
    );
}

#[test]
fn a_silent_device_goes_offline_after_the_last_seen_timeout() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.main_options = "\toption offline_after_s '1'\n".into();
    let daemon = Daemon::start(&cfg);
    let mut ws = Ws::connect(&daemon).unwrap();
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/quiet/telemetry", r#"{"t": 1}"#);
    let seen = ws.until("offline", |e| {
        is(e, "device.status") && e["data"]["online"] == false
    });
    let statuses: Vec<(bool, &str)> = seen
        .iter()
        .filter(|e| is(e, "device.status"))
        .map(|e| {
            (
                e["data"]["online"].as_bool().unwrap(),
                e["data"]["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, [(true, "reading"), (false, "last_seen_timeout")]);
}

#[test]
fn a_client_without_a_valid_token_is_refused_before_the_upgrade() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    for token in [None, Some("0123456789abcdef")] {
        match Ws::connect_with(&daemon, token) {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
            Err(e) => panic!("expected a 401, got {e}"),
            Ok(_) => panic!("a client without a valid token was admitted"),
        }
    }
    assert_eq!(daemon.health()["ws"]["accepted"], 0);
    assert!(Ws::connect(&daemon).is_ok());
}

#[test]
fn the_number_of_clients_is_capped() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.api_options = "\toption ws_max_clients '2'\n".into();
    let daemon = Daemon::start(&cfg);
    let first = Ws::connect(&daemon).unwrap();
    let _second = Ws::connect(&daemon).unwrap();
    match Ws::connect(&daemon) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 503),
        Err(e) => panic!("expected a 503, got {e}"),
        Ok(_) => panic!("a third client was admitted"),
    }
    assert_eq!(daemon.health()["ws"]["rejected_full"], 1);
    drop(first);
    wait_until("the slot to be released", patience(), || {
        Ws::connect(&daemon).ok()
    });
    // Plain HTTP on the WebSocket path is refused with the JSON error body.
    let (status, body) = daemon.get("/api/v1/ws");
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
}

#[test]
fn a_client_that_never_reads_is_disconnected_and_counted_without_holding_up_ingest() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.api_options = "\toption request_timeout_s '2'\n".into();
    let daemon = Daemon::start(&cfg);
    // A raw client: completes the handshake, then never reads another byte.
    let mut stuck = TcpStream::connect(("127.0.0.1", daemon.api_port)).unwrap();
    let token = daemon.token.as_deref().unwrap();
    let handshake = format!(
        "GET /api/v1/ws?access_token={token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stuck.write_all(handshake.as_bytes()).unwrap();
    let mut head = [0u8; 12];
    stuck.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    wait_until("the session", patience(), || {
        (daemon.health()["ws"]["clients"] == 1).then_some(())
    });

    // Readings keep flowing until the daemon gives up on the client: its socket buffers fill,
    // then its queue, then it is cut after request_timeout_s without progress.
    let publisher = Publisher::connect(broker.port);
    let per_message = 100;
    let mut sent = 0_i64;
    let deadline = Instant::now() + patience() * 3;
    let health = loop {
        assert!(
            Instant::now() < deadline,
            "the stuck client was never dropped"
        );
        for _ in 0..200 {
            let batch: Vec<Value> = (0..per_message)
                .map(|i| json!({"ts": 1_767_225_600_000_i64 + sent * per_message + i, "t": i}))
                .collect();
            publisher.publish("acs/flood/telemetry", Value::Array(batch).to_string());
            sent += 1;
        }
        publisher.wait_acked(sent as u64);
        let total = (sent * per_message) as u64;
        wait_until("every reading committed", patience(), || {
            (daemon.health()["ingest"]["committed"] == total).then_some(())
        });
        let h = daemon.health();
        if h["ws"]["clients"] == 0 {
            break h;
        }
    };
    assert_eq!(health["ws"]["disconnected_slow"], 1, "{health}");
    assert!(health["ws"]["dropped"].as_u64().unwrap() > 0, "{health}");
    assert_eq!(health["ingest"]["store_errors"], 0);
    // The API is still there for everyone else.
    assert!(Ws::connect(&daemon).is_ok());
}

#[test]
fn readings_the_store_refuses_are_not_published() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.store_options = "\toption max_devices '1'\n".into();
    let daemon = Daemon::start(&cfg);
    let mut ws = Ws::connect(&daemon).unwrap();
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/first/telemetry", r#"{"t": 1}"#);
    publisher.publish("acs/second/telemetry", r#"{"t": 2}"#);
    publisher.publish("acs/first/telemetry", r#"{"t": 3}"#);
    let seen = ws.until("the last reading", |e| e["data"]["value"] == 3.0);
    assert!(
        seen.iter().all(|e| e["data"]["device"] != "second"),
        "a refused device was published: {seen:?}"
    );
    assert_eq!(daemon.health()["ingest"]["rejected_device_cap"], 1);
}

#[test]
fn a_client_that_floods_messages_without_reading_is_cut_off_while_the_api_answers() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let rss_before = daemon.rss_kib();
    let mut ws = Ws::connect(&daemon).unwrap();
    let flooder = std::thread::spawn(move || {
        let message = json!({"subscribe": {"devices": ["a", "b"], "metrics": ["t"]}}).to_string();
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut sent = 0_u64;
        while Instant::now() < deadline {
            if ws.0.send(Message::text(message.clone())).is_err() {
                return (sent, true);
            }
            sent += 1;
        }
        (sent, false)
    });
    let mut slowest = Duration::ZERO;
    while !flooder.is_finished() {
        let asked = Instant::now();
        assert_eq!(daemon.get("/api/v1/health").0, 200);
        slowest = slowest.max(asked.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (sent, cut) = flooder.join().unwrap();
    assert!(
        cut,
        "the flooding client was never disconnected ({sent} messages sent)"
    );
    let health = wait_until("the flood counted", patience(), || {
        let h = daemon.health();
        (h["ws"]["disconnected_flood"] == 1).then_some(h)
    });
    assert_eq!(health["ws"]["clients"], 0, "{health}");
    assert!(
        slowest < Duration::from_secs(2),
        "a REST request took {slowest:?}"
    );
    let grown = daemon.rss_kib().saturating_sub(rss_before);
    assert!(grown < 4 * 1024, "RSS grew by {grown} KiB");
    // Other clients are still served.
    let mut polite = Ws::connect(&daemon).unwrap();
    polite.send(json!({"subscribe": {"devices": ["a"]}}));
    polite.until("the subscription answer", |e| is(e, "subscribed"));
}

/// The upstream link's changes reach every client as `upstream.status`, carrying health's
/// `upstream` object: an outage once (not at every retry), the link coming up, and the link
/// lost with its reason. A real mosquitto plays the cloud broker.
#[test]
fn a_client_hears_the_upstream_link_come_up_and_go_down() {
    let broker = Broker::start();
    let cloud_port = free_port();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = format!(
        "config upstream 'upstream'\n\toption enabled '1'\n\
         \toption url 'mqtt://127.0.0.1:{cloud_port}'\n\toption reconnect_max_s '1'\n"
    );
    let daemon = Daemon::start(&cfg);
    wait_until("the outage in health", patience(), || {
        (daemon.health()["upstream"]["state"] == "backoff").then_some(())
    });
    let mut ws = Ws::connect(&daemon).unwrap();
    // A device filter does not hide events about no device.
    ws.send(json!({"subscribe": {"devices": ["nobody"]}}));
    // The same failure again and again (a retry every second) is no news.
    let quiet_until = Instant::now() + Duration::from_millis(2500);
    while let Some(event) = ws.next(quiet_until.saturating_duration_since(Instant::now())) {
        assert!(!is(&event, "upstream.status"), "a retry announced: {event}");
    }

    let cloud = Broker::start_on(cloud_port);
    let seen = ws.until("the link up", |e| is(e, "upstream.status"));
    let up = &seen.last().unwrap()["data"];
    assert_eq!(up["state"], "connected", "{up}");
    assert_eq!(up["last_error"], Value::Null, "{up}");
    assert_eq!(up["connects"], 1, "{up}");
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(up),
        keys(&daemon.health()["upstream"]),
        "health's object"
    );

    drop(cloud);
    let seen = ws.until("the link lost", |e| is(e, "upstream.status"));
    let down = &seen.last().unwrap()["data"];
    assert_eq!(down["state"], "backoff", "{down}");
    assert!(!down["last_error"].as_str().unwrap().is_empty(), "{down}");
}
