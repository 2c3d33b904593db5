//! The HTTP layer's limits, proven over real sockets with a raw std `TcpStream` client: first
//! against the server alone (a test handler), then against the real daemon (the attacks a LAN
//! client can make).

use crate::common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use acs_edge::api::{
    json_response, read_body_capped, ClientInfo, Handler, HttpServer, Limits, Reply, Request,
};
use serde_json::{json, Value};

const TIMEOUT: Duration = Duration::from_millis(600);
const MAX_BODY: usize = 4096;
const MAX_HEADER: usize = 2048;
const MAX_CONN: usize = 3;
const WORKERS: usize = 2;

struct Fixture {
    server: HttpServer,
    /// Largest body a handler ever got.
    max_seen: Arc<AtomicUsize>,
}

fn limits() -> Limits {
    Limits {
        max_connections: MAX_CONN,
        request_timeout: TIMEOUT,
        max_body_bytes: MAX_BODY,
        max_header_bytes: MAX_HEADER,
        max_connection_lifetime: Duration::from_secs(30),
        workers: WORKERS,
    }
}

/// Echoes the peer address and the body length; `/panic` panics.
fn start() -> Fixture {
    start_with(limits())
}

fn start_with(limits: Limits) -> Fixture {
    let max_seen = Arc::new(AtomicUsize::new(0));
    let seen = max_seen.clone();
    let handler: Handler = Arc::new(move |req: &mut Request, info: &ClientInfo| {
        if req.url() == "/panic" {
            panic!("handler bug at /some/secret/path");
        }
        match read_body_capped(req, MAX_BODY) {
            Ok(body) => {
                seen.fetch_max(body.len(), Ordering::SeqCst);
                json_response(
                    200,
                    &json!({"peer": info.peer.to_string(), "len": body.len(), "url": req.url()}),
                )
                .into()
            }
            Err(e) => Reply::from(e),
        }
    });
    let server = HttpServer::start("127.0.0.1:0".parse().unwrap(), limits, handler).unwrap();
    Fixture { server, max_seen }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response (Content-Length framed, as every response here is).
fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<Resp> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(ErrorKind::InvalidData)?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').ok_or(ErrorKind::InvalidData)?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Resp {
        status,
        headers,
        body,
    })
}

fn request(r: &mut BufReader<TcpStream>, raw: &[u8]) -> Resp {
    r.get_mut().write_all(raw).unwrap();
    read_response(r).unwrap()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").into_bytes()
}

fn post(body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

/// One GET on a fresh connection.
fn get_once(addr: SocketAddr) -> Resp {
    let mut r = BufReader::new(connect(addr));
    request(&mut r, &get("/once"))
}

/// Reads (and returns) whatever arrives until the server closes; None if still open at `limit`.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Option<(Duration, Vec<u8>)> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some((start.elapsed(), got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some((start.elapsed(), got)),
        }
    }
    None
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn get_returns_json_and_handler_sees_the_real_client_address() {
    let f = start();
    let stream = connect(f.server.local_addr());
    let me = stream.local_addr().unwrap();
    let mut r = BufReader::new(stream);
    let resp = request(&mut r, &get("/hello?x=1"));
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    let v = resp.json();
    assert_eq!(v["peer"], me.to_string());
    assert_eq!(v["url"], "/hello?x=1");
    f.server.shutdown();
}

#[test]
fn keep_alive_serves_several_requests_and_pipelining_on_one_connection() {
    let f = start();
    let mut r = BufReader::new(connect(f.server.local_addr()));
    for i in 0..5 {
        let resp = request(&mut r, &post(&vec![b'x'; i * 100]));
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json()["len"], i * 100);
    }
    // Two requests in one write: both are framed and answered in order.
    let mut both = post(b"12345");
    both.extend(get("/second"));
    r.get_mut().write_all(&both).unwrap();
    assert_eq!(read_response(&mut r).unwrap().json()["len"], 5);
    assert_eq!(read_response(&mut r).unwrap().json()["url"], "/second");
    assert_eq!(f.server.stats().accepted, 1);
    f.server.shutdown();
}

#[test]
fn an_idle_connection_is_closed_to_make_room_for_a_new_one() {
    let f = start();
    let addr = f.server.local_addr();
    let mut open: Vec<_> = (0..MAX_CONN)
        .map(|_| {
            let mut r = BufReader::new(connect(addr));
            assert_eq!(request(&mut r, &get("/hold")).status, 200);
            r
        })
        .collect();
    assert_eq!(f.server.stats().active, MAX_CONN);

    // Every slot is idle (waiting for a next request): the one idle longest makes room.
    let mut extra = BufReader::new(connect(addr));
    assert_eq!(request(&mut extra, &get("/extra")).status, 200);
    assert_eq!(f.server.stats().evicted_idle, 1);
    assert_eq!(f.server.stats().rejected_overload, 0);
    let mut byte = [0u8; 1];
    let first = open.remove(0);
    assert_eq!(
        first.get_ref().peek(&mut byte).unwrap(),
        0,
        "the oldest was closed"
    );
    for r in &mut open {
        assert_eq!(request(r, &get("/still")).status, 200);
    }
    f.server.shutdown();
}

#[test]
fn connections_beyond_max_busy_ones_get_503_json_and_slots_come_back() {
    // Long enough for the busy requests to outlive the rest of the test.
    let f = start_with(Limits {
        request_timeout: Duration::from_secs(5),
        ..limits()
    });
    let addr = f.server.local_addr();
    // Each admitted connection is busy: in the middle of sending a request head.
    let busy: Vec<_> = (0..MAX_CONN)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    wait_until("every slot taken", Duration::from_secs(5), || {
        f.server.stats().active == MAX_CONN
    });

    let mut extra = BufReader::new(connect(addr));
    extra.get_mut().write_all(&get("/extra")).unwrap();
    let resp = read_response(&mut extra).expect("a 503, not a reset");
    assert_eq!(resp.status, 503);
    assert_eq!(resp.header("Connection"), Some("close"));
    assert_eq!(resp.header("Retry-After"), Some("1"));
    assert_eq!(resp.json()["error"]["code"], "overloaded");
    assert_eq!(f.server.stats().rejected_overload, 1);

    // The busy connections finish their requests unaffected.
    for s in busy {
        let mut r = BufReader::new(s);
        r.get_mut().write_all(b"\r\n").unwrap();
        assert_eq!(read_response(&mut r).unwrap().status, 200);
    }
    wait_until("slots to be released", Duration::from_secs(5), || {
        f.server.stats().active == 0
    });
    for _ in 0..MAX_CONN + 1 {
        assert_eq!(get_once(addr).status, 200);
    }
    f.server.shutdown();
}

#[test]
fn bursts_of_new_connections_are_served_while_earlier_keep_alive_connections_stay_open() {
    // tiny_http gives each connection a thread for its whole life. Its pool used to queue a
    // connection for a thread it thought idle but had already promised to another connection
    // of the same burst; the queued one then waited until some connection closed, which
    // here is never: every connection stays open, and the idle timeout is beyond the test.
    const BURST: usize = 8;
    const ROUNDS: usize = 10;
    let f = start_with(Limits {
        max_connections: BURST * ROUNDS,
        request_timeout: Duration::from_secs(120),
        max_connection_lifetime: Duration::from_secs(300),
        ..limits()
    });
    let addr = f.server.local_addr();
    let mut held = Vec::new();
    for round in 0..ROUNDS {
        let start = Arc::new(std::sync::Barrier::new(BURST));
        let clients: Vec<_> = (0..BURST)
            .map(|_| {
                let start = start.clone();
                thread::spawn(move || {
                    start.wait();
                    let mut r = BufReader::new(connect(addr));
                    r.get_mut().write_all(&get("/burst")).unwrap();
                    read_response(&mut r).map(|resp| (resp.status, r))
                })
            })
            .collect();
        for client in clients {
            match client.join().unwrap() {
                Ok((status, r)) => {
                    assert_eq!(status, 200);
                    held.push(r);
                }
                Err(e) => panic!(
                    "round {round}: a new connection got no answer while the others stayed \
                     open ({} from earlier rounds): {e}",
                    held.len()
                ),
            }
        }
    }
    assert_eq!(f.server.stats().active, BURST * ROUNDS);
    for r in &mut held {
        assert_eq!(request(r, &get("/again")).status, 200);
    }
    f.server.shutdown();
}

#[test]
fn slowloris_header_dribble_is_cut_within_a_few_request_timeouts() {
    let f = start();
    let mut s = connect(f.server.local_addr());
    s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
    let start = Instant::now();
    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let dribble = b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut got = Vec::new();
    let mut closed = None;
    // One byte every third of the timeout: never idle for a whole timeout.
    for b in dribble.iter().cycle() {
        if start.elapsed() > TIMEOUT * 5 {
            break;
        }
        if s.write_all(std::slice::from_ref(b)).is_err() {
            closed = Some(start.elapsed());
            break;
        }
        thread::sleep(TIMEOUT / 3);
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => {
                closed = Some(start.elapsed());
                break;
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                closed = Some(start.elapsed());
                break;
            }
        }
    }
    let closed = closed.expect("slowloris connection still open after 5 timeouts");
    assert!(closed >= TIMEOUT / 2, "cut too early: {closed:?}");
    if !got.is_empty() {
        assert!(
            got.starts_with(b"HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
    assert_eq!(f.server.stats().timed_out, 1);
    assert_eq!(get_once(f.server.local_addr()).status, 200);
    f.server.shutdown();
}

#[test]
fn idle_keep_alive_connection_is_closed_after_request_timeout() {
    let f = start();
    let mut r = BufReader::new(connect(f.server.local_addr()));
    assert_eq!(request(&mut r, &get("/once")).status, 200);
    let (after, got) =
        read_until_closed(r.get_mut(), TIMEOUT * 5).expect("idle connection never closed");
    assert!(after >= TIMEOUT / 2, "closed too early: {after:?}");
    assert!(got.is_empty(), "no response is owed to an idle connection");
    f.server.shutdown();
}

#[test]
fn body_larger_than_max_body_gets_413_and_never_reaches_the_handler() {
    let f = start();
    let addr = f.server.local_addr();

    // Declared too large, body actually sent.
    let mut s = connect(addr);
    let mut raw = post(&vec![b'b'; MAX_BODY * 3]);
    // The server may close while we are still writing: that is fine.
    let _ = s.write_all(&raw);
    let mut r = BufReader::new(s);
    match read_response(&mut r) {
        Ok(resp) => {
            assert_eq!(resp.status, 413);
            assert_eq!(resp.json()["error"]["code"], "payload_too_large");
        }
        Err(e) => assert_ne!(e.kind(), ErrorKind::WouldBlock, "neither 413 nor closed"),
    }

    drop(r);

    // A declared length that would make tiny_http allocate gigabytes.
    {
        let mut r = BufReader::new(connect(addr));
        raw = b"POST /echo HTTP/1.1\r\nContent-Length: 4000000000\r\n\r\nxx".to_vec();
        assert_eq!(request(&mut r, &raw).status, 413);
    }

    // A body without a declared length (chunked) is refused.
    {
        let mut r = BufReader::new(connect(addr));
        raw = b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            .to_vec();
        assert_eq!(request(&mut r, &raw).status, 411);
    }

    // Exactly at the limit is fine.
    wait_until("slots to be released", Duration::from_secs(5), || {
        f.server.stats().active == 0
    });
    let mut r = BufReader::new(connect(addr));
    let resp = request(&mut r, &post(&vec![b'b'; MAX_BODY]));
    assert_eq!(resp.json()["len"], MAX_BODY);

    assert!(f.max_seen.load(Ordering::SeqCst) <= MAX_BODY);
    assert_eq!(f.server.stats().over_limit, 3);
    f.server.shutdown();
}

#[test]
fn header_flood_over_max_header_bytes_closes_the_connection() {
    let f = start();
    let mut s = connect(f.server.local_addr());
    s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let line = format!("X-Flood: {}\r\n", "f".repeat(100));
    let mut sent = 0;
    while sent < 1024 * 1024 {
        if s.write_all(line.as_bytes()).is_err() {
            break;
        }
        sent += line.len();
    }
    let (_, got) =
        read_until_closed(&mut s, Duration::from_secs(5)).expect("flooding connection still open");
    if !got.is_empty() {
        assert!(
            got.starts_with(b"HTTP/1.1 431"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }
    assert_eq!(f.server.stats().over_limit, 1);
    assert_eq!(get_once(f.server.local_addr()).status, 200);
    f.server.shutdown();
}

#[test]
fn handler_panic_becomes_json_500_and_workers_survive() {
    let f = start();
    let addr = f.server.local_addr();
    // Each request uses a new connection; the guard frees the slot of a closed one shortly
    // after, so each request waits until no connection is open (MAX_CONN is small).
    let settle = || {
        wait_until(
            "closed connections to be released",
            Duration::from_secs(10),
            || f.server.stats().active == 0,
        )
    };
    for _ in 0..WORKERS + 1 {
        settle();
        let resp = get_once_path(addr, "/panic");
        assert_eq!(resp.status, 500);
        let v = resp.json();
        assert_eq!(v["error"]["code"], "internal");
        assert_eq!(v["error"]["message"], "internal error");
        assert!(!String::from_utf8_lossy(&resp.body).contains("/some/secret/path"));
    }
    for _ in 0..WORKERS + 1 {
        settle();
        assert_eq!(get_once(addr).status, 200);
    }
    f.server.shutdown();
}

fn get_once_path(addr: SocketAddr, path: &str) -> Resp {
    let mut r = BufReader::new(connect(addr));
    request(&mut r, &get(path))
}

#[test]
fn server_keeps_serving_after_mixed_abuse() {
    let f = start();
    let addr = f.server.local_addr();
    // Garbage, a half request that is abandoned, a flood of connections opened and dropped.
    let mut g = connect(addr);
    g.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    let mut half = connect(addr);
    half.write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")
        .unwrap();
    drop(half);
    for _ in 0..20 {
        drop(TcpStream::connect(addr).unwrap());
    }
    drop(g);
    // All 22 connections seen by the guard (admitted or refused) and none still open.
    wait_until("connections to drain", Duration::from_secs(10), || {
        let st = f.server.stats();
        st.accepted + st.rejected_overload >= 22 && st.active == 0
    });
    let mut r = BufReader::new(connect(addr));
    for _ in 0..3 {
        assert_eq!(request(&mut r, &post(b"ok")).json()["len"], 2);
    }
    assert!(f.max_seen.load(Ordering::SeqCst) <= MAX_BODY);
    f.server.shutdown();
}

#[test]
fn shutdown_returns_with_connections_open_and_closes_them() {
    let f = start();
    let addr = f.server.local_addr();
    let mut idle = BufReader::new(connect(addr));
    assert_eq!(request(&mut idle, &get("/x")).status, 200);
    let mut midway = connect(addr);
    midway
        .write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 3000\r\n\r\nabc")
        .unwrap();
    thread::sleep(Duration::from_millis(100));

    let (tx, rx) = mpsc::channel();
    let server = f.server;
    thread::spawn(move || {
        server.shutdown();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("shutdown did not return");
    assert!(read_until_closed(idle.get_mut(), Duration::from_secs(5)).is_some());
    assert!(read_until_closed(&mut midway, Duration::from_secs(5)).is_some());
    assert!(TcpStream::connect(addr).is_err() || get_fails(addr));
}

/// After shutdown the port may still accept at the kernel level for a moment; nothing serves it.
fn get_fails(addr: SocketAddr) -> bool {
    let Ok(s) = TcpStream::connect(addr) else {
        return true;
    };
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut r = BufReader::new(s);
    let _ = r.get_mut().write_all(&get("/after"));
    read_response(&mut r).is_err()
}

fn proc_status(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Not a check: prints what an open keep-alive connection costs (run with `--ignored
/// --nocapture`). Linux only.
#[test]
#[ignore]
fn measure_cost_of_open_connections() {
    const N: usize = 30;
    let mut l = limits();
    l.max_connections = N;
    l.request_timeout = Duration::from_secs(30);
    let handler: Handler = Arc::new(|_req: &mut Request, _info: &ClientInfo| {
        json_response(200, &json!({"ok": true})).into()
    });
    let server = HttpServer::start("127.0.0.1:0".parse().unwrap(), l, handler).unwrap();
    // Warm up: one connection, so lazily started threads and allocations exist.
    get_once(server.local_addr());
    thread::sleep(Duration::from_millis(200));
    let (rss0, threads0) = (proc_status("VmRSS:"), proc_status("Threads:"));
    let conns: Vec<_> = (0..N)
        .map(|_| {
            let mut r = BufReader::new(connect(server.local_addr()));
            assert_eq!(request(&mut r, &get("/x")).status, 200);
            r
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let (rss1, threads1) = (proc_status("VmRSS:"), proc_status("Threads:"));
    println!(
        "{N} open connections: +{} KiB RSS ({} KiB each, client sockets included), +{} threads",
        rss1.saturating_sub(rss0),
        rss1.saturating_sub(rss0) / N,
        threads1.saturating_sub(threads0)
    );
    drop(conns);
    server.shutdown();
}

/// Sends `raw` on a fresh connection and reads one response.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Resp {
    let mut r = BufReader::new(connect(addr));
    r.get_mut().write_all(raw).unwrap();
    read_response(&mut r).expect("a response, not a silent close")
}

#[test]
fn http_versions_other_than_1_x_get_a_json_error_and_their_slot_back() {
    let f = start();
    let addr = f.server.local_addr();
    // More connections than slots: each is answered and closed, none is held.
    for _ in 0..MAX_CONN * 3 {
        let resp = exchange(addr, b"GET /api/v1/health HTTP/2.0\r\nHost: t\r\n\r\n");
        assert_eq!(resp.status, 505);
        assert_eq!(resp.json()["error"]["code"], "http_version_not_supported");
        assert_eq!(resp.header("Connection"), Some("close"));
    }
    let resp = exchange(addr, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert_eq!(resp.status, 505);
    // HTTP/0.9 has no version at all.
    let resp = exchange(addr, b"GET /\r\n\r\n");
    assert!(resp.status == 400 || resp.status == 505, "{}", resp.status);
    assert!(resp.json()["error"]["message"].as_str().unwrap().len() > 5);
    wait_until("slots to be released", Duration::from_secs(5), || {
        f.server.stats().active == 0
    });
    assert_eq!(get_once(addr).status, 200);
    f.server.shutdown();
}

#[test]
fn malformed_and_non_ascii_requests_get_a_json_400() {
    let f = start();
    let addr = f.server.local_addr();
    for raw in [
        &b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nH\xc3\xa9ader: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
        b"\x00\x01\x02 garbage\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n12345",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ] {
        let resp = exchange(addr, raw);
        assert_eq!(resp.status, 400, "{}", String::from_utf8_lossy(raw));
        assert_eq!(resp.json()["error"]["code"], "bad_request");
        assert_eq!(resp.header("Connection"), Some("close"));
    }
    // Blank lines before a request line are allowed (RFC 9112 §2.2); a blank stream is not a
    // request and gets a 400 with a body once it passes the head limit.
    let resp = exchange(addr, b"\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(resp.status, 200);
    let resp = exchange(addr, "\r\n".repeat(MAX_HEADER).as_bytes());
    assert_eq!(resp.status, 431);
    assert_eq!(resp.json()["error"]["code"], "header_too_large");
    // Bytes above 0x7f in a header value are opaque data, not an error.
    let resp = exchange(addr, b"GET /v HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\n\r\n");
    assert_eq!(resp.status, 200);
    assert!(f.server.stats().over_limit >= 7);
    f.server.shutdown();
}

#[test]
fn an_absolute_form_target_is_served_as_its_path() {
    let f = start();
    let addr = f.server.local_addr();
    let resp = exchange(
        addr,
        b"GET http://x:8080/api/v1/health?a=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["url"], "/api/v1/health?a=1");
    let resp = exchange(addr, b"GET HTTPS://x HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(resp.json()["url"], "/");
    f.server.shutdown();
}

#[test]
fn a_body_shorter_than_its_content_length_gets_408() {
    let f = start();
    let mut r = BufReader::new(connect(f.server.local_addr()));
    r.get_mut()
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345")
        .unwrap();
    let begun = Instant::now();
    let resp = read_response(&mut r).expect("a 408, not a silent close");
    assert_eq!(resp.status, 408);
    assert_eq!(resp.json()["error"]["code"], "request_timeout");
    assert!(begun.elapsed() < TIMEOUT * 5, "{:?}", begun.elapsed());
    assert_eq!(
        f.max_seen.load(Ordering::SeqCst),
        0,
        "the handler never saw it"
    );
    f.server.shutdown();
}

#[test]
fn a_request_pipelined_before_a_refused_one_is_answered_first_and_once() {
    let f = start();
    let addr = f.server.local_addr();
    for refused in [
        "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 999999\r\n\r\n",
        "POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ] {
        let mut r = BufReader::new(connect(addr));
        let mut both = b"PATCH /first HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}".to_vec();
        both.extend_from_slice(refused.as_bytes());
        r.get_mut().write_all(&both).unwrap();
        let first = read_response(&mut r).unwrap();
        assert_eq!(first.status, 200, "the PATCH is answered first");
        assert_eq!(first.json()["url"], "/first");
        let second = read_response(&mut r).unwrap();
        assert!(second.status == 413 || second.status == 411, "{}", second.status);
        assert_eq!(second.header("Connection"), Some("close"));
        let mut rest = Vec::new();
        let _ = r.read_to_end(&mut rest);
        assert!(rest.is_empty(), "nothing after the refusal");
    }
    f.server.shutdown();
}

#[test]
fn an_upgrade_request_with_a_body_is_answered_like_any_other() {
    let f = start();
    let addr = f.server.local_addr();
    // Held open after sending: the answer must not wait for more bytes.
    let mut r = BufReader::new(connect(addr));
    r.get_mut()
        .write_all(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n\
              Upgrade: websocket\r\nContent-Length: 4\r\n\r\nabcd",
        )
        .unwrap();
    let resp = read_response(&mut r).unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["len"], 4);
    assert_eq!(get_once(addr).status, 200);
    f.server.shutdown();
}

#[test]
fn hundreds_of_idle_connections_leave_room_for_a_real_client() {
    let f = start();
    let addr = f.server.local_addr();
    let idle: Vec<TcpStream> = (0..200).map(|_| connect(addr)).collect();
    // A real client still gets its answer: an idle connection makes room for it.
    assert_eq!(get_once(addr).status, 200);
    wait_until("the idle crowd thinned", Duration::from_secs(5), || {
        f.server.stats().active <= MAX_CONN
    });
    // Every idle connection was either closed (never reset: it sent nothing) or still holds a
    // slot; none got anything but a clean close or a 503.
    let mut closed = 0;
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => closed += 1,
            Ok(n) => assert!(
                String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 503"),
                "{}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                "{e}"
            ),
        }
    }
    assert!(closed >= 200 - MAX_CONN - 1, "{closed} closed");
    f.server.shutdown();
}

// ---------------------------------------------------------------------------------------------
// The real daemon under the attacks a LAN client can make.
// ---------------------------------------------------------------------------------------------

/// The TCP ports process `pid` listens on (from /proc: its socket inodes in LISTEN state).
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            if cols.len() > 9 && cols[3] == "0A" && inodes.iter().any(|i| i == cols[9]) {
                let port = cols[1].rsplit(':').next().unwrap();
                ports.push(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports.sort_unstable();
    ports
}

fn daemon() -> (common::Broker, common::Daemon) {
    let broker = common::Broker::start();
    let mut cfg = common::DaemonConfig::new(broker.port);
    cfg.api_options = "\toption request_timeout_s '2'\n".into();
    let daemon = common::Daemon::start(&cfg);
    (broker, daemon)
}

fn daemon_addr(d: &common::Daemon) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], d.api_port))
}

/// A health request on a fresh connection gets its 200 within `within` (retrying after a
/// 503 or a closed connection).
fn health_answers_within(d: &common::Daemon, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let mut s = TcpStream::connect(daemon_addr(d)).unwrap();
        s.set_read_timeout(Some(deadline - Instant::now())).unwrap();
        if s.write_all(&get("/api/v1/health")).is_ok() {
            let mut r = BufReader::new(s);
            if matches!(read_response(&mut r), Ok(resp) if resp.status == 200) {
                return true;
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn the_daemon_listens_on_its_api_port_and_nowhere_else() {
    let (_broker, d) = daemon();
    assert_eq!(listening_ports(d.pid()), vec![d.api_port]);
    // A body size that no allocator can serve is refused up front, and the daemon stays up.
    let resp = exchange(
        daemon_addr(&d),
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000000\r\n\r\n",
    );
    assert_eq!(resp.status, 413);
    assert!(health_answers_within(&d, Duration::from_secs(5)));
}

#[test]
fn http2_request_lines_held_open_do_not_lock_other_clients_out() {
    let (_broker, d) = daemon();
    let held: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut s = TcpStream::connect(daemon_addr(&d)).unwrap();
            s.write_all(b"GET /api/v1/health HTTP/2.0\r\nHost: t\r\n\r\n")
                .unwrap();
            s
        })
        .collect();
    assert!(health_answers_within(&d, Duration::from_secs(5)));
    // Each of them was answered with a 505 and closed.
    for s in held {
        let mut r = BufReader::new(s);
        r.get_mut()
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(read_response(&mut r).unwrap().status, 505);
    }
}

#[test]
fn logins_sent_with_an_upgrade_header_and_a_body_do_not_hang_the_api() {
    let (_broker, d) = daemon();
    let body = format!(
        r#"{{"username":"{}","password":"wrong password"}}"#,
        common::TEST_USER
    );
    let raw = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let held: Vec<BufReader<TcpStream>> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(daemon_addr(&d)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(raw.as_bytes()).unwrap();
            BufReader::new(s)
        })
        .collect();
    for mut r in held {
        // 401, or 429 while another login is being checked: an answer, either way.
        let status = read_response(&mut r).unwrap().status;
        assert!(status == 401 || status == 429, "{status}");
    }
    assert!(health_answers_within(&d, Duration::from_secs(5)));
}

#[test]
fn a_login_pipelined_before_an_oversize_request_is_executed_and_answered_first() {
    let (_broker, d) = daemon();
    let body = format!(
        r#"{{"username":"{}","password":"{}"}}"#,
        common::TEST_USER,
        common::TEST_PASSWORD
    );
    let raw = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}\
         POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: 999999\r\n\r\n",
        body.len()
    );
    let mut r = BufReader::new(connect(daemon_addr(&d)));
    r.get_mut().write_all(raw.as_bytes()).unwrap();
    let first = read_response(&mut r).unwrap();
    assert_eq!(first.status, 200);
    assert!(first.json()["token"].is_string());
    assert_eq!(read_response(&mut r).unwrap().status, 413);
}

#[test]
fn a_request_body_that_stops_short_gets_a_408() {
    let (_broker, d) = daemon();
    let mut r = BufReader::new(connect(daemon_addr(&d)));
    r.get_mut()
        .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n{")
        .unwrap();
    let resp = read_response(&mut r).expect("a 408, not a silent close");
    assert_eq!(resp.status, 408);
}

#[test]
fn two_hundred_idle_connections_do_not_keep_a_real_client_out() {
    let (_broker, d) = daemon();
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(daemon_addr(&d)).unwrap())
        .collect();
    // At once, at the first attempt: an idle connection makes room.
    let resp = exchange(daemon_addr(&d), &get("/api/v1/health"));
    assert_eq!(resp.status, 200);
    drop(idle);
}

#[test]
fn odd_request_lines_get_a_json_error_and_absolute_form_targets_are_served() {
    let (_broker, d) = daemon();
    let addr = daemon_addr(&d);
    for raw in [
        &b"GET /api/v1/h\xc3\xa9alth HTTP/1.1\r\nHost: t\r\n\r\n"[..],
        b"GET /api/v1/health HTTP/1.1\r\nH\xc3\xa9: x\r\n\r\n",
        b"GET /api/v1/health\r\n\r\n",
    ] {
        let resp = exchange(addr, raw);
        assert!(resp.status == 400 || resp.status == 505, "{}", resp.status);
        let code = resp.json()["error"]["code"].as_str().unwrap().to_owned();
        assert!(!code.is_empty(), "{}", String::from_utf8_lossy(raw));
    }
    let resp = exchange(
        addr,
        b"GET http://router.lan:8080/api/v1/health HTTP/1.1\r\nHost: router.lan\r\n\r\n",
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["status"], "ok");
}
