//! Trust anchors for the upstream broker when `upstream.ca_file` is empty: the system CA
//! bundle, read once at start.
//!
//! The binary carries no root store of its own (compiled-in Mozilla roots cost about 55 KB on
//! a router with a few MB of flash). OpenWrt's `ca-bundle` package, part of the default image,
//! installs `/etc/ssl/certs/ca-certificates.crt`, the same path as Debian and Alpine; the other
//! candidates are where Fedora, openSUSE and the BSD-style layouts keep theirs. A bundle that
//! is missing everywhere, or holds no usable certificate, is a start-up error that names
//! `upstream.ca_file`, so the owner knows which option fixes it.

use super::SyncError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use std::path::{Path, PathBuf};

/// Where systems keep their PEM CA bundle, first match wins.
pub const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The roots of the first bundle in `candidates` that exists; certificates in it that webpki
/// cannot use as trust anchors are skipped (and counted in the log), as every TLS client does
/// with a distribution bundle.
pub fn system_roots<P: AsRef<Path>>(candidates: &[P]) -> Result<RootCertStore, SyncError> {
    let Some(path) = candidates.iter().map(AsRef::as_ref).find(|p| p.is_file()) else {
        let tried: Vec<String> = candidates
            .iter()
            .map(|p| p.as_ref().display().to_string())
            .collect();
        return Err(SyncError::Tls {
            option: "ca_file",
            reason: format!(
                "empty, and no system CA bundle found (tried {}): install ca-bundle \
                 or set upstream.ca_file to a PEM file with the broker's CA",
                tried.join(", ")
            ),
        });
    };
    let file_error = |reason: String| SyncError::File {
        option: "ca_file",
        path: PathBuf::from(path),
        reason: format!("system CA bundle: {reason}"),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, skipped) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(SyncError::Empty {
            option: "ca_file",
            path: PathBuf::from(path),
            what: "usable CA certificate (system CA bundle)",
        });
    }
    log::info!(
        "upstream.ca_file empty: trusting {added} CA certificates from {}{}",
        path.display(),
        if skipped > 0 {
            format!(" ({skipped} unusable skipped)")
        } else {
            String::new()
        }
    );
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_system_bundle_is_an_error_naming_ca_file_and_the_paths_tried() {
        let dir = tempfile::tempdir().unwrap();
        let candidates = [dir.path().join("a.crt"), dir.path().join("b.crt")];
        let e = system_roots(&candidates).unwrap_err().to_string();
        assert!(e.starts_with("upstream.ca_file: empty"), "{e}");
        assert!(e.contains("a.crt") && e.contains("b.crt"), "{e}");
    }

    #[test]
    fn first_existing_bundle_is_used_and_one_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.crt");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let candidates = [dir.path().join("missing.crt"), empty];
        let e = system_roots(&candidates).unwrap_err().to_string();
        assert!(e.starts_with("upstream.ca_file:"), "{e}");
        assert!(
            e.contains("empty.crt holds no usable CA certificate"),
            "{e}"
        );
    }

    #[test]
    fn bundle_certificates_become_roots() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.crt");
        let status = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-subj", "/CN=ca.test", "-days", "1", "-keyout"])
            .arg(dir.path().join("ca.key"))
            .arg("-out")
            .arg(&bundle)
            .output()
            .expect("the openssl CLI makes the test CA");
        assert!(status.status.success(), "{status:?}");
        let roots = system_roots(&[dir.path().join("missing.crt"), bundle]).unwrap();
        assert_eq!(roots.len(), 1);
    }
}
