//! Login and tokens against the real daemon: users made with `acs-edge passwd`, session tokens,
//! API tokens, expiry, the failed-login limit, SIGHUP reloads of users, and device updates
//! (rename, annotate, disable: a disabled device's readings are dropped and counted).

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;

fn auth_counters(daemon: &Daemon) -> Value {
    daemon.health()["api"]["auth"].clone()
}

/// (status, body, WWW-Authenticate) of a GET with the given Authorization header value.
fn get_with(
    daemon: &Daemon,
    path: &str,
    authorization: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut request = ureq::get(&daemon.url(path));
    if let Some(value) = authorization {
        request = request.set("Authorization", value);
    }
    let result = request.call();
    let www = match &result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r.header("WWW-Authenticate").map(str::to_owned),
        Err(_) => None,
    };
    let (status, body, _) = answer(result);
    (status, body, www)
}

fn config_with(broker: &Broker, api_options: &str) -> DaemonConfig {
    let mut cfg = DaemonConfig::new(broker.port);
    // Same section name: UCI continues the test config's api section.
    cfg.extra = format!("config api 'api'\n{api_options}");
    cfg
}

#[test]
fn a_user_made_with_passwd_logs_in_and_the_token_opens_protected_endpoints() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let config = std::fs::read_to_string(&daemon.config_path).unwrap();
    assert!(config.contains("config user 'tester'"), "{config}");
    assert!(config.contains("$argon2id$v=19$"), "{config}");
    assert!(
        !config.contains(TEST_PASSWORD),
        "the password itself is never stored"
    );

    let before = acs_edge::model::now_ms();
    let (status, body, _) = daemon.login(TEST_USER, TEST_PASSWORD);
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let expires_at = body["expires_at"].as_i64().unwrap();
    assert!(expires_at > before + 3_000_000 && expires_at <= acs_edge::model::now_ms() + 3_600_000);
    assert_ne!(
        Some(token),
        daemon.token.as_deref(),
        "every login gets its own token"
    );

    let (status, _, _) = get_with(&daemon, "/api/v1/devices", Some(&format!("Bearer {token}")));
    assert_eq!(status, 200);
    let (status, _, _) = get_with(&daemon, "/api/v1/devices", Some(&format!("bearer {token}")));
    assert_eq!(status, 200, "the scheme is case-insensitive");
    assert!(auth_counters(&daemon)["logins_ok"].as_u64().unwrap() >= 2);
    let log = daemon.log();
    assert!(
        log.contains("user=tester client=127.0.0.1 logged in"),
        "{log}"
    );
    assert!(
        !log.contains(token) && !log.contains(TEST_PASSWORD),
        "no secret in the log"
    );
}

#[test]
fn no_token_a_wrong_token_or_another_scheme_gets_401_with_www_authenticate() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let good = daemon.token.clone().unwrap();
    // The good token with its last digit changed.
    let last = if good.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &good[..63]);
    for (what, authorization) in [
        ("no header", None),
        ("a wrong token", Some(format!("Bearer {wrong}"))),
        ("an empty token", Some("Bearer ".to_owned())),
        ("basic auth", Some(format!("Basic {good}"))),
        ("the token alone", Some(good.clone())),
    ] {
        for path in [
            "/api/v1/devices",
            "/api/v1/telemetry",
            "/api/v1/devices/x",
            "/api/v1/nope",
        ] {
            let (status, body, www) = get_with(&daemon, path, authorization.as_deref());
            assert_eq!(status, 401, "{what} on {path}: {body}");
            assert_eq!(body["error"]["code"], "unauthorized");
            assert_eq!(www.as_deref(), Some("Bearer realm=\"acs-edge\""), "{what}");
        }
    }
    // A token in the query string counts only on the WebSocket path.
    let (status, _, _) = get_with(
        &daemon,
        &format!("/api/v1/devices?access_token={good}"),
        None,
    );
    assert_eq!(status, 401);
    // Health needs no token.
    let (status, _, _) = get_with(&daemon, "/api/v1/health", None);
    assert_eq!(status, 200);
    assert_eq!(auth_counters(&daemon)["unauthorized"], 21);
}

#[test]
fn an_expired_token_gets_401_and_a_new_login_works() {
    let broker = Broker::start();
    let daemon = Daemon::start(&config_with(&broker, "\toption token_ttl_s '1'\n"));
    let (_, body, _) = daemon.login(TEST_USER, TEST_PASSWORD);
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, body, _) = wait_until("the token to expire", patience(), || {
        std::thread::sleep(Duration::from_millis(200));
        let answer = get_with(&daemon, "/api/v1/devices", Some(&format!("Bearer {token}")));
        (answer.0 != 200).then_some(answer)
    });
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    let (status, again, _) = get_with(&daemon, "/api/v1/devices", Some(&format!("Bearer {token}")));
    assert_eq!(status, 401);
    assert!(again["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not valid"));
    let (status, _, _) = daemon.login(TEST_USER, TEST_PASSWORD);
    assert_eq!(status, 200);
}

#[test]
fn repeated_failed_logins_get_429_with_retry_after_even_for_the_right_password() {
    let broker = Broker::start();
    let daemon = Daemon::start(&config_with(
        &broker,
        "\toption login_max_failures '3'\n\toption login_lockout_s '120'\n",
    ));
    assert_eq!(daemon.login(TEST_USER, "wrong password 1").0, 401);
    let (status, body, _) = daemon.login("nobody", "wrong password 2");
    assert_eq!(status, 401, "an unknown user fails the same way");
    assert_eq!(body["error"]["message"], "invalid username or password");
    assert_eq!(daemon.login(TEST_USER, "wrong password 3").0, 401);
    for password in ["wrong password 4", TEST_PASSWORD] {
        let (status, body, retry_after) = daemon.login(TEST_USER, password);
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["code"], "too_many_requests");
        let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
        assert!((1..=120).contains(&seconds), "{seconds}");
    }
    let counters = auth_counters(&daemon);
    assert_eq!(counters["logins_failed"], 3);
    assert_eq!(counters["logins_limited"], 2);
    // Tokens issued before keep working: the limit is on logins only.
    assert_eq!(daemon.get("/api/v1/devices").0, 200);
    assert!(daemon.log().contains("address locked out"));
}

#[test]
fn sighup_picks_up_a_new_user_and_api_tokens_come_and_go_with_reloads() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let out = passwd(&daemon.config_path, "second", "another good password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        daemon.login("second", "another good password").0,
        401,
        "not before a reload"
    );
    daemon.signal("HUP");
    wait_until("the new user after SIGHUP", patience(), || {
        (daemon.login("second", "another good password").0 == 200).then_some(())
    });

    let out = command()
        .args(["token", "create", "dashboard", "--config"])
        .arg(&daemon.config_path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api_token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(api_token.len(), 64);
    let config = std::fs::read_to_string(&daemon.config_path).unwrap();
    assert!(config.contains("config api_token 'dashboard'") && !config.contains(&api_token));
    let bearer = format!("Bearer {api_token}");
    assert_eq!(get_with(&daemon, "/api/v1/devices", Some(&bearer)).0, 401);
    daemon.signal("HUP");
    wait_until("the API token after SIGHUP", patience(), || {
        (get_with(&daemon, "/api/v1/devices", Some(&bearer)).0 == 200).then_some(())
    });

    let out = command()
        .args(["token", "revoke", "dashboard", "--config"])
        .arg(&daemon.config_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.signal("HUP");
    wait_until("the revoked token to be refused", patience(), || {
        (get_with(&daemon, "/api/v1/devices", Some(&bearer)).0 == 401).then_some(())
    });
    assert_eq!(
        daemon.get("/api/v1/devices").0,
        200,
        "the user's session survives reloads"
    );
    assert!(!daemon.log().contains(&api_token));
}

#[test]
fn passwd_keeps_the_rest_of_the_file_and_refuses_short_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    let original = "# my settings\nconfig main 'main'\n\toption log_level 'warn' # quiet\n";
    std::fs::write(&path, original).unwrap();
    let out = passwd(&path, "admin", "short");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        original,
        "unchanged"
    );

    assert!(passwd(&path, "admin", "first password").status.success());
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.starts_with(original), "{first}");
    assert!(passwd(&path, "admin", "second password").status.success());
    let second = std::fs::read_to_string(&path).unwrap();
    assert!(second.starts_with(original));
    assert_eq!(second.matches("password_hash").count(), 1, "{second}");
    assert_ne!(first, second);
    let out = passwd(&path, "no-dashes", "a good password");
    assert_eq!(out.status.code(), Some(1));
    let out = command()
        .args(["check-config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn patch_renames_and_annotates_a_device_and_disabling_drops_its_readings() {
    let broker = Broker::start();
    let mut daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/dev1/telemetry", r#"{"ts": 1767225600000, "t": 1}"#);
    wait_until("the first reading", patience(), || {
        (daemon.all_readings("dev1").len() == 1).then_some(())
    });

    let patch =
        json!({"name": "Kitchen", "metadata": {"location": "ground floor", "tags": ["indoor"]}});
    let (status, device) = daemon.send("PATCH", "/api/v1/devices/dev1", Some(&patch));
    assert_eq!(status, 200, "{device}");
    assert_eq!(device["name"], "Kitchen");
    assert_eq!(
        device["metadata"],
        json!({"location": "ground floor", "tags": ["indoor"]})
    );
    assert_eq!(daemon.get("/api/v1/devices/dev1").1, device);

    for (body, status) in [
        (json!({"nickname": "x"}), 400),
        (json!({"enabled": 0}), 400),
        (json!({"name": "n".repeat(65)}), 422),
        (json!({"metadata": {"tags": ["a", "a"]}}), 422),
    ] {
        let (got, error) = daemon.send("PATCH", "/api/v1/devices/dev1", Some(&body));
        assert_eq!(got, status, "{body}: {error}");
        assert!(error["error"]["message"].as_str().unwrap().len() > 5);
    }
    assert_eq!(
        daemon
            .send("PATCH", "/api/v1/devices/ghost", Some(&json!({})))
            .0,
        404
    );

    let (status, device) = daemon.send(
        "PATCH",
        "/api/v1/devices/dev1",
        Some(&json!({"enabled": false})),
    );
    assert_eq!(status, 200);
    assert_eq!(device["enabled"], false);
    assert_eq!(
        device["name"], "Kitchen",
        "fields not in the patch are left alone"
    );
    for i in 0..3 {
        publisher.publish(
            "acs/dev1/telemetry",
            format!(r#"{{"ts": {}, "t": 2}}"#, 1767225601000i64 + i),
        );
    }
    publisher.publish("acs/dev2/telemetry", r#"{"ts": 1767225602000, "t": 3}"#);
    wait_until("the other device's reading", patience(), || {
        (daemon.all_readings("dev2").len() == 1).then_some(())
    });
    wait_until("three dropped readings", patience(), || {
        (daemon.health()["ingest"]["dropped_disabled"] == 3).then_some(())
    });
    assert_eq!(
        daemon.all_readings("dev1").len(),
        1,
        "nothing stored while disabled"
    );

    // The change is stored: it survives a restart.
    daemon.signal("TERM");
    daemon.wait_exit();
    daemon.spawn();
    let (_, device) = daemon.get("/api/v1/devices/dev1");
    assert_eq!(
        (device["name"].clone(), device["enabled"].clone()),
        (json!("Kitchen"), json!(false))
    );

    daemon.send(
        "PATCH",
        "/api/v1/devices/dev1",
        Some(&json!({"enabled": true, "name": null})),
    );
    publisher.publish("acs/dev1/telemetry", r#"{"ts": 1767225609000, "t": 4}"#);
    wait_until("a reading after re-enabling", patience(), || {
        (daemon.all_readings("dev1").len() == 2).then_some(())
    });
    assert_eq!(daemon.get("/api/v1/devices/dev1").1["name"], Value::Null);
}
