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

#[test]
fn the_daemon_without_a_config_file_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    let shown = path.to_str().unwrap();
    let (code, _, err) = run(&["--config", shown]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("print-config > {shown}")), "{err}");
    assert!(err.contains("--config PATH"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!path.exists());
}

#[test]
fn passwd_and_token_refuse_a_config_file_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge.conf");
    let out = common::passwd(&path, "admin", "a good password");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(path.to_str().unwrap()), "{err}");
    assert!(err.contains("print-config >"), "{err}");
    for action in ["create", "revoke"] {
        let (code, out, err) = run(&["token", action, "ci", "--config", path.to_str().unwrap()]);
        assert_eq!(code, 1, "token {action}: {err}");
        assert!(out.is_empty(), "no token printed: {out}");
        assert!(err.contains(path.to_str().unwrap()), "{err}");
    }
    assert!(!path.exists(), "no file was made");

    // A missing directory is named as such.
    let path = dir.path().join("no-such-dir/acs-edge");
    let out = common::passwd(&path, "admin", "a good password");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let missing = dir.path().join("no-such-dir");
    assert!(
        err.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{err}"
    );
}

/// Every command and group, as `help` and `--help` name them.
const HELP_TOPICS: &[&str] = &[
    "run",
    "check-config",
    "print-config",
    "decode",
    "decode frame",
    "decode ble",
    "decode lorawan",
    "passwd",
    "token",
    "token create",
    "token revoke",
];

#[test]
fn every_command_prints_its_own_help_and_so_does_the_help_command() {
    let (code, overview, err) = run(&["--help"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(run(&["help"]).1, overview);
    assert_eq!(run(&["-h"]).1, overview);
    for topic in HELP_TOPICS {
        let words: Vec<&str> = topic.split(' ').collect();
        let (code, out, err) = run(&[&words[..], &["--help"]].concat());
        assert_eq!(code, 0, "{topic} --help: {err}");
        assert!(
            out.starts_with(&format!("Usage:\n  acs-edge {topic}"))
                || (*topic == "run" && out.starts_with("Usage:\n  acs-edge [run]")),
            "{topic} --help:\n{out}"
        );
        assert_ne!(out, overview, "{topic} --help shows that command only");
        assert_eq!(
            run(&[&["help"], &words[..]].concat()).1,
            out,
            "help {topic}"
        );
    }
    // Arguments before --help do not matter.
    let (code, out, _) = run(&["passwd", "alice", "--config", "/nonexistent", "--help"]);
    assert_eq!(
        (code, out.lines().nth(1)),
        (0, Some("  acs-edge passwd USER [--config FILE]"))
    );
    let (code, _, err) = run(&["help", "frobnicate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("frobnicate") && err.contains("Usage:"),
        "{err}"
    );
}

/// Runs `acs-edge ARGS` with its stdout on a pipe whose reader is already gone, the way
/// `acs-edge print-config | head -1` ends once head has its line: (exit code, stderr).
fn run_into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = command()
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run acs-edge");
    let code = out.status.code().or(out.status.signal().map(|s| 128 + s));
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    std::fs::write(&path, run(&["print-config"]).1).unwrap();
    let config = path.to_str().unwrap();
    let frame = acs_edge::ingest::frame::encode_frame(1, 1, 1_767_225_600_000, &[("t", 1.0)]);
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    for args in [
        &["print-config"][..],
        &["--help"],
        &["help", "decode"],
        &["--version"],
        &["decode", "frame", &hex],
        &["check-config", config],
    ] {
        let (code, err) = run_into_closed_pipe(args);
        // 141: killed by SIGPIPE, the other conventional quiet end.
        assert!(matches!(code, Some(0 | 141)), "{args:?}: {code:?} {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A token that could not be shown is useless: said so, with the way out.
    let (code, err) = run_into_closed_pipe(&["token", "create", "ci", "--config", config]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("could not be printed") && err.contains("token revoke ci"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn check_config_reports_every_error_and_unreadable_files_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    let key = dir.path().join("client.key");
    std::fs::write(&key, "not checked here, only readable").unwrap();
    std::fs::write(
        &path,
        format!(
            "config mqtt 'mqtt'\n\toption port 'eighty'\n\n\
             config api 'api'\n\toption listen 'nowhere'\n\n\
             config upstream 'upstream'\n\toption enabled '1'\n\toption url 'mqtts://cloud'\n\
             \toption cert_file '/nonexistent/client.pem'\n\toption key_file '{}'\n\n\
             config model 'anomaly'\n\toption path '/nonexistent/model.onnx'\n\
             \tlist metrics 't'\n\toption output 't_score'\n",
            key.display()
        ),
    )
    .unwrap();
    let (code, out, err) = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    for expected in [
        "line 2: option 'port' in section 'mqtt'",
        "line 5: option 'listen' in section 'api'",
        "upstream.cert_file: cannot read /nonexistent/client.pem: No such file",
        "line 13: model 'anomaly': option 'path': cannot read /nonexistent/model.onnx",
        "4 errors",
    ] {
        assert!(err.contains(expected), "{expected:?} in:\n{err}");
    }
    assert!(!err.contains("key_file"), "a readable file is fine: {err}");

    // The same files named by parts that are off are warnings: the file is usable.
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace("option port 'eighty'", "option port '1883'")
        .replace("option listen 'nowhere'", "option listen '127.0.0.1:8080'")
        .replace("option enabled '1'", "option enabled '0'")
        .replace(
            "config model 'anomaly'\n",
            "config model 'anomaly'\n\toption enabled '0'\n",
        );
    std::fs::write(&path, text).unwrap();
    let (code, out, err) = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with(": ok\n"), "{out}");
    assert!(
        err.contains("warning: upstream.cert_file: cannot read"),
        "{err}"
    );
    assert!(err.contains("warning: line 13: model 'anomaly'"), "{err}");
}
