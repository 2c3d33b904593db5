//! LoRa ingest. Two inputs share one [`UplinkDecoder`] (keys and frame counters), so a device
//! heard by the local radio and by a gateway is counted once:
//! - [`server::GwmpSource`]: a Semtech UDP packet-forwarder (GWMP) server for LoRa gateways;
//! - [`radio::RadioSource`]: a directly attached SX126x/SX127x radio (the loop works with any
//!   [`radio::Radio`]; [`phy`] drives the hardware).
//!
//! Built only with the Cargo feature `lora`; its counters live in [`crate::ingest::stats`],
//! which every build has, so the status API has one shape.
//!
//! Invariants: a bad datagram, rxpk or frame is counted (see
//! [`LoraCounters`](crate::ingest::stats::LoraCounters)), logged (rate-limited) and dropped,
//! and never stops a source; accepted frames reach the writer as
//! [`crate::model::Event::Counted`] so their counter is persisted with their readings.

mod delivery;
pub mod describe;
pub mod gwmp;
pub mod keys;
pub mod phy;
pub mod radio;
pub mod server;
pub mod uplink;

pub(crate) use delivery::Delivery;
pub use delivery::{SharedDecoder, DEDUP_WINDOW};
pub use keys::{FrameDeviceKey, LoraKeys, LorawanDeviceKeys, PayloadCodec};
pub use radio::{RadioSettings, RadioSource};
pub use server::{GwmpSource, LoraSettings};
