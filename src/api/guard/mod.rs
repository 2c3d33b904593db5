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
//! A handler may also *hand over* an upgraded connection (WebSocket): the guard then relays
//! tiny_http's `101` response, waits for tiny_http to close its side (which marks the end of
//! the response exactly), stops relaying and runs the handed-over session on the client socket
//! itself, as an async task on this thread, with the bytes the client sent after its request.
//! The connection keeps its slot (it counts toward `max_connections`) until the session ends.
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
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
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
/// Most bytes a client may send between its upgrade request and the hand-over.
const MAX_HANDOVER_BYTES: usize = 64 * 1024;
/// At most this many over-capacity connections are answered (503) at the same time; beyond
/// that they are closed at once.
const MAX_REJECTING: usize = 16;
/// Back-off after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

mod request;

use request::*;

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

/// A session that takes over an upgraded connection: it gets the client socket and the bytes
/// the client already sent after its upgrade request, and runs on the guard's thread.
pub type HandOver =
    Box<dyn FnOnce(Async<TcpStream>, Vec<u8>) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// Where a worker leaves a [`HandOver`] for the guard.
pub(crate) type HandOverSlot = Arc<Mutex<Option<HandOver>>>;

/// One relayed connection as seen by the workers.
#[derive(Clone)]
pub(crate) struct PeerEntry {
    pub peer: SocketAddr,
    pub upgraded: Arc<AtomicBool>,
    pub hand_over: HandOverSlot,
}

/// `local port of the guard's loopback socket -> real client`, so that a handler can map
/// `request.remote_addr()` (which tiny_http reports as that loopback socket) to the client.
#[derive(Default)]
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
    /// tiny_http closed after its `101`; a session takes the client socket over.
    HandOver(HandOver),
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
    hand_over: HandOverSlot,
    /// Client bytes read after a hand-over was announced, for the session.
    early: RefCell<Vec<u8>>,
}

impl Conn {
    fn handing_over(&self) -> bool {
        self.upgraded.load(Ordering::Relaxed)
            && self
                .hand_over
                .lock()
                .map(|slot| slot.is_some())
                .unwrap_or(false)
    }
}

async fn serve(ctx: &Ctx, client: Async<TcpStream>, peer: SocketAddr) -> io::Result<()> {
    client.get_ref().set_nodelay(true).ok();
    let upstream = Async::<TcpStream>::connect(ctx.internal).await?;
    upstream.get_ref().set_nodelay(true).ok();
    let port = upstream.get_ref().local_addr()?.port();
    let upgraded = Arc::new(AtomicBool::new(false));
    let hand_over = HandOverSlot::default();
    ctx.peers.insert(
        port,
        PeerEntry {
            peer,
            upgraded: upgraded.clone(),
            hand_over: hand_over.clone(),
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
        hand_over,
        early: RefCell::new(Vec::new()),
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
        End::HandOver(session) => {
            drop(_registered);
            session(client, conn.early.take()).await;
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
        if conn.handing_over() {
            // These bytes belong to the session (e.g. a WebSocket frame sent right after the
            // 101 arrived); keep them, and leave the rest in the socket for the session.
            if conn.early.borrow().len() + n > MAX_HANDOVER_BYTES {
                return End::Closed;
            }
            conn.early.borrow_mut().extend_from_slice(&buf[..n]);
            return future::pending().await;
        }
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
            Ok(0) | Err(_) => {
                // tiny_http closes its side right after a handed-over 101: all of the
                // response has been relayed, the session may start.
                if conn.upgraded.load(Ordering::Relaxed) {
                    let session = conn.hand_over.lock().ok().and_then(|mut s| s.take());
                    if let Some(session) = session {
                        return End::HandOver(session);
                    }
                }
                return End::Closed;
            }
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
