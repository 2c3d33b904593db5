//! `HttpServer`: the one listener, the I/O thread that owns every connection, and the pool of
//! worker threads that run the handler.
//!
//! Invariants:
//! - at most `max_connections` connections are served; when all slots are taken, the
//!   connection that has waited longest for its next request is closed to make room (an idle
//!   keep-alive connection may be closed at any time, RFC 9112 §9.6); only when none is idle is
//!   the newcomer refused, with a `503` written at once;
//! - no connection holds a worker while it reads or writes: workers only ever see complete
//!   requests, and each connection has at most one request at a worker;
//! - at stop, the I/O thread drops every connection and the workers finish the request they
//!   hold, so `shutdown` returns within one handler's run time.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use smol::future::FutureExt;
use smol::{Async, LocalExecutor, Timer};

use super::conn;
use super::message::{error_json, ClientInfo, Reply, Request};
use super::shared::{Counters, HttpStats, HttpStatsReader, Job, Limits, Shared};

/// Stack of the I/O thread (connection tasks are boxed on the heap).
const IO_STACK: usize = 256 * 1024;
/// Back-off after a failed `accept` (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The application: gets a complete request and who sent it, and returns what to send. A
/// panic becomes a JSON `500` in builds that unwind; release builds abort on panic.
pub type Handler = Arc<dyn Fn(&mut Request, &ClientInfo) -> Reply + Send + Sync>;

pub struct HttpServer {
    local_addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<async_channel::Sender<()>>,
    io: Option<JoinHandle<()>>,
    jobs: async_channel::Sender<Job>,
    workers: Vec<JoinHandle<()>>,
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
        let listener = TcpListener::bind(listen)?;
        let local_addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
        let (jobs_tx, jobs_rx) = async_channel::bounded::<Job>(limits.max_connections);

        let mut workers = Vec::with_capacity(limits.workers);
        for i in 0..limits.workers {
            let jobs = jobs_rx.clone();
            let handler = handler.clone();
            let spawned = thread::Builder::new()
                .name(format!("http-worker-{i}"))
                .spawn(move || work(&jobs, &handler));
            match spawned {
                Ok(w) => workers.push(w),
                Err(e) => {
                    jobs_tx.close();
                    return Err(e);
                }
            }
        }
        let shared = Shared::new(limits, counters.clone(), jobs_tx.clone());
        let io = thread::Builder::new()
            .name("http-io".into())
            .stack_size(IO_STACK)
            .spawn(move || {
                if let Err(e) = run(listener, shared, stop_rx) {
                    log::error!("http: server failed: {e}");
                }
            });
        let io = match io {
            Ok(io) => io,
            Err(e) => {
                jobs_tx.close();
                return Err(e);
            }
        };
        Ok(HttpServer {
            local_addr,
            counters,
            stop: Some(stop_tx),
            io: Some(io),
            jobs: jobs_tx,
            workers,
        })
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
        // Closing the channel ends the I/O loop, which drops every connection.
        self.stop.take();
        if let Some(io) = self.io.take() {
            let _ = io.join();
        }
        self.jobs.close();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// A worker: runs the handler for one complete request at a time.
fn work(jobs: &async_channel::Receiver<Job>, handler: &Handler) {
    while let Ok(mut job) = jobs.recv_blocking() {
        let reply = catch_unwind(AssertUnwindSafe(|| handler(&mut job.request, &job.client)))
            .unwrap_or_else(|_| {
                log::error!("http: internal error: handler panicked");
                error_json(500, "internal", "internal error").into()
            });
        // The connection may be gone (client left, server stopping): nothing to do then.
        let _ = job.reply.send_blocking(reply);
    }
}

/// The I/O thread: accepts and serves every connection until `stop` closes.
fn run(listener: TcpListener, shared: Shared, stop: async_channel::Receiver<()>) -> io::Result<()> {
    let listener = Async::new(listener)?;
    let shared = Rc::new(shared);
    let ex = LocalExecutor::new();
    smol::block_on(ex.run(accept_loop(&ex, &listener, shared).or(async {
        let _ = stop.recv().await;
    })));
    // Dropping the executor drops every connection task and with it every socket.
    drop(ex);
    Ok(())
}

async fn accept_loop(ex: &LocalExecutor<'_>, listener: &Async<TcpListener>, shared: Rc<Shared>) {
    let mut next_id: u64 = 0;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                log::warn!("http: accept failed: {e}");
                Timer::after(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let c = &shared.counters;
        if c.active.load(Relaxed) >= shared.limits.max_connections {
            if shared.evict_oldest_idle() {
                c.evicted_idle.fetch_add(1, Relaxed);
            } else {
                c.rejected_overload.fetch_add(1, Relaxed);
                refuse(ex, &shared, stream);
                continue;
            }
        }
        c.active.fetch_add(1, Relaxed);
        c.accepted.fetch_add(1, Relaxed);
        next_id += 1;
        let slot = Slot(shared.counters.clone());
        let id = next_id;
        // Idle from the start: a connection that has not sent a byte yet is the first to make
        // room, even before its task has run.
        let evicted = shared.enter_idle(id);
        let task_shared = shared.clone();
        ex.spawn(async move {
            let closing = conn::serve(&task_shared, id, stream, peer, evicted).await;
            task_shared.leave_idle(id);
            // The last response is out: the slot is free for others while the socket lingers.
            drop(slot);
            if let Some(stream) = closing {
                task_shared.linger(stream).await;
            }
        })
        .detach();
        // A backlog of connections must not keep the others from running.
        smol::future::yield_now().await;
    }
}

/// Answers a connection over capacity with a `503`, written at once: the socket is new, its
/// send buffer empty, so the short response never waits.
fn refuse(ex: &LocalExecutor<'_>, shared: &Rc<Shared>, stream: Async<TcpStream>) {
    let busy = error_json(
        503,
        "overloaded",
        "the server is at its connection limit (api.max_connections); retry shortly",
    )
    .with_header("Retry-After", "1");
    let mut bytes = busy.head(true, true);
    bytes.extend_from_slice(busy.body());
    let _ = stream.get_ref().write(&bytes);
    let shared = shared.clone();
    ex.spawn(async move { shared.linger(stream).await })
        .detach();
}

/// Releases a connection slot when dropped (also when the task is cancelled at stop).
struct Slot(Arc<Counters>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Relaxed);
    }
}
