//! The ingest side of the bus: turns committed batches into `telemetry.live` and
//! `device.status` events. [`Live::on_commit`] runs on the store writer thread right after a
//! commit, so it does only cheap work: presence bookkeeping (a hash lookup per device change
//! within the batch) and, only when some subscriber wants them, one shared copy of the
//! batch's readings. A ticker thread reports devices that went silent.

use super::presence::Presence;
use super::{Bus, Interest, LiveEvent};
use crate::model::Reading;
use crate::store::{Batch, Committed};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often silent devices are looked for; the precision of `main.offline_after_s`.
const PRESENCE_TICK: Duration = Duration::from_secs(1);

pub struct Live {
    bus: Arc<Bus>,
    presence: Mutex<Presence>,
}

impl Live {
    pub fn new(bus: Arc<Bus>, offline_after: Option<Duration>, max_devices: usize) -> Arc<Live> {
        Arc::new(Live {
            bus,
            presence: Mutex::new(Presence::new(offline_after, max_devices)),
        })
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// Called by the writer after every successful commit with what the store said it did:
    /// messages it refused (registry caps, disabled devices, non-finite values) are left out.
    pub fn on_commit(&self, batch: &Batch, done: &Committed) {
        let mut stored: Vec<&Reading> = batch.readings.iter().map(|(_, r)| r).collect();
        // Ranges in order: cut from the back so earlier ranges keep their positions.
        for range in done.refused.iter().rev() {
            stored.drain(range.clone());
        }
        let changes = self
            .lock()
            .observe_stored(&stored, &batch.statuses, Instant::now());
        if !stored.is_empty() && self.bus.wants(Interest::TELEMETRY) {
            let readings = stored.into_iter().cloned().collect();
            self.bus.publish(LiveEvent::Readings(Arc::new(readings)));
        }
        for change in changes {
            self.bus.publish(LiveEvent::Status(Arc::new(change)));
        }
    }

    /// Starts the thread that reports silent devices offline; it ends when `stop` is set.
    pub fn spawn_ticker(
        self: &Arc<Self>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<JoinHandle<()>> {
        let live = self.clone();
        std::thread::Builder::new()
            .name("presence".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                while !stop.load(Relaxed) {
                    std::thread::sleep(PRESENCE_TICK);
                    let changes = live.lock().expire(Instant::now());
                    for change in changes {
                        live.bus.publish(LiveEvent::Status(Arc::new(change)));
                    }
                }
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Presence> {
        self.presence.lock().unwrap_or_else(|p| p.into_inner())
    }
}
