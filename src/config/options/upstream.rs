//! `config upstream 'upstream'`: store-and-forward sync to the cloud broker.

use super::check::{check_any, check_client_id};
use super::keys::{Flag, Int, Text};
use super::spec::{Kind, OptionSpec, SectionSpec};

pub const UPSTREAM: SectionSpec = SectionSpec {
    name: "upstream",
    doc: "Store-and-forward sync to the cloud over MQTT: readings leave the store only after\n\
          the cloud acknowledged them. Message format: docs/UPSTREAM.md.",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::UpstreamEnabled),
            default: "0",
            reload: false,
            doc: "Forward readings to the cloud.",
        },
        OptionSpec {
            name: "url",
            kind: Kind::Text { key: Text::UpstreamUrl, check: check_any },
            default: "",
            reload: false,
            doc: "Cloud broker: mqtts://host:8883 (TLS, certificate verified) or mqtt://host:1883.\n\
                  Required when enabled. The broker must speak MQTT 5.",
        },
        OptionSpec {
            name: "client_id",
            kind: Kind::Text { key: Text::UpstreamClientId, check: check_client_id },
            default: "",
            reload: false,
            doc: "MQTT client id at the cloud broker. '' = acs-edge-<gateway_id>.",
        },
        OptionSpec {
            name: "ca_file",
            kind: Kind::Text { key: Text::UpstreamCaFile, check: check_any },
            default: "",
            reload: false,
            doc: "PEM file with the CA certificate(s) to trust. '' = the system CA bundle (OpenWrt: ca-bundle, /etc/ssl/certs/ca-certificates.crt).",
        },
        OptionSpec {
            name: "cert_file",
            kind: Kind::Text { key: Text::UpstreamCertFile, check: check_any },
            default: "",
            reload: false,
            doc: "PEM client certificate for mutual TLS, set together with key_file. '' = none.",
        },
        OptionSpec {
            name: "key_file",
            kind: Kind::Text { key: Text::UpstreamKeyFile, check: check_any },
            default: "",
            reload: false,
            doc: "PEM private key of cert_file. '' = none.",
        },
        OptionSpec {
            name: "username",
            kind: Kind::Text { key: Text::UpstreamUsername, check: check_any },
            default: "",
            reload: false,
            doc: "User name at the cloud broker. '' = none.",
        },
        OptionSpec {
            name: "password",
            kind: Kind::Secret(Text::UpstreamPassword),
            default: "",
            reload: false,
            doc: "Password at the cloud broker. '' = none. Never logged.",
        },
        OptionSpec {
            name: "topic",
            kind: Kind::Text { key: Text::UpstreamTopic, check: check_upstream_topic },
            default: "acs/{gateway_id}/up",
            reload: false,
            doc: "Topic to publish to; {gateway_id} is replaced by the gateway id.",
        },
        OptionSpec {
            name: "reconnect_max_s",
            kind: Kind::Int { key: Int::UpstreamReconnectMaxS, min: 1, max: 3600 },
            default: "60",
            reload: false,
            doc: "Longest wait between connection attempts, in seconds (exponential backoff with\n\
                  jitter from 0.5 s).",
        },
    ],
};

pub fn check_upstream_topic(v: &str) -> Result<(), String> {
    if v.is_empty() || v.contains(['+', '#']) || v.chars().any(char::is_control) {
        Err(format!(
            "expected a topic without wildcards (+ #), got '{v}'"
        ))
    } else {
        Ok(())
    }
}
