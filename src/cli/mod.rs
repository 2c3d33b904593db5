//! Offline subcommands of the `acs-edge` binary: they read files or arguments, print, and
//! exit; none of them touches a running daemon's store. `credentials` edits the config file.
//!
//! What they print goes through [`print_stdout`], so a reader that stops early
//! (`acs-edge print-config | head -1`) ends the command quietly instead of with a panic.

mod check;
mod credentials;
pub mod help;
pub use check::check_config;
pub use credentials::{passwd, token_create, token_revoke};

#[cfg(feature = "ble")]
pub mod ble;
mod status;
pub use status::status;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Writes `text` to stdout and flushes it.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `text` to stdout: exit 0 when it is written or when the reader went away (a pipe
/// closed early is the reader's choice, as for any Unix filter), 1 for another write error.
pub fn print_stdout(text: &str) -> ExitCode {
    match write_stdout(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("acs-edge: cannot write the output: {e}");
            ExitCode::from(1)
        }
    }
}

/// What to do when the config file `path` does not exist.
pub fn no_config_hint(path: &Path) -> String {
    format!(
        "Write a commented default config there with\n  acs-edge print-config > {}\n\
         or name another file with --config PATH.",
        path.display()
    )
}

/// `acs-edge 0.1.0 (rev 1a2b3c4, mipsel-unknown-linux-musl, features: ble lora)`
pub fn version_line() -> String {
    format!(
        "acs-edge {} (rev {}, {}, features: {})",
        env!("CARGO_PKG_VERSION"),
        env!("ACS_EDGE_GIT_REV"),
        env!("ACS_EDGE_TARGET"),
        features_text()
    )
}

/// The built features for messages: `ble lora`, or `none`.
fn features_text() -> String {
    match crate::BUILD_FEATURES {
        [] => "none".to_string(),
        list => list.join(" "),
    }
}

/// The error for a command this build lacks: names the Cargo feature and the package that
/// has it.
pub fn not_built(what: &str, feature: &str) -> String {
    format!(
        "{what} needs a build with the Cargo feature `{feature}` (the OpenWrt package \
         acs-edge-full); this one has features: {}",
        features_text()
    )
}

/// Decodes an acs-proto frame given in hex and prints its header and readings as JSON.
pub fn decode_frame(hex: &str) -> ExitCode {
    let bytes = match crate::hex::decode(hex) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("acs-edge decode frame: {e}");
            return ExitCode::from(2);
        }
    };
    match crate::ingest::frame::describe_frame(&bytes, crate::model::now_ms()) {
        Ok(json) => print_stdout(&format!("{json}\n")),
        Err(e) => {
            eprintln!("acs-edge decode frame: {e}");
            ExitCode::from(1)
        }
    }
}

/// `acs-edge decode lorawan HEX --nwkskey HEX --appskey HEX`: exit 0 with the frame as JSON,
/// 2 for unusable arguments, 1 for a frame that does not parse or verify.
#[cfg(feature = "lora")]
pub fn decode_lorawan(frame: &str, nwk_s_key: &str, app_s_key: &str) -> ExitCode {
    use crate::ingest::lora::keys::parse_hex;
    let args = (|| {
        let bytes = crate::hex::decode(frame).map_err(|e| format!("frame: {e}"))?;
        let nwk: [u8; 16] = parse_hex(nwk_s_key, "--nwkskey")?;
        let app: [u8; 16] = parse_hex(app_s_key, "--appskey")?;
        Ok::<_, String>((bytes, nwk, app))
    })();
    let (bytes, nwk, app) = match args {
        Ok(args) => args,
        Err(e) => {
            eprintln!("acs-edge decode lorawan: {e}");
            return ExitCode::from(2);
        }
    };
    match crate::ingest::lora::describe::describe_lorawan(&bytes, &nwk, &app) {
        Ok(json) => print_stdout(&format!("{json}\n")),
        Err(e) => {
            eprintln!("acs-edge decode lorawan: {e}");
            ExitCode::from(1)
        }
    }
}
