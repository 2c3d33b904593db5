//! JSON responses, API errors, capped body reading and query strings (parsing, the checks of
//! parameters every route shares, `limit`).

use serde::Serialize;

pub use super::http::error_json;
use super::http::{Reply, Request, Response};

/// A response whose body is in memory.
pub type JsonResponse = Response;

/// An error a handler reports to the client as `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unprocessable entity: {0}")]
    UnprocessableEntity(String),
    #[error("too many requests, retry after {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The detail is logged, never sent: clients only see "internal error".
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::PayloadTooLarge => 413,
            ApiError::UnprocessableEntity(_) => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnprocessableEntity(_) => "unprocessable_entity",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The message the client sees.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::NotFound(m)
            | ApiError::UnprocessableEntity(m)
            | ApiError::Unavailable(m) => m.clone(),
            ApiError::MethodNotAllowed => "method not allowed".into(),
            ApiError::PayloadTooLarge => "request body too large".into(),
            ApiError::TooManyRequests { .. } => "too many requests".into(),
            ApiError::Internal(_) => "internal error".into(),
        }
    }
}

/// A page of a collection, the list shape of the cloud API: `{"items": [...], "next_cursor"}`.
#[derive(Serialize)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        error_response(&e).into()
    }
}

/// `body` as JSON with `Content-Type: application/json`. Never panics: a value that fails to
/// serialize becomes a 500.
pub fn json_response<T: Serialize + ?Sized>(status: u16, body: &T) -> JsonResponse {
    let (status, bytes) = match serde_json::to_vec(body) {
        Ok(bytes) => (status, bytes),
        Err(e) => {
            log::error!("http: response serialization failed: {e}");
            (
                500,
                br#"{"error":{"code":"internal","message":"internal error"}}"#.to_vec(),
            )
        }
    };
    Response::new(status, bytes).with_header("Content-Type", "application/json")
}

/// `{"error": {"code": "...", "message": "..."}}` with the matching status (and `Retry-After`
/// for 429, `WWW-Authenticate` for 401). Internal details are logged here and never sent.
pub fn error_response(err: &ApiError) -> JsonResponse {
    if let ApiError::Internal(detail) = err {
        log::error!("http: internal error: {detail}");
    }
    let resp = error_json(err.status(), err.code(), &err.public_message());
    match err {
        ApiError::TooManyRequests { retry_after_s } => {
            resp.with_header("Retry-After", retry_after_s.to_string())
        }
        // RFC 6750: a 401 names the scheme the client should use.
        ApiError::Unauthorized(_) => {
            resp.with_header("WWW-Authenticate", "Bearer realm=\"acs-edge\"")
        }
        _ => resp,
    }
}

/// The body, refusing (413) more than `max` bytes: the server caps every body at
/// `api.max_body_kb`; an endpoint may accept less.
pub fn read_body_capped(req: &Request, max: usize) -> Result<&[u8], ApiError> {
    let body = req.body();
    if body.len() > max {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body)
}

/// A request body that must be a JSON object, into `T`. serde would also build a struct from
/// a JSON array of its fields; request bodies are objects only.
pub fn parse_json_object<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err("the body must be a JSON object".into());
    }
    T::deserialize(value).map_err(|e| e.to_string())
}

/// Splits a request target into its path and percent-decoded query pairs (`+` is a space;
/// invalid escapes are kept as they are; invalid UTF-8 is replaced). A fragment is dropped.
pub fn parse_query(url: &str) -> (&str, Vec<(String, String)>) {
    let url = url.split('#').next().unwrap_or(url);
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, q),
        None => (url, ""),
    };
    let pairs = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect();
    (path, pairs)
}

/// One path segment, percent-decoded (`+` stays a plus; invalid escapes are kept as they are;
/// invalid UTF-8 is replaced). Clients escape characters such as `:` that need none.
pub fn decode_path_segment(s: &str) -> String {
    decode_with(s, false)
}

fn decode(s: &str) -> String {
    decode_with(s, true)
}

fn decode_with(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let digit = |j: usize| bytes.get(j).copied().and_then(hex);
                match (digit(i + 1), digit(i + 2)) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The default and the largest `limit` of a list.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

pub fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Unknown or repeated parameters are refused: a typo must not silently widen a query.
pub fn reject_params(params: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    for (i, (key, _)) in params.iter().enumerate() {
        if !allowed.contains(&key.as_str()) {
            let allowed = if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            };
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter {key:?}; allowed: {allowed}"
            )));
        }
        if params[..i].iter().any(|(k, _)| k == key) {
            return Err(ApiError::BadRequest(format!(
                "query parameter {key:?} repeated"
            )));
        }
    }
    Ok(())
}

pub fn parse_limit(params: &[(String, String)]) -> Result<usize, ApiError> {
    match param(params, "limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "'limit' must be an integer 1..={MAX_LIMIT}, got {v:?}"
            ))),
        },
    }
}

pub fn internal(error: crate::store::StoreError) -> ApiError {
    log::error!("store query failed: {error}");
    ApiError::Internal("the store could not answer; see the daemon log".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(resp: JsonResponse) -> serde_json::Value {
        serde_json::from_slice(resp.body()).unwrap()
    }

    #[test]
    fn query_strings_are_split_and_decoded() {
        let (path, q) =
            parse_query("/api/readings?sensor=a%2Fb&from=2024-01-01T00%3A00&x+y=1+2&&flag#frag");
        assert_eq!(path, "/api/readings");
        assert_eq!(
            q,
            vec![
                ("sensor".into(), "a/b".into()),
                ("from".into(), "2024-01-01T00:00".into()),
                ("x y".into(), "1 2".into()),
                ("flag".into(), "".into()),
            ]
        );
        assert_eq!(parse_query("/p").1, vec![]);
        let (_, q) = parse_query("/p?a=%zz&b=%4&c=%41%");
        assert_eq!(
            q,
            vec![
                ("a".into(), "%zz".into()),
                ("b".into(), "%4".into()),
                ("c".into(), "A%".into())
            ]
        );
        assert_eq!(parse_query("/p?n=%C3%A9%FF").1[0].1, "é\u{fffd}");
    }

    #[test]
    fn path_segments_are_percent_decoded_without_plus_as_space() {
        assert_eq!(decode_path_segment("dev%3A1"), "dev:1");
        assert_eq!(decode_path_segment("a+b%2Fc"), "a+b/c");
        assert_eq!(decode_path_segment("%zz"), "%zz");
    }

    #[test]
    fn errors_have_codes_statuses_and_no_internal_details() {
        let r = error_response(&ApiError::Internal("/etc/acs/secret.db: locked".into()));
        assert_eq!(r.status(), 500);
        let v = body(r);
        assert_eq!(v["error"]["code"], "internal");
        assert_eq!(v["error"]["message"], "internal error");

        let r = error_response(&ApiError::TooManyRequests { retry_after_s: 30 });
        assert_eq!(r.status(), 429);
        assert_eq!(r.header("Retry-After"), Some("30"));
        assert_eq!(body(r)["error"]["code"], "too_many_requests");

        for (e, status, code) in [
            (ApiError::BadRequest("x".into()), 400, "bad_request"),
            (ApiError::Unauthorized("x".into()), 401, "unauthorized"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::UnprocessableEntity("x".into()),
                422,
                "unprocessable_entity",
            ),
            (ApiError::Unavailable("x".into()), 503, "unavailable"),
        ] {
            let r = error_response(&e);
            assert_eq!(r.status(), status);
            assert_eq!(r.header("Content-Type"), Some("application/json"));
            assert_eq!(body(r)["error"]["code"], code);
        }
    }
}
