//! Where the batches go: `influxdb.url` parsed, and the head of every write request (request
//! line, `Host`, authorization) built once from the settings.
//!
//! The head holds the token or the basic-auth password, so [`Target`]'s `Debug` shows only the
//! address and the path without the query.

use super::{InfluxError, InfluxSettings, WriteApi};
use base64::Engine;

/// The parsed URL and the fixed part of every request.
pub struct Target {
    pub host: String,
    pub port: u16,
    pub https: bool,
    /// The request line and headers up to (not including) `Content-Length`.
    pub head: String,
    /// The path of the write endpoint, for log lines.
    pub path: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}{}", self.host, self.port, self.path)
    }
}

impl Target {
    pub fn new(settings: &InfluxSettings) -> Result<Target, InfluxError> {
        let (https, host, port, prefix) = parse_url(&settings.url)?;
        let (path, query) = match &settings.api {
            WriteApi::V1 {
                database,
                retention_policy,
            } => {
                let mut query = format!("db={}", percent_encode(database));
                if let Some(rp) = retention_policy {
                    query.push_str("&rp=");
                    query.push_str(&percent_encode(rp));
                }
                (format!("{prefix}/write"), query)
            }
            WriteApi::V2 { org, bucket } => (
                format!("{prefix}/api/v2/write"),
                format!(
                    "org={}&bucket={}",
                    percent_encode(org),
                    percent_encode(bucket)
                ),
            ),
        };
        let authority = match (host.contains(':'), (https, port)) {
            (true, (false, 80) | (true, 443)) => format!("[{host}]"),
            (true, _) => format!("[{host}]:{port}"),
            (false, (false, 80) | (true, 443)) => host.clone(),
            (false, _) => format!("{host}:{port}"),
        };
        let mut head = format!(
            "POST {path}?{query}&precision=ms HTTP/1.1\r\nHost: {authority}\r\n\
             User-Agent: acs-edge/{}\r\nContent-Type: text/plain; charset=utf-8\r\n",
            env!("CARGO_PKG_VERSION")
        );
        if let Some(token) = &settings.token {
            head.push_str(&format!("Authorization: Token {token}\r\n"));
        } else if let Some(user) = &settings.username {
            let pair = format!("{user}:{}", settings.password.as_deref().unwrap_or(""));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            head.push_str(&format!("Authorization: Basic {encoded}\r\n"));
        }
        Ok(Target {
            host,
            port,
            https,
            head,
            path,
        })
    }
}

/// `http[s]://host[:port][/prefix]` into (https, host, port, prefix without a trailing '/');
/// IPv6 hosts in brackets. A prefix is for a server behind a reverse proxy under a path.
pub fn parse_url(url: &str) -> Result<(bool, String, u16, String), InfluxError> {
    let bad = |why: &str| {
        InfluxError::Url(format!(
            "{why} in '{url}' (expected http://host:port or https://host:port)"
        ))
    };
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad("unknown scheme"));
    };
    if rest.contains(['?', '#', '@']) || rest.contains(char::is_whitespace) {
        return Err(bad("no user, query or fragment allowed"));
    }
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or_else(|| bad("invalid port"))?),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains([':', '[', ']']) && !authority.starts_with('[') {
        return Err(bad("invalid host"));
    }
    let port = match port {
        None if https => 443,
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("invalid port"))?,
    };
    Ok((https, host.to_owned(), port, prefix.to_owned()))
}

/// RFC 3986 percent-encoding of a query value: everything but the unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(url: &str, api: WriteApi) -> InfluxSettings {
        InfluxSettings {
            url: url.into(),
            api,
            token: None,
            username: None,
            password: None,
            ca_file: None,
            gateway_id: "gw".into(),
            batch_size: 500,
            reconnect_max: Duration::from_secs(60),
        }
    }

    #[test]
    fn urls_give_scheme_host_port_and_path_prefix() {
        let ok = |url: &str| parse_url(url).unwrap();
        assert_eq!(
            ok("http://127.0.0.1:8086"),
            (false, "127.0.0.1".into(), 8086, "".into())
        );
        assert_eq!(
            ok("https://influx.example/"),
            (true, "influx.example".into(), 443, "".into())
        );
        assert_eq!(
            ok("http://[::1]:8086/influx/"),
            (false, "::1".into(), 8086, "/influx".into())
        );
        for url in [
            "ftp://h",
            "http://",
            "http://h:0",
            "http://u@h",
            "http://h?db=x",
            "http://[::1",
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(e.starts_with("influxdb.url:"), "{url}: {e}");
        }
    }

    #[test]
    fn v1_head_has_database_retention_policy_precision_and_basic_auth() {
        let mut s = settings(
            "http://localhost:8086",
            WriteApi::V1 {
                database: "acs data".into(),
                retention_policy: Some("one_week".into()),
            },
        );
        s.username = Some("writer".into());
        s.password = Some("pw".into());
        let t = Target::new(&s).unwrap();
        assert!(
            t.head.starts_with(
                "POST /write?db=acs%20data&rp=one_week&precision=ms HTTP/1.1\r\n\
                 Host: localhost:8086\r\n"
            ),
            "{}",
            t.head
        );
        // base64("writer:pw")
        assert!(
            t.head.ends_with("Authorization: Basic d3JpdGVyOnB3\r\n"),
            "{}",
            t.head
        );
        assert_eq!(format!("{t:?}"), "localhost:8086/write");
    }

    #[test]
    fn v2_head_has_org_bucket_and_token() {
        let mut s = settings(
            "https://[2001:db8::1]",
            WriteApi::V2 {
                org: "my org".into(),
                bucket: "b/1".into(),
            },
        );
        s.token = Some("s3cr3t".into());
        let t = Target::new(&s).unwrap();
        assert!(t.head.starts_with(
            "POST /api/v2/write?org=my%20org&bucket=b%2F1&precision=ms HTTP/1.1\r\n\
             Host: [2001:db8::1]\r\n"
        ));
        assert!(t.head.ends_with("Authorization: Token s3cr3t\r\n"));
        assert!(!format!("{t:?}").contains("s3cr3t"));
    }
}
