//! Where and how to connect: the parsed `upstream.url` and, for `mqtts://`, a rustls client
//! configuration (ring provider) built from `ca_file`, `cert_file` and `key_file`.
//!
//! Server certificates are verified against `ca_file` when set, else against the system CA
//! bundle (see `roots`). All files are read once, at start, so a missing or malformed one is a
//! start-up error naming its option rather than a connection failure later.

use super::{SyncError, SyncSettings};
use rumqttc::{TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

const MQTT_PORT: u16 = 1883;
const MQTTS_PORT: u16 = 8883;

/// A parsed upstream broker address with its transport.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// `None` for plain `mqtt://`.
    pub tls: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} tls={}", self.host, self.port, self.tls.is_some())
    }
}

impl Endpoint {
    pub fn from_settings(settings: &SyncSettings) -> Result<Endpoint, SyncError> {
        let (tls, host, port) = parse_url(&settings.url)?;
        let tls = if tls {
            Some(Arc::new(client_config(settings)?))
        } else {
            if settings.ca_file.is_some() || settings.cert_file.is_some() {
                log::warn!(
                    "url={} ca_file, cert_file and key_file are ignored without mqtts://",
                    settings.url
                );
            }
            None
        };
        Ok(Endpoint { host, port, tls })
    }

    pub fn transport(&self) -> Transport {
        match &self.tls {
            Some(config) => Transport::tls_with_config(TlsConfiguration::Rustls(config.clone())),
            None => Transport::tcp(),
        }
    }
}

/// `mqtt[s]://host[:port][/]` into (tls, host, port); IPv6 hosts in brackets.
pub fn parse_url(url: &str) -> Result<(bool, String, u16), SyncError> {
    let bad = |why: &str| {
        SyncError::Url(format!(
            "{why} in '{url}' (expected mqtts://host[:port] or mqtt://host[:port])"
        ))
    };
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        return Err(bad("unknown scheme"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() || host.contains(['/', '@', '?', '#']) || host.contains(char::is_whitespace)
    {
        return Err(bad("invalid host"));
    }
    let port = match port {
        None => {
            if tls {
                MQTTS_PORT
            } else {
                MQTT_PORT
            }
        }
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("invalid port"))?,
    };
    Ok((tls, host.to_owned(), port))
}

fn client_config(settings: &SyncSettings) -> Result<ClientConfig, SyncError> {
    let roots = match &settings.ca_file {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs("ca_file", path)? {
                roots.add(cert).map_err(|e| SyncError::Tls {
                    option: "ca_file",
                    reason: format!("{}: {e}", path.display()),
                })?;
            }
            roots
        }
        None => super::roots::system_roots(super::roots::SYSTEM_CA_BUNDLES)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SyncError::Tls {
            option: "url",
            reason: e.to_string(),
        })?
        .with_root_certificates(roots);
    match (&settings.cert_file, &settings.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let chain = read_certs("cert_file", cert_file)?;
            let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| match e {
                rustls::pki_types::pem::Error::NoItemsFound => SyncError::Empty {
                    option: "key_file",
                    path: key_file.clone(),
                    what: "PEM private key",
                },
                e => SyncError::File {
                    option: "key_file",
                    path: key_file.clone(),
                    reason: e.to_string(),
                },
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| SyncError::Tls {
                    option: "key_file",
                    reason: format!(
                        "{} does not fit {}: {e}",
                        key_file.display(),
                        cert_file.display()
                    ),
                })
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn read_certs(
    option: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, SyncError> {
    let file_error = |reason: String| SyncError::File {
        option,
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(SyncError::Empty {
            option,
            path: path.to_path_buf(),
            what: "PEM certificate",
        });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_host_port_and_tls_with_scheme_default_ports() {
        let ok = |url: &str| parse_url(url).unwrap();
        assert_eq!(
            ok("mqtts://cloud.example"),
            (true, "cloud.example".into(), 8883)
        );
        assert_eq!(ok("mqtt://10.0.0.1"), (false, "10.0.0.1".into(), 1883));
        assert_eq!(ok("mqtts://h:9000/"), (true, "h".into(), 9000));
        assert_eq!(ok("mqtt://[::1]:1884"), (false, "::1".into(), 1884));
    }

    #[test]
    fn bad_urls_are_errors_naming_the_option() {
        for url in [
            "http://h",
            "mqtt://",
            "mqtt://h:0",
            "mqtt://h:x",
            "mqtts://u@h",
            "mqtt://[::1",
        ] {
            let e = parse_url(url).unwrap_err().to_string();
            assert!(e.starts_with("upstream.url:"), "{url}: {e}");
        }
    }

    fn settings(dir: &Path) -> SyncSettings {
        SyncSettings {
            url: "mqtts://localhost".into(),
            client_id: "c".into(),
            gateway_id: "g".into(),
            ca_file: Some(dir.join("ca.pem")),
            cert_file: None,
            key_file: None,
            username: None,
            password: None,
            topic: "t".into(),
            keepalive: std::time::Duration::from_secs(30),
            reconnect_max: std::time::Duration::from_secs(30),
        }
    }

    #[test]
    fn unreadable_or_empty_certificate_files_name_their_option() {
        let dir = tempfile::tempdir().unwrap();
        let e = Endpoint::from_settings(&settings(dir.path())).unwrap_err();
        assert!(
            e.to_string().starts_with("upstream.ca_file: cannot read"),
            "{e}"
        );
        std::fs::write(dir.path().join("ca.pem"), "not a certificate\n").unwrap();
        let e = Endpoint::from_settings(&settings(dir.path())).unwrap_err();
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
    }
}
