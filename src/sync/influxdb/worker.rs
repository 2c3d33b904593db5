//! The InfluxDB upstream's thread: read a batch above the cursor, POST it, move the cursor on
//! the answer, back off on failure. See the module documentation for which answer does what.

use super::http::Client;
use super::status::InfluxStatus;
use super::{line, InfluxSettings, CURSOR_KEY};
use crate::bus::{Bus, Interest, LiveEvent};
use crate::store::{OutboxReading, SharedStore};
use crate::sync::worker::Backoff;
use crate::threads::StopFlag;
use std::sync::Arc;
use std::time::Duration;

/// The pause while the outbox is empty: readings written meanwhile go in one request.
const IDLE: Duration = Duration::from_millis(500);

const INITIAL_BACKOFF: Duration = Duration::from_millis(500);

const STOP_CHECK: Duration = Duration::from_millis(50);

/// What became of one batch.
enum Outcome {
    Accepted,
    /// InfluxDB refused the batch itself; it is skipped.
    Rejected(String),
    /// Not delivered; the batch is sent again after the backoff.
    Failed(String),
}

pub(super) struct Worker {
    pub(super) client: Client,
    pub(super) settings: InfluxSettings,
    pub(super) store: SharedStore,
    pub(super) status: Arc<InfluxStatus>,
    pub(super) bus: Arc<Bus>,
    pub(super) stop: StopFlag,
}

impl Worker {
    pub(super) fn run(mut self) {
        let mut backoff = Backoff::new(INITIAL_BACKOFF, self.settings.reconnect_max);
        let mut last_logged: Option<String> = None;
        let mut cursor = loop {
            match self.store.lock().named_cursor(CURSOR_KEY) {
                Ok(cursor) => break cursor,
                Err(e) => {
                    log::error!("influxdb cursor not readable, retrying: {e}");
                    if self.stop.sleep(backoff.next(), STOP_CHECK) {
                        return;
                    }
                }
            }
        };
        self.status.loaded(cursor);
        log::info!(
            "influxdb={:?} cursor={cursor} InfluxDB upstream started",
            self.client.target()
        );
        let mut body = String::new();
        while !self.stop.is_set() {
            let batch = match self.next_batch(cursor) {
                Ok(Some(batch)) => batch,
                Ok(None) => {
                    self.stop.sleep(IDLE, STOP_CHECK);
                    continue;
                }
                Err(e) => {
                    log::error!("influxdb batch not read, retrying: {e}");
                    self.stop.sleep(backoff.next(), STOP_CHECK);
                    continue;
                }
            };
            let (first, last, count) = (batch[0].seq, batch[batch.len() - 1].seq, batch.len());
            body.clear();
            line::encode(&mut body, &self.settings.gateway_id, &batch);
            drop(batch);
            let outcome = match self.client.post(body.as_bytes()) {
                Ok(answer) if (200..300).contains(&answer.status) => Outcome::Accepted,
                Ok(answer) if matches!(answer.status, 400 | 422) => Outcome::Rejected(format!(
                    "InfluxDB refused readings seq {first}..={last} ({count}), skipped: {} {}",
                    answer.status, answer.message
                )),
                Ok(answer) => Outcome::Failed(format!(
                    "InfluxDB answered {} {}",
                    answer.status, answer.message
                )),
                Err(e) => Outcome::Failed(e),
            };
            if let Outcome::Failed(why) = &outcome {
                let news = last_logged.as_deref() != Some(why.as_str());
                if news {
                    log::warn!(
                        "influxdb={:?} retry_max_s={} InfluxDB write failed, retrying: {why}",
                        self.client.target(),
                        self.settings.reconnect_max.as_secs()
                    );
                    last_logged = Some(why.clone());
                } else {
                    log::debug!("influxdb write failed again: {why}");
                }
                self.status.failed(why.clone());
                if news {
                    self.announce();
                }
                self.stop.sleep(backoff.next(), STOP_CHECK);
                continue;
            }
            if let Err(e) = self.store.lock().advance_named_cursor(CURSOR_KEY, last) {
                let why = format!("cursor not saved (the batch will be sent again): {e}");
                log::error!("influxdb {why}");
                self.status.failed(why);
                self.stop.sleep(backoff.next(), STOP_CHECK);
                continue;
            }
            cursor = last;
            backoff.reset();
            match outcome {
                Outcome::Accepted => {
                    if self.status.accepted(count as u64, cursor) || last_logged.is_some() {
                        log::info!(
                            "influxdb={:?} cursor={cursor} InfluxDB accepts writes",
                            self.client.target()
                        );
                        last_logged = None;
                        self.announce();
                    }
                }
                Outcome::Rejected(why) => {
                    log::warn!("{why}");
                    self.status.rejected(count as u64, cursor, why);
                    self.announce();
                }
                Outcome::Failed(_) => {}
            }
        }
    }

    /// Up to `batch_size` readings above `cursor`, `None` when there are none; the store lock
    /// is held for this one read.
    fn next_batch(&self, cursor: i64) -> Result<Option<Vec<OutboxReading>>, String> {
        let store = self.store.lock();
        if cursor + 1 >= store.next_seq() {
            return Ok(None);
        }
        let batch = store
            .unsynced_batch(cursor, self.settings.batch_size)
            .map_err(|e| e.to_string())?;
        Ok((!batch.is_empty()).then_some(batch))
    }

    /// Publishes the status as it is now (after a change) for WebSocket clients.
    fn announce(&self) {
        if !self.bus.wants(Interest::UPSTREAM) {
            return;
        }
        let snapshot = self.status.snapshot(&self.store.lock());
        if let Ok(json) = serde_json::to_string(&snapshot) {
            self.bus.publish(LiveEvent::Influxdb(json.into()));
        }
    }
}
