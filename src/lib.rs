//! acs-edge: the edge daemon of the Arquivo Central de Sensações IoT platform.
//!
//! Data flows one way: sources (MQTT, BLE, LoRa) turn bytes into [`model::Reading`]s, a single
//! writer batches them into the SQLite ring buffer ([`store`]), and the REST API reads from it.

pub mod api;
pub mod model;
