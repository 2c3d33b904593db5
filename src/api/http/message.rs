//! What handlers see and return: a [`Request`] whose head and body have been read and checked
//! by the connection (framing is never a handler's concern), and a [`Response`] held whole in
//! memory, which the connection frames with its `Content-Length`.

use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;

use smol::Async;

/// A request method. Methods the API does not serve keep their name, so a handler can answer
/// 405 rather than 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other(String),
}

impl Method {
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_owned()),
        }
    }
}

/// One complete request: a method, an origin-form target (`/path?query`; an absolute-form
/// target has had its scheme and authority removed), the header fields in arrival order and
/// the whole body (at most `Limits::max_body_bytes`).
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    pub fn new(
        method: Method,
        url: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Request {
        Request {
            method,
            url,
            headers,
            body,
        }
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request target: path and query.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every header field as (name, value), names as sent.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The value of the first field named `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// A response whose body is in memory. `Content-Length` and `Connection` are added by the
/// connection; handlers set the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// Adds a header field. Values with line breaks are dropped rather than sent: a handler
    /// must never be able to split the response.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        let value = value.into();
        if !value.bytes().any(|b| b == b'\r' || b == b'\n') {
            self.headers.push((name, value));
        }
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The status line and header block, ending in the blank line. `close` adds
    /// `Connection: close`; `with_length` adds the body's `Content-Length` (a HEAD response
    /// states the length of the body it omits; a `101` has none).
    pub(super) fn head(&self, close: bool, with_length: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(reason(self.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            push_field(&mut out, name, value);
        }
        if with_length {
            push_field(&mut out, "Content-Length", &self.body.len().to_string());
        }
        if close {
            push_field(&mut out, "Connection", "close");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Reason phrases of the statuses this server sends (clients ignore them; RFC 9112 §4).
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Who sent a request.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub peer: SocketAddr,
}

/// A session that takes over an upgraded connection: it gets the client socket and the bytes
/// the client already sent after its upgrade request, and runs as a task on the server's I/O
/// thread, where it must bound its own reads, writes and memory.
pub type HandOver =
    Box<dyn FnOnce(Async<TcpStream>, Vec<u8>) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// What a handler wants sent back.
pub enum Reply {
    Response(Response),
    /// Switch protocols: `response` (a 101 with its `Upgrade` and `Connection` fields) is sent,
    /// then `session` owns the connection. It still counts toward `max_connections`.
    HandOver {
        response: Response,
        session: HandOver,
    },
}

impl From<Response> for Reply {
    fn from(r: Response) -> Reply {
        Reply::Response(r)
    }
}

/// `{"error": {"code": code, "message": message}}` with `status`: the API's one error shape,
/// which the server also uses for the refusals it makes on its own.
pub fn error_json(status: u16, code: &str, message: &str) -> Response {
    #[derive(serde::Serialize)]
    struct ErrorBody<'a> {
        error: ErrorDetail<'a>,
    }
    #[derive(serde::Serialize)]
    struct ErrorDetail<'a> {
        code: &'a str,
        message: &'a str,
    }
    // Two strings always serialize.
    let body = serde_json::to_vec(&ErrorBody {
        error: ErrorDetail { code, message },
    })
    .unwrap_or_default();
    Response::new(status, body).with_header("Content-Type", "application/json")
}

/// A response the connection sends on its own (refusals, timeouts).
pub(super) fn canned(status: u16, message: &str) -> Response {
    let code = match status {
        400 => "bad_request",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        431 => "header_too_large",
        505 => "http_version_not_supported",
        _ => "unavailable",
    };
    error_json(status, code, message)
}
