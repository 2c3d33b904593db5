//! The API's side of authentication: the one check every protected request passes
//! ([`authorize`]), the login endpoint, and the mapping of [`AuthError`] to HTTP answers
//! (401 with `WWW-Authenticate: Bearer`, 429 with `Retry-After`).
//!
//! Tokens come in the `Authorization: Bearer <token>` header. Only where the caller allows it
//! (the WebSocket upgrade, which browsers cannot give headers) also as `?access_token=`.

use super::respond::{json_response, read_body_capped, ApiError, JsonResponse};
use crate::auth::password::MAX_PASSWORD_CHARS;
use crate::auth::{Auth, AuthError, Principal};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The query parameter that may carry the token where [`authorize`] is told to accept it.
pub const ACCESS_TOKEN_PARAM: &str = "access_token";

/// Largest login body: a user name and a password of the longest kind, escaped as JSON
/// (`\uXXXX` per character at worst), fit.
const MAX_LOGIN_BODY: usize = 16 * 1024;
/// Longest user name accepted in a login, in characters.
const MAX_LOGIN_USERNAME_CHARS: usize = 256;

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::BadCredentials | AuthError::InvalidToken | AuthError::ExpiredToken => {
                ApiError::Unauthorized(e.to_string())
            }
            AuthError::LockedOut { retry_after_s } => ApiError::TooManyRequests { retry_after_s },
            AuthError::Busy => ApiError::TooManyRequests { retry_after_s: 1 },
            AuthError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

/// Who sent this request, from its bearer token. `query` is `Some` only where a token in the
/// `access_token` query parameter is acceptable (the WebSocket upgrade); the header wins when
/// both are present.
pub fn authorize(
    auth: &Auth,
    request: &super::Request,
    query: Option<&[(String, String)]>,
) -> Result<Principal, ApiError> {
    let token = match bearer(request)? {
        Some(token) => token,
        None => query
            .and_then(|q| q.iter().find(|(k, _)| k == ACCESS_TOKEN_PARAM))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "this endpoint needs Authorization: Bearer <token> (POST /api/v1/auth/login)"
                        .into(),
                )
            })?,
    };
    Ok(auth.check_token(token)?)
}

/// The token of an `Authorization: Bearer` header; `None` when there is no such header.
fn bearer(request: &super::Request) -> Result<Option<&str>, ApiError> {
    let Some(value) = request.header("Authorization") else {
        return Ok(None);
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header must be 'Bearer <token>'".into(),
        ));
    }
    Ok(Some(token.trim()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    expires_at: i64,
}

/// `POST /api/v1/auth/login`.
pub fn login(
    auth: &Auth,
    request: &super::Request,
    client: IpAddr,
) -> Result<JsonResponse, ApiError> {
    let body = read_body_capped(request, MAX_LOGIN_BODY)?;
    let login: LoginRequest = super::respond::parse_json_object(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"username\": \"...\", \"password\": \"...\"}}: {e}"
        ))
    })?;
    if login.username.is_empty() || login.password.is_empty() {
        return Err(ApiError::UnprocessableEntity(
            "username and password must not be empty".into(),
        ));
    }
    if login.password.chars().count() > MAX_PASSWORD_CHARS
        || login.username.chars().count() > MAX_LOGIN_USERNAME_CHARS
    {
        return Err(ApiError::UnprocessableEntity(format!(
            "the password is longer than {MAX_PASSWORD_CHARS} characters or the username \
             longer than {MAX_LOGIN_USERNAME_CHARS}"
        )));
    }
    let issued = auth.login(&login.username, &login.password, client)?;
    Ok(json_response(
        200,
        &LoginResponse {
            token: issued.token,
            expires_at: issued.expires_at_ms,
        },
    ))
}
