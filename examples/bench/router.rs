//! Router figures from the cross builds, when they exist (the benchmark never builds them):
//! the stripped size of each target's binary next to the 3 MB budget, and the ingest
//! benchmark against the mipsel binary run under qemu-mipsel-static, an emulation figure (a
//! translated MIPS CPU on this machine, not a router) next to the native ingest of this run.

use crate::harness::{file_size, free_port, start_broker, DaemonSpec};
use crate::report::{command_line, ratio, Row};
use rumqttc::QoS;
use std::path::{Path, PathBuf};

const TARGETS: [&str; 4] = [
    "mips-unknown-linux-musl",
    "mipsel-unknown-linux-musl",
    "armv7-unknown-linux-musleabihf",
    "aarch64-unknown-linux-musl",
];
const BUDGET_BYTES: f64 = 3.0 * 1024.0 * 1024.0;

/// Where `make cross` leaves a target's binary: `dist/<triple>/acs-edge`, then
/// `target/cross/<triple>/release/acs-edge`, then the same under `ACS_BENCH_CROSS_DIR`.
pub fn cross_binary(triple: &str) -> Option<PathBuf> {
    let mut candidates = vec![
        PathBuf::from(format!("dist/{triple}/acs-edge")),
        PathBuf::from(format!("target/cross/{triple}/release/acs-edge")),
    ];
    if let Some(dir) = std::env::var_os("ACS_BENCH_CROSS_DIR") {
        let dir = PathBuf::from(dir);
        candidates.push(dir.join(triple).join("acs-edge"));
        candidates.push(dir.join(triple).join("release/acs-edge"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// The qemu-user emulator that runs a target's binary on this machine.
fn emulator(triple: &str) -> &'static str {
    match triple.split('-').next() {
        Some("mips") => "qemu-mips-static",
        Some("mipsel") => "qemu-mipsel-static",
        Some("armv7") => "qemu-arm-static",
        _ => "qemu-aarch64-static",
    }
}

/// What a binary's `--version`, run under `qemu`, says in its parenthesis ("acs-edge 0.1.0
/// (rev abc1234, mipsel-unknown-linux-musl, features: none)" gives "rev abc1234, ..."); empty
/// when it cannot be run.
fn build_details(qemu: &str, bin: &Path) -> String {
    let version = command_line(qemu, &[bin.to_str().unwrap_or(""), "--version"]);
    version
        .split_once(" (")
        .map_or("", |(_, details)| details.trim_end_matches(')'))
        .to_owned()
}

/// The revision a binary was built from (see [`build_details`]), `None` when it cannot be run.
fn built_revision(qemu: &str, bin: &Path) -> Option<String> {
    let details = build_details(qemu, bin);
    let rev = details.strip_prefix("rev ")?.split(',').next()?;
    (!rev.is_empty()).then(|| rev.to_owned())
}

/// Sizes of the cross binaries found. Each row names the revision the binary was built from
/// and says STALE when that is not the source's revision (the benchmark never rebuilds them).
pub fn sizes() -> Vec<Row> {
    let head = command_line("git", &["rev-parse", "--short=7", "HEAD"]);
    TARGETS
        .iter()
        .map(|triple| match cross_binary(triple) {
            Some(bin) => {
                let bytes = file_size(&bin) as f64;
                let built = match built_revision(emulator(triple), &bin) {
                    Some(rev)
                        if head.is_empty() || head.starts_with(&rev) || rev.starts_with(&head) =>
                    {
                        format!("rev {rev}")
                    }
                    Some(rev) => format!("STALE: built from rev {rev}, source at {head}"),
                    None => "revision unknown (no qemu-user to run it)".to_owned(),
                };
                println!("  {} ({built})", bin.display());
                Row::vs(
                    format!("binary size, {triple}"),
                    bytes / 1024.0 / 1024.0,
                    "MiB",
                    format!("budget 3 MiB (mipsel); {built}"),
                    ratio(bytes, BUDGET_BYTES),
                )
            }
            None => Row::skipped(
                format!("binary size, {triple}"),
                "no cross binary (make cross builds it)",
            ),
        })
        .collect()
}

/// QoS 0 and 1 ingest against the mipsel daemon under qemu-user, `n` messages each.
pub fn emulated_ingest(work: &Path, n: u64, native: &[(QoS, f64)]) -> Vec<Row> {
    let label = "ingest under qemu-mipsel-static (EMULATION, not a router)";
    let Some(bin) = cross_binary("mipsel-unknown-linux-musl") else {
        return vec![Row::skipped(
            label,
            "no mipsel cross binary (make cross TARGET=mipsel)",
        )];
    };
    let qemu = "qemu-mipsel-static";
    if command_line("sh", &["-c", &format!("command -v {qemu}")]).is_empty() {
        return vec![Row::skipped(
            label,
            "qemu-mipsel-static not installed (apt-get install qemu-user-static)",
        )];
    }
    let version = build_details(qemu, &bin);
    println!("  emulated binary: {} ({version})", bin.display());
    let dir = work.join("emulated");
    let _ = std::fs::create_dir_all(&dir);
    let port = free_port();
    let _broker = start_broker(&dir, port, "");
    let mut spec = DaemonSpec::new(&dir, port);
    spec.binary = bin.canonicalize().unwrap_or(bin);
    spec.wrapper = Some(qemu.into());
    spec.max_rows = 1_000_000;
    spec.max_mb = 256;
    let daemon = match spec.start() {
        Ok(d) => d,
        Err(e) => return vec![Row::skipped(label, e)],
    };
    let mut rows = Vec::new();
    for (qos, name) in [(QoS::AtMostOnce, "QoS 0"), (QoS::AtLeastOnce, "QoS 1")] {
        let (rate, got) = daemon.ingest(port, n, qos);
        let native_rate = native.iter().find(|(q, _)| *q == qos).map(|(_, r)| *r);
        rows.push(Row::vs(
            format!(
                "ingest {name}, mipsel daemon under qemu-user (EMULATION; {got}/{n} committed)"
            ),
            rate,
            "readings/s",
            native_rate.map_or(version.clone(), |r| {
                format!("native daemon {r:.0}/s ({version})")
            }),
            native_rate.and_then(|r| ratio(rate, r)),
        ));
    }
    let mb = daemon.rss_kb("VmHWM") as f64 / 1024.0;
    rows.push(Row::vs(
        "RSS peak of qemu-mipsel-static + mipsel daemon after both runs (EMULATION)",
        mb,
        "MB",
        "includes the emulator's own memory",
        None,
    ));
    rows
}
