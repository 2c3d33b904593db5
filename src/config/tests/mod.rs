use super::options::spec::Kind;
use super::options::table::{all_options, options_of, MULTI_SECTIONS, SECTIONS};
use super::*;
use std::path::PathBuf;
use std::time::Duration;

mod ble;
mod lora_devices;
mod models;
mod options;

const COMMITTED: &str = "openwrt/files/acs-edge.config";

fn config(text: &str) -> Config {
    parse(text).unwrap().config
}

fn error(text: &str) -> ConfigError {
    parse(text).unwrap_err()
}

#[test]
fn empty_file_gives_the_defaults() {
    let loaded = parse("").unwrap();
    assert_eq!(loaded.config, Config::default());
    assert!(loaded.warnings.is_empty());
}

#[test]
fn defaults_match_the_design() {
    let c = Config::default();
    assert!(c.main.enabled);
    assert_eq!(c.main.gateway_id, None);
    assert_eq!(c.main.log_level, LogLevel::Info);
    assert_eq!(c.store.path, PathBuf::from("/var/lib/acs-edge/store.db"));
    assert_eq!(c.store.max_rows, 1_000_000);
    assert_eq!(c.store.max_bytes, 4 * 1024 * 1024);
    assert_eq!(c.store.max_age, Some(Duration::from_secs(30 * 86_400)));
    assert_eq!(c.store.commit_interval, Duration::from_millis(1000));
    assert_eq!((c.store.max_devices, c.store.max_metrics), (1000, 1000));
    assert!(c.mqtt.enabled);
    assert_eq!((c.mqtt.host.as_str(), c.mqtt.port), ("127.0.0.1", 1883));
    assert_eq!(
        (c.mqtt.username.clone(), c.mqtt.password.clone()),
        (None, None)
    );
    assert_eq!(c.mqtt.topic_prefix, "acs");
    assert_eq!(c.mqtt.client_id, None);
    assert_eq!(c.mqtt.qos, 1);
    assert!(!c.mqtt.clean_session);
    assert_eq!(c.mqtt.keepalive, Duration::from_secs(30));
    assert_eq!(c.mqtt.max_payload_bytes, 64 * 1024);
    assert_eq!(c.mqtt.reconnect_max, Duration::from_secs(30));
    assert!(c.api.enabled);
    assert_eq!(c.api.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.api.max_connections, 16);
    assert_eq!(c.api.request_timeout, Duration::from_secs(10));
    assert_eq!(c.api.max_body_bytes, 64 * 1024);
    assert_eq!(c.api.workers, 2);
    assert!(!c.upstream.enabled);
    assert_eq!(c.upstream.url, None);
    assert_eq!(c.upstream.topic, "acs/{gateway_id}/up");
}

#[test]
fn parsing_the_default_text_gives_the_default_config() {
    let loaded = parse(&default_config_text()).unwrap();
    assert_eq!(loaded.config, Config::default());
    assert_eq!(loaded.warnings, Vec::<String>::new());
}

#[test]
fn default_text_sets_every_option_of_the_table() {
    let sections = uci::parse(&default_config_text()).unwrap();
    let kinds: Vec<_> = sections.iter().map(|s| s.kind.as_str()).collect();
    let names: Vec<_> = SECTIONS.iter().map(|s| s.name).collect();
    assert_eq!(kinds, names);
    for s in &sections {
        assert_eq!(
            s.name.as_deref(),
            Some(s.kind.as_str()),
            "named like DESIGN.md"
        );
        let set: Vec<_> = s.options.iter().map(|e| e.name.as_str()).collect();
        let table: Vec<_> = options_of(&s.kind).iter().map(|o| o.name).collect();
        assert_eq!(set, table);
    }
}

#[test]
fn committed_config_file_equals_the_rendered_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    let rendered = default_config_text();
    if std::env::var_os("ACS_EDGE_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "{COMMITTED} differs from default_config_text(); \
         regenerate it with `ACS_EDGE_BLESS=1 cargo test committed_config_file`"
    );
}

#[test]
fn rendered_text_documents_reload_and_restart() {
    let text = default_config_text();
    let (reload, restart) = text.split_once("# Need a restart").unwrap();
    assert!(reload.contains("#   main: log_level\n"));
    assert!(reload.contains(
        "#   store: max_rows, max_mb, max_age_days, commit_interval_ms, max_future_skew_s\n"
    ));
    assert!(reload.contains("#   mqtt: all options\n"));
    let header = restart.split("\nconfig ").next().unwrap();
    assert!(header.contains("#   store: path, max_devices, max_metrics\n"));
    assert!(header.contains(
        "#   api: enabled, listen, max_connections, request_timeout_s, max_body_kb, workers, \
         ws_max_clients, ws_ping_s\n"
    ));
    assert!(reload.contains("#   api: token_ttl_s, login_max_failures, login_lockout_s\n"));
    assert!(reload.contains("#   user: all options\n"));
    assert!(text.contains("# 1 to 65535; applied by a reload.\n\toption port '1883'\n"));
}

#[test]
fn option_table_names_are_unique_and_valid() {
    for (section, o) in all_options() {
        assert!(uci::is_valid_name(o.name) && o.name.bytes().all(|b| !b.is_ascii_uppercase()));
        let same_name = options_of(section)
            .iter()
            .filter(|other| other.name == o.name);
        assert_eq!(same_name.count(), 1, "duplicate {section}.{}", o.name);
        assert!(!o.doc.is_empty());
    }
}

#[test]
fn every_integer_range_is_inclusive_and_enforced() {
    for (section, o) in all_options() {
        let Kind::Int { min, max, .. } = o.kind else {
            continue;
        };
        // A multi-instance section also needs its required options (from its example).
        let required: String = MULTI_SECTIONS
            .iter()
            .filter(|m| m.name == section)
            .flat_map(|m| m.example.lines())
            .filter(|l| {
                let multi = MULTI_SECTIONS.iter().find(|m| m.name == section);
                multi.is_some_and(|m| {
                    m.required.iter().any(|r| {
                        let l = l.trim_start();
                        l.starts_with(&format!("option {r} "))
                            || l.starts_with(&format!("list {r} "))
                    })
                })
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let text = |v: u64| {
            format!(
                "config {0} '{0}'\n\toption {1} '{v}'\n{required}",
                section, o.name
            )
        };
        parse(&text(min)).unwrap();
        parse(&text(max)).unwrap();
        let too_big = error(&text(max + 1));
        assert_eq!(
            too_big.to_string(),
            format!(
                "line 2: option '{}' in section '{}': expected an integer {min}..={max}, got '{}'",
                o.name,
                section,
                max + 1
            )
        );
        if min > 0 {
            assert_eq!(error(&text(min - 1)).line(), Some(2));
        }
    }
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

const ALICE_HASH: &str = "$argon2id$v=19$m=8192,t=4,p=1$c2FsdHNhbHRzYWx0$\
                          WHa4/dXxGZ2OWO3pfLQyLvo1lhHdHSRvBQcvtSg1qzM";

#[test]
fn multi_instance_sections_give_one_entry_per_named_instance() {
    let text = format!(
        "config user 'alice'\n\toption password_hash '{ALICE_HASH}'\n\
         config main 'main'\n\toption log_level 'warn'\n\
         config user 'bob'\n\toption password_hash '{ALICE_HASH}'\n\toption enabled '0'\n\
         config api_token 'ci'\n\toption token_hash \
         'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'\n\
         config api 'api'\n\toption token_ttl_s '120'\n"
    );
    let loaded = parse(&text).unwrap();
    assert_eq!(loaded.warnings, Vec::<String>::new());
    let auth = &loaded.config.auth;
    let users: Vec<_> = auth
        .users
        .iter()
        .map(|u| (u.name.as_str(), u.enabled, u.line))
        .collect();
    assert_eq!(users, vec![("alice", true, 1), ("bob", false, 5)]);
    assert_eq!(auth.users[0].password_hash.expose(), ALICE_HASH);
    assert_eq!(auth.api_tokens[0].name, "ci");
    assert_eq!(auth.token_ttl, Duration::from_secs(120));
    assert_eq!(loaded.config.main.log_level, LogLevel::Warn);
    assert!(
        !format!("{:?}", loaded.config).contains("argon2id"),
        "hashes are not in Debug"
    );
}

#[test]
fn multi_instance_sections_need_a_name_their_required_options_and_valid_values() {
    let e = error(&format!(
        "config user\n\toption password_hash '{ALICE_HASH}'\n"
    ));
    assert_eq!(
        e.to_string(),
        "line 1: user '': needs a name: config user 'NAME'"
    );
    let e = error("config main 'main'\nconfig user 'carol'\n\toption enabled '1'\n");
    assert_eq!(
        e.to_string(),
        "line 2: user 'carol': option 'password_hash' is required"
    );
    assert_eq!(e.line(), Some(2));
    let e = error("config user 'carol'\n\toption password_hash ''\n");
    assert!(e.to_string().contains("is required"), "{e}");
    let e = error("config user 'dave'\n\toption password_hash 'hunter2'\n");
    assert_eq!(e.line(), Some(2));
    assert!(e.to_string().contains("PHC"), "{e}");
    let long = "u".repeat(65);
    let e = error(&format!(
        "config user '{long}'\n\toption password_hash '{ALICE_HASH}'\n"
    ));
    assert!(e.to_string().contains("longer than 64"), "{e}");
    let warned = parse(&format!(
        "config user 'erin'\n\toption password_hash '{ALICE_HASH}'\n\toption shell 'sh'\n"
    ))
    .unwrap();
    assert_eq!(
        warned.warnings,
        vec!["line 3: unknown option 'shell' in section 'user' (ignored)"]
    );
}

#[test]
fn the_examples_of_multi_instance_sections_parse_and_the_default_file_has_none() {
    for multi in MULTI_SECTIONS {
        let loaded = parse(multi.example).unwrap();
        assert!(
            loaded.warnings.is_empty(),
            "{}: {:?}",
            multi.name,
            loaded.warnings
        );
        let auth = &loaded.config.auth;
        let lora = &loaded.config.lora_devices;
        assert_eq!(
            auth.users.len()
                + auth.api_tokens.len()
                + loaded.config.ble.devices.len()
                + lora.lorawan.len()
                + lora.frames.len()
                + loaded.config.models.len(),
            1,
            "{}",
            multi.name
        );
        let rendered = default_config_text();
        for line in multi.example.lines() {
            assert!(rendered.contains(&format!("#{line}\n")), "{line}");
        }
    }
    let defaults = parse(&default_config_text()).unwrap().config;
    assert!(defaults.auth.users.is_empty() && defaults.auth.api_tokens.is_empty());
    assert!(defaults.ble.devices.is_empty());
    assert_eq!(defaults.lora_devices, Default::default());
}
