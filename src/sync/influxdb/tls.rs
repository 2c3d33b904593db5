//! The rustls client configuration for `https://` InfluxDB URLs: the ring provider and
//! protocol versions of the MQTT upstream (`sync::endpoint`), trusting `influxdb.ca_file` or
//! the system CA bundle (the same candidates as `sync::roots`). Read once, at start, so a
//! missing or empty file is a start-up error naming `influxdb.ca_file`.
//!
//! The roots are loaded here rather than through `sync::roots` because its errors name the
//! MQTT upstream's option; what is shared is the list of bundle paths and the verifier.

use super::InfluxError;
use crate::sync::roots::SYSTEM_CA_BUNDLES;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;

pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, InfluxError> {
    let (path, strict) = match ca_file {
        Some(path) => (path, true),
        None => match SYSTEM_CA_BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
        {
            Some(path) => (path, false),
            None => {
                return Err(InfluxError::CaFile(format!(
                    "empty, and no system CA bundle found (tried {}): install ca-bundle or set \
                     influxdb.ca_file",
                    SYSTEM_CA_BUNDLES.join(", ")
                )))
            }
        },
    };
    let file_error = |e: rustls::pki_types::pem::Error| {
        InfluxError::CaFile(format!("cannot read {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(file_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(file_error)?;
    let mut roots = RootCertStore::empty();
    // A distribution bundle may hold certificates webpki cannot use; they are skipped, as every
    // TLS client does. A file named by the owner must hold only usable ones.
    let (added, skipped) = roots.add_parsable_certificates(certs);
    if added == 0 || (strict && skipped > 0) {
        return Err(InfluxError::CaFile(format!(
            "{} holds no usable PEM CA certificate{}",
            path.display(),
            if skipped > 0 {
                " (some are unusable)"
            } else {
                ""
            }
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| InfluxError::CaFile(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_empty_ca_files_name_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem");
        let e = client_config(Some(&missing)).unwrap_err().to_string();
        assert!(e.starts_with("influxdb.ca_file: cannot read"), "{e}");
        std::fs::write(&missing, "not a certificate\n").unwrap();
        let e = client_config(Some(&missing)).unwrap_err().to_string();
        assert!(e.contains("holds no usable PEM CA certificate"), "{e}");
    }
}
