//! `HttpServer`: the guard (see [`super::guard`]) in front of tiny_http, plus a fixed pool of
//! worker threads that run the handler.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tiny_http::{ReadWrite, Request, ResponseBox};

pub use super::guard::HandOver;
use super::guard::{self, Counters, GuardConfig, HandOverSlot, PeerMap};
use super::respond::{error_response, ApiError};

/// Stack of the guard thread (it runs only the async relays).
const GUARD_STACK: usize = 256 * 1024;

/// What the server lets clients do.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Concurrent client connections; more get a `503` and are closed.
    pub max_connections: usize,
    /// A request (header and body) must arrive within this time of its first byte; an idle
    /// keep-alive connection is closed after it; a client that does not read a response for
    /// this long is cut.
    pub request_timeout: Duration,
    /// Largest declared request body (`Content-Length`). Bodies must declare their length.
    pub max_body_bytes: usize,
    /// Largest request line plus headers.
    pub max_header_bytes: usize,
    /// A connection is closed after this long, unless it was upgraded.
    pub max_connection_lifetime: Duration,
    /// Threads running the handler.
    pub workers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 32,
            request_timeout: Duration::from_secs(10),
            max_body_bytes: 256 * 1024,
            max_header_bytes: 16 * 1024,
            max_connection_lifetime: Duration::from_secs(300),
            workers: 2,
        }
    }
}

/// Who sent a request.
#[derive(Clone)]
pub struct ClientInfo {
    /// The real client address (not the loopback hop to tiny_http).
    pub peer: SocketAddr,
    upgraded: Arc<AtomicBool>,
    hand_over: HandOverSlot,
}

impl std::fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInfo")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl ClientInfo {
    /// Exempts this connection from the HTTP limits (request timeout, framing checks, lifetime);
    /// the upgraded protocol must enforce its own. Done automatically for [`Reply::Upgrade`].
    pub fn mark_upgraded(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }
}

/// What a handler wants sent back. The worker sends it, so a handler that panics (in builds
/// that unwind) still gets its client a JSON `500`.
pub enum Reply {
    Response(ResponseBox),
    /// Switch protocols: `response` (normally 101) is sent, then `on_upgrade` gets the raw
    /// stream. It runs on the worker thread, so it should hand the stream to a thread of its own.
    Upgrade {
        protocol: String,
        response: ResponseBox,
        on_upgrade: Box<dyn FnOnce(Box<dyn ReadWrite + Send>, ClientInfo) + Send>,
    },
    /// Switch protocols and let `session` own the client socket: `response` (a 101; tiny_http
    /// adds `Connection`/`Upgrade: protocol`) is sent, then the connection guard stops relaying
    /// and runs `session` on its own thread (see [`super::guard`]). The HTTP limits no longer
    /// apply; the session enforces its own. It still counts toward `max_connections`.
    HandOver {
        protocol: String,
        response: ResponseBox,
        session: HandOver,
    },
}

impl<R: io::Read + Send + 'static> From<tiny_http::Response<R>> for Reply {
    fn from(r: tiny_http::Response<R>) -> Reply {
        Reply::Response(r.boxed())
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        error_response(&e).into()
    }
}

/// The application: gets the request (to read its method, URL, headers and body) and who sent
/// it, and returns what to send. It must not panic: release builds abort on panic.
pub type Handler = Arc<dyn Fn(&mut Request, &ClientInfo) -> Reply + Send + Sync>;

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HttpStats {
    /// Connections admitted.
    pub accepted: u64,
    /// Connections refused because `max_connections` were open.
    pub rejected_overload: u64,
    /// Connections cut by a timeout (request, idle, write or lifetime).
    pub timed_out: u64,
    /// Connections cut for sending too much (header, body, framing).
    pub over_limit: u64,
    /// Connections open now.
    pub active: usize,
}

/// Reads a server's counters; cheap to clone and to call.
#[derive(Clone)]
pub struct HttpStatsReader(Arc<Counters>);

impl HttpStatsReader {
    pub fn read(&self) -> HttpStats {
        let c = &self.0;
        HttpStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            rejected_overload: c.rejected_overload.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
            over_limit: c.over_limit.load(Ordering::Relaxed),
            active: c.active.load(Ordering::Relaxed),
        }
    }
}

pub struct HttpServer {
    local_addr: SocketAddr,
    counters: Arc<Counters>,
    server: Arc<tiny_http::Server>,
    stop: Option<async_channel::Sender<()>>,
    guard: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
}

impl HttpServer {
    /// Binds `listen` and starts serving.
    pub fn start(listen: SocketAddr, limits: Limits, handler: Handler) -> io::Result<HttpServer> {
        if limits.max_connections == 0 || limits.workers == 0 || limits.max_header_bytes == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_connections, workers and max_header_bytes must be at least 1",
            ));
        }
        let public = TcpListener::bind(listen)?;
        let local_addr = public.local_addr()?;
        // tiny_http listens on loopback only; connections that did not come through the guard
        // have no peer entry and are refused by the workers.
        let internal = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        // Connections accepted from this listener inherit TCP_NODELAY (Linux). tiny_http writes
        // a large response in pieces; with Nagle on, its last piece waited for the guard's
        // delayed ACK, adding about 40 ms to one response in two.
        socket2::SockRef::from(&internal).set_tcp_nodelay(true)?;
        let internal_addr = internal.local_addr()?;
        let server = Arc::new(
            tiny_http::Server::from_listener(internal, None)
                .map_err(|e| io::Error::other(e.to_string()))?,
        );

        let counters = Arc::new(Counters::default());
        let peers = Arc::new(PeerMap::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);

        let cfg = GuardConfig {
            max_connections: limits.max_connections,
            request_timeout: limits.request_timeout,
            max_header_bytes: limits.max_header_bytes,
            max_body_bytes: u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX),
            max_connection_lifetime: limits.max_connection_lifetime,
        };
        let guard = {
            let counters = counters.clone();
            let peers = peers.clone();
            thread::Builder::new()
                .name("http-guard".into())
                .stack_size(GUARD_STACK)
                .spawn(move || {
                    if let Err(e) = guard::run(public, internal_addr, cfg, counters, peers, stop_rx)
                    {
                        log::error!("http: guard failed: {e}");
                    }
                })?
        };

        let mut this = HttpServer {
            local_addr,
            counters,
            server: server.clone(),
            stop: Some(stop_tx),
            guard: Some(guard),
            workers: Vec::with_capacity(limits.workers),
            stopping: stopping.clone(),
        };
        for i in 0..limits.workers {
            let server = server.clone();
            let handler = handler.clone();
            let peers = peers.clone();
            let stopping = stopping.clone();
            let worker = thread::Builder::new()
                .name(format!("http-worker-{i}"))
                .spawn(move || worker_loop(&server, &handler, &peers, &stopping));
            match worker {
                Ok(w) => this.workers.push(w),
                Err(e) => {
                    this.stop_all();
                    return Err(e);
                }
            }
        }
        Ok(this)
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> HttpStats {
        self.stats_reader().read()
    }

    /// A handle that reads the counters from anywhere, e.g. the health endpoint.
    pub fn stats_reader(&self) -> HttpStatsReader {
        HttpStatsReader(self.counters.clone())
    }

    /// Stops accepting, closes every connection, lets running handlers finish, joins all
    /// threads.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Closing the channel ends the guard's accept loop; the guard then drops every relay.
        self.stop.take();
        if let Some(g) = self.guard.take() {
            let _ = g.join();
        }
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        // Dropping the last `Server` stops tiny_http's accept thread.
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn worker_loop(
    server: &tiny_http::Server,
    handler: &Handler,
    peers: &PeerMap,
    stopping: &AtomicBool,
) {
    loop {
        match server.recv() {
            Ok(request) => handle(request, handler, peers),
            Err(_) if stopping.load(Ordering::SeqCst) => return,
            Err(e) => {
                // tiny_http's accept thread died (it stops at its first accept error).
                log::error!("http: tiny_http stopped accepting: {e}");
                return;
            }
        }
    }
}

fn handle(mut request: Request, handler: &Handler, peers: &PeerMap) {
    let entry = request.remote_addr().and_then(|a| peers.get(a.port()));
    let Some(entry) = entry else {
        // Not relayed by the guard (a local process connecting to the loopback port directly),
        // or the client is already gone.
        let _ = request.respond(error_response(&ApiError::Unavailable(
            "connection not admitted".into(),
        )));
        return;
    };
    let info = ClientInfo {
        peer: entry.peer,
        upgraded: entry.upgraded,
        hand_over: entry.hand_over,
    };
    let reply = catch_unwind(AssertUnwindSafe(|| handler(&mut request, &info)));
    match reply {
        Ok(Reply::Response(resp)) => {
            let _ = request.respond(resp);
        }
        Ok(Reply::Upgrade {
            protocol,
            response,
            on_upgrade,
        }) => {
            info.mark_upgraded();
            let stream = request.upgrade(&protocol, response);
            if catch_unwind(AssertUnwindSafe(|| on_upgrade(stream, info))).is_err() {
                log::error!("http: upgrade handler panicked");
            }
        }
        Ok(Reply::HandOver {
            protocol,
            response,
            session,
        }) => {
            // The session must be in place before the 101 leaves: the guard looks for it when
            // tiny_http closes its side, which dropping the stream below does.
            if let Ok(mut slot) = info.hand_over.lock() {
                *slot = Some(session);
            }
            info.mark_upgraded();
            drop(request.upgrade(&protocol, response));
        }
        Err(_) => {
            let _ = request.respond(error_response(&ApiError::Internal(
                "handler panicked".into(),
            )));
        }
    }
}
