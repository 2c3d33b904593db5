//! `config mqtt 'mqtt'`: the broker readings are ingested from, and its topics.

use super::check::{check_any, check_client_id};
use super::keys::{Flag, Int, Text};
use super::spec::{Kind, OptionSpec, SectionSpec};

pub const MQTT: SectionSpec = SectionSpec {
    name: "mqtt",
    doc: "Ingest from an MQTT broker: <topic_prefix>/<device_id>/telemetry (JSON),\n\
          /frame (binary acs-proto) and /status (online/offline).",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::MqttEnabled),
            default: "1",
            reload: true,
            doc: "Ingest readings from the broker.",
        },
        OptionSpec {
            name: "host",
            kind: Kind::Text { key: Text::MqttHost, check: check_host },
            default: "127.0.0.1",
            reload: true,
            doc: "Broker host name or address (usually the mosquitto on this router); MQTT 5.",
        },
        OptionSpec {
            name: "port",
            kind: Kind::Int { key: Int::MqttPort, min: 1, max: 65535 },
            default: "1883",
            reload: true,
            doc: "Broker TCP port.",
        },
        OptionSpec {
            name: "username",
            kind: Kind::Text { key: Text::MqttUsername, check: check_any },
            default: "",
            reload: true,
            doc: "User name at the broker. '' = connect without credentials.",
        },
        OptionSpec {
            name: "password",
            kind: Kind::Secret(Text::MqttPassword),
            default: "",
            reload: true,
            doc: "Password at the broker. '' = none. Never logged.",
        },
        OptionSpec {
            name: "topic_prefix",
            kind: Kind::Text { key: Text::MqttTopicPrefix, check: check_topic_prefix },
            default: "acs",
            reload: true,
            doc: "First topic level(s) of device topics. No wildcards (+ #), no leading or trailing /.",
        },
        OptionSpec {
            name: "client_id",
            kind: Kind::Text { key: Text::MqttClientId, check: check_client_id },
            default: "",
            reload: true,
            doc: "MQTT client id. '' = acs-edge-<gateway_id>.",
        },
        OptionSpec {
            name: "qos",
            kind: Kind::Int { key: Int::MqttQos, min: 0, max: 1 },
            default: "1",
            reload: true,
            doc: "QoS of the subscriptions: 0 (at most once) or 1 (at least once).",
        },
        OptionSpec {
            name: "clean_session",
            kind: Kind::Bool(Flag::MqttCleanSession),
            default: "0",
            reload: true,
            doc: "0 = a persistent session: the broker keeps QoS 1 readings while the daemon is down.\n\
                  1 = start afresh on every connect.",
        },
        OptionSpec {
            name: "keepalive_s",
            kind: Kind::Int { key: Int::MqttKeepaliveS, min: 5, max: 3600 },
            default: "30",
            reload: true,
            doc: "Keep-alive interval, in seconds.",
        },
        OptionSpec {
            name: "max_payload_kb",
            kind: Kind::Int { key: Int::MqttMaxPayloadKb, min: 1, max: 1024 },
            default: "64",
            reload: true,
            doc: "Largest message accepted, in KiB; larger ones are acknowledged, dropped and counted\n\
                  up to 4x this (at least 256 KiB); the broker keeps bigger ones from the daemon.",
        },
        OptionSpec {
            name: "reconnect_max_s",
            kind: Kind::Int { key: Int::MqttReconnectMaxS, min: 1, max: 3600 },
            default: "30",
            reload: true,
            doc: "Longest wait between reconnection attempts, in seconds.",
        },
    ],
};

pub fn check_host(v: &str) -> Result<(), String> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!("expected a host name or address, got '{v}'"))
    } else {
        Ok(())
    }
}

pub fn check_topic_prefix(v: &str) -> Result<(), String> {
    let problem = if v.is_empty() {
        "is empty"
    } else if v.contains(['+', '#']) {
        "contains a wildcard (+ or #)"
    } else if v.starts_with('/') || v.ends_with('/') {
        "starts or ends with /"
    } else if v.contains("//") {
        "has an empty topic level (//)"
    } else if v.starts_with('$') {
        "starts with $ (reserved for the broker)"
    } else if v.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(format!("topic prefix '{v}' {problem}"))
}
