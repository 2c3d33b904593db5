//! The REST API: its HTTP server (see [`http`]), routes, the health report and its Prometheus
//! form (`/metrics`), and JSON response
//! helpers.

pub mod auth;
pub mod devices;
pub mod health;
pub mod http;
pub mod metrics;
pub mod respond;
pub mod routes;
pub mod rules;
pub mod state;
pub mod telemetry;
pub mod ws;

pub use http::{
    ClientInfo, HandOver, Handler, HttpServer, HttpStats, HttpStatsReader, Limits, Method, Reply,
    Request, Response,
};
pub use respond::{
    error_response, json_response, parse_query, read_body_capped, ApiError, JsonResponse,
};
