//! Peers measured on the benchmark's workload in the same run: mosquitto with persistence (a
//! store-and-forward baseline) and a Node-RED flow MQTT -> SQLite. Each ratio is the peer's
//! figure over acs-edge's.

pub mod mosquitto;
pub mod nodered;
