//! One client connection, from accept to close, as a task on the I/O thread.
//!
//! The task reads a request head (at most `max_header_bytes`) and its whole body (at most
//! `max_body_bytes`, as declared by `Content-Length`), both within `request_timeout` of the
//! request's first byte; hands the complete request to a worker; writes the response, every
//! write bounded by `request_timeout`; and then reads the next request from what is already
//! buffered, so pipelined requests are answered in order, each exactly once. A refused
//! request gets its JSON error and the connection closes (nothing after a framing error can
//! be trusted). A `101` hands the socket, with any bytes read past the upgrade request, to the
//! session the handler returned; that session then owns every limit.
//!
//! Memory per connection: one buffer of at most the head limit plus the body limit plus one
//! read, and the response being written.

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use smol::future::FutureExt;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, Timer};

use super::head::{self, Head};
use super::message::{canned, ClientInfo, Method, Reply, Request, Response};
use super::shared::{pause, Job, Shared, LINGER};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 4096;
/// Bodies at least this large are written after the head rather than copied behind it.
const COPY_BODY_BELOW: usize = 16 * 1024;
/// Largest piece handed to one write, so that a slow reader is measured piece by piece.
const WRITE_CHUNK: usize = 64 * 1024;

enum Read {
    Data,
    Eof,
    Failed,
    TimedOut,
    Evicted,
}

/// Serves connection `id` until it closes.
/// `evicted` closes when the accept loop closes this (idle) connection to make room. Returns
/// the socket when it should linger (see [`linger`]) after its slot is released.
pub(super) async fn serve(
    shared: &Shared,
    id: u64,
    stream: Async<TcpStream>,
    peer: SocketAddr,
    evicted: async_channel::Receiver<()>,
) -> Option<Async<TcpStream>> {
    stream.get_ref().set_nodelay(true).ok();
    let limits = &shared.limits;
    let accepted = Instant::now();
    let client = ClientInfo { peer };
    let mut buf: Vec<u8> = Vec::new();
    let mut evicted = Some(evicted);
    loop {
        // Waiting for a request: the connection may be closed to make room for another.
        if buf.is_empty() {
            let evicted = evicted.take().unwrap_or_else(|| shared.enter_idle(id));
            let deadline = Instant::now() + limits.request_timeout;
            let read = read_some(&stream, &mut buf, deadline, Some(&evicted)).await;
            shared.leave_idle(id);
            match read {
                Read::Data => {}
                Read::TimedOut => {
                    shared.counters.timed_out.fetch_add(1, Relaxed);
                    return None;
                }
                Read::Eof | Read::Failed | Read::Evicted => return None,
            }
        }
        let deadline = Instant::now() + limits.request_timeout;
        let head = match read_head(shared, &stream, &mut buf, deadline).await {
            Ok(head) => head,
            Err(None) => return None,
            Err(Some(refusal)) => {
                refuse(&stream, &refusal).await;
                return Some(stream);
            }
        };
        buf.drain(..head.len);
        let length = head.content_length;
        if head.expect_continue && buf.len() < length {
            let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
            if write_all(shared, &stream, cont).await.is_err() {
                return None;
            }
        }
        while buf.len() < length {
            match read_some(&stream, &mut buf, deadline, None).await {
                Read::Data => {}
                Read::TimedOut => {
                    shared.counters.timed_out.fetch_add(1, Relaxed);
                    let timeout = canned(408, "the request body did not arrive in time");
                    refuse(&stream, &timeout).await;
                    return Some(stream);
                }
                _ => return None,
            }
        }
        let rest = buf.split_off(length);
        let body = std::mem::replace(&mut buf, rest);
        let is_head = head.method == Method::Head;
        let close = !head.keep_alive || accepted.elapsed() >= limits.max_connection_lifetime;
        let request = Request::new(head.method, head.url, head.headers, body);
        let reply = dispatch(shared, request, &client).await?;
        match reply {
            Reply::Response(response) => {
                if send(shared, &stream, &response, is_head, close)
                    .await
                    .is_err()
                {
                    return None;
                }
                if close {
                    return Some(stream);
                }
            }
            Reply::HandOver { response, session } => {
                if write_all(shared, &stream, &response.head(false, false))
                    .await
                    .is_err()
                {
                    return None;
                }
                session(stream, buf).await;
                return None;
            }
        }
    }
}

/// Reads until `buf` holds a complete head. `Err(None)`: the client left or timed out
/// before sending a whole head (a timeout is answered with a 408 here, and the caller closes
/// without lingering).
async fn read_head(
    shared: &Shared,
    stream: &Async<TcpStream>,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> Result<Head, Option<Response>> {
    let limits = &shared.limits;
    loop {
        match head::parse(buf, limits.max_header_bytes, limits.max_body_bytes) {
            Ok(Some(head)) => return Ok(head),
            Ok(None) => {}
            Err(refusal) => {
                shared.counters.over_limit.fetch_add(1, Relaxed);
                return Err(Some(canned(refusal.status, &refusal.message)));
            }
        }
        match read_some(stream, buf, deadline, None).await {
            Read::Data => {}
            Read::TimedOut => {
                shared.counters.timed_out.fetch_add(1, Relaxed);
                let timeout = canned(408, "the request did not arrive in time");
                refuse(stream, &timeout).await;
                return Err(None);
            }
            _ => return Err(None),
        }
    }
}

/// Runs the handler on a worker; `None` when the server is stopping.
async fn dispatch(shared: &Shared, request: Request, client: &ClientInfo) -> Option<Reply> {
    let (reply, answer) = async_channel::bounded(1);
    let job = Job {
        request,
        client: client.clone(),
        reply,
    };
    shared.jobs.send(job).await.ok()?;
    answer.recv().await.ok()
}

/// Appends what the socket has (at most one chunk) to `buf`, unless `deadline` passes or
/// `evicted` closes first.
async fn read_some(
    stream: &Async<TcpStream>,
    buf: &mut Vec<u8>,
    deadline: Instant,
    evicted: Option<&async_channel::Receiver<()>>,
) -> Read {
    let mut chunk = [0u8; READ_CHUNK];
    let read = async {
        match (&*stream).read(&mut chunk).await {
            Ok(0) => Read::Eof,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                Read::Data
            }
            Err(_) => Read::Failed,
        }
    };
    let timeout = async {
        Timer::at(deadline).await;
        Read::TimedOut
    };
    let eviction = async {
        match evicted {
            Some(signal) => {
                let _ = signal.recv().await;
                Read::Evicted
            }
            None => std::future::pending().await,
        }
    };
    read.or(eviction).or(timeout).await
}

/// Writes `bytes`, giving up when the client takes nothing for `request_timeout`.
async fn write_all(shared: &Shared, stream: &Async<TcpStream>, bytes: &[u8]) -> Result<(), ()> {
    for piece in bytes.chunks(WRITE_CHUNK) {
        let write = async { (&*stream).write_all(piece).await.map_err(|_| false) };
        let timeout = async {
            Timer::after(shared.limits.request_timeout).await;
            Err(true)
        };
        if let Err(timed_out) = write.or(timeout).await {
            if timed_out {
                shared.counters.timed_out.fetch_add(1, Relaxed);
            }
            return Err(());
        }
    }
    Ok(())
}

/// Sends a response with its `Content-Length` (a HEAD response without its body).
async fn send(
    shared: &Shared,
    stream: &Async<TcpStream>,
    response: &Response,
    is_head: bool,
    close: bool,
) -> Result<(), ()> {
    let mut bytes = response.head(close, true);
    let body = if is_head { &[][..] } else { response.body() };
    if body.len() < COPY_BODY_BELOW {
        bytes.extend_from_slice(body);
        write_all(shared, stream, &bytes).await
    } else {
        write_all(shared, stream, &bytes).await?;
        write_all(shared, stream, body).await
    }
}

/// Sends a refusal (with `Connection: close`); the caller then closes. The write is bounded
/// by `LINGER`: a client that refuses even a short error response loses it.
async fn refuse(stream: &Async<TcpStream>, response: &Response) {
    let mut bytes = response.head(true, true);
    bytes.extend_from_slice(response.body());
    let write = async {
        let _ = (&*stream).write_all(&bytes).await;
    };
    write.or(pause(LINGER)).await;
}
