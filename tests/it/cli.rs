//! The command line as a user meets it: version, the default config, config checking, decoding,
//! and a build without the `lora` feature warning about the radio options.

use crate::common;

use common::command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = command().args(args).output().expect("run acs-edge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_names_the_release_the_revision_and_the_target() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("acs-edge {} (rev ", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(out.contains("-linux-"), "{out}");
    if let Ok(target) = std::env::var("ACS_EDGE_EXPECT_TARGET") {
        assert!(
            out.contains(&target),
            "testing a binary for {target}, got {out}"
        );
    }
}

#[test]
fn print_config_is_the_committed_openwrt_default_and_passes_check_config() {
    let (code, out, _) = run(&["print-config"]);
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openwrt/files/acs-edge.config"
    ))
    .unwrap();
    assert_eq!(
        out, committed,
        "run `acs-edge print-config > openwrt/files/acs-edge.config`"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    std::fs::write(&path, out).unwrap();
    let (code, out, err) = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok"));
}

#[test]
fn check_config_names_the_line_of_a_bad_value_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    std::fs::write(
        &path,
        "config main 'main'\n\toption log_level 'info'\n\nconfig mqtt 'mqtt'\n\toption port 'eighty'\n",
    )
    .unwrap();
    let (code, _, err) = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 5"), "{err}");
    assert!(err.contains("port"), "{err}");

    let (code, _, err) = run(&["check-config", "/nonexistent/acs-edge"]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/acs-edge"), "{err}");
}

#[test]
fn unknown_commands_and_options_print_usage_and_exit_2() {
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("Usage:"), "{err}");
    let (code, _, _) = run(&["--bogus"]);
    assert_eq!(code, 2);
}

#[test]
fn decode_frame_prints_readings_as_json_and_rejects_corrupt_frames() {
    let frame = acs_edge::ingest::frame::encode_frame(
        0xa1b2,
        3,
        1_767_225_600_000,
        &[("temperature", 20.5)],
    );
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let (code, out, err) = run(&["decode", "frame", &hex]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["device_id"], "000000000000a1b2");
    assert_eq!(json["counter"], 3);
    assert_eq!(json["readings"][0]["metric"], "temperature");
    assert_eq!(json["readings"][0]["value"], 20.5);
    assert_eq!(json["readings"][0]["ts"], 1_767_225_600_000i64);

    let mut corrupt = frame.clone();
    corrupt[18] ^= 0x01;
    let hex: String = corrupt.iter().map(|b| format!("{b:02x}")).collect();
    let (code, _, err) = run(&["decode", "frame", &hex]);
    assert_eq!(code, 1);
    assert!(!err.is_empty());
}

/// The config file is the same for every build: a radio switched on in a build without the
/// `lora` feature is a warning from `check-config` and from the daemon, which runs without it.
#[cfg(not(feature = "lora"))]
#[test]
fn radio_without_the_lora_feature_is_a_warning_and_the_daemon_runs_without_it() {
    let mut cfg = common::DaemonConfig::new(common::free_port());
    cfg.extra = "config mqtt 'mqtt'\n\toption enabled '0'\n\n\
                 config lora 'lora'\n\toption radio_enabled '1'\n"
        .into();
    cfg.user = None;
    let warning = "lora.radio_enabled is on, but this build has no `lora` feature";

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    common::write_config(&path, dir.path(), common::free_port(), &cfg);
    let (code, _, err) = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(warning), "{err}");

    let daemon = common::Daemon::start(&cfg);
    assert_eq!(daemon.health()["status"], "ok");
    assert!(daemon.log().contains(warning), "{}", daemon.log());
}
