//! The option table: its defaults, the rendered default file, names and integer ranges.

use super::error;
use crate::config::options::spec::Kind;
use crate::config::options::table::{all_options, options_of, MULTI_SECTIONS, SECTIONS};
use crate::config::{default_config_text, parse, uci, Config, LogLevel};
use std::path::{Path, PathBuf};
use std::time::Duration;

const COMMITTED: &str = "openwrt/files/acs-edge.config";

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
    assert!(header.contains(
        "#   store: path, flush_interval_s, rollup_minute_days, rollup_hour_days, \
         max_devices, max_metrics\n"
    ));
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
