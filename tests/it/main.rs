//! The integration tests: one binary, one module per area, so the crate is linked once for all
//! of them instead of once per file. Every test drives real processes (mosquitto, the daemon
//! binary or a cross binary under qemu-user, see `common`), so they share no state in this
//! process beyond the harness code. Areas that need an optional part are compiled with that
//! feature only; `cargo test --all-features --test it` runs them all. Pick an area with a
//! filter on its module path: `cargo test --test it -- cli:: auth::`.

mod common;

mod auth;
mod cli;
mod durability;
mod http_limits;
#[cfg(feature = "influxdb")]
mod influxdb;
mod ingest_rest;
mod luci_status_view;
mod metrics;
mod openapi;
mod openwrt_defaults;
mod readme;
mod rollups;
mod rules;
#[cfg(feature = "sources")]
mod sources;
mod status;
mod store_crash;
mod store_head;
mod sync;
mod websocket;

#[cfg(feature = "ble")]
mod ble_replay;
#[cfg(feature = "ble")]
mod ble_scan;
#[cfg(feature = "ble")]
mod decode_ble;

#[cfg(feature = "hass")]
mod hass;

#[cfg(feature = "lora")]
mod decode_lora;
#[cfg(feature = "lora")]
mod lora_gwmp;

#[cfg(feature = "ml")]
mod ml;
