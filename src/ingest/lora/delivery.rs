//! What a LoRa input does with a received PHY payload, shared by the GWMP server and the radio:
//! check it against the keys and frame counters, count the outcome, and hand accepted readings
//! to the writer together with their frame counter.

use super::uplink::{RadioMeta, Rejected, UplinkDecoder};
use crate::ingest::stats::IngestStats;
use crate::ingest::stats::LoraCounters;
use crate::model::{now_ms, Event, FrameCounter, Transport};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a repeat of the last accepted frame counts as a duplicate rather than a replay.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(60);

/// The decoder shared by the LoRa inputs.
pub type SharedDecoder = Arc<Mutex<UplinkDecoder>>;

/// What a LoRa input does with a received PHY payload: check it, count the outcome, and send
/// accepted readings to the writer.
pub(crate) struct Delivery {
    decoder: SharedDecoder,
    tx: async_channel::Sender<Event>,
    stats: Arc<IngestStats>,
    log_limit: crate::logging::WarnLimit,
}

impl Delivery {
    pub(crate) fn new(
        decoder: SharedDecoder,
        tx: async_channel::Sender<Event>,
        stats: Arc<IngestStats>,
    ) -> Delivery {
        Delivery {
            decoder,
            tx,
            stats,
            log_limit: crate::logging::WarnLimit::new("LoRa warnings"),
        }
    }

    pub(crate) fn counters(&self) -> &LoraCounters {
        &self.stats.lora
    }

    pub(crate) fn warn(&mut self, line: String) {
        self.log_limit.warn(format_args!("{line}"));
    }

    /// Checks and delivers one PHY payload; `via` names the input for log lines
    /// (`gateway=<eui>` or `radio`). Returns false once the writer has gone.
    pub(crate) fn deliver(&mut self, via: &str, phy: &[u8], radio: RadioMeta) -> bool {
        let outcome = self
            .decoder
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .accept(phy, radio, now_ms(), Instant::now());
        let accepted = match outcome {
            Ok(accepted) => accepted,
            Err(rejected) => {
                self.count_rejected(via, rejected);
                return true;
            }
        };
        self.counters().decoded.fetch_add(1, Relaxed);
        if let Some(problem) = &accepted.payload_problem {
            self.counters().payload_errors.fetch_add(1, Relaxed);
            self.log_limit.warn(format_args!(
                "{via} device={} counter={} payload decoded in part: {problem}",
                accepted.device, accepted.counter
            ));
        }
        log::debug!(
            "{via} device={} counter={} readings={} uplink accepted",
            accepted.device,
            accepted.counter,
            accepted.readings.len()
        );
        self.stats
            .readings
            .received
            .fetch_add(accepted.readings.len() as u64, Relaxed);
        let counter = FrameCounter {
            device: accepted.device,
            counter: accepted.counter,
        };
        if self
            .tx
            .send_blocking(Event::Counted(Transport::Lora, accepted.readings, counter))
            .is_err()
        {
            return false;
        }
        self.stats
            .readings
            .queue_depth
            .store(self.tx.len() as u64, Relaxed);
        true
    }

    fn count_rejected(&mut self, via: &str, rejected: Rejected) {
        let c = &self.stats.lora;
        let line = match rejected {
            Rejected::Malformed(reason) => {
                c.malformed.fetch_add(1, Relaxed);
                format!("{via} dropped malformed frame: {reason}")
            }
            Rejected::BadMic(reason) => {
                c.mic_failures.fetch_add(1, Relaxed);
                format!("{via} dropped frame: {reason}")
            }
            Rejected::Replay {
                device,
                counter,
                last,
            } => {
                c.replays.fetch_add(1, Relaxed);
                format!(
                    "{via} device={device} counter={counter} last={last} dropped replayed frame"
                )
            }
            Rejected::Duplicate { device, counter } => {
                c.duplicates.fetch_add(1, Relaxed);
                log::debug!("{via} device={device} counter={counter} duplicate");
                return;
            }
            Rejected::UnknownDevice(who) => {
                c.unknown_devices.fetch_add(1, Relaxed);
                log::debug!("{via} {who}: no keys, frame ignored");
                return;
            }
            Rejected::Ignored(what) => {
                c.ignored.fetch_add(1, Relaxed);
                log::debug!("{via} ignored: {what}");
                return;
            }
        };
        self.log_limit.warn(format_args!("{line}"));
    }
}
