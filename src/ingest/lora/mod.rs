//! LoRa ingest. Two inputs share one [`UplinkDecoder`] (keys and frame counters), so a device
//! heard by the local radio and by a gateway is counted once:
//! - [`server::GwmpSource`]: a Semtech UDP packet-forwarder (GWMP) server for LoRa gateways;
//! - [`radio::RadioSource`]: a directly attached SX126x/SX127x radio (the loop works with any
//!   [`radio::Radio`]; [`phy`] drives the hardware).
//!
//! Everything here except the counters builds only with the Cargo feature `lora`; the counters
//! stay so that the status API has one shape in every build.
//!
//! Invariants: a bad datagram, rxpk or frame is counted (see [`LoraCounters`]), logged
//! (rate-limited) and dropped, and never stops a source; accepted frames reach the writer as
//! [`Event::Counted`] so their counter is persisted with their readings.

#[cfg(feature = "lora")]
mod delivery;
#[cfg(feature = "lora")]
pub mod describe;
#[cfg(feature = "lora")]
pub mod gwmp;
#[cfg(feature = "lora")]
pub mod keys;
#[cfg(feature = "lora")]
pub mod phy;
#[cfg(feature = "lora")]
pub mod radio;
#[cfg(feature = "lora")]
pub mod server;
mod stats;
#[cfg(feature = "lora")]
pub mod uplink;

#[cfg(feature = "lora")]
pub(crate) use delivery::Delivery;
#[cfg(feature = "lora")]
pub use delivery::{SharedDecoder, DEDUP_WINDOW};
#[cfg(feature = "lora")]
pub use keys::{FrameDeviceKey, LoraKeys, LorawanDeviceKeys, PayloadCodec};
#[cfg(feature = "lora")]
pub use radio::{RadioSettings, RadioSource};
#[cfg(feature = "lora")]
pub use server::{GwmpSource, LoraSettings};
pub use stats::{GatewaySnapshot, GatewayStat, LoraCounters, LoraSnapshot, MAX_GATEWAYS};
