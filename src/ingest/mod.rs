//! Sources: everything that turns bytes from a radio or a broker into [`Event`]s for the writer.
//! A source never touches the store; it only sends on the bounded writer channel, and blocks
//! when that channel is full (backpressure reaches the broker, which queues QoS 1 messages).

#[cfg(feature = "ble")]
pub mod ble;
pub mod ble_stats;
pub mod frame;
pub mod lora;
pub mod mqtt;
pub mod telemetry;
pub mod topic;


/// Capacity of the source -> writer channel, in messages. Typical sensor messages carry 1-10
/// readings (~100 B each in memory), so a full queue holds about 1 MB.
pub const WRITER_QUEUE_CAPACITY: usize = 1024;
