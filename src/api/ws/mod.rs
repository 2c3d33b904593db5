//! WebSocket live events at `/api/v1/ws`: `telemetry.live`, `device.status` and
//! `automation.trigger` from the bus, as `{"event": ..., "data": {...}}` text messages.
//!
//! The handshake is checked on a worker thread ([`upgrade`]); the connection is then handed
//! to a session ([`session`]), an async task on the HTTP server's I/O thread (see
//! `api::http`): no thread per client. Bounded everywhere:
//! - at most `api.ws_max_clients` sessions (more get `503`), each also an HTTP connection
//!   counted by `api.max_connections`;
//! - each session has a bus queue of [`WS_QUEUE`] events; when it is full, events for that
//!   client are dropped and counted (`ws.dropped`), ingest never waits;
//! - tungstenite's buffers are small (4 KiB read, 64 KiB write) and client messages are capped
//!   at 4 KiB;
//! - a client whose socket does not drain for `api.request_timeout_s` is disconnected
//!   (`ws.disconnected_slow`); one that answers nothing, not even the pings sent every
//!   `api.ws_ping_s`, for three ping intervals is disconnected (`ws.disconnected_idle`);
//! - a client's own messages are read a few at a time (the I/O thread serves every other
//!   connection in between), not at all while its outbox is full, and at most 20 per second
//!   (bursts of 60); a client above that rate is disconnected (`ws.disconnected_flood`).

pub mod filter;
mod session;

use super::respond::ApiError;
use super::{Method, Reply, Request, Response};
use crate::bus::Bus;
use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Bus events a client may lag behind (a telemetry event is one committed batch).
pub const WS_QUEUE: usize = 16;

#[derive(Debug, Clone)]
pub struct WsSettings {
    pub max_clients: usize,
    pub ping_interval: Duration,
    /// A client whose socket accepts nothing for this long is disconnected.
    pub stall_timeout: Duration,
}

/// Counters for `/api/v1/health` (`ws`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WsStats {
    pub clients: usize,
    pub accepted: u64,
    /// Upgrades refused because `api.ws_max_clients` sessions were open.
    pub rejected_full: u64,
    /// Messages written to clients.
    pub events_sent: u64,
    /// Messages a client did not get because it was too slow.
    pub dropped: u64,
    pub disconnected_slow: u64,
    pub disconnected_idle: u64,
    /// Clients cut for sending messages faster than the documented rate.
    pub disconnected_flood: u64,
}

#[derive(Default)]
struct Counters {
    clients: AtomicUsize,
    accepted: AtomicU64,
    rejected_full: AtomicU64,
    events_sent: AtomicU64,
    dropped: AtomicU64,
    disconnected_slow: AtomicU64,
    disconnected_idle: AtomicU64,
    disconnected_flood: AtomicU64,
}

/// What every session shares.
pub struct WsHub {
    bus: Arc<Bus>,
    settings: WsSettings,
    counters: Counters,
}

impl WsHub {
    pub fn new(bus: Arc<Bus>, settings: WsSettings) -> Arc<WsHub> {
        Arc::new(WsHub {
            bus,
            settings,
            counters: Counters::default(),
        })
    }

    pub fn stats(&self) -> WsStats {
        let c = &self.counters;
        WsStats {
            clients: c.clients.load(Relaxed),
            accepted: c.accepted.load(Relaxed),
            rejected_full: c.rejected_full.load(Relaxed),
            events_sent: c.events_sent.load(Relaxed),
            dropped: c.dropped.load(Relaxed),
            disconnected_slow: c.disconnected_slow.load(Relaxed),
            disconnected_idle: c.disconnected_idle.load(Relaxed),
            disconnected_flood: c.disconnected_flood.load(Relaxed),
        }
    }

    /// Takes a session slot, or `None` when `max_clients` are open.
    fn reserve(self: &Arc<Self>) -> Option<ClientSlot> {
        let c = &self.counters.clients;
        let mut n = c.load(Relaxed);
        loop {
            if n >= self.settings.max_clients {
                return None;
            }
            match c.compare_exchange_weak(n, n + 1, Relaxed, Relaxed) {
                Ok(_) => return Some(ClientSlot(self.clone())),
                Err(now) => n = now,
            }
        }
    }
}

/// A session slot; released when dropped (also when the upgrade never completes).
struct ClientSlot(Arc<WsHub>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.counters.clients.fetch_sub(1, Relaxed);
    }
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.header(name)
}

fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Checks a WebSocket upgrade request and answers `101`, handing the connection to a session.
pub fn upgrade(hub: &Arc<WsHub>, request: &Request) -> Result<Reply, ApiError> {
    if *request.method() != Method::Get {
        return Err(ApiError::MethodNotAllowed);
    }
    if !has_token(header(request, "Upgrade"), "websocket")
        || !has_token(header(request, "Connection"), "upgrade")
    {
        return Err(ApiError::BadRequest(
            "this endpoint speaks WebSocket only: send Connection: Upgrade, Upgrade: websocket"
                .into(),
        ));
    }
    if header(request, "Sec-WebSocket-Version").map(str::trim) != Some("13") {
        return Err(ApiError::BadRequest(
            "Sec-WebSocket-Version must be 13".into(),
        ));
    }
    let Some(key) = header(request, "Sec-WebSocket-Key").filter(|k| !k.trim().is_empty()) else {
        return Err(ApiError::BadRequest("Sec-WebSocket-Key is missing".into()));
    };
    // The caller's token (Authorization: Bearer or ?access_token=) was checked by
    // `routes::handle` before this point, so no session slot goes to an unauthenticated client.
    let Some(slot) = hub.reserve() else {
        hub.counters.rejected_full.fetch_add(1, Relaxed);
        return Err(ApiError::Unavailable(format!(
            "at most {} WebSocket clients (api.ws_max_clients)",
            hub.settings.max_clients
        )));
    };
    hub.counters.accepted.fetch_add(1, Relaxed);
    let accept = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
    let response = Response::new(101, Vec::new())
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade")
        .with_header("Sec-WebSocket-Accept", accept);
    let hub = hub.clone();
    Ok(Reply::HandOver {
        response,
        session: Box::new(move |client, early| Box::pin(session::run(hub, slot, client, early))),
    })
}
