//! The one decode path of every BLE source: an [`Advert`] goes through the [`BleDecoder`]
//! (allow/deny lists, bindkeys, de-duplication), is counted in [`IngestStats::ble`], and its
//! readings go to the writer with transport `ble`.
//!
//! Invariants: each advert is counted once in `received` and once in the counter of what
//! became of it; readings are counted in `readings.received` before they are sent; when the
//! writer queue is full the calling thread blocks.

use super::{Advert, BleDecoder, BleSettings, IgnoreReason, Outcome};
use crate::ingest::stats::IngestStats;
use crate::model::{now_ms, Event, Transport};
use std::sync::atomic::Ordering::Relaxed;

/// What became of one advert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Sent to the writer; `partial` names why decoding stopped early, when it did.
    Stored {
        readings: usize,
        partial: Option<String>,
    },
    Duplicate,
    Ignored(IgnoreReason),
    /// A supported format that failed to decode.
    Malformed(String),
}

/// The writer is gone: the daemon is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the store writer has stopped")]
pub struct WriterGone;

/// Decodes, counts and forwards the adverts of one source.
pub struct AdvertSink<'a> {
    decoder: BleDecoder,
    tx: &'a async_channel::Sender<Event>,
    stats: &'a IngestStats,
}

impl<'a> AdvertSink<'a> {
    pub fn new(
        settings: BleSettings,
        tx: &'a async_channel::Sender<Event>,
        stats: &'a IngestStats,
    ) -> AdvertSink<'a> {
        AdvertSink {
            decoder: BleDecoder::new(settings),
            tx,
            stats,
        }
    }

    /// Handles one advert; readings without a time of their own get the current time.
    pub fn submit(&mut self, advert: &Advert) -> Result<Handled, WriterGone> {
        let ble = &self.stats.ble;
        ble.received.fetch_add(1, Relaxed);
        let handled = match self.decoder.handle(advert, now_ms()) {
            Outcome::Readings { readings, partial } => {
                let count = readings.len();
                ble.decoded.fetch_add(1, Relaxed);
                ble.readings.fetch_add(count as u64, Relaxed);
                self.stats
                    .readings
                    .received
                    .fetch_add(count as u64, Relaxed);
                self.tx
                    .send_blocking(Event::Readings(Transport::Ble, readings))
                    .map_err(|_| WriterGone)?;
                Handled::Stored {
                    readings: count,
                    partial,
                }
            }
            Outcome::Duplicate => {
                ble.duplicates.fetch_add(1, Relaxed);
                Handled::Duplicate
            }
            Outcome::Ignored(reason) => {
                let counter = match reason {
                    IgnoreReason::Denied => &ble.denied,
                    IgnoreReason::NotAllowed => &ble.unknown_devices,
                    IgnoreReason::UnknownFormat | IgnoreReason::NoReadings => &ble.unknown_format,
                };
                counter.fetch_add(1, Relaxed);
                Handled::Ignored(reason)
            }
            Outcome::Malformed(reason) => {
                ble.undecodable.fetch_add(1, Relaxed);
                Handled::Malformed(reason)
            }
        };
        Ok(handled)
    }
}

#[cfg(test)]
mod tests;
