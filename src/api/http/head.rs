//! A request head, read from the connection's buffer with `httparse` and checked for
//! everything the connection needs to frame the body safely: one HTTP/1.x version, an ASCII
//! target, at most one `Content-Length` within the body limit, no `Transfer-Encoding`.
//!
//! Every refusal names an HTTP status and a message for the client, and always ends the
//! connection: after a framing error nothing that follows on the wire can be trusted.

use super::message::Method;

/// Most header fields in one request.
const MAX_FIELDS: usize = 64;

/// A checked request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: Method,
    /// Origin-form target (`/path?query`, or `*`).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub content_length: usize,
    /// The client keeps the connection open after the response (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
    /// `Expect: 100-continue`: the client waits for a `100` before it sends the body.
    pub expect_continue: bool,
    /// Bytes of the head in the buffer, blank line included.
    pub len: usize,
}

/// Why a request is refused before it reaches a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

/// Parses the head at the start of `buf`: `Ok(None)` while it is incomplete and still within
/// `max_header_bytes`.
pub fn parse(
    buf: &[u8],
    max_header_bytes: usize,
    max_body_bytes: usize,
) -> Result<Option<Head>, Refusal> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut req = httparse::Request::new(&mut fields);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= max_header_bytes => len,
        Ok(_) if buf.len() <= max_header_bytes => return Ok(None),
        Ok(_) => {
            return Err(Refusal::new(
                431,
                format!("the request line and headers exceed {max_header_bytes} bytes"),
            ))
        }
        Err(httparse::Error::Version) => {
            return Err(Refusal::new(
                505,
                "this server speaks HTTP/1.0 and HTTP/1.1 only",
            ))
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refusal::new(
                431,
                format!("more than {MAX_FIELDS} header fields"),
            ))
        }
        Err(e) => return Err(Refusal::new(400, format!("malformed request: {e}"))),
    };
    let method = Method::parse(req.method.unwrap_or_default());
    let url = origin_form(req.path.unwrap_or_default())?;
    let http11 = req.version == Some(1);

    let mut headers = Vec::with_capacity(req.headers.len());
    let mut content_length: Option<usize> = None;
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut expect_continue = false;
    for field in req.headers.iter() {
        let value = String::from_utf8_lossy(field.value).into_owned();
        let name = field.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(&value, max_body_bytes)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(Refusal::new(400, "conflicting Content-Length fields"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Refusal::new(
                411,
                "request bodies must be sent with a Content-Length (no Transfer-Encoding)",
            ));
        } else if name.eq_ignore_ascii_case("connection") {
            connection_close |= has_token(&value, "close");
            connection_keep_alive |= has_token(&value, "keep-alive");
        } else if name.eq_ignore_ascii_case("expect") {
            expect_continue = value.trim().eq_ignore_ascii_case("100-continue");
        }
        headers.push((name.to_owned(), value));
    }
    Ok(Some(Head {
        method,
        url,
        headers,
        content_length: content_length.unwrap_or(0),
        keep_alive: if http11 {
            !connection_close
        } else {
            connection_keep_alive && !connection_close
        },
        expect_continue,
        len,
    }))
}

/// A decimal `Content-Length` within the limit.
fn parse_length(value: &str, max_body_bytes: usize) -> Result<usize, Refusal> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::new(
            400,
            "Content-Length must be one decimal number",
        ));
    }
    match digits.parse::<usize>() {
        Ok(n) if n <= max_body_bytes => Ok(n),
        _ => Err(Refusal::new(
            413,
            format!("request bodies are limited to {max_body_bytes} bytes"),
        )),
    }
}

fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The target as a handler wants it: origin-form. An absolute-form target (`http://host/p`,
/// which RFC 9112 §3.2.2 requires servers to accept) loses its scheme and authority.
fn origin_form(target: &str) -> Result<String, Refusal> {
    if !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Refusal::new(
            400,
            "the request target must be ASCII; percent-encode other bytes",
        ));
    }
    if target.starts_with('/') || target == "*" {
        return Ok(target.to_owned());
    }
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return Err(Refusal::new(
            400,
            "the request target must be a path such as /api/v1/health",
        ));
    };
    Ok(match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => rest[i..].to_owned(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_owned(),
    })
}

#[cfg(test)]
mod tests;
