//! Parsing: values, errors with their lines, leniency. The other files test one part each.

use super::*;
use std::path::PathBuf;
use std::time::Duration;

mod ble;
mod influxdb;
mod instances;
mod lora_devices;
mod models;
mod options;
mod table;

pub(super) fn config(text: &str) -> Config {
    parse(text).unwrap().config
}

pub(super) fn error(text: &str) -> ConfigError {
    parse(text).unwrap_err()
}

#[test]
fn integer_error_names_line_section_and_option() {
    let e =
        error("config main 'main'\n\nconfig mqtt 'mqtt'\n\toption host h\n\toption port 'abc'\n");
    assert_eq!(
        e.to_string(),
        "line 5: option 'port' in section 'mqtt': expected an integer 1..=65535, got 'abc'"
    );
    assert_eq!(e.line(), Some(5));
    for bad in ["-1", "+80", " 80", "0x50", "1e3", "99999999999999999999999"] {
        let text = format!("config mqtt\n option port '{bad}'\n");
        assert!(
            matches!(error(&text), ConfigError::Invalid { option: "port", .. }),
            "{bad}"
        );
    }
}

#[test]
fn integers_become_typed_fields() {
    let c = config(
        "config store\n option max_mb 2\n option max_age_days 0\n option commit_interval_ms 50\n\
         config mqtt\n option keepalive_s 60\n option max_payload_kb 1\n option qos 0\n\
         config api\n option max_body_kb 4096\n option request_timeout_s 3\n",
    );
    assert_eq!(c.store.max_bytes, 2 * 1024 * 1024);
    assert_eq!(c.store.max_age, None);
    assert_eq!(c.store.commit_interval, Duration::from_millis(50));
    assert_eq!(c.mqtt.keepalive, Duration::from_secs(60));
    assert_eq!(c.mqtt.max_payload_bytes, 1024);
    assert_eq!(c.mqtt.qos, 0);
    assert_eq!(c.api.max_body_bytes, 4096 * 1024);
    assert_eq!(c.api.request_timeout, Duration::from_secs(3));
}

#[test]
fn booleans_accept_every_spelling() {
    for (raw, want) in [
        ("1", true),
        ("true", true),
        ("yes", true),
        ("on", true),
        ("enabled", true),
        ("0", false),
        ("false", false),
        ("no", false),
        ("off", false),
        ("disabled", false),
    ] {
        let c = config(&format!("config mqtt\n option clean_session {raw}\n"));
        assert_eq!(c.mqtt.clean_session, want, "{raw}");
    }
}

#[test]
fn bad_boolean_is_an_error() {
    let e = error("config main\n option enabled maybe\n");
    assert_eq!(
        e.to_string(),
        "line 2: option 'enabled' in section 'main': expected a boolean \
         (1/0, true/false, yes/no, on/off, enabled/disabled), got 'maybe'"
    );
}

#[test]
fn log_level_must_be_a_known_level() {
    assert_eq!(
        config("config main\n option log_level debug\n")
            .main
            .log_level,
        LogLevel::Debug
    );
    let e = error("config main\n option log_level verbose\n");
    assert_eq!(
        e.to_string(),
        "line 2: option 'log_level' in section 'main': \
         expected one of error, warn, info, debug, trace, got 'verbose'"
    );
}

#[test]
fn gateway_id_uses_the_name_rule() {
    let c = config("config main 'main'\n option gateway_id 'gw-1.lab'\n");
    assert_eq!(c.main.gateway_id.as_deref(), Some("gw-1.lab"));
    assert_eq!(c.gateway_id(), "gw-1.lab");
    let e = error("config main 'main'\n option gateway_id 'a/b'\n");
    assert_eq!(e.line(), Some(2));
    assert!(e.to_string().contains("'a/b' contains '/'"), "{e}");
    assert!(parse(&format!(
        "config main\n option gateway_id {}\n",
        "x".repeat(65)
    ))
    .is_err());
}

#[test]
fn empty_gateway_id_resolves_to_the_hostname_or_a_fallback() {
    assert_eq!(resolve_gateway_id(Some("gw"), || panic!("not read")), "gw");
    assert_eq!(
        resolve_gateway_id(None, || Some("router\n".into())),
        "router"
    );
    assert_eq!(
        resolve_gateway_id(None, || Some("bad host".into())),
        "acs-edge"
    );
    assert_eq!(resolve_gateway_id(None, || None), "acs-edge");
    assert!(!Config::default().gateway_id().is_empty());
}

#[test]
fn mqtt_client_id_defaults_to_the_gateway_id() {
    let c = config("config main\n option gateway_id gw7\n");
    assert_eq!(c.mqtt_client_id(), "acs-edge-gw7");
    let c = config("config mqtt\n option client_id mine\n");
    assert_eq!(c.mqtt_client_id(), "mine");
    assert!(parse("config mqtt\n option client_id 'a b'\n").is_err());
}

#[test]
fn topic_prefix_refuses_wildcards_and_outer_slashes() {
    assert_eq!(
        config("config mqtt\n option topic_prefix 'site/a'\n")
            .mqtt
            .topic_prefix,
        "site/a"
    );
    for bad in ["", "a/+", "#", "/acs", "acs/", "a//b", "$SYS"] {
        let e = error(&format!("config mqtt\n option topic_prefix '{bad}'\n"));
        assert!(
            matches!(
                e,
                ConfigError::Invalid {
                    option: "topic_prefix",
                    line: Some(2),
                    ..
                }
            ),
            "{bad}: {e}"
        );
    }
}

#[test]
fn api_listen_must_be_a_socket_address() {
    let c = config("config api 'api'\n option listen '[::]:9000'\n");
    assert_eq!(c.api.listen, "[::]:9000".parse().unwrap());
    let e = error("config api 'api'\n option listen 'localhost:8080'\n");
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                option: "listen",
                line: Some(2),
                ..
            }
        ),
        "{e}"
    );
    assert!(parse("config api\n option listen '8080'\n").is_err());
}

#[test]
fn upstream_needs_an_mqtt_url_only_when_enabled() {
    let c = config("config upstream 'upstream'\n option url 'junk'\n");
    assert!(!c.upstream.enabled);
    let e = error("config upstream 'upstream'\n option enabled 1\n");
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                option: "url",
                line: Some(2),
                ..
            }
        ),
        "{e}"
    );
    let e = error("config upstream 'upstream'\n option enabled 1\n option url 'https://x'\n");
    assert_eq!(
        e.to_string(),
        "line 3: option 'url' in section 'upstream': \
         expected mqtts://host[:port] or mqtt://host[:port], got 'https://x'"
    );
    assert!(parse("config upstream\n option enabled 1\n option url 'mqtts://'\n").is_err());
    let c = config(
        "config upstream\n option enabled 1\n option url 'mqtts://cloud.example:8883'\n\
         option ca_file /etc/acs-edge/ca.pem\n option topic 'site/{gateway_id}'\n",
    );
    assert_eq!(
        c.upstream.url.as_deref(),
        Some("mqtts://cloud.example:8883")
    );
    assert_eq!(
        c.upstream.ca_file,
        Some(PathBuf::from("/etc/acs-edge/ca.pem"))
    );
    assert_eq!(c.upstream.cert_file, None);
    assert!(parse("config upstream\n option enabled 1\n option url mqtt://h\n").is_ok());
}

#[test]
fn upstream_client_certificate_needs_its_key() {
    let e = error(
        "config upstream\n option enabled 1\n option url mqtts://h\n option cert_file /c.pem\n",
    );
    assert!(
        matches!(
            e,
            ConfigError::Invalid {
                option: "key_file",
                line: Some(2),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn unknown_options_and_sections_are_warnings_with_lines() {
    let loaded = parse(
        "config mqtt 'mqtt'\n option port 1884\n option future_thing 1\n\
         config luci_extra 'x'\n option a b\n",
    )
    .unwrap();
    assert_eq!(loaded.config.mqtt.port, 1884);
    assert_eq!(
        loaded.warnings,
        vec![
            "line 3: unknown option 'future_thing' in section 'mqtt' (ignored)".to_owned(),
            "line 4: unknown section type 'luci_extra' (ignored)".to_owned(),
        ]
    );
}

#[test]
fn anonymous_and_differently_named_singleton_sections_are_accepted() {
    let c = config("config mqtt\n option port 1\nconfig api 'web'\n option workers 4\n");
    assert_eq!(c.mqtt.port, 1);
    assert_eq!(c.api.workers, 4);
}

#[test]
fn duplicate_singleton_section_later_wins_with_a_warning() {
    let loaded = parse(
        "config mqtt 'mqtt'\n option port 1\n option host a\n\nconfig mqtt\n option port 2\n",
    )
    .unwrap();
    assert_eq!(loaded.config.mqtt.port, 2);
    assert_eq!(
        loaded.config.mqtt.host, "127.0.0.1",
        "the earlier section is replaced whole"
    );
    assert_eq!(
        loaded.warnings,
        vec!["line 5: another 'mqtt' section; it replaces the one at line 1".to_owned()]
    );
}

#[test]
fn list_for_a_single_value_option_is_an_error() {
    let e = error("config mqtt\n list host a\n list host b\n");
    assert_eq!(
        e.to_string(),
        "line 3: option 'host' in section 'mqtt': expected a single value, got a list"
    );
}

#[test]
fn syntax_errors_keep_their_line() {
    let e = error("config main 'main'\n\toption enabled '1\n");
    assert!(matches!(e, ConfigError::Syntax(_)));
    assert_eq!(e.line(), Some(2));
    assert!(
        e.to_string().starts_with("line 2: unterminated ' quote"),
        "{e}"
    );
}

#[test]
fn load_reads_a_file_and_names_the_path_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acs-edge");
    std::fs::write(&path, "config mqtt 'mqtt'\n\toption port '1999'\n").unwrap();
    assert_eq!(load(&path).unwrap().config.mqtt.port, 1999);
    let missing = dir.path().join("nope");
    let e = load(&missing).unwrap_err();
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
    assert_eq!(e.line(), None);
}

#[test]
fn secrets_are_not_in_debug_output() {
    let c = config(
        "config mqtt\n option password 'hunter2-mqtt'\n\
         config upstream\n option password 'hunter2-cloud'\n",
    );
    assert_eq!(
        c.mqtt.password.as_ref().map(Secret::expose),
        Some("hunter2-mqtt")
    );
    let debug = format!(
        "{c:?} {c:#?} {:?}",
        parse("config mqtt\n option password 's3cr3t'\n")
    );
    assert!(
        !debug.contains("hunter2") && !debug.contains("s3cr3t"),
        "{debug}"
    );
    assert!(debug.contains("\"***\""));
}

#[test]
fn check_reports_every_error_section_by_section_and_parse_the_first() {
    let text = "config mqtt 'mqtt'\n\toption port 'eighty'\n\toption qos '7'\n\n\
                config user 'alice'\n\toption enabled 'maybe'\n\n\
                config user 'bob'\n\n\
                config upstream 'upstream'\n\toption enabled '1'\n\toption key_file '/k'\n";
    let errors: Vec<String> = check(text)
        .unwrap()
        .errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "line 2: option 'port' in section 'mqtt': expected an integer 1..=65535, got 'eighty'",
            "line 3: option 'qos' in section 'mqtt': expected an integer 0..=1, got '7'",
            "line 6: option 'enabled' in section 'user': expected a boolean (1/0, true/false, \
             yes/no, on/off, enabled/disabled), got 'maybe'",
            "line 5: user 'alice': option 'password_hash' is required",
            "line 8: user 'bob': option 'password_hash' is required",
            "line 11: option 'url' in section 'upstream': is required when upstream is enabled \
             (mqtts://host:8883 or mqtt://host:1883)",
            "line 11: option 'cert_file' in section 'upstream': cert_file and key_file must be \
             set together",
        ]
    );
    assert_eq!(error(text).to_string(), errors[0]);
    // Past a syntax error the structure is unknown: that error alone.
    let e = check("config mqtt\n\toption port 'x\nconfig api\n").unwrap_err();
    assert!(matches!(e, ConfigError::Syntax(_)), "{e}");
}
