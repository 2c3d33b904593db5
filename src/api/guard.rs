//! The connection guard that sits in front of tiny_http.
//!
//! tiny_http 0.12 spawns a thread per connection without a cap, has no timeouts, no header
//! limit, and (in `EqualReader::drop`) allocates `vec![0; remaining]` for any unread part of a
//! declared body — so a single `Content-Length: 4000000000` request whose body the handler
//! rejects would try to allocate gigabytes. The guard owns the public socket and relays bytes to
//! tiny_http over loopback, and on the way:
//!
//! * caps concurrent connections (excess get a canned `503` JSON and are closed);
//! * times out slow clients: every request (headers and body) must arrive within
//!   `request_timeout` of its first byte, and an idle keep-alive connection is closed after
//!   `request_timeout`; writes to a client that does not read are bounded by the same timeout;
//! * bounds what a client may send: the header block must fit in `max_header_bytes`, a declared
//!   `Content-Length` must not exceed `max_body_bytes`, and `Transfer-Encoding` request bodies
//!   are refused (`411`), so every body has a known, bounded length;
//! * ends connections after `max_connection_lifetime` unless the handler upgraded them.
//!
//! The guard does not parse HTTP for the application — tiny_http does. It only runs a tiny
//! streaming [`Scanner`] over the request bytes that finds where each header block ends and
//! reads the two framing headers (`Content-Length`, `Transfer-Encoding`) with the same rules
//! tiny_http applies, refusing anything ambiguous (several or malformed `Content-Length`s). With
//! the body length known it can tell where the next pipelined request starts, so *every* request
//! on a keep-alive connection is checked, not only the first.
//!
//! All relays run as tasks on one `smol::LocalExecutor` in a single thread, so the guard costs no
//! thread per connection: only two small buffers and a task.

use portable_atomic::AtomicU64;
use std::cell::Cell;
use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smol::future::{self, FutureExt};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, LocalExecutor, Timer};

/// Relay buffer per direction.
const RELAY_BUF: usize = 4096;
/// How long a canned error response may take to write, and how long we keep reading (and
/// discarding) afterwards so that closing does not reset the connection before the client has
/// read the response.
const LINGER: Duration = Duration::from_secs(1);
/// At most this many bytes are read and discarded while lingering.
const LINGER_BYTES: usize = 64 * 1024;
/// At most this many over-capacity connections are answered (503) at the same time; beyond
/// that they are closed at once.
const MAX_REJECTING: usize = 16;
/// Back-off after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------------------------------------
// Scanner: request framing, nothing more.
// ---------------------------------------------------------------------------------------------

/// A fixed `Connection: close` JSON error response, as the guard sends it itself.
pub(crate) fn canned(status: &str, code: &str, message: &str) -> Vec<u8> {
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Why the guard refused a request. Each maps to a canned response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// Header block longer than `max_header_bytes` (431).
    HeaderTooLarge,
    /// Declared `Content-Length` larger than `max_body_bytes` (413).
    BodyTooLarge,
    /// Several or malformed `Content-Length` headers (400).
    BadFraming,
    /// A `Transfer-Encoding` request body (411: send a `Content-Length`).
    LengthRequired,
}

impl Reject {
    fn response(self) -> Vec<u8> {
        match self {
            Reject::HeaderTooLarge => canned(
                "431 Request Header Fields Too Large",
                "header_too_large",
                "request header too large",
            ),
            Reject::BodyTooLarge => canned(
                "413 Payload Too Large",
                "payload_too_large",
                "request body too large",
            ),
            Reject::BadFraming => {
                canned("400 Bad Request", "bad_request", "invalid Content-Length")
            }
            Reject::LengthRequired => canned(
                "411 Length Required",
                "length_required",
                "request body needs a Content-Length",
            ),
        }
    }
}

fn overloaded() -> Vec<u8> {
    canned(
        "503 Service Unavailable",
        "overloaded",
        "too many connections",
    )
}

fn request_timeout() -> Vec<u8> {
    canned(
        "408 Request Timeout",
        "request_timeout",
        "request not received in time",
    )
}

/// Which framing header the current header line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Other,
    ContentLength,
    TransferEncoding,
}

/// Where the scanner is inside one header line (request line excluded).
#[derive(Debug, Clone, Copy)]
enum Line {
    /// Leading whitespace (tiny_http trims the line before parsing it).
    Lead,
    /// Inside the field name; `i` bytes so far; which framing names are still possible.
    Name { i: usize, cl: bool, te: bool },
    /// Line that does not matter to framing (or that tiny_http will refuse).
    Skip,
    /// A `Transfer-Encoding` header: tiny_http decodes the body as chunked whatever the value.
    TransferEncoding,
    /// Value of a `Content-Length` header.
    Value(Num),
}

/// `usize::from_str` on a trimmed string, as a byte-at-a-time automaton.
#[derive(Debug, Clone, Copy)]
enum Num {
    Lead,
    Sign,
    Digits(u64),
    Trail(u64),
    Invalid,
}

const CL: &[u8] = b"content-length";
const TE: &[u8] = b"transfer-encoding";

/// What tiny_http's `str::trim` treats as whitespace among ASCII bytes.
fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

#[derive(Debug)]
struct Head {
    /// Bytes of this header block so far (request line, headers, terminator).
    len: usize,
    /// 0 while in the request line.
    line_no: usize,
    /// Bytes in the current line (a pending CR not counted).
    line_len: usize,
    pending_cr: bool,
    line: Line,
    content_length: Option<u64>,
    content_lengths: u32,
    bad_length: bool,
    transfer_encoding: bool,
}

impl Head {
    fn new() -> Head {
        Head {
            len: 0,
            line_no: 0,
            line_len: 0,
            pending_cr: false,
            line: Line::Lead,
            content_length: None,
            content_lengths: 0,
            bad_length: false,
            transfer_encoding: false,
        }
    }

    /// One byte of the current line (CRLF already stripped).
    fn line_byte(&mut self, b: u8) {
        self.line_len += 1;
        if self.line_no == 0 {
            return; // request line
        }
        self.line = match self.line {
            Line::Lead if is_ws(b) => Line::Lead,
            Line::Lead => Self::name_byte(0, true, true, b),
            Line::Name { i, cl, te } => Self::name_byte(i, cl, te, b),
            Line::Skip => Line::Skip,
            Line::TransferEncoding => Line::TransferEncoding,
            Line::Value(n) => Line::Value(Self::num_byte(n, b)),
        };
    }

    fn name_byte(i: usize, cl: bool, te: bool, b: u8) -> Line {
        if b == b':' {
            let field = if cl && i == CL.len() {
                Field::ContentLength
            } else if te && i == TE.len() {
                Field::TransferEncoding
            } else {
                Field::Other
            };
            return match field {
                Field::ContentLength => Line::Value(Num::Lead),
                Field::TransferEncoding => Line::TransferEncoding,
                Field::Other => Line::Skip,
            };
        }
        if is_ws(b) {
            // tiny_http refuses a field name containing whitespace (400, connection closed).
            return Line::Skip;
        }
        let c = b.to_ascii_lowercase();
        Line::Name {
            i: i + 1,
            cl: cl && CL.get(i) == Some(&c),
            te: te && TE.get(i) == Some(&c),
        }
    }

    fn num_byte(n: Num, b: u8) -> Num {
        match (n, b) {
            (Num::Invalid, _) => Num::Invalid,
            (Num::Lead, b) if is_ws(b) => Num::Lead,
            (Num::Lead, b'+') => Num::Sign,
            (Num::Lead | Num::Sign, b'0'..=b'9') => Num::Digits(u64::from(b - b'0')),
            (Num::Digits(v), b'0'..=b'9') => {
                Num::Digits(v.saturating_mul(10).saturating_add(u64::from(b - b'0')))
            }
            (Num::Digits(v) | Num::Trail(v), b) if is_ws(b) => Num::Trail(v),
            _ => Num::Invalid,
        }
    }

    /// End of the current line; returns true at the end of the header block.
    fn end_line(&mut self) -> bool {
        let blank = self.line_len == 0;
        if self.line_no > 0 {
            if blank {
                return true;
            }
            match self.line {
                Line::Value(Num::Digits(v) | Num::Trail(v)) => {
                    self.content_lengths += 1;
                    self.content_length = Some(v);
                }
                Line::Value(_) => {
                    self.content_lengths += 1;
                    self.bad_length = true;
                }
                Line::TransferEncoding => self.transfer_encoding = true,
                Line::Lead | Line::Name { .. } | Line::Skip => {}
            }
        }
        self.line_no += 1;
        self.line_len = 0;
        self.line = Line::Lead;
        false
    }
}

/// Streaming request-framing scanner for one connection (see the module docs).
#[derive(Debug)]
pub(crate) struct Scanner {
    max_header: usize,
    max_body: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Between requests.
    Idle,
    Head(Box<Head>),
    Body {
        remaining: u64,
    },
}

/// What one chunk of client bytes did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fed {
    /// A request started in this chunk (the deadline restarts).
    pub started: bool,
    /// Requests whose last byte was in this chunk.
    pub completed: u32,
}

impl Scanner {
    pub(crate) fn new(max_header: usize, max_body: u64) -> Scanner {
        Scanner {
            max_header,
            max_body,
            state: State::Idle,
        }
    }

    /// True while a request has started but not all its bytes have arrived.
    pub(crate) fn in_request(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// True while inside a header block.
    pub(crate) fn in_head(&self) -> bool {
        matches!(self.state, State::Head(_))
    }

    /// Scans a chunk of client bytes. On `Err` nothing of the chunk may be forwarded.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<Fed, Reject> {
        let mut fed = Fed::default();
        while !data.is_empty() {
            match &mut self.state {
                State::Idle => {
                    fed.started = true;
                    self.state = State::Head(Box::new(Head::new()));
                }
                State::Body { remaining } => {
                    let take = (*remaining).min(data.len() as u64);
                    *remaining -= take;
                    data = &data[take as usize..];
                    if *remaining == 0 {
                        fed.completed += 1;
                        self.state = State::Idle;
                    }
                }
                State::Head(head) => {
                    let b = data[0];
                    data = &data[1..];
                    head.len += 1;
                    if head.len > self.max_header {
                        return Err(Reject::HeaderTooLarge);
                    }
                    let done = if head.pending_cr {
                        if b == b'\n' {
                            head.pending_cr = false;
                            head.end_line()
                        } else {
                            head.line_byte(b'\r');
                            head.pending_cr = b == b'\r';
                            if !head.pending_cr {
                                head.line_byte(b);
                            }
                            false
                        }
                    } else if b == b'\r' {
                        head.pending_cr = true;
                        false
                    } else {
                        head.line_byte(b);
                        false
                    };
                    if done {
                        let body = Self::framing(head, self.max_body)?;
                        if body == 0 {
                            fed.completed += 1;
                            self.state = State::Idle;
                        } else {
                            self.state = State::Body { remaining: body };
                        }
                    }
                }
            }
        }
        Ok(fed)
    }

    /// Body length of a complete header block, or why it is refused.
    fn framing(head: &Head, max_body: u64) -> Result<u64, Reject> {
        if head.transfer_encoding {
            return Err(Reject::LengthRequired);
        }
        if head.bad_length || head.content_lengths > 1 {
            return Err(Reject::BadFraming);
        }
        match head.content_length {
            Some(n) if n > max_body => Err(Reject::BodyTooLarge),
            Some(n) => Ok(n),
            None => Ok(0),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared state between the guard thread and the worker threads.
// ---------------------------------------------------------------------------------------------

/// Counters, readable from any thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub accepted: AtomicU64,
    pub rejected_overload: AtomicU64,
    pub timed_out: AtomicU64,
    pub over_limit: AtomicU64,
    pub active: AtomicUsize,
}

/// One relayed connection as seen by the workers.
#[derive(Debug, Clone)]
pub(crate) struct PeerEntry {
    pub peer: SocketAddr,
    pub upgraded: Arc<AtomicBool>,
}

/// `local port of the guard's loopback socket -> real client`, so that a handler can map
/// `request.remote_addr()` (which tiny_http reports as that loopback socket) to the client.
#[derive(Debug, Default)]
pub(crate) struct PeerMap(Mutex<HashMap<u16, PeerEntry>>);

impl PeerMap {
    pub(crate) fn get(&self, port: u16) -> Option<PeerEntry> {
        self.lock().get(&port).cloned()
    }

    fn insert(&self, port: u16, entry: PeerEntry) {
        self.lock().insert(port, entry);
    }

    fn remove(&self, port: u16) {
        self.lock().remove(&port);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u16, PeerEntry>> {
        // A poisoned map is still a valid map: entries are inserted and removed atomically.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Limits the guard enforces (a copy of the relevant parts of `Limits`).
#[derive(Debug, Clone)]
pub(crate) struct GuardConfig {
    pub max_connections: usize,
    pub request_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_body_bytes: u64,
    pub max_connection_lifetime: Duration,
}

struct Ctx {
    cfg: GuardConfig,
    internal: SocketAddr,
    counters: Arc<Counters>,
    peers: Arc<PeerMap>,
    rejecting: Cell<usize>,
}

// ---------------------------------------------------------------------------------------------
// The guard thread.
// ---------------------------------------------------------------------------------------------

/// Runs the accept loop and all relays until `stop` is closed. Blocks the calling thread.
pub(crate) fn run(
    listener: TcpListener,
    internal: SocketAddr,
    cfg: GuardConfig,
    counters: Arc<Counters>,
    peers: Arc<PeerMap>,
    stop: async_channel::Receiver<()>,
) -> io::Result<()> {
    let listener = Async::new(listener)?;
    let ctx = Rc::new(Ctx {
        cfg,
        internal,
        counters,
        peers,
        rejecting: Cell::new(0),
    });
    let ex = LocalExecutor::new();
    smol::block_on(ex.run(accept_loop(&ex, &listener, ctx).or(async {
        let _ = stop.recv().await;
    })));
    // Dropping the executor drops every relay task and with it every socket.
    drop(ex);
    Ok(())
}

async fn accept_loop(ex: &LocalExecutor<'_>, listener: &Async<TcpListener>, ctx: Rc<Ctx>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                log::warn!("http: accept failed: {e}");
                Timer::after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let c = &ctx.counters;
        if c.active.load(Ordering::Relaxed) >= ctx.cfg.max_connections {
            c.rejected_overload.fetch_add(1, Ordering::Relaxed);
            if ctx.rejecting.get() < MAX_REJECTING {
                ctx.rejecting.set(ctx.rejecting.get() + 1);
                let ctx2 = ctx.clone();
                ex.spawn(async move {
                    reply_and_close(&stream, &overloaded()).await;
                    ctx2.rejecting.set(ctx2.rejecting.get() - 1);
                })
                .detach();
            }
            continue;
        }
        c.active.fetch_add(1, Ordering::Relaxed);
        c.accepted.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(ctx.counters.clone());
        let ctx2 = ctx.clone();
        ex.spawn(async move {
            let _slot = slot;
            if let Err(e) = serve(&ctx2, stream, peer).await {
                log::debug!("http: connection from {peer}: {e}");
            }
        })
        .detach();
    }
}

/// Releases a connection slot when dropped (also when the task is cancelled at shutdown).
struct Slot(Arc<Counters>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Removes the peer-map entry when dropped.
struct Registered<'a>(&'a PeerMap, u16);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

/// How a relay ended.
enum End {
    /// Either side closed or failed; nothing to report.
    Closed,
    /// A timeout fired. `respond` is set when the client is owed a 408.
    TimedOut { respond: bool },
    /// The scanner refused a request.
    Refused(Reject),
}

/// Per-connection state shared by the two directions and the watchdog (one thread: `Cell`s).
struct Conn {
    accepted: Instant,
    last_activity: Cell<Instant>,
    /// Start of the request whose bytes are still arriving.
    request_start: Cell<Option<Instant>>,
    /// Set when in the middle of a header block.
    in_head: Cell<bool>,
    /// A complete request has not been answered yet.
    awaiting_response: Cell<bool>,
    upgraded: Arc<AtomicBool>,
}

async fn serve(ctx: &Ctx, client: Async<TcpStream>, peer: SocketAddr) -> io::Result<()> {
    client.get_ref().set_nodelay(true).ok();
    let upstream = Async::<TcpStream>::connect(ctx.internal).await?;
    upstream.get_ref().set_nodelay(true).ok();
    let port = upstream.get_ref().local_addr()?.port();
    let upgraded = Arc::new(AtomicBool::new(false));
    ctx.peers.insert(
        port,
        PeerEntry {
            peer,
            upgraded: upgraded.clone(),
        },
    );
    let _registered = Registered(&ctx.peers, port);

    let now = Instant::now();
    let conn = Conn {
        accepted: now,
        last_activity: Cell::new(now),
        request_start: Cell::new(None),
        in_head: Cell::new(false),
        awaiting_response: Cell::new(false),
        upgraded,
    };

    let end = client_to_server(ctx, &conn, &client, &upstream)
        .or(server_to_client(ctx, &conn, &upstream, &client))
        .or(watchdog(ctx, &conn))
        .await;
    drop(upstream);
    match end {
        End::Closed => {}
        End::TimedOut { respond } => {
            ctx.counters.timed_out.fetch_add(1, Ordering::Relaxed);
            if respond {
                reply_and_close(&client, &request_timeout()).await;
            }
        }
        End::Refused(why) => {
            ctx.counters.over_limit.fetch_add(1, Ordering::Relaxed);
            reply_and_close(&client, &why.response()).await;
        }
    }
    Ok(())
}

async fn client_to_server(
    ctx: &Ctx,
    conn: &Conn,
    client: &Async<TcpStream>,
    upstream: &Async<TcpStream>,
) -> End {
    let mut scanner = Scanner::new(ctx.cfg.max_header_bytes, ctx.cfg.max_body_bytes);
    let mut buf = vec![0u8; RELAY_BUF];
    loop {
        let n = match (&*client).read(&mut buf).await {
            Ok(0) => {
                // Half-close: pass it on and let the response finish.
                let _ = upstream.get_ref().shutdown(Shutdown::Write);
                return future::pending().await;
            }
            Ok(n) => n,
            Err(_) => return End::Closed,
        };
        let now = Instant::now();
        conn.last_activity.set(now);
        if !conn.upgraded.load(Ordering::Relaxed) {
            let was_in_request = scanner.in_request();
            let fed = match scanner.feed(&buf[..n]) {
                Ok(fed) => fed,
                Err(why) => return End::Refused(why),
            };
            if scanner.in_request() {
                if fed.started || !was_in_request {
                    conn.request_start.set(Some(now));
                }
            } else {
                conn.request_start.set(None);
            }
            conn.in_head.set(scanner.in_head());
            if fed.completed > 0 {
                conn.awaiting_response.set(true);
            }
        }
        if (&*upstream).write_all(&buf[..n]).await.is_err() {
            return End::Closed;
        }
    }
}

async fn server_to_client(
    ctx: &Ctx,
    conn: &Conn,
    upstream: &Async<TcpStream>,
    client: &Async<TcpStream>,
) -> End {
    let mut buf = vec![0u8; RELAY_BUF];
    loop {
        let n = match (&*upstream).read(&mut buf).await {
            Ok(0) | Err(_) => return End::Closed,
            Ok(n) => n,
        };
        conn.last_activity.set(Instant::now());
        conn.awaiting_response.set(false);
        let write = async { (&*client).write_all(&buf[..n]).await.map(|_| true) };
        let timeout = async {
            Timer::after(ctx.cfg.request_timeout).await;
            Ok(false)
        };
        match write.or(timeout).await {
            Ok(true) => {}
            Ok(false) => return End::TimedOut { respond: false },
            Err(_) => return End::Closed,
        }
        conn.last_activity.set(Instant::now());
    }
}

/// Fires when the connection has to go. Deadlines only ever move later, so sleeping until the
/// one computed last and then recomputing is exact.
async fn watchdog(ctx: &Ctx, conn: &Conn) -> End {
    let t = ctx.cfg.request_timeout;
    loop {
        if conn.upgraded.load(Ordering::Relaxed) {
            // The upgraded protocol (WebSocket) keeps its own liveness checks.
            Timer::after(t).await;
            continue;
        }
        let now = Instant::now();
        let lifetime = conn.accepted + ctx.cfg.max_connection_lifetime;
        let (phase_deadline, respond) = match conn.request_start.get() {
            Some(start) => (Some(start + t), true),
            None if conn.awaiting_response.get() => (None, false),
            None => (Some(conn.last_activity.get() + t), false),
        };
        let deadline = phase_deadline.map_or(lifetime, |d| d.min(lifetime));
        if now >= deadline {
            let by_phase = phase_deadline.is_some_and(|d| d <= now);
            // A 408 only makes sense while the client is still sending a request.
            return End::TimedOut {
                respond: by_phase && respond && conn.in_head.get(),
            };
        }
        let wake = if phase_deadline.is_none() {
            deadline.min(now + t)
        } else {
            deadline
        };
        Timer::at(wake).await;
    }
}

/// Writes a canned response (bounded in time), half-closes, then reads and discards what the
/// client still sends for a moment so that closing does not reset the connection before the
/// client could read the response.
async fn reply_and_close(client: &Async<TcpStream>, response: &[u8]) {
    let write = async {
        let _ = (&*client).write_all(response).await;
    };
    write
        .or(async {
            Timer::after(LINGER).await;
        })
        .await;
    let _ = client.get_ref().shutdown(Shutdown::Write);
    let drain = async {
        let mut buf = [0u8; 1024];
        let mut total = 0;
        while total < LINGER_BYTES {
            match (&*client).read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    drain
        .or(async {
            Timer::after(LINGER).await;
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(canned: &[u8]) -> (usize, usize) {
        let text = std::str::from_utf8(canned).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let declared = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        (declared, body.len())
    }

    #[test]
    fn canned_responses_declare_their_real_length_and_are_json() {
        for r in [
            overloaded(),
            request_timeout(),
            Reject::HeaderTooLarge.response(),
            Reject::BodyTooLarge.response(),
            Reject::BadFraming.response(),
            Reject::LengthRequired.response(),
        ] {
            let (declared, real) = body_of(&r);
            assert_eq!(declared, real, "{}", String::from_utf8_lossy(&r));
            let body = std::str::from_utf8(&r)
                .unwrap()
                .split_once("\r\n\r\n")
                .unwrap()
                .1;
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert!(v["error"]["code"].is_string());
        }
    }

    fn scan(max_header: usize, max_body: u64, data: &[u8]) -> Result<(Fed, bool), Reject> {
        let mut s = Scanner::new(max_header, max_body);
        let fed = s.feed(data)?;
        Ok((fed, s.in_request()))
    }

    #[test]
    fn scanner_frames_requests_with_and_without_bodies() {
        let (fed, busy) = scan(1024, 100, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!((fed.completed, busy), (1, false));
        let req = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
        let (fed, busy) = scan(1024, 100, req).unwrap();
        assert_eq!((fed.completed, busy), (2, false));
        let (fed, busy) = scan(
            1024,
            100,
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel",
        )
        .unwrap();
        assert_eq!((fed.completed, busy), (0, true));
    }

    #[test]
    fn scanner_feeds_byte_by_byte_like_whole() {
        let req = b"POST / HTTP/1.1\r\n  content-LENGTH :5\r\ncOnTeNt-LeNgTh:\t+7 \r\n\r\n1234567";
        let mut s = Scanner::new(1024, 100);
        let mut completed = 0;
        for b in req {
            completed += s.feed(std::slice::from_ref(b)).unwrap().completed;
        }
        // "content-LENGTH :5" has whitespace in the name: tiny_http refuses that line, so only
        // the second header counts.
        assert_eq!(completed, 1);
        assert!(!s.in_request());
    }

    #[test]
    fn scanner_refuses_what_would_break_framing_or_memory() {
        let big = b"POST / HTTP/1.1\r\nContent-Length: 4000000000\r\n\r\n";
        assert_eq!(scan(1024, 100, big), Err(Reject::BodyTooLarge));
        let huge = b"POST / HTTP/1.1\r\nContent-Length:  99999999999999999999999999\r\n\r\n";
        assert_eq!(scan(1024, 100, huge), Err(Reject::BodyTooLarge));
        let two = b"POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx";
        assert_eq!(scan(1024, 100, two), Err(Reject::BadFraming));
        let bad = b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nx";
        assert_eq!(scan(1024, 100, bad), Err(Reject::BadFraming));
        let te = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(scan(1024, 100, te), Err(Reject::LengthRequired));
        let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 2000]].concat();
        assert_eq!(scan(1024, 100, &long), Err(Reject::HeaderTooLarge));
        // A pipelined second request is checked too.
        let piped = b"GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
        assert_eq!(scan(1024, 100, piped), Err(Reject::BodyTooLarge));
    }

    /// The scanner must read `Content-Length` exactly as tiny_http does.
    #[test]
    fn scanner_agrees_with_tiny_http_on_content_length_lines() {
        let lines = [
            "Content-Length: 12",
            "content-length:12",
            "  Content-Length:   +12  ",
            "Content-Length :12",
            "Content-Lengthx: 12",
            "Content-Lengt: 12",
            "Content-Length: 1 2",
            "Content-Length: -1",
            "Content-Length: +",
            "Content-Length:",
            "Content-Length: 0x10",
            "Content-Length: 012",
            "\tContent-Length: 12\t",
            "Content-Length: 12\x0b",
        ];
        for line in lines {
            let tiny: Option<u64> = line
                .trim()
                .parse::<tiny_http::Header>()
                .ok()
                .filter(|h| h.field.equiv("Content-Length"))
                .and_then(|h| h.value.as_str().parse::<usize>().ok())
                .map(|v| v as u64);
            let req = format!("POST / HTTP/1.1\r\n{line}\r\n\r\n");
            let mut s = Scanner::new(4096, 1 << 20);
            let ours = s.feed(req.as_bytes());
            let field_matches = line
                .trim()
                .parse::<tiny_http::Header>()
                .is_ok_and(|h| h.field.equiv("Content-Length"));
            match (tiny, ours) {
                (Some(n), Ok(_)) => {
                    assert_eq!(n == 0, !s.in_request(), "{line:?}");
                    if n > 0 {
                        assert!(matches!(s.state, State::Body { remaining } if remaining == n));
                    }
                }
                (None, Err(Reject::BadFraming)) => assert!(field_matches, "{line:?}"),
                (None, Ok(fed)) => assert_eq!(fed.completed, 1, "{line:?}"),
                other => panic!("{line:?}: {other:?}"),
            }
        }
    }
}
