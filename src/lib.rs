//! acs-edge: the edge daemon of the Arquivo Central de Sensações IoT platform.
//!
//! Data flows one way: sources ([`ingest`]: MQTT always; BLE and LoRa with the Cargo features
//! `ble` and `lora`) turn bytes into
//! [`model::Reading`]s, a single writer ([`runtime::writer`]) batches them into the SQLite ring
//! buffer ([`store`]), and the REST API ([`api`]) reads from it. [`runtime`] starts, reloads
//! and stops the parts; [`config`] reads the UCI file they are configured by; [`auth`] decides
//! who may use the API.

pub mod api;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod config;
pub mod hass;
pub mod hex;
pub mod ingest;
pub mod logging;
pub mod ml;
pub mod model;
pub mod rules;
pub mod runtime;
pub mod store;
pub mod sync;
pub mod threads;
pub mod timestamp;

/// The optional parts this binary was built with (Cargo features), as `--version` and the
/// status API report them.
pub const BUILD_FEATURES: &[&str] = &[
    #[cfg(feature = "ble")]
    "ble",
    #[cfg(feature = "influxdb")]
    "influxdb",
    #[cfg(feature = "hass")]
    "hass",
    #[cfg(feature = "lora")]
    "lora",
    #[cfg(feature = "ml")]
    "ml",
    #[cfg(feature = "sources")]
    "sources",
];
