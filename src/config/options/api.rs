//! `config api 'api'`: the REST and WebSocket listener, its limits and the login policy.

use super::check::check_socket_addr;
use super::keys::{Flag, Int, Text};
use super::spec::{Kind, OptionSpec, SectionSpec};

pub const API: SectionSpec = SectionSpec {
    name: "api",
    doc: "REST API under /api/v1 and WebSocket events at /api/v1/ws, on one port.",
    options: &[
        OptionSpec {
            name: "enabled",
            kind: Kind::Bool(Flag::ApiEnabled),
            default: "1",
            reload: false,
            doc: "Serve the REST API and WebSocket events.",
        },
        OptionSpec {
            name: "listen",
            kind: Kind::Text { key: Text::ApiListen, check: check_socket_addr },
            default: "127.0.0.1:8080",
            reload: false,
            doc: "Address and port: 127.0.0.1:8080 (this router only), 0.0.0.0:8080 or [::]:8080\n\
                  (every interface: mind the firewall).",
        },
        OptionSpec {
            name: "max_connections",
            kind: Kind::Int { key: Int::ApiMaxConnections, min: 1, max: 1024 },
            default: "16",
            reload: false,
            doc: "Most client connections at a time.",
        },
        OptionSpec {
            name: "request_timeout_s",
            kind: Kind::Int { key: Int::ApiRequestTimeoutS, min: 1, max: 300 },
            default: "10",
            reload: false,
            doc: "Seconds a client has to send its request before it is disconnected.",
        },
        OptionSpec {
            name: "max_body_kb",
            kind: Kind::Int { key: Int::ApiMaxBodyKb, min: 1, max: 4096 },
            default: "64",
            reload: false,
            doc: "Largest request body, in KiB.",
        },
        OptionSpec {
            name: "workers",
            kind: Kind::Int { key: Int::ApiWorkers, min: 1, max: 32 },
            default: "2",
            reload: false,
            doc: "Threads serving requests.",
        },
        OptionSpec {
            name: "token_ttl_s",
            kind: Kind::Int { key: Int::ApiTokenTtlS, min: 1,
                max: 604_800, },
            default: "3600",
            reload: true,
            doc: "Seconds a token from POST /api/v1/auth/login stays valid.",
        },
        OptionSpec {
            name: "login_max_failures",
            kind: Kind::Int { key: Int::ApiLoginMaxFailures, min: 1, max: 1000 },
            default: "5",
            reload: true,
            doc: "Failed logins from one address (an IPv6 /64) before it must wait login_lockout_s.",
        },
        OptionSpec {
            name: "login_lockout_s",
            kind: Kind::Int { key: Int::ApiLoginLockoutS, min: 1, max: 86_400 },
            default: "60",
            reload: true,
            doc: "Seconds an address that failed login_max_failures logins in a row is refused (429).",
        },
        OptionSpec {
            name: "ws_max_clients",
            kind: Kind::Int { key: Int::ApiWsMaxClients, min: 0, max: 64 },
            default: "4",
            reload: false,
            doc: "Most WebSocket clients at /api/v1/ws at a time (each is also one of\n\
                  max_connections). 0 = no WebSocket.",
        },
        OptionSpec {
            name: "ws_ping_s",
            kind: Kind::Int { key: Int::ApiWsPingS, min: 1, max: 3600 },
            default: "30",
            reload: false,
            doc: "Seconds between WebSocket pings; a client that answers nothing for three intervals\n\
                  is disconnected.",
        },
    ],
};
