//! Multi-instance sections (`config user 'NAME'` and the others): names, required options,
//! and the examples `print-config` shows.

use super::error;
use crate::config::options::table::MULTI_SECTIONS;
use crate::config::{default_config_text, parse, LogLevel};
use std::time::Duration;

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
        // A build without the `sources` feature warns that the example source does not run.
        let surprising = loaded
            .warnings
            .iter()
            .any(|w| !w.contains("`sources` feature"));
        assert!(!surprising, "{}: {:?}", multi.name, loaded.warnings);
        let auth = &loaded.config.auth;
        let lora = &loaded.config.lora_devices;
        assert_eq!(
            auth.users.len()
                + auth.api_tokens.len()
                + loaded.config.ble.devices.len()
                + lora.lorawan.len()
                + lora.frames.len()
                + loaded.config.models.len()
                + loaded.config.sources.len(),
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
    assert!(defaults.sources.is_empty());
}

#[test]
fn an_enabled_source_warns_only_in_a_build_without_the_sources_feature() {
    let loaded = parse(
        "config source 'on'\n\toption format 'esphome'\n\
         config source 'off'\n\toption format 'shelly'\n\toption enabled '0'\n",
    )
    .unwrap();
    let warned: Vec<&String> = loaded
        .warnings
        .iter()
        .filter(|w| w.contains("`sources` feature"))
        .collect();
    if cfg!(feature = "sources") {
        assert!(warned.is_empty(), "{warned:?}");
    } else {
        assert_eq!(warned.len(), 1, "{:?}", loaded.warnings);
        assert!(warned[0].contains("source 'on'"), "{warned:?}");
    }
}

#[test]
fn source_sections_take_a_format_filters_and_a_prefix() {
    let loaded = parse(
        "config source 'z'\n\toption format 'zigbee2mqtt'\n\
         config source 't'\n\toption format 'tasmota'\n\tlist topic 'tasmota/+/tele/SENSOR'\n\
         \toption device_prefix 'plug.'\n\toption enabled '0'\n",
    )
    .unwrap();
    let sources = &loaded.config.sources;
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0].format, crate::config::SourceFormat::Zigbee2mqtt);
    assert!(sources[0].enabled && sources[0].topics.is_empty());
    assert_eq!(sources[1].format, crate::config::SourceFormat::Tasmota);
    assert_eq!(sources[1].topics, ["tasmota/+/tele/SENSOR"]);
    assert_eq!(
        (sources[1].device_prefix.as_str(), sources[1].enabled),
        ("plug.", false)
    );
    for (bad, needle) in [
        ("config source 's'\n", "'format' is required"),
        ("config source 's'\n\toption format 'hue'\n", "hue"),
        (
            "config source 's'\n\toption format 'shelly'\n\tlist topic 'a/b#'\n",
            "MQTT filter",
        ),
        (
            "config source 's'\n\toption format 'shelly'\n\tlist topic '#/a'\n",
            "MQTT filter",
        ),
        (
            "config source 's'\n\toption format 'shelly'\n\toption device_prefix 'a b'\n",
            "up to 32",
        ),
    ] {
        let e = parse(bad).expect_err(bad).to_string();
        assert!(e.contains(needle), "{bad}: {e}");
    }
}
