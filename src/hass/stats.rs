//! The counters of Home Assistant discovery, the `hass` object of `/api/v1/health`. Compiled in
//! every build (all 0 without the `hass` feature), so the health document has one shape.

use portable_atomic::AtomicU64;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct HassCounters {
    pub enabled: AtomicBool,
    pub connected: AtomicBool,
    /// Series (device and metric) known, each announced once per connection.
    pub series: AtomicU64,
    pub configs_published: AtomicU64,
    pub states_published: AtomicU64,
    /// Committed batches the publisher lost because its bus queue was full.
    pub batches_dropped: AtomicU64,
    /// Readings whose state was not published: the client's queue was full or the broker away.
    pub states_dropped: AtomicU64,
}

/// A copy of [`HassCounters`] for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HassSnapshot {
    pub enabled: bool,
    pub connected: bool,
    pub series: u64,
    pub configs_published: u64,
    pub states_published: u64,
    pub batches_dropped: u64,
    pub states_dropped: u64,
}

impl HassCounters {
    pub fn snapshot(&self) -> HassSnapshot {
        HassSnapshot {
            enabled: self.enabled.load(Relaxed),
            connected: self.connected.load(Relaxed),
            series: self.series.load(Relaxed),
            configs_published: self.configs_published.load(Relaxed),
            states_published: self.states_published.load(Relaxed),
            batches_dropped: self.batches_dropped.load(Relaxed),
            states_dropped: self.states_dropped.load(Relaxed),
        }
    }
}
