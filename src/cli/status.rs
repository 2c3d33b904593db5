//! `acs-edge status [--config FILE]`: asks the running daemon for `GET /api/v1/health` on the
//! API address of FILE and prints the answer. Exit 0 only when the daemon answers with status
//! `ok`, 1 otherwise (degraded, no answer, no usable config), so that a container runtime's
//! HEALTHCHECK can run it in an image without a shell or curl.
//!
//! One HTTP/1.1 request to the daemon with deadlines on connect, write and read: a daemon that
//! hangs makes the probe fail, never hang.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Per connect, write and read; container runtimes give a health check 30 s by default.
const DEADLINE: Duration = Duration::from_secs(5);
/// The health document is a few KiB; an answer past this is not one.
const MAX_ANSWER_BYTES: u64 = 256 * 1024;

/// Exit 0 when the daemon configured in `config_path` reports `ok`, else 1.
pub fn status(config_path: &Path) -> ExitCode {
    let loaded = match crate::config::load(config_path) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("acs-edge status: {e}");
            return ExitCode::from(1);
        }
    };
    let api = &loaded.config.api;
    if !api.enabled {
        eprintln!(
            "acs-edge status: the API is off in {} (api.enabled 0): nothing to ask",
            config_path.display()
        );
        return ExitCode::from(1);
    }
    let address = probe_address(api.listen);
    let (code, body) = match fetch_health(address) {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("acs-edge status: no answer from {address}: {e}");
            return ExitCode::from(1);
        }
    };
    if code != 200 {
        eprintln!("acs-edge status: {address} answered HTTP {code}: {body}");
        return ExitCode::from(1);
    }
    let printed = super::print_stdout(&format!("{body}\n"));
    match health_status(&body).as_deref() {
        Some("ok") => printed,
        Some(other) => {
            eprintln!("acs-edge status: {other}");
            ExitCode::from(1)
        }
        None => {
            eprintln!("acs-edge status: {address} answered without a health status");
            ExitCode::from(1)
        }
    }
}

/// Where to reach a daemon listening on `listen`: a wildcard address is reached on loopback.
fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// The HTTP status code and body of `GET /api/v1/health`.
fn fetch_health(address: SocketAddr) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, DEADLINE)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    stream.set_write_timeout(Some(DEADLINE))?;
    let request =
        format!("GET /api/v1/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER_BYTES).read_to_end(&mut answer)?;
    split_answer(&answer)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer"))
}

/// `(status code, body)` of a whole HTTP/1.x response (the daemon sends a Content-Length body,
/// never a chunked one, to a request that closes the connection).
fn split_answer(answer: &[u8]) -> Option<(u16, String)> {
    let text = std::str::from_utf8(answer).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status_line = head.lines().next()?;
    let mut words = status_line.split(' ');
    if !words.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = words.next()?.parse().ok()?;
    Some((code, body.trim_end().to_owned()))
}

/// The `status` field of a health document: `ok`, or `degraded: REASON; REASON`.
fn health_status(body: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(body).ok()?;
    let status = doc.get("status")?.as_str()?;
    let reasons: Vec<&str> = doc
        .get("reasons")
        .and_then(|r| r.as_array())
        .map(|list| list.iter().filter_map(|r| r.as_str()).collect())
        .unwrap_or_default();
    Some(if reasons.is_empty() {
        status.to_owned()
    } else {
        format!("{status}: {}", reasons.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_address_is_probed_on_loopback_of_its_family() {
        let cases = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:8080", "[::1]:8080"),
            ("192.168.1.1:80", "192.168.1.1:80"),
            ("127.0.0.1:9", "127.0.0.1:9"),
        ];
        for (listen, want) in cases {
            assert_eq!(probe_address(listen.parse().unwrap()).to_string(), want);
        }
    }

    #[test]
    fn an_answer_splits_into_code_and_body_and_garbage_is_refused() {
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}";
        assert_eq!(
            split_answer(answer),
            Some((200, "{\"status\":\"ok\"}".to_owned()))
        );
        let refused = b"HTTP/1.1 503 Service Unavailable\r\n\r\n";
        assert_eq!(split_answer(refused), Some((503, String::new())));
        assert_eq!(split_answer(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(split_answer(b"HTTP/1.1 abc\r\n\r\n"), None);
    }

    #[test]
    fn the_status_names_the_reasons_of_a_degraded_daemon() {
        assert_eq!(health_status(r#"{"status":"ok"}"#).as_deref(), Some("ok"));
        let degraded = r#"{"status":"degraded","reasons":["mqtt: refused","store: full"]}"#;
        assert_eq!(
            health_status(degraded).as_deref(),
            Some("degraded: mqtt: refused; store: full")
        );
        assert_eq!(health_status(r#"{"items":[]}"#), None);
        assert_eq!(health_status("not json"), None);
    }
}
