//! Sources: everything that turns bytes from a radio or a broker into
//! [`Event`](crate::model::Event)s for the writer. A source never touches the store; it only
//! sends on the bounded writer channel, and blocks when that channel is full (backpressure
//! reaches the broker, which queues QoS 1 messages).
//!
//! The radio sources are Cargo features, each a module gated where it is declared below; their
//! counters are in [`stats`], which every build has.

#[cfg(feature = "ble")]
pub mod ble;
pub mod frame;
#[cfg(feature = "lora")]
pub mod lora;
pub mod mqtt;
#[cfg(feature = "sources")]
pub mod sources;
#[cfg(not(feature = "sources"))]
pub mod without_sources;
#[cfg(not(feature = "sources"))]
pub use without_sources as sources;
pub mod stats;
pub mod telemetry;
pub mod topic;

/// Capacity of the source -> writer channel, in messages. Typical sensor messages carry 1-10
/// readings (~100 B each in memory), so a full queue holds about 1 MB.
pub const WRITER_QUEUE_CAPACITY: usize = 1024;
