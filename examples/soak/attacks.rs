//! The attack clients the soak runs in turns, each until its deadline: the findings of the
//! hardening suite, on loopback only, with bounded loops. Each returns a one-line outcome.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

pub struct Target {
    pub api: u16,
    pub broker: u16,
    /// An API token, for the attacks an authenticated client makes.
    pub token: String,
    pub until: Instant,
}

type Attack = fn(&Target) -> String;

pub const ALL: &[(&str, Attack)] = &[
    ("websocket-flood", websocket_flood),
    ("idle-connections", idle_connections),
    ("http2-lines-held", http2_lines_held),
    ("upgrade-with-body", upgrade_with_body),
    ("slowloris", slowloris),
    ("mqtt-poison", mqtt_poison),
    ("login-guessing", login_guessing),
    ("oversize-bodies", oversize_bodies),
];

fn connect(t: &Target) -> Option<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", t.api)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    Some(s)
}

/// An authenticated WebSocket client that sends subscriptions nonstop and never reads.
fn websocket_flood(t: &Target) -> String {
    let mut sessions = 0;
    let mut sent = 0u64;
    while Instant::now() < t.until {
        let Some(stream) = connect(t) else { break };
        let url = format!(
            "ws://127.0.0.1:{}/api/v1/ws?access_token={}",
            t.api, t.token
        );
        let Ok((mut ws, _)) = tungstenite::client(url.as_str(), stream) else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        sessions += 1;
        std::thread::sleep(Duration::from_millis(50));
        let message = r#"{"subscribe":{"devices":["a","b"],"metrics":["t"]}}"#;
        while Instant::now() < t.until {
            if ws.send(tungstenite::Message::text(message)).is_err() {
                break;
            }
            sent += 1;
        }
    }
    format!("{sessions} sessions, {sent} messages")
}

/// 200 connections that send nothing, held until the deadline.
fn idle_connections(t: &Target) -> String {
    let held: Vec<TcpStream> = (0..200).filter_map(|_| connect(t)).collect();
    let n = held.len();
    std::thread::sleep(t.until.saturating_duration_since(Instant::now()));
    format!("{n} held")
}

/// `n` connections that each send `raw` and keep the connection open; then how many of them
/// got a response starting with `expect`.
fn send_held(t: &Target, n: usize, raw: &[u8], expect: &[u8]) -> usize {
    let held: Vec<TcpStream> = (0..n)
        .filter_map(|_| {
            let mut s = connect(t)?;
            s.write_all(raw).ok()?;
            Some(s)
        })
        .collect();
    held.into_iter()
        .filter(|mut s| {
            let mut head = vec![0u8; expect.len()];
            s.read_exact(&mut head).is_ok() && head == expect
        })
        .count()
}

/// 16 connections at a time that send an HTTP/2.0 request line and hold.
fn http2_lines_held(t: &Target) -> String {
    let mut answered = 0;
    while Instant::now() < t.until {
        let raw = b"GET /api/v1/health HTTP/2.0\r\nHost: x\r\n\r\n";
        answered += send_held(t, 16, raw, b"HTTP/1.1 505");
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("{answered} answered 505")
}

/// Logins with `Connection: Upgrade` and a body, held open.
fn upgrade_with_body(t: &Target) -> String {
    let body = r#"{"username":"nobody","password":"wrong"}"#;
    let raw = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut answered = 0;
    while Instant::now() < t.until {
        answered += send_held(t, 2, raw.as_bytes(), b"HTTP/1.1 ");
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("{answered} answered")
}

/// 8 connections dribbling a header one byte a second.
fn slowloris(t: &Target) -> String {
    let mut cut = 0;
    let mut conns: Vec<TcpStream> = Vec::new();
    while Instant::now() < t.until {
        while conns.len() < 8 {
            match connect(t) {
                Some(s) => conns.push(s),
                None => break,
            }
        }
        let before = conns.len();
        conns.retain_mut(|s| s.write_all(b"X").is_ok());
        cut += before - conns.len();
        std::thread::sleep(Duration::from_secs(1));
    }
    format!("{cut} cut by the server")
}

/// Oversize (300 KiB) and malformed QoS 1 messages on a persistent session.
fn mqtt_poison(t: &Target) -> String {
    let (client, mut connection) = super::harness::connect(t.broker, "soak-poison", false);
    let driver = std::thread::spawn(move || {
        for event in connection.iter() {
            if event.is_err() {
                break;
            }
        }
    });
    let mut sent = 0;
    while Instant::now() < t.until {
        let big = vec![b'{'; 300 * 1024];
        let qos = rumqttc::QoS::AtLeastOnce;
        let _ = client.publish("acs/poison/telemetry", qos, false, big);
        let _ = client.publish("acs/poison/telemetry", qos, false, "{not json");
        let _ = client.publish("acs/poison/frame", qos, false, vec![0xff; 64]);
        sent += 3;
        std::thread::sleep(Duration::from_secs(2));
    }
    let _ = client.disconnect();
    let _ = driver.join();
    format!("{sent} poison messages")
}

/// Wrong-password logins from one address, back to back.
fn login_guessing(t: &Target) -> String {
    let body = r#"{"username":"admin","password":"guess"}"#;
    let raw = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut tries = 0;
    while Instant::now() < t.until {
        let Some(mut s) = connect(t) else { break };
        if s.write_all(raw.as_bytes()).is_ok() {
            let mut head = [0u8; 12];
            let _ = s.read_exact(&mut head);
            tries += 1;
        }
    }
    format!("{tries} guesses")
}

/// Declared bodies far above the limit, and one pipelined after a valid request.
fn oversize_bodies(t: &Target) -> String {
    let mut refused = 0;
    while Instant::now() < t.until {
        let Some(mut s) = connect(t) else { break };
        let raw = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n\
                   POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000000\r\n\r\n";
        if s.write_all(raw.as_bytes()).is_ok() {
            let mut all = Vec::new();
            let _ = s.read_to_end(&mut all);
            if String::from_utf8_lossy(&all).contains("HTTP/1.1 413") {
                refused += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("{refused} refused 413")
}
