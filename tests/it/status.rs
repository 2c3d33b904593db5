//! `acs-edge status` (Cargo feature `healthcheck`, the container image's HEALTHCHECK) against
//! the real daemon: exit 0 with the health document while it reports `ok`, 1 with the reason
//! while it is degraded, 1 once it is gone; a wildcard `api.listen` is asked on loopback.

use crate::common;
use serde_json::Value;
use std::path::Path;

fn status(config: &Path) -> (i32, String, String) {
    let out = common::command()
        .arg("status")
        .arg("--config")
        .arg(config)
        .output()
        .expect("run acs-edge status");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn status_is_ok_for_a_healthy_daemon_on_any_listen_address_and_fails_once_it_is_gone() {
    let broker = common::Broker::start();
    let mut cfg = common::DaemonConfig::new(broker.port);
    cfg.user = None;
    let mut daemon = common::Daemon::start(&cfg);
    daemon.wait_subscribed();

    let (code, out, err) = status(&daemon.config_path);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(out.trim()).expect("the health document");
    assert_eq!(doc["status"], "ok", "{out}");
    assert_eq!(doc["gateway_id"], "test-gw", "{out}");

    // The same daemon named by a config that listens on every interface.
    let text = std::fs::read_to_string(&daemon.config_path).unwrap();
    let wildcard = text.replace(
        &format!("'127.0.0.1:{}'", daemon.api_port),
        &format!("'0.0.0.0:{}'", daemon.api_port),
    );
    assert_ne!(text, wildcard, "the test config names its API address");
    let wildcard_path = daemon.dir.path().join("wildcard.conf");
    std::fs::write(&wildcard_path, wildcard).unwrap();
    let (code, _, err) = status(&wildcard_path);
    assert_eq!(code, 0, "{err}");

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    let (code, out, err) = status(&daemon.config_path);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains(&format!("no answer from 127.0.0.1:{}", daemon.api_port)),
        "{err}"
    );
}

#[test]
fn status_fails_with_the_reason_while_the_daemon_is_degraded() {
    // Nothing listens on the broker port: health turns degraded after its 10 s grace.
    let mut cfg = common::DaemonConfig::new(common::free_port());
    cfg.user = None;
    let daemon = common::Daemon::start(&cfg);
    let (out, err) = common::wait_until("status to report the broker", common::patience(), || {
        let (code, out, err) = status(&daemon.config_path);
        (code == 1 && err.contains("degraded")).then_some((out, err))
    });
    assert!(
        err.contains("degraded: mqtt: not connected to the broker"),
        "{err}"
    );
    let doc: Value = serde_json::from_str(out.trim()).expect("the health document");
    assert_eq!(doc["status"], "degraded", "{out}");
}

#[test]
fn status_without_a_usable_config_fails_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.conf");
    let (code, _, err) = status(&missing);
    assert_eq!(code, 1);
    assert!(err.contains("nowhere.conf"), "{err}");

    let off = dir.path().join("off.conf");
    std::fs::write(&off, "config api 'api'\n\toption enabled '0'\n").unwrap();
    let (code, _, err) = status(&off);
    assert_eq!(code, 1);
    assert!(err.contains("api.enabled 0"), "{err}");
}
