//! The pattern the daemon's black-box tests use: run `$ACS_EDGE_WRAPPER $ACS_EDGE_BIN`
//! (e.g. `qemu-mipsel-static dist/mipsel-unknown-linux-musl/acs-edge`), or the binary
//! alone when no wrapper is set. Skipped when ACS_EDGE_BIN is unset.
use std::process::Command;

fn daemon() -> Option<Command> {
    let bin = std::env::var_os("ACS_EDGE_BIN")?;
    Some(match std::env::var_os("ACS_EDGE_WRAPPER").filter(|w| !w.is_empty()) {
        Some(w) => {
            let mut c = Command::new(w);
            c.arg(bin);
            c
        }
        None => Command::new(bin),
    })
}

#[test]
fn daemon_under_wrapper_prints_its_version() {
    let Some(mut cmd) = daemon() else {
        eprintln!("ACS_EDGE_BIN unset: skipped");
        return;
    };
    let out = cmd.arg("--version").output().expect("start the daemon");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("acs-edge "), "unexpected --version output: {text:?}");
    if let Ok(triple) = std::env::var("ACS_EDGE_EXPECT_TARGET") {
        // once build.rs is wired in, --version names the target triple
        if text.split_whitespace().count() > 2 {
            assert!(text.contains(&triple), "--version does not name {triple}: {text:?}");
        }
    }
}
