//! The REST API's HTTP layer: tiny_http behind a connection guard that bounds what clients can
//! cost a 128 MB router (connections, time, bytes), plus JSON response helpers.

pub mod auth;
pub mod devices;
mod guard;
pub mod respond;
pub mod routes;
pub mod rules;
pub mod server;
pub mod ws;

pub use respond::{
    error_response, json_response, parse_query, read_body_capped, ApiError, JsonResponse,
};
pub use server::{
    ClientInfo, HandOver, Handler, HttpServer, HttpStats, HttpStatsReader, Limits, Reply,
};
