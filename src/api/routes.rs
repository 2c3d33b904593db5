//! The REST API under `/api/v1`, in the shapes the cloud API uses (and `/metrics`, health for
//! Prometheus):
//! lists are `{"items": [...], "next_cursor": ...}`, errors `{"error": {"code", "message"}}`.
//! Handlers hold the store lock only for the duration of one query.
//!
//! Authentication is checked in one place, [`handle`], before routing: every path except
//! [`PUBLIC_PATHS`] needs a bearer token (see [`super::auth::authorize`]); the WebSocket path
//! [`WS_PATH`] also takes it as `?access_token=`, which is then removed from the parameters.
//! A `metrics_only` API token opens [`METRICS_PATH`] and is refused (401) everywhere else.
//! Automation rules and the WebSocket upgrade go through [`live_route`], after the same check.

use super::health::health;
use super::respond::{
    error_response, internal, json_response, param, parse_limit, parse_query, reject_params,
    ApiError, List,
};
use super::state::AppState;
use super::{ClientInfo, Reply};
use crate::auth::Principal;
use crate::store::{Device, Store};
use std::sync::atomic::Ordering::Relaxed;

/// Paths served without a token (any method; other methods get 405 there).
pub const PUBLIC_PATHS: &[&str] = &["/api/v1/health", "/api/v1/auth/login"];
/// The WebSocket upgrade path, where the token may also come as `?access_token=`.
pub const WS_PATH: &str = "/api/v1/ws";
/// Prometheus' scrape path, the only one a `metrics_only` API token opens.
pub const METRICS_PATH: &str = "/metrics";

/// The caller of a request that passed the check in [`handle`]; `None` on public paths.
type Caller = Option<Principal>;

/// The one authentication check: `Ok(None)` for public paths, the principal otherwise.
/// On the WebSocket path a query token is accepted and removed from `params`.
fn authenticate(
    state: &AppState,
    request: &super::Request,
    path: &str,
    params: &mut Vec<(String, String)>,
) -> Result<Caller, ApiError> {
    let path = path.trim_end_matches('/');
    if PUBLIC_PATHS.contains(&path) {
        return Ok(None);
    }
    let is_ws = path == WS_PATH;
    let query = is_ws.then_some(params.as_slice());
    let result =
        super::auth::authorize(&state.auth, request, query).and_then(|caller| match caller {
            Principal::MetricsToken(_) if path != METRICS_PATH => Err(ApiError::Unauthorized(
                "this token opens only /metrics (api_token metrics_only)".into(),
            )),
            caller => Ok(caller),
        });
    if result.is_err() {
        state.auth.stats().unauthorized.fetch_add(1, Relaxed);
    }
    if is_ws {
        params.retain(|(k, _)| k != super::auth::ACCESS_TOKEN_PARAM);
    }
    result.map(Some)
}

/// The `Allow` header of a 405 on `path`.
fn allowed_methods(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        ["api", "v1", "auth", "login"] => "POST",
        ["api", "v1", "devices", _] => "GET, HEAD, PATCH",
        ["api", "v1", "automation", "rules"] => "GET, HEAD, POST",
        ["api", "v1", "automation", "rules", _] => "GET, HEAD, PUT, DELETE",
        ["api", "v1", "ws"] => "GET",
        _ => "GET, HEAD",
    }
}

/// Entry point for one request.
pub fn handle(state: &AppState, request: &super::Request, client: &ClientInfo) -> Reply {
    state.api.requests.fetch_add(1, Relaxed);
    let url = request.url().to_owned();
    let (path, mut params) = parse_query(&url);
    let result =
        authenticate(state, request, path, &mut params).and_then(|caller| {
            match live_route(state, request, path, &params) {
                Some(result) => result,
                None => {
                    route(state, request, client, caller.as_ref(), path, &params).map(Reply::from)
                }
            }
        });
    match result {
        Ok(reply) => reply,
        Err(error) => {
            state.api.errors.fetch_add(1, Relaxed);
            let mut response = error_response(&error);
            if matches!(error, ApiError::MethodNotAllowed) {
                // RFC 9110 requires Allow on 405.
                response = response.with_header("Allow", allowed_methods(path));
            }
            response.into()
        }
    }
}

/// The routes that need the whole request (bodies, upgrade headers): automation rules and
/// WebSocket events. `None` for every other path. The caller is already authenticated.
fn live_route(
    state: &AppState,
    request: &super::Request,
    path: &str,
    params: &[(String, String)],
) -> Option<Result<Reply, ApiError>> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    Some(match segments.as_slice() {
        ["api", "v1", "automation", "rules"] => reject_params(params, &[])
            .and_then(|()| super::rules::collection(state.automation.as_deref(), request))
            .map(Reply::from),
        ["api", "v1", "automation", "rules", id] => reject_params(params, &[])
            .and_then(|()| super::rules::item(state.automation.as_deref(), request, id))
            .map(Reply::from),
        ["api", "v1", "ws"] => reject_params(params, &[]).and_then(|()| match &state.ws {
            Some(hub) => super::ws::upgrade(hub, request),
            None => Err(ApiError::NotFound(
                "WebSocket events are off (api.ws_max_clients is 0)".into(),
            )),
        }),
        _ => return None,
    })
}

type Json = super::respond::JsonResponse;

fn route(
    state: &AppState,
    request: &super::Request,
    client: &ClientInfo,
    caller: Option<&Principal>,
    path: &str,
    params: &[(String, String)],
) -> Result<Json, ApiError> {
    let method = request.method().clone();
    let path = path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let get_only = || match method {
        super::Method::Get | super::Method::Head => Ok(()),
        _ => Err(ApiError::MethodNotAllowed),
    };
    let actor = caller.map_or("", Principal::name);
    match segments.as_slice() {
        ["api", "v1", "auth", "login"] => {
            if method != super::Method::Post {
                return Err(ApiError::MethodNotAllowed);
            }
            reject_params(params, &[])?;
            super::auth::login(&state.auth, request, client.peer.ip())
        }
        ["api", "v1", "health"] => {
            get_only()?;
            reject_params(params, &[])?;
            health(state)
        }
        ["api", "v1", "devices"] => {
            get_only()?;
            list_devices(state, params)
        }
        ["api", "v1", "devices", id] if method == super::Method::Patch => {
            reject_params(params, &[])?;
            let id = super::respond::decode_path_segment(id);
            super::devices::patch(&state.store, request, &id, actor)
        }
        ["api", "v1", "devices", id] => {
            get_only()?;
            reject_params(params, &[])?;
            get_device(state, &super::respond::decode_path_segment(id))
        }
        ["api", "v1", "telemetry"] => {
            get_only()?;
            super::telemetry::telemetry(state, params)
        }
        // Prometheus' conventional path, beside the API on the same listener.
        ["metrics"] => {
            get_only()?;
            reject_params(params, &[])?;
            super::metrics::metrics(state)
        }
        _ => Err(ApiError::NotFound(format!("no route for {path}"))),
    }
}

fn lock(state: &AppState) -> std::sync::MutexGuard<'_, Store> {
    state.store.lock()
}

fn list_devices(state: &AppState, params: &[(String, String)]) -> Result<Json, ApiError> {
    reject_params(params, &["limit", "cursor"])?;
    let limit = parse_limit(params)?;
    let after = param(params, "cursor");
    let devices = lock(state).devices().map_err(internal)?;
    let mut items: Vec<Device> = devices
        .into_iter()
        .filter(|d| after.is_none_or(|a| d.id.as_str() > a))
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    let next_cursor = (items.len() > limit).then(|| items[limit - 1].id.clone());
    items.truncate(limit);
    Ok(json_response(200, &List { items, next_cursor }))
}

fn get_device(state: &AppState, id: &str) -> Result<Json, ApiError> {
    super::devices::check_device_id(id)?;
    match lock(state).device(id).map_err(internal)? {
        Some(device) => Ok(json_response(200, &device)),
        None => Err(ApiError::NotFound(format!("no device {id:?}"))),
    }
}
