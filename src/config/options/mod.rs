//! The option table: the one place that names every section and option with its default,
//! allowed values, whether a reload applies it, and its documentation. Parsing checks values
//! against it, `Config::default()` is built from its defaults, and `print-config` renders it.
//!
//! One file per section (or pair of related sections) holds its table entries, the validators
//! of its values and the typed values of its choices; [`table`] lists them all, [`check`]
//! checks a raw value against its kind, and [`render`] prints the table. Nothing here knows
//! the typed `Config`: the layers above read checked values through the typed [`keys`].

pub mod api;
pub mod auth;
pub mod ble;
pub mod check;
pub mod hass;
pub mod influxdb;
pub mod keys;
pub mod lora;
pub mod lora_devices;
pub mod main;
pub mod model;
pub mod mqtt;
pub mod render;
pub mod source;
pub mod spec;
pub mod store;
pub mod table;
pub mod upstream;
