//! One HTTP/1.1 client connection to InfluxDB, kept open between batches: a request is the
//! fixed head of [`Target`], `Content-Length` and the body; the response head is parsed by
//! `httparse`, its body read only when `Content-Length` frames it (InfluxDB's errors are small
//! JSON documents), else the connection is closed after the head.
//!
//! Bounds: connect, every read and every write have a timeout, a whole exchange has a
//! deadline, and the response head and body are capped, so a stuck or hostile server costs at
//! most [`EXCHANGE_DEADLINE`] and a few KiB per batch. A kept connection that fails before a
//! whole response arrived (the server closed it while idle) is replaced by a fresh one for the
//! same request once; a repeated write is harmless, as InfluxDB stores a point with the same
//! series and timestamp only once.

use super::target::Target;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one request and its response may take, however slowly the server drips.
pub const EXCHANGE_DEADLINE: Duration = Duration::from_secs(30);
const MAX_HEAD: usize = 16 * 1024;
const MAX_BODY: usize = 16 * 1024;
const MAX_HEADERS: usize = 32;

/// What the server answered.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The reason phrase and, for an error, InfluxDB's message (`error` in v1, `message` in
    /// v2) or the start of the body.
    pub message: String,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

pub struct Client {
    target: Target,
    tls: Option<Arc<ClientConfig>>,
    kept: Option<Stream>,
}

impl Client {
    pub fn new(target: Target, tls: Option<Arc<ClientConfig>>) -> Client {
        Client {
            target,
            tls,
            kept: None,
        }
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Sends `body` as one write request and returns the server's answer; `Err` is a transport
    /// failure (the server's answer is unknown).
    pub fn post(&mut self, body: &[u8]) -> Result<Response, String> {
        if let Some(stream) = self.kept.take() {
            if let Ok(answer) = self.exchange(stream, body) {
                return Ok(answer);
            }
        }
        let stream = self.connect()?;
        self.exchange(stream, body)
    }

    fn connect(&self) -> Result<Stream, String> {
        let t = &self.target;
        let addrs = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", t.host))?;
        let mut last = format!("{} has no address", t.host);
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    tcp.set_read_timeout(Some(IO_TIMEOUT))
                        .and_then(|()| tcp.set_write_timeout(Some(IO_TIMEOUT)))
                        .map_err(|e| format!("socket: {e}"))?;
                    let Some(config) = &self.tls else {
                        return Ok(Stream::Plain(tcp));
                    };
                    let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                        .map_err(|e| format!("{}: {e}", t.host))?;
                    let tls = ClientConnection::new(config.clone(), name)
                        .map_err(|e| format!("TLS: {e}"))?;
                    return Ok(Stream::Tls(Box::new(StreamOwned::new(tls, tcp))));
                }
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        Err(last)
    }

    /// One request and its response on `stream`, which is kept for the next request when the
    /// response was read whole and the server did not ask to close.
    fn exchange(&mut self, mut stream: Stream, body: &[u8]) -> Result<Response, String> {
        let deadline = Instant::now() + EXCHANGE_DEADLINE;
        let head = format!("{}Content-Length: {}\r\n\r\n", self.target.head, body.len());
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.flush())
            .map_err(|e| format!("sending the batch: {e}"))?;
        let mut buf = Vec::with_capacity(1024);
        loop {
            if read_more(&mut stream, &mut buf, deadline)? == 0 {
                return Err("the server closed the connection without an answer".into());
            }
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Response::new(&mut headers);
            let head_len = match parsed.parse(&buf) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => continue,
                Ok(httparse::Status::Partial) => return Err("answer head too long".into()),
                Err(e) => return Err(format!("not an HTTP answer: {e}")),
            };
            let status = parsed.code.unwrap_or(0);
            let reason = parsed.reason.unwrap_or("").to_owned();
            let header = |name: &str| {
                parsed
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
            };
            let close = header("connection").is_some_and(|v| v.contains("close"));
            let no_body = status == 204 || status == 304 || (100..200).contains(&status);
            let length = match header("content-length") {
                _ if no_body => Some(0),
                Some(v) => v.parse::<usize>().ok().filter(|n| *n <= MAX_BODY),
                None => None,
            };
            let body_start = buf.len().min(head_len);
            if let Some(length) = length {
                while buf.len() < head_len + length {
                    if read_more(&mut stream, &mut buf, deadline)? == 0 {
                        break;
                    }
                }
            }
            let whole = length.is_some_and(|len| buf.len() == head_len + len);
            if whole && !close {
                self.kept = Some(stream);
            }
            let end = length.map_or(buf.len(), |len| (head_len + len).min(buf.len()));
            let message = describe(&reason, &buf[body_start..end]);
            return Ok(Response { status, message });
        }
    }
}

/// Appends what one read of `stream` gives to `buf`: the bytes read, 0 at the end of the
/// stream; an error after the exchange's deadline.
fn read_more(stream: &mut Stream, buf: &mut Vec<u8>, deadline: Instant) -> Result<usize, String> {
    if Instant::now() > deadline {
        return Err("no whole answer within 30 s".into());
    }
    let mut chunk = [0u8; 2048];
    let n = stream
        .read(&mut chunk)
        .map_err(|e| format!("reading the answer: {e}"))?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// The reason phrase plus InfluxDB's own explanation, shortened to one log line.
fn describe(reason: &str, body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let detail = json
        .as_ref()
        .and_then(|v| v.get("error").or_else(|| v.get("message")))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    let mut message = reason.to_owned();
    if !detail.is_empty() {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.extend(detail.chars().filter(|c| !c.is_control()).take(300));
    }
    message
}
