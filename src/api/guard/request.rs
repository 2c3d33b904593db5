//! Request framing for the guard: finds where each header block ends and reads the two framing
//! headers (`Content-Length`, `Transfer-Encoding`) with tiny_http's rules, refusing anything
//! ambiguous; and the canned responses the guard sends itself. Nothing else of HTTP is parsed.

/// A fixed `Connection: close` JSON error response, as the guard sends it itself.
pub(crate) fn canned(status: &str, code: &str, message: &str) -> Vec<u8> {
    let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Why the guard refused a request. Each maps to a canned response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// Header block longer than `max_header_bytes` (431).
    HeaderTooLarge,
    /// Declared `Content-Length` larger than `max_body_bytes` (413).
    BodyTooLarge,
    /// Several or malformed `Content-Length` headers (400).
    BadFraming,
    /// A `Transfer-Encoding` request body (411: send a `Content-Length`).
    LengthRequired,
}

impl Reject {
    pub(super) fn response(self) -> Vec<u8> {
        match self {
            Reject::HeaderTooLarge => canned(
                "431 Request Header Fields Too Large",
                "header_too_large",
                "request header too large",
            ),
            Reject::BodyTooLarge => canned(
                "413 Payload Too Large",
                "payload_too_large",
                "request body too large",
            ),
            Reject::BadFraming => {
                canned("400 Bad Request", "bad_request", "invalid Content-Length")
            }
            Reject::LengthRequired => canned(
                "411 Length Required",
                "length_required",
                "request body needs a Content-Length",
            ),
        }
    }
}

pub(super) fn overloaded() -> Vec<u8> {
    canned(
        "503 Service Unavailable",
        "overloaded",
        "too many connections",
    )
}

pub(super) fn request_timeout() -> Vec<u8> {
    canned(
        "408 Request Timeout",
        "request_timeout",
        "request not received in time",
    )
}

/// Which framing header the current header line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Other,
    ContentLength,
    TransferEncoding,
}

/// Where the scanner is inside one header line (request line excluded).
#[derive(Debug, Clone, Copy)]
enum Line {
    /// Leading whitespace (tiny_http trims the line before parsing it).
    Lead,
    /// Inside the field name; `i` bytes so far; which framing names are still possible.
    Name { i: usize, cl: bool, te: bool },
    /// Line that does not matter to framing (or that tiny_http will refuse).
    Skip,
    /// A `Transfer-Encoding` header: tiny_http decodes the body as chunked whatever the value.
    TransferEncoding,
    /// Value of a `Content-Length` header.
    Value(Num),
}

/// `usize::from_str` on a trimmed string, as a byte-at-a-time automaton.
#[derive(Debug, Clone, Copy)]
enum Num {
    Lead,
    Sign,
    Digits(u64),
    Trail(u64),
    Invalid,
}

const CL: &[u8] = b"content-length";
const TE: &[u8] = b"transfer-encoding";

/// What tiny_http's `str::trim` treats as whitespace among ASCII bytes.
fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

#[derive(Debug)]
struct Head {
    /// Bytes of this header block so far (request line, headers, terminator).
    len: usize,
    /// 0 while in the request line.
    line_no: usize,
    /// Bytes in the current line (a pending CR not counted).
    line_len: usize,
    pending_cr: bool,
    line: Line,
    content_length: Option<u64>,
    content_lengths: u32,
    bad_length: bool,
    transfer_encoding: bool,
}

impl Head {
    fn new() -> Head {
        Head {
            len: 0,
            line_no: 0,
            line_len: 0,
            pending_cr: false,
            line: Line::Lead,
            content_length: None,
            content_lengths: 0,
            bad_length: false,
            transfer_encoding: false,
        }
    }

    /// One byte of the current line (CRLF already stripped).
    fn line_byte(&mut self, b: u8) {
        self.line_len += 1;
        if self.line_no == 0 {
            return; // request line
        }
        self.line = match self.line {
            Line::Lead if is_ws(b) => Line::Lead,
            Line::Lead => Self::name_byte(0, true, true, b),
            Line::Name { i, cl, te } => Self::name_byte(i, cl, te, b),
            Line::Skip => Line::Skip,
            Line::TransferEncoding => Line::TransferEncoding,
            Line::Value(n) => Line::Value(Self::num_byte(n, b)),
        };
    }

    fn name_byte(i: usize, cl: bool, te: bool, b: u8) -> Line {
        if b == b':' {
            let field = if cl && i == CL.len() {
                Field::ContentLength
            } else if te && i == TE.len() {
                Field::TransferEncoding
            } else {
                Field::Other
            };
            return match field {
                Field::ContentLength => Line::Value(Num::Lead),
                Field::TransferEncoding => Line::TransferEncoding,
                Field::Other => Line::Skip,
            };
        }
        if is_ws(b) {
            // tiny_http refuses a field name containing whitespace (400, connection closed).
            return Line::Skip;
        }
        let c = b.to_ascii_lowercase();
        Line::Name {
            i: i + 1,
            cl: cl && CL.get(i) == Some(&c),
            te: te && TE.get(i) == Some(&c),
        }
    }

    fn num_byte(n: Num, b: u8) -> Num {
        match (n, b) {
            (Num::Invalid, _) => Num::Invalid,
            (Num::Lead, b) if is_ws(b) => Num::Lead,
            (Num::Lead, b'+') => Num::Sign,
            (Num::Lead | Num::Sign, b'0'..=b'9') => Num::Digits(u64::from(b - b'0')),
            (Num::Digits(v), b'0'..=b'9') => {
                Num::Digits(v.saturating_mul(10).saturating_add(u64::from(b - b'0')))
            }
            (Num::Digits(v) | Num::Trail(v), b) if is_ws(b) => Num::Trail(v),
            _ => Num::Invalid,
        }
    }

    /// End of the current line; returns true at the end of the header block.
    fn end_line(&mut self) -> bool {
        let blank = self.line_len == 0;
        if self.line_no > 0 {
            if blank {
                return true;
            }
            match self.line {
                Line::Value(Num::Digits(v) | Num::Trail(v)) => {
                    self.content_lengths += 1;
                    self.content_length = Some(v);
                }
                Line::Value(_) => {
                    self.content_lengths += 1;
                    self.bad_length = true;
                }
                Line::TransferEncoding => self.transfer_encoding = true,
                Line::Lead | Line::Name { .. } | Line::Skip => {}
            }
        }
        self.line_no += 1;
        self.line_len = 0;
        self.line = Line::Lead;
        false
    }
}

/// Streaming request-framing scanner for one connection (see the module docs).
#[derive(Debug)]
pub(crate) struct Scanner {
    max_header: usize,
    max_body: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Between requests.
    Idle,
    Head(Box<Head>),
    Body {
        remaining: u64,
    },
}

/// What one chunk of client bytes did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fed {
    /// A request started in this chunk (the deadline restarts).
    pub started: bool,
    /// Requests whose last byte was in this chunk.
    pub completed: u32,
}

impl Scanner {
    pub(crate) fn new(max_header: usize, max_body: u64) -> Scanner {
        Scanner {
            max_header,
            max_body,
            state: State::Idle,
        }
    }

    /// True while a request has started but not all its bytes have arrived.
    pub(crate) fn in_request(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    /// True while inside a header block.
    pub(crate) fn in_head(&self) -> bool {
        matches!(self.state, State::Head(_))
    }

    /// Scans a chunk of client bytes. On `Err` nothing of the chunk may be forwarded.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<Fed, Reject> {
        let mut fed = Fed::default();
        while !data.is_empty() {
            match &mut self.state {
                State::Idle => {
                    fed.started = true;
                    self.state = State::Head(Box::new(Head::new()));
                }
                State::Body { remaining } => {
                    let take = (*remaining).min(data.len() as u64);
                    *remaining -= take;
                    data = &data[take as usize..];
                    if *remaining == 0 {
                        fed.completed += 1;
                        self.state = State::Idle;
                    }
                }
                State::Head(head) => {
                    let b = data[0];
                    data = &data[1..];
                    head.len += 1;
                    if head.len > self.max_header {
                        return Err(Reject::HeaderTooLarge);
                    }
                    let done = if head.pending_cr {
                        if b == b'\n' {
                            head.pending_cr = false;
                            head.end_line()
                        } else {
                            head.line_byte(b'\r');
                            head.pending_cr = b == b'\r';
                            if !head.pending_cr {
                                head.line_byte(b);
                            }
                            false
                        }
                    } else if b == b'\r' {
                        head.pending_cr = true;
                        false
                    } else {
                        head.line_byte(b);
                        false
                    };
                    if done {
                        let body = Self::framing(head, self.max_body)?;
                        if body == 0 {
                            fed.completed += 1;
                            self.state = State::Idle;
                        } else {
                            self.state = State::Body { remaining: body };
                        }
                    }
                }
            }
        }
        Ok(fed)
    }

    /// Body length of a complete header block, or why it is refused.
    fn framing(head: &Head, max_body: u64) -> Result<u64, Reject> {
        if head.transfer_encoding {
            return Err(Reject::LengthRequired);
        }
        if head.bad_length || head.content_lengths > 1 {
            return Err(Reject::BadFraming);
        }
        match head.content_length {
            Some(n) if n > max_body => Err(Reject::BodyTooLarge),
            Some(n) => Ok(n),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests;
