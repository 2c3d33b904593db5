//! The HTTP/1.1 server behind the REST API and WebSocket events: one listener (the configured
//! address, nothing else), one I/O thread that owns every connection from accept to close, and
//! a small pool of worker threads that only ever see complete, checked requests.
//!
//! What a client can cost is bounded: connections (`max_connections`, idle ones closed first
//! to make room), time (every read and write has a deadline), and bytes (head and body limits,
//! checked before anything is buffered). Requests are parsed by `httparse`; the framing rules
//! around it are in [`head`]. See docs/ARCHITECTURE.md ("The HTTP server") for why this
//! replaced tiny_http.

mod conn;
pub mod head;
mod message;
mod server;
mod shared;

pub use message::{error_json, ClientInfo, HandOver, Method, Reply, Request, Response};
pub use server::{Handler, HttpServer};
pub use shared::{HttpStats, HttpStatsReader, Limits};
