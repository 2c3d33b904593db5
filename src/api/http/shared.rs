//! What the connection tasks of the I/O thread share: the limits, the counters, the queue to
//! the workers, the idle connections that may be evicted, and closing sockets gently.
//!
//! Invariants: at most `MAX_LINGERING` closing sockets linger at once; an idle connection is
//! in `idle` exactly while it waits for its next request.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portable_atomic::AtomicU64;
use smol::future::FutureExt;
use smol::io::AsyncReadExt;
use smol::{Async, Timer};

use super::message::{ClientInfo, Reply, Request};

/// How long a closing connection keeps reading (and discarding) what the client still sends,
/// so that closing does not reset the connection before the client has read the response.
pub(super) const LINGER: Duration = Duration::from_secs(1);
/// At most this many bytes are discarded while lingering.
const LINGER_BYTES: usize = 64 * 1024;
/// At most this many refused connections linger (drain what the client sent, so closing does
/// not reset the connection before the `503` is read) at the same time; beyond that, a refused
/// connection gets its `503` and is closed at once.
const MAX_LINGERING: usize = 64;
/// What the server lets clients do.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Concurrent client connections.
    pub max_connections: usize,
    /// A request (head and body) must arrive within this time of its first byte; an idle
    /// connection is closed after it; a client that takes nothing of a response for this long
    /// is cut.
    pub request_timeout: Duration,
    /// Largest request body (`Content-Length`). Bodies must declare their length.
    pub max_body_bytes: usize,
    /// Largest request line plus headers.
    pub max_header_bytes: usize,
    /// A connection is closed after its first response past this age, unless it was upgraded.
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

/// Counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HttpStats {
    /// Connections admitted.
    pub accepted: u64,
    /// Connections refused (`503`) because `max_connections` were busy.
    pub rejected_overload: u64,
    /// Idle connections closed to make room for a new one.
    pub evicted_idle: u64,
    /// Connections cut by a timeout (request, idle, write).
    pub timed_out: u64,
    /// Requests refused before a handler saw them (malformed, too large, unsupported framing
    /// or version).
    pub over_limit: u64,
    /// Connections open now.
    pub active: usize,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub accepted: AtomicU64,
    pub rejected_overload: AtomicU64,
    pub evicted_idle: AtomicU64,
    pub timed_out: AtomicU64,
    pub over_limit: AtomicU64,
    pub active: AtomicUsize,
}

/// Reads a server's counters; cheap to clone and to call.
#[derive(Clone)]
pub struct HttpStatsReader(pub(super) Arc<Counters>);

impl HttpStatsReader {
    pub fn read(&self) -> HttpStats {
        let c = &self.0;
        HttpStats {
            accepted: c.accepted.load(Relaxed),
            rejected_overload: c.rejected_overload.load(Relaxed),
            evicted_idle: c.evicted_idle.load(Relaxed),
            timed_out: c.timed_out.load(Relaxed),
            over_limit: c.over_limit.load(Relaxed),
            active: c.active.load(Relaxed),
        }
    }
}

/// A request on its way to a worker, and where its reply goes.
pub(super) struct Job {
    pub request: Request,
    pub client: ClientInfo,
    pub reply: async_channel::Sender<Reply>,
}

/// What the connection tasks share (all on the I/O thread).
pub(super) struct Shared {
    pub limits: Limits,
    pub counters: Arc<Counters>,
    pub jobs: async_channel::Sender<Job>,
    /// Connections waiting for their next request: id -> (waiting since, eviction signal).
    idle: RefCell<HashMap<u64, (Instant, async_channel::Sender<()>)>>,
    lingering: Cell<usize>,
}

impl Shared {
    pub fn new(
        limits: Limits,
        counters: Arc<Counters>,
        jobs: async_channel::Sender<Job>,
    ) -> Shared {
        Shared {
            limits,
            counters,
            jobs,
            idle: RefCell::default(),
            lingering: Cell::new(0),
        }
    }

    /// Marks connection `id` idle; the returned receiver closes if it is evicted.
    pub fn enter_idle(&self, id: u64) -> async_channel::Receiver<()> {
        let (tx, rx) = async_channel::bounded(1);
        self.idle.borrow_mut().insert(id, (Instant::now(), tx));
        rx
    }

    pub fn leave_idle(&self, id: u64) {
        self.idle.borrow_mut().remove(&id);
    }

    /// Lingers on a closing socket (see [`linger`]), unless `MAX_LINGERING` already do: then
    /// it closes at once, which may reset a connection whose client is still sending.
    pub async fn linger(&self, stream: Async<TcpStream>) {
        if self.lingering.get() >= MAX_LINGERING {
            let _ = stream.get_ref().shutdown(Shutdown::Write);
            return;
        }
        self.lingering.set(self.lingering.get() + 1);
        linger(&stream).await;
        self.lingering.set(self.lingering.get() - 1);
    }

    /// Closes the connection that has been idle longest; false when none is idle.
    pub fn evict_oldest_idle(&self) -> bool {
        let mut idle = self.idle.borrow_mut();
        let oldest = idle
            .iter()
            .min_by_key(|(_, (since, _))| *since)
            .map(|(id, _)| *id);
        match oldest.and_then(|id| idle.remove(&id)) {
            Some((_, signal)) => {
                signal.close();
                true
            }
            None => false,
        }
    }
}

/// Half-closes, then reads and discards what the client still sends for a moment so that
/// closing does not reset the connection before the client could read the response.
pub(super) async fn linger(stream: &Async<TcpStream>) {
    let _ = stream.get_ref().shutdown(Shutdown::Write);
    let drain = async {
        let mut scratch = [0u8; 1024];
        let mut total = 0;
        while total < LINGER_BYTES {
            match (&*stream).read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    drain.or(pause(LINGER)).await;
}

pub(super) async fn pause(duration: Duration) {
    Timer::after(duration).await;
}
