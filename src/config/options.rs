//! The option table: the one place that names every section and option with its default,
//! allowed values, whether a reload applies it, and its documentation. Parsing checks values
//! against it, `Config::default()` is built from its defaults, and `print-config` renders it.

use std::fmt::Write as _;

use super::uci;
use crate::model::validate_name;

/// A section of the config file: `config <name> '<name>'`.
pub struct SectionSpec {
    pub name: &'static str,
    pub doc: &'static str,
}

/// One option: `option <name> '<default>'` inside `config <section>`.
pub struct OptionSpec {
    pub section: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    /// Applied by a SIGHUP reload; otherwise the daemon must be restarted.
    pub reload: bool,
    pub doc: &'static str,
}

#[derive(Clone, Copy)]
pub enum Kind {
    /// 1/0, true/false, yes/no, on/off, enabled/disabled.
    Bool,
    /// A decimal integer in `min..=max`.
    Int { min: u64, max: u64 },
    /// One of the listed words.
    Choice(&'static [&'static str]),
    /// Free text, checked by the function (which explains a refusal).
    Text(fn(&str) -> Result<(), String>),
    /// Text that must never be logged or printed.
    Secret,
    /// Any number of values, each checked by the function: UCI `list` lines, or one `option`
    /// holding them separated by spaces ('' = none).
    List(fn(&str) -> Result<(), String>),
}

/// A checked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Bool(bool),
    Int(u64),
    Text(String),
    List(Vec<String>),
}

pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

pub const SECTIONS: &[SectionSpec] = &[
    SectionSpec {
        name: "main",
        doc: "General settings.",
    },
    SectionSpec {
        name: "store",
        doc: "The SQLite ring buffer. Readings stay until one of the limits evicts the oldest\n\
              (evictions are counted), and upstream sync reads from it.",
    },
    SectionSpec {
        name: "mqtt",
        doc: "Ingest from an MQTT broker: <topic_prefix>/<device_id>/telemetry (JSON),\n\
              /frame (binary acs-proto) and /status (online/offline).",
    },
    SectionSpec {
        name: "api",
        doc: "REST API under /api/v1 and WebSocket events at /api/v1/ws, on one port.",
    },
    SectionSpec {
        name: "upstream",
        doc: "Store-and-forward sync to the cloud over MQTT: readings leave the store only after\n\
              the cloud acknowledged them. Message format: docs/UPSTREAM.md.",
    },
    SectionSpec {
        name: "lora",
        doc: "LoRa uplinks from a gateway running the Semtech UDP packet forwarder (GWMP):\n\
              LoRaWAN 1.0.x ABP devices (MIC, frame counter, Cayenne LPP payloads) and\n\
              authenticated acs-proto frames. GWMP has no authentication of its own: listen on\n\
              loopback when the forwarder runs on this router, on the LAN address otherwise.",
    },
    SectionSpec {
        name: "ble",
        doc: "Bluetooth LE sensors heard by an adapter of this router through BlueZ (bluetoothd\n\
              on the system D-Bus): BTHome v2 (encrypted too, with a ble_device bindkey), pvvx\n\
              and ATC1441 thermometer firmware, RuuviTag format 5, and acs-proto frames in\n\
              manufacturer data. Devices get the id ble-<address> (ble-a4c1388d18b2).",
    },
];

pub const OPTIONS: &[OptionSpec] = &[
    // main
    OptionSpec {
        section: "main",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: false,
        doc: "Run the daemon. The init script does not start it when this is 0.",
    },
    OptionSpec {
        section: "main",
        name: "gateway_id",
        kind: Kind::Text(check_gateway_id),
        default: "",
        reload: false,
        doc: "Name of this gateway in upstream topics and client ids: 1-64 letters, digits, _ - . :\n\
              '' = the hostname.",
    },
    OptionSpec {
        section: "main",
        name: "log_level",
        kind: Kind::Choice(LOG_LEVELS),
        default: "info",
        reload: true,
        doc: "Log verbosity.",
    },
    // store
    OptionSpec {
        section: "store",
        name: "path",
        kind: Kind::Text(check_not_empty),
        default: "/var/lib/acs-edge/store.db",
        reload: false,
        doc: "The store's SQLite file. The default is in RAM on OpenWrt (/var is tmpfs): no\n\
              flash wear, kept across daemon restarts, lost on reboot or power cut. For a store\n\
              that survives reboots use USB storage, or the overlay (/etc/acs-edge/store.db)\n\
              with commit_interval_ms 30000 or more; docs/OPERATIONS.md has the flash wear.",
    },
    OptionSpec {
        section: "store",
        name: "max_rows",
        kind: Kind::Int {
            min: 1000,
            max: 100_000_000,
        },
        default: "1000000",
        reload: true,
        doc: "Most readings kept; the oldest are evicted beyond it.",
    },
    OptionSpec {
        section: "store",
        name: "max_mb",
        kind: Kind::Int { min: 1, max: 65536 },
        default: "4",
        reload: true,
        doc: "Most megabytes the store file may take; the oldest readings are evicted beyond it.",
    },
    OptionSpec {
        section: "store",
        name: "max_age_days",
        kind: Kind::Int { min: 0, max: 3650 },
        default: "30",
        reload: true,
        doc: "Readings older than this many days are evicted. 0 = no age limit.",
    },
    OptionSpec {
        section: "store",
        name: "commit_interval_ms",
        kind: Kind::Int { min: 10, max: 60000 },
        default: "1000",
        reload: true,
        doc: "Milliseconds between commits of batched readings. Longer writes less to flash;\n\
              readings not yet committed are lost by a power cut.",
    },
    OptionSpec {
        section: "store",
        name: "max_devices",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: "1000",
        reload: false,
        doc: "Most devices in the registry; messages from further new devices are refused whole,\n\
              counted and logged.",
    },
    OptionSpec {
        section: "store",
        name: "max_metrics",
        kind: Kind::Int { min: 1, max: 100_000 },
        default: "1000",
        reload: false,
        doc: "Most distinct metric names; a message with more new names than there is room for\n\
              is refused whole (never stored in part), counted and logged.",
    },
    OptionSpec {
        section: "store",
        name: "max_future_skew_s",
        kind: Kind::Int {
            min: 1,
            max: 31_536_000,
        },
        default: "86400",
        reload: true,
        doc: "A message with a reading stamped more than this many seconds ahead of the gateway\n\
              clock is refused whole and counted (ingest.rejected_future_ts).",
    },
    // mqtt
    OptionSpec {
        section: "mqtt",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: true,
        doc: "Ingest readings from the broker.",
    },
    OptionSpec {
        section: "mqtt",
        name: "host",
        kind: Kind::Text(check_host),
        default: "127.0.0.1",
        reload: true,
        doc: "Broker host name or address (usually the mosquitto on this router); MQTT 5.",
    },
    OptionSpec {
        section: "mqtt",
        name: "port",
        kind: Kind::Int { min: 1, max: 65535 },
        default: "1883",
        reload: true,
        doc: "Broker TCP port.",
    },
    OptionSpec {
        section: "mqtt",
        name: "username",
        kind: Kind::Text(check_any),
        default: "",
        reload: true,
        doc: "User name at the broker. '' = connect without credentials.",
    },
    OptionSpec {
        section: "mqtt",
        name: "password",
        kind: Kind::Secret,
        default: "",
        reload: true,
        doc: "Password at the broker. '' = none. Never logged.",
    },
    OptionSpec {
        section: "mqtt",
        name: "topic_prefix",
        kind: Kind::Text(check_topic_prefix),
        default: "acs",
        reload: true,
        doc: "First topic level(s) of device topics. No wildcards (+ #), no leading or trailing /.",
    },
    OptionSpec {
        section: "mqtt",
        name: "client_id",
        kind: Kind::Text(check_client_id),
        default: "",
        reload: true,
        doc: "MQTT client id. '' = acs-edge-<gateway_id>.",
    },
    OptionSpec {
        section: "mqtt",
        name: "qos",
        kind: Kind::Int { min: 0, max: 1 },
        default: "1",
        reload: true,
        doc: "QoS of the subscriptions: 0 (at most once) or 1 (at least once).",
    },
    OptionSpec {
        section: "mqtt",
        name: "clean_session",
        kind: Kind::Bool,
        default: "0",
        reload: true,
        doc: "0 = a persistent session: the broker keeps QoS 1 readings while the daemon is down.\n\
              1 = start afresh on every connect.",
    },
    OptionSpec {
        section: "mqtt",
        name: "keepalive_s",
        kind: Kind::Int { min: 5, max: 3600 },
        default: "30",
        reload: true,
        doc: "Keep-alive interval, in seconds.",
    },
    OptionSpec {
        section: "mqtt",
        name: "max_payload_kb",
        kind: Kind::Int { min: 1, max: 1024 },
        default: "64",
        reload: true,
        doc: "Largest message accepted, in KiB; larger ones are acknowledged, dropped and counted\n\
              up to 4x this (at least 256 KiB); the broker keeps bigger ones from the daemon.",
    },
    OptionSpec {
        section: "mqtt",
        name: "reconnect_max_s",
        kind: Kind::Int { min: 1, max: 3600 },
        default: "30",
        reload: true,
        doc: "Longest wait between reconnection attempts, in seconds.",
    },
    // api
    OptionSpec {
        section: "api",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: false,
        doc: "Serve the REST API and WebSocket events.",
    },
    OptionSpec {
        section: "api",
        name: "listen",
        kind: Kind::Text(check_socket_addr),
        default: "127.0.0.1:8080",
        reload: false,
        doc: "Address and port: 127.0.0.1:8080 (this router only), 0.0.0.0:8080 or [::]:8080\n\
              (every interface: mind the firewall).",
    },
    OptionSpec {
        section: "api",
        name: "max_connections",
        kind: Kind::Int { min: 1, max: 1024 },
        default: "16",
        reload: false,
        doc: "Most client connections at a time.",
    },
    OptionSpec {
        section: "api",
        name: "request_timeout_s",
        kind: Kind::Int { min: 1, max: 300 },
        default: "10",
        reload: false,
        doc: "Seconds a client has to send its request before it is disconnected.",
    },
    OptionSpec {
        section: "api",
        name: "max_body_kb",
        kind: Kind::Int { min: 1, max: 4096 },
        default: "64",
        reload: false,
        doc: "Largest request body, in KiB.",
    },
    OptionSpec {
        section: "api",
        name: "workers",
        kind: Kind::Int { min: 1, max: 32 },
        default: "2",
        reload: false,
        doc: "Threads serving requests.",
    },
    OptionSpec {
        section: "api",
        name: "token_ttl_s",
        kind: Kind::Int {
            min: 1,
            max: 604_800,
        },
        default: "3600",
        reload: true,
        doc: "Seconds a token from POST /api/v1/auth/login stays valid.",
    },
    OptionSpec {
        section: "api",
        name: "login_max_failures",
        kind: Kind::Int { min: 1, max: 1000 },
        default: "5",
        reload: true,
        doc: "Failed logins from one address (an IPv6 /64) before it must wait login_lockout_s.",
    },
    OptionSpec {
        section: "api",
        name: "login_lockout_s",
        kind: Kind::Int { min: 1, max: 86_400 },
        default: "60",
        reload: true,
        doc: "Seconds an address that failed login_max_failures logins in a row is refused (429).",
    },
    // upstream
    OptionSpec {
        section: "upstream",
        name: "enabled",
        kind: Kind::Bool,
        default: "0",
        reload: false,
        doc: "Forward readings to the cloud.",
    },
    OptionSpec {
        section: "upstream",
        name: "url",
        kind: Kind::Text(check_any),
        default: "",
        reload: false,
        doc: "Cloud broker: mqtts://host:8883 (TLS, certificate verified) or mqtt://host:1883.\n\
              Required when enabled. The broker must speak MQTT 5.",
    },
    OptionSpec {
        section: "upstream",
        name: "client_id",
        kind: Kind::Text(check_client_id),
        default: "",
        reload: false,
        doc: "MQTT client id at the cloud broker. '' = acs-edge-<gateway_id>.",
    },
    OptionSpec {
        section: "upstream",
        name: "ca_file",
        kind: Kind::Text(check_any),
        default: "",
        reload: false,
        doc: "PEM file with the CA certificate(s) to trust. '' = the system CA bundle (OpenWrt: ca-bundle, /etc/ssl/certs/ca-certificates.crt).",
    },
    OptionSpec {
        section: "upstream",
        name: "cert_file",
        kind: Kind::Text(check_any),
        default: "",
        reload: false,
        doc: "PEM client certificate for mutual TLS, set together with key_file. '' = none.",
    },
    OptionSpec {
        section: "upstream",
        name: "key_file",
        kind: Kind::Text(check_any),
        default: "",
        reload: false,
        doc: "PEM private key of cert_file. '' = none.",
    },
    OptionSpec {
        section: "upstream",
        name: "username",
        kind: Kind::Text(check_any),
        default: "",
        reload: false,
        doc: "User name at the cloud broker. '' = none.",
    },
    OptionSpec {
        section: "upstream",
        name: "password",
        kind: Kind::Secret,
        default: "",
        reload: false,
        doc: "Password at the cloud broker. '' = none. Never logged.",
    },
    OptionSpec {
        section: "upstream",
        name: "topic",
        kind: Kind::Text(check_upstream_topic),
        default: "acs/{gateway_id}/up",
        reload: false,
        doc: "Topic to publish to; {gateway_id} is replaced by the gateway id.",
    },
    OptionSpec {
        section: "upstream",
        name: "reconnect_max_s",
        kind: Kind::Int { min: 1, max: 3600 },
        default: "60",
        reload: false,
        doc: "Longest wait between connection attempts, in seconds (exponential backoff with\n\
              jitter from 0.5 s).",
    },
    // main (live events)
    OptionSpec {
        section: "main",
        name: "offline_after_s",
        kind: Kind::Int { min: 0, max: 604_800 },
        default: "0",
        reload: false,
        doc: "Report a device offline (device.status, offline rules) after this many seconds\n\
              without a reading or status message. 0 = only when its MQTT status topic says so.",
    },
    // api (WebSocket)
    OptionSpec {
        section: "api",
        name: "ws_max_clients",
        kind: Kind::Int { min: 0, max: 64 },
        default: "4",
        reload: false,
        doc: "Most WebSocket clients at /api/v1/ws at a time (each is also one of\n\
              max_connections). 0 = no WebSocket.",
    },
    OptionSpec {
        section: "api",
        name: "ws_ping_s",
        kind: Kind::Int { min: 1, max: 3600 },
        default: "30",
        reload: false,
        doc: "Seconds between WebSocket pings; a client that answers nothing for three intervals\n\
              is disconnected.",
    },
    // lora
    OptionSpec {
        section: "lora",
        name: "gwmp_enabled",
        kind: Kind::Bool,
        default: "0",
        reload: false,
        doc: "Run the packet-forwarder (GWMP v2) server.",
    },
    OptionSpec {
        section: "lora",
        name: "gwmp_listen",
        kind: Kind::Text(check_socket_addr),
        default: "127.0.0.1:1700",
        reload: false,
        doc: "UDP address of the GWMP server (the forwarder's serv_port_up/serv_port_down).\n\
              0.0.0.0:1700 accepts gateways on the LAN; keep it off the WAN.",
    },
    OptionSpec {
        section: "lora",
        name: "radio_enabled",
        kind: Kind::Bool,
        default: "0",
        reload: false,
        doc: "Receive with a radio attached to this router (builds with the `lora` feature).",
    },
    OptionSpec {
        section: "lora",
        name: "radio_chip",
        kind: Kind::Choice(&["sx1262", "sx1261", "sx1276"]),
        default: "sx1262",
        reload: false,
        doc: "The radio chip (sx1276 also covers sx1277/sx1278/sx1279 boards).",
    },
    OptionSpec {
        section: "lora",
        name: "radio_spi",
        kind: Kind::Text(check_not_empty),
        default: "/dev/spidev0.0",
        reload: false,
        doc: "The radio's spidev device (its chip select is the SPI bus's).",
    },
    OptionSpec {
        section: "lora",
        name: "radio_gpiochip",
        kind: Kind::Text(check_not_empty),
        default: "/dev/gpiochip0",
        reload: false,
        doc: "The GPIO character device holding the radio's reset, busy and IRQ lines.",
    },
    OptionSpec {
        section: "lora",
        name: "radio_reset_pin",
        kind: Kind::Int { min: 0, max: 1023 },
        default: "18",
        reload: false,
        doc: "GPIO line offset of the radio's NRESET.",
    },
    OptionSpec {
        section: "lora",
        name: "radio_busy_pin",
        kind: Kind::Int { min: 0, max: 1023 },
        default: "20",
        reload: false,
        doc: "GPIO line offset of BUSY (SX126x only).",
    },
    OptionSpec {
        section: "lora",
        name: "radio_irq_pin",
        kind: Kind::Int { min: 0, max: 1023 },
        default: "16",
        reload: false,
        doc: "GPIO line offset of the interrupt line: DIO1 on SX126x, DIO0 on SX127x.",
    },
    OptionSpec {
        section: "lora",
        name: "radio_tcxo_mv",
        kind: Kind::Choice(&["0", "1600", "1700", "1800", "2200", "2400", "2700", "3000", "3300"]),
        default: "0",
        reload: false,
        doc: "SX126x: TCXO supply voltage driven on DIO3 in mV; 0 = the board has a crystal.",
    },
    OptionSpec {
        section: "lora",
        name: "radio_frequency_hz",
        kind: Kind::Int {
            min: 137_000_000,
            max: 1_020_000_000,
        },
        default: "868100000",
        reload: false,
        doc: "Receive frequency in Hz (e.g. 868100000 EU868, 902300000 US915).",
    },
    OptionSpec {
        section: "lora",
        name: "radio_sf",
        kind: Kind::Int { min: 5, max: 12 },
        default: "7",
        reload: false,
        doc: "Spreading factor (SX127x: 6..12).",
    },
    OptionSpec {
        section: "lora",
        name: "radio_bw_khz",
        kind: Kind::Choice(&[
            "7.8", "10.4", "15.6", "20.8", "31.25", "41.7", "62.5", "125", "250", "500",
        ]),
        default: "125",
        reload: false,
        doc: "Bandwidth in kHz.",
    },
    OptionSpec {
        section: "lora",
        name: "radio_cr",
        kind: Kind::Choice(&["4/5", "4/6", "4/7", "4/8"]),
        default: "4/5",
        reload: false,
        doc: "Coding rate.",
    },
    OptionSpec {
        section: "lora",
        name: "radio_sync_word",
        kind: Kind::Choice(&["public", "private"]),
        default: "public",
        reload: false,
        doc: "public: the LoRaWAN sync word (0x34); private: 0x12, for private raw-LoRa nodes.",
    },
    // user (any number, named)
    OptionSpec {
        section: "user",
        name: "password_hash",
        kind: Kind::Text(crate::auth::password::check_phc),
        default: "",
        reload: true,
        doc: "Argon2id hash of the password as a PHC string, set by `acs-edge passwd NAME`;\n\
              the plain password is never stored. (The example's hash matches no password.)",
    },
    OptionSpec {
        section: "user",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: true,
        doc: "0 refuses this user's logins; a reload also ends the user's sessions.",
    },
    // api_token (any number, named)
    OptionSpec {
        section: "api_token",
        name: "token_hash",
        kind: Kind::Text(crate::auth::tokens::check_token_hash),
        default: "",
        reload: true,
        doc: "sha256:<64 hex digits> of the token, written by `acs-edge token create NAME`,\n\
              which prints the token once.",
    },
    OptionSpec {
        section: "api_token",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: true,
        doc: "0 refuses this token.",
    },
    // ble
    OptionSpec {
        section: "ble",
        name: "enabled",
        kind: Kind::Bool,
        default: "0",
        reload: false,
        doc: "Scan for BLE advertisements (builds with the `ble` feature; needs bluetoothd).",
    },
    OptionSpec {
        section: "ble",
        name: "adapter",
        kind: Kind::Text(super::ble::check_adapter),
        default: "",
        reload: false,
        doc: "The adapter to scan with, by name (hci0). '' = the first adapter.",
    },
    OptionSpec {
        section: "ble",
        name: "dbus_address",
        kind: Kind::Text(super::ble::check_dbus_address),
        default: "",
        reload: false,
        doc: "Address of the system D-Bus where bluetoothd runs, such as\n\
              unix:path=/var/run/dbus/system_bus_socket. '' = the default system bus.",
    },
    OptionSpec {
        section: "ble",
        name: "frame_company_id",
        kind: Kind::Text(super::ble::check_company_id),
        default: "",
        reload: false,
        doc: "Company id (hex, such as 0xffff) whose manufacturer data carries acs-proto frames.\n\
              '' = such frames are not read.",
    },
    OptionSpec {
        section: "ble",
        name: "allow",
        kind: Kind::List(super::ble::check_mac),
        default: "",
        reload: false,
        doc: "Addresses to accept (`list allow 'A4:C1:38:8D:18:B2'`, one line each). When any is\n\
              set, only these and the addresses of ble_device sections are accepted.\n\
              '' = every device in range.",
    },
    OptionSpec {
        section: "ble",
        name: "deny",
        kind: Kind::List(super::ble::check_mac),
        default: "",
        reload: false,
        doc: "Addresses always ignored (`list deny 'A4:C1:38:8D:18:B2'`, one line each).",
    },
    OptionSpec {
        section: "ble",
        name: "restart_max_s",
        kind: Kind::Int { min: 1, max: 3600 },
        default: "60",
        reload: false,
        doc: "Longest wait in seconds before the scanner starts again after the adapter, bluetoothd\n\
              or the bus went away (the wait doubles from 1 s up to this).",
    },
    // ble_device (any number, named)
    OptionSpec {
        section: "ble_device",
        name: "mac",
        kind: Kind::Text(super::ble::check_mac_or_empty),
        default: "",
        reload: false,
        doc: "The device's Bluetooth address, such as A4:C1:38:8D:18:B2.",
    },
    OptionSpec {
        section: "ble_device",
        name: "bindkey",
        kind: Kind::Secret,
        default: "",
        reload: false,
        doc: "BTHome v2 encryption key: 32 hex digits. '' = the device does not encrypt.\n\
              Never logged.",
    },
    OptionSpec {
        section: "ble_device",
        name: "id",
        kind: Kind::Text(super::ble::check_device_id),
        default: "",
        reload: false,
        doc: "Device id for its readings instead of ble-<address>: letters, digits, _ - . :\n\
              '' = ble-<address>.",
    },
    // lorawan_device (any number, named)
    OptionSpec {
        section: "lorawan_device",
        name: "device_id",
        kind: Kind::Text(check_device_id),
        default: "",
        reload: true,
        doc: "The device id its readings are stored under: 1-64 letters, digits, _ - . :\n\
              '' = the section name.",
    },
    OptionSpec {
        section: "lorawan_device",
        name: "dev_addr",
        kind: Kind::Text(check_dev_addr),
        default: "",
        reload: true,
        doc: "The device address (DevAddr): 8 hex digits, most significant first, as network\n\
              consoles show it. Several devices may share one (their keys tell them apart).",
    },
    OptionSpec {
        section: "lorawan_device",
        name: "nwkskey",
        kind: Kind::Text(check_aes_key),
        default: "",
        reload: true,
        doc: "Network session key (NwkSKey): 32 hex digits. Checks the MIC. Never logged.",
    },
    OptionSpec {
        section: "lorawan_device",
        name: "appskey",
        kind: Kind::Text(check_aes_key),
        default: "",
        reload: true,
        doc: "Application session key (AppSKey): 32 hex digits. Decrypts the payload.\n\
              Never logged.",
    },
    OptionSpec {
        section: "lorawan_device",
        name: "payload",
        kind: Kind::Choice(&["lpp", "none"]),
        default: "lpp",
        reload: true,
        doc: "The payload decoder. lpp: Cayenne LPP, readings named <type>_<channel>.\n\
              none: no readings from the payload (the frame is still checked and counted, and\n\
              rssi and snr are stored), for devices in another format.",
    },
    OptionSpec {
        section: "lorawan_device",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: true,
        doc: "0 forgets the keys: the device's frames count as unknown devices.",
    },
    // lora_frame_device (any number, named)
    OptionSpec {
        section: "lora_frame_device",
        name: "device_id",
        kind: Kind::Text(check_device_id),
        default: "",
        reload: true,
        doc: "The device id its readings are stored under: 1-64 letters, digits, _ - . :\n\
              '' = the EUI as 16 lowercase hex digits (the id MQTT frames of it get).",
    },
    OptionSpec {
        section: "lora_frame_device",
        name: "eui",
        kind: Kind::Text(check_eui),
        default: "",
        reload: true,
        doc: "The EUI-64 in the frame header: 16 hex digits, most significant first.",
    },
    OptionSpec {
        section: "lora_frame_device",
        name: "key",
        kind: Kind::Text(check_aes_key),
        default: "",
        reload: true,
        doc: "The device's AES-128-CMAC key: 32 hex digits. Never logged.",
    },
    OptionSpec {
        section: "lora_frame_device",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: true,
        doc: "0 forgets the key: the device's frames count as unknown devices.",
    },
    // model (any number, named)
    OptionSpec {
        section: "model",
        name: "enabled",
        kind: Kind::Bool,
        default: "1",
        reload: true,
        doc: "0 keeps the section but does not load or run the model.",
    },
    OptionSpec {
        section: "model",
        name: "path",
        kind: Kind::Text(check_any),
        default: "",
        reload: true,
        doc: "The model: an ONNX file (.onnx) with fixed shapes. Input: one window as a\n\
              [1, window x metrics] float tensor, rows oldest first, columns in `metrics` order;\n\
              output: one number.",
    },
    OptionSpec {
        section: "model",
        name: "device",
        kind: Kind::Text(super::models::check_optional_device),
        default: "",
        reload: true,
        doc: "The device whose readings the model scores; empty: every device that sends the\n\
              metrics (one window each).",
    },
    OptionSpec {
        section: "model",
        name: "metrics",
        kind: Kind::List(super::models::check_input_metric),
        default: "",
        reload: true,
        doc: "Input metrics, in the model's column order (`list metrics 'temperature'`, one line\n\
              each). Each reading of the first one adds a row with the latest value of each.",
    },
    OptionSpec {
        section: "model",
        name: "window",
        kind: Kind::Int { min: 1, max: 4096 },
        default: "16",
        reload: true,
        doc: "Rows per window.",
    },
    OptionSpec {
        section: "model",
        name: "hop",
        kind: Kind::Int { min: 1, max: 4096 },
        default: "1",
        reload: true,
        doc: "New rows between two inferences; above the window, some rows are never scored.",
    },
    OptionSpec {
        section: "model",
        name: "output",
        kind: Kind::Text(super::models::check_metric),
        default: "",
        reload: true,
        doc: "Metric of the derived readings (for example temperature.anomaly), stored with\n\
              the device's readings; it may not be an input metric of any model.",
    },
    OptionSpec {
        section: "model",
        name: "threshold",
        kind: Kind::Text(super::models::check_optional_number),
        default: "",
        reload: true,
        doc: "Empty: every output is written. A number: only outputs at or above it are\n\
              written (fewer rows in the ring; rules see only the anomalies).",
    },
];

/// A section type that may appear any number of times, each instance named by its section
/// name (`config user 'alice'`, `config user 'bob'`). Its options are declared in [`OPTIONS`]
/// like those of the single sections.
pub struct MultiSectionSpec {
    pub name: &'static str,
    pub doc: &'static str,
    /// Options every instance must set (a default of '' would make no sense for them).
    pub required: &'static [&'static str],
    /// A complete instance, rendered commented out by `print-config` (the default file has
    /// no instances). A test parses it, so it cannot drift from the table.
    pub example: &'static str,
}

pub const MULTI_SECTIONS: &[MultiSectionSpec] = &[
    MultiSectionSpec {
        name: "user",
        doc: "A user of the REST API and WebSocket (POST /api/v1/auth/login), named by the\n\
              section: letters, digits and _, at most 64. There is no default user: create the\n\
              first with `acs-edge passwd NAME` (it asks for the password, or reads it from\n\
              stdin), then reload. Every endpoint except health and login needs a token.",
        required: &["password_hash"],
        example: "config user 'admin'\n\
                  \toption password_hash '$argon2id$v=19$m=8192,t=4,p=1$c2FsdHNhbHRzYWx0$\
                  WHa4/dXxGZ2OWO3pfLQyLvo1lhHdHSRvBQcvtSg1qzM'\n\
                  \toption enabled '1'\n",
    },
    MultiSectionSpec {
        name: "api_token",
        doc: "A long-lived token for a machine client (sent as Authorization: Bearer <token>),\n\
              named by the section. Only its SHA-256 is stored. `acs-edge token create NAME`\n\
              adds one and prints the token once; `acs-edge token revoke NAME` removes it.",
        required: &["token_hash"],
        example: "config api_token 'dashboard'\n\
                  \toption token_hash \
                  'sha256:3c5e0a1b9f2d47e86a0c1f4b7d2e9a35c8b6f0e1d4a7c2b9e5f8a1d3c6b0e4f7'\n\
                  \toption enabled '1'\n",
    },
    MultiSectionSpec {
        name: "ble_device",
        doc: "A known Bluetooth LE sensor, named by the section: its bindkey when it encrypts\n\
              (BTHome v2), the device id its readings get, and a place on the allow list\n\
              (see ble.allow). Devices without a section are read too, unless ble.allow is set.",
        required: &["mac"],
        example: "config ble_device 'kitchen'\n\
                  \toption mac 'A4:C1:38:8D:18:B2'\n\
                  \toption bindkey '231d39c1d7cc1ab1aee224cd096db932'\n\
                  \toption id 'kitchen'\n",
    },
    MultiSectionSpec {
        name: "lorawan_device",
        doc: "A LoRaWAN 1.0.x device activated by personalisation (ABP), named by the section:\n\
              its uplinks, from a packet forwarder or the radio, are checked (MIC, frame\n\
              counter) and decrypted with these session keys. The last frame counter is kept\n\
              across restarts and key changes: a device whose counter restarts at 0 needs a new\n\
              device_id. A reload applies key changes without restarting the LoRa inputs.\n\
              The example's keys are those of examples/lora_node.rs: never use them for a device.",
        required: &["dev_addr", "nwkskey", "appskey"],
        example: "config lorawan_device 'field_1'\n\
                  \toption device_id 'field-1'\n\
                  \toption dev_addr '26011BDA'\n\
                  \toption nwkskey '2B7E151628AED2A6ABF7158809CF4F3C'\n\
                  \toption appskey '3C4FCF098815F7ABA6D2AE2816157E2B'\n\
                  \toption payload 'lpp'\n\
                  \toption enabled '1'\n",
    },
    MultiSectionSpec {
        name: "lora_frame_device",
        doc:
            "A node sending AUTHENTICATED acs-proto frames over raw LoRa (examples/lora_node.rs),\n\
              named by the section: frames are checked with its CMAC key and frame counter,\n\
              which is kept across restarts. A reload applies key changes. The example's key\n\
              is the one examples/lora_node.rs uses: never use it for a device.",
        required: &["eui", "key"],
        example: "config lora_frame_device 'node_1'\n\
                  \toption device_id 'node-1'\n\
                  \toption eui '70B3D57ED0000001'\n\
                  \toption key '6578616D706C652D6E6F64652D6B6579'\n\
                  \toption enabled '1'\n",
    },
    MultiSectionSpec {
        name: "model",
        doc: "A model scoring telemetry on the router (packages built with the `ml` feature):\n\
              sliding windows of a device's readings go through the model off the ingest path,\n\
              and its outputs are stored as derived readings of the same device, visible over\n\
              REST and WebSocket, synced, and usable by rules. Loaded at start and reload; a\n\
              model that fails to load is logged and skipped, the others run.",
        required: &["path", "metrics", "output"],
        example: "config model 'temperature_anomaly'\n\
                  \toption enabled '1'\n\
                  \toption path '/usr/share/acs-edge/models/temperature-ae.onnx'\n\
                  \toption device ''\n\
                  \tlist metrics 'temperature'\n\
                  \toption window '16'\n\
                  \toption hop '1'\n\
                  \toption output 'temperature.anomaly'\n\
                  \toption threshold '2.0'\n",
    },
];

/// Index of an option in [`OPTIONS`].
pub fn find(section: &str, name: &str) -> Option<usize> {
    OPTIONS
        .iter()
        .position(|o| o.section == section && o.name == name)
}

const BOOL_HELP: &str = "1/0, true/false, yes/no, on/off, enabled/disabled";

impl Kind {
    /// Checks a raw value; the error completes "expected ..., got '<value>'" or explains.
    pub fn check(&self, raw: &str) -> Result<Val, String> {
        let got = || format!("got '{raw}'");
        match *self {
            Kind::Bool => parse_bool(raw)
                .map(Val::Bool)
                .ok_or_else(|| format!("expected a boolean ({BOOL_HELP}), {}", got())),
            Kind::Int { min, max } => raw
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| raw.parse::<u64>().ok())
                .flatten()
                .filter(|n| (min..=max).contains(n))
                .map(Val::Int)
                .ok_or_else(|| format!("expected an integer {min}..={max}, {}", got())),
            Kind::Choice(words) => words
                .iter()
                .find(|w| **w == raw)
                .map(|w| Val::Text((*w).to_owned()))
                .ok_or_else(|| format!("expected one of {}, {}", words.join(", "), got())),
            Kind::Text(check) => check(raw).map(|()| Val::Text(raw.to_owned())),
            Kind::Secret => Ok(Val::Text(raw.to_owned())),
            Kind::List(check) => Kind::check_items(check, raw.split_whitespace()),
        }
    }

    /// Checks the items of a UCI `list` (each one a value).
    pub fn check_list(&self, items: &[String]) -> Result<Val, String> {
        match *self {
            Kind::List(check) => Kind::check_items(check, items.iter().map(String::as_str)),
            _ => Err("expected a single value, got a list".into()),
        }
    }

    fn check_items<'a>(
        check: fn(&str) -> Result<(), String>,
        items: impl Iterator<Item = &'a str>,
    ) -> Result<Val, String> {
        let mut out = Vec::new();
        for item in items {
            check(item)?;
            out.push(item.to_owned());
        }
        Ok(Val::List(out))
    }

    /// The allowed values, for the rendered documentation.
    fn describe(&self) -> Option<String> {
        match *self {
            Kind::Bool => Some("Boolean".into()),
            Kind::Int { min, max } if max == min + 1 => Some(format!("{min} or {max}")),
            Kind::Int { min, max } => Some(format!("{min} to {max}")),
            Kind::Choice(words) => Some(match words.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                _ => words.join(""),
            }),
            Kind::Text(_) | Kind::Secret | Kind::List(_) => None,
        }
    }
}

pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw {
        "1" | "true" | "yes" | "on" | "enabled" => Some(true),
        "0" | "false" | "no" | "off" | "disabled" => Some(false),
        _ => None,
    }
}

fn check_any(_: &str) -> Result<(), String> {
    Ok(())
}

fn check_not_empty(v: &str) -> Result<(), String> {
    if v.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

fn check_gateway_id(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    validate_name(v).map_err(|e| format!("'{v}' {e}"))
}

fn check_device_id(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    validate_name(v).map_err(|e| format!("'{v}' {e}"))
}

/// '' (for a required option, refused by the required check) or exactly `digits` hex digits.
fn check_hex_digits(v: &str, digits: usize) -> Result<(), String> {
    if v.is_empty() || (v.len() == digits && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(())
    } else {
        Err(format!("expected {digits} hex digits, got '{v}'"))
    }
}

fn check_dev_addr(v: &str) -> Result<(), String> {
    check_hex_digits(v, 8)
}

fn check_eui(v: &str) -> Result<(), String> {
    check_hex_digits(v, 16)
}

/// A 128-bit key. The refusal does not repeat the value: a mistyped key is still mostly a key.
fn check_aes_key(v: &str) -> Result<(), String> {
    if v.is_empty() || (v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(())
    } else {
        Err(format!(
            "expected 32 hex digits (a 128-bit key), got {} characters{}",
            v.chars().count(),
            if v.len() == 32 {
                " with a non-hex one"
            } else {
                ""
            }
        ))
    }
}

fn check_host(v: &str) -> Result<(), String> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!("expected a host name or address, got '{v}'"))
    } else {
        Ok(())
    }
}

fn check_client_id(v: &str) -> Result<(), String> {
    if v.len() > 128 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        Err(format!(
            "expected '' or up to 128 printable ASCII characters without spaces, got '{v}'"
        ))
    } else {
        Ok(())
    }
}

fn check_topic_prefix(v: &str) -> Result<(), String> {
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

fn check_upstream_topic(v: &str) -> Result<(), String> {
    if v.is_empty() || v.contains(['+', '#']) || v.chars().any(char::is_control) {
        Err(format!(
            "expected a topic without wildcards (+ #), got '{v}'"
        ))
    } else {
        Ok(())
    }
}

fn check_socket_addr(v: &str) -> Result<(), String> {
    v.parse::<std::net::SocketAddr>().map(|_| ()).map_err(|_| {
        format!("expected an address and port such as 127.0.0.1:8080 or [::]:8080, got '{v}'")
    })
}

/// The fully commented default configuration, rendered from [`SECTIONS`] and [`OPTIONS`].
pub fn default_config_text() -> String {
    let mut out = String::new();
    out.push_str(
        "# acs-edge configuration (/etc/config/acs-edge), in OpenWrt UCI format.\n\
         #\n\
         # Edit it with LuCI (Services > acs-edge), with `uci set acs-edge.mqtt.port=1884;\n\
         # uci commit acs-edge`, or with a text editor. Every option is shown with its default;\n\
         # a missing option or section takes the default. `acs-edge check-config` checks the\n\
         # file, `acs-edge print-config` prints this text. `uci commit` drops these comments.\n\
         #\n\
         # Booleans accept 1/0, true/false, yes/no, on/off, enabled/disabled.\n\
         #\n\
         # Applied by a reload (`/etc/init.d/acs-edge reload`, which sends SIGHUP):\n",
    );
    list_by_section(&mut out, true);
    out.push_str("# Need a restart (`/etc/init.d/acs-edge restart`):\n");
    list_by_section(&mut out, false);
    for section in SECTIONS {
        out.push('\n');
        push_comment(&mut out, "", section.doc);
        let _ = writeln!(
            out,
            "config {0} {1}",
            section.name,
            uci::quote(section.name)
        );
        for (i, opt) in OPTIONS
            .iter()
            .filter(|o| o.section == section.name)
            .enumerate()
        {
            if i > 0 {
                out.push('\n');
            }
            push_comment(&mut out, "\t", opt.doc);
            let applies = if opt.reload {
                "applied by a reload"
            } else {
                "needs a restart"
            };
            let line = match opt.kind.describe() {
                Some(allowed) => format!("{allowed}; {applies}."),
                None => format!("{}{}.", applies[..1].to_uppercase(), &applies[1..]),
            };
            push_comment(&mut out, "\t", &line);
            let _ = writeln!(out, "\toption {} {}", opt.name, uci::quote(opt.default));
        }
    }
    for multi in MULTI_SECTIONS {
        render_multi_section(&mut out, multi);
    }
    out
}

/// A multi-instance section: its documentation, each option's, and a commented-out example.
fn render_multi_section(out: &mut String, multi: &MultiSectionSpec) {
    out.push('\n');
    push_comment(out, "", multi.doc);
    out.push_str("#\n");
    for opt in OPTIONS.iter().filter(|o| o.section == multi.name) {
        let required = if multi.required.contains(&opt.name) {
            " (required)"
        } else {
            ""
        };
        let _ = writeln!(out, "# option {}{required}:", opt.name);
        for line in opt.doc.lines() {
            let _ = writeln!(out, "#   {}", line.trim_start());
        }
        match opt.kind.describe() {
            Some(allowed) => {
                let _ = writeln!(out, "#   {allowed}; default {}.", uci::quote(opt.default));
            }
            None if required.is_empty() => {
                let _ = writeln!(out, "#   Default {}.", uci::quote(opt.default));
            }
            None => {}
        }
    }
    out.push_str("#\n");
    for line in multi.example.lines() {
        let _ = writeln!(out, "#{line}");
    }
}

fn push_comment(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{indent}# {}", line.trim_start());
    }
}

/// `#   section: a, b` lines for the options that a reload applies (or that need a restart).
fn list_by_section(out: &mut String, reload: bool) {
    let names = SECTIONS
        .iter()
        .map(|s| s.name)
        .chain(MULTI_SECTIONS.iter().map(|m| m.name));
    for section in names {
        let all: Vec<_> = OPTIONS.iter().filter(|o| o.section == section).collect();
        let names: Vec<_> = all
            .iter()
            .filter(|o| o.reload == reload)
            .map(|o| o.name)
            .collect();
        if names.is_empty() {
            continue;
        }
        let list = if names.len() == all.len() {
            "all options".to_owned()
        } else {
            names.join(", ")
        };
        let _ = writeln!(out, "#   {section}: {list}");
    }
}
