//! The sync thread: connect, drain the outbox in batches with a bounded window of
//! unacknowledged messages, commit the cursor on PUBACK, and back off on failure.
//!
//! Each connection attempt runs in a [`Session`] with its own rumqttc (MQTT 5) client and event
//! loop; a helper thread pumps that event loop (rumqttc's blocking API must be polled
//! continuously) and forwards the few events that matter over a channel, so this thread can wait
//! with a timeout without cancelling a TLS handshake half-way. Publishes are matched to PUBACKs
//! by packet id: rumqttc reports `Outgoing::Publish(pkid)` in the order of our publishes on a
//! fresh session. A PUBACK with an error reason code (MQTT 5: not authorized, quota exceeded,
//! ...) means the broker did not take the batch: the session ends without moving the cursor, so
//! the batch is sent again after the backoff.

use super::message::{self, BATCH_READINGS_HINT};
use super::status::{sync_status, SyncState, UpstreamStatus};
use super::{Endpoint, SyncSettings};
use crate::bus::{Bus, Interest, LiveEvent};
use crate::model::now_ms;
use crate::store::{SharedStore, Store};
use crate::threads::StopFlag;
use rumqttc::v5::mqttbytes::v5::{Packet, PubAck, PubAckReason};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Event, MqttOptions};
// The one event type rumqttc shares between its MQTT 3.1.1 and 5 clients (not re-exported by v5).
use rumqttc::Outgoing;
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Most batches published and not yet acknowledged: bounds memory, the repeats after an outage
/// (at most this many batches) and how far the drain can run ahead of the broker. One: an
/// outage or a crash repeats at most one batch, at the cost of one round trip per batch (500
/// readings per round trip still drains 5,000 readings/s over a 100 ms cellular link).
pub const WINDOW: usize = 1;

/// How long the thread waits for network events before looking for new readings.
const POLL: Duration = Duration::from_millis(100);

const INITIAL_BACKOFF: Duration = Duration::from_millis(500);

enum Net {
    Up,
    Sent(u16),
    Acked(u16),
    Down(String),
    /// A PUBACK with an error reason: the broker did not take the batch.
    Refused(String),
}

struct InFlight {
    first: i64,
    last: i64,
    count: usize,
    pkid: Option<u16>,
    acked: bool,
}

pub(super) struct Worker {
    pub(super) settings: SyncSettings,
    pub(super) endpoint: Endpoint,
    pub(super) store: SharedStore,
    pub(super) status: Arc<UpstreamStatus>,
    pub(super) bus: Arc<Bus>,
    pub(super) stop: StopFlag,
}

impl Worker {
    /// Publishes the status as it is now (after a change) for WebSocket clients.
    fn announce(&self) {
        if !self.bus.wants(Interest::UPSTREAM) {
            return;
        }
        let status = sync_status(&self.status, &self.store);
        if let Ok(json) = serde_json::to_string(&status) {
            self.bus.publish(LiveEvent::Upstream(json.into()));
        }
    }

    pub(super) fn run(self) {
        let mut backoff = Backoff::new(INITIAL_BACKOFF, self.settings.reconnect_max);
        let mut last_logged: Option<String> = None;
        let broker = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        while !self.stop.is_set() {
            self.status.set_state(SyncState::Connecting);
            let mut session = Session::default();
            let result = session.run(&self);
            // A broker that refuses our batches is an outage like any other, not a recovery.
            let recovered = session.connected && !session.refused;
            if recovered {
                backoff.reset();
            }
            let Err(error) = result else {
                break; // stopped
            };
            // One line (and one event) per outage, and again whenever the reason changes.
            let news = recovered || last_logged.as_deref() != Some(error.as_str());
            if news {
                log::warn!(
                    "upstream={broker} retry_max_s={} upstream connection failed, retrying: {error}",
                    self.settings.reconnect_max.as_secs()
                );
                last_logged = Some(error.clone());
            } else {
                log::debug!("upstream={broker} upstream connection failed again: {error}");
            }
            self.status.set_error(SyncState::Backoff, error);
            if news {
                self.announce();
            }
            self.stop.sleep(backoff.next(), Duration::from_millis(50));
        }
    }

    fn options(&self) -> MqttOptions {
        let mut options = MqttOptions::new(
            &self.settings.client_id,
            &self.endpoint.host,
            self.endpoint.port,
        );
        options
            .set_keep_alive(self.settings.keepalive)
            // A clean session per connection: anything unacknowledged is re-read from the
            // store's cursor, never re-sent by rumqttc from a previous session.
            .set_clean_start(true)
            // Only acknowledgements come in; what goes out is bounded by `message::MAX_PAYLOAD`
            // (and by the broker's own Maximum Packet Size, which rumqttc enforces).
            .set_max_packet_size(Some(64 * 1024))
            .set_outgoing_inflight_upper_limit(WINDOW as u16 * 2)
            .set_transport(self.endpoint.transport());
        if let Some(user) = &self.settings.username {
            options.set_credentials(user, self.settings.password.as_deref().unwrap_or(""));
        }
        options
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock()
    }
}

/// One connection attempt and, when it succeeds, the drain over that connection.
#[derive(Default)]
struct Session {
    connected: bool,
    /// The session ended on a refused batch.
    refused: bool,
    window: VecDeque<InFlight>,
    /// The highest seq published on this connection.
    read_after: i64,
    store_id: String,
}

impl Session {
    /// Ok when asked to stop; Err with the reason when the connection failed or was lost.
    fn run(&mut self, worker: &Worker) -> Result<(), String> {
        let (client, mut connection) = Client::new(worker.options(), WINDOW * 2);
        let (tx, rx) = mpsc::channel();
        let pump_stop = StopFlag::default();
        let pump_stopped = pump_stop.clone();
        let pump = std::thread::Builder::new()
            .name("upstream-net".into())
            .spawn(move || {
                for event in connection.iter() {
                    let net = match event {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => Net::Up,
                        Ok(Event::Outgoing(Outgoing::Publish(pkid))) => Net::Sent(pkid),
                        Ok(Event::Incoming(Packet::PubAck(ack))) => match refusal(&ack) {
                            None => Net::Acked(ack.pkid),
                            Some(reason) => Net::Refused(reason),
                        },
                        Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                        Ok(_) => continue,
                        Err(error) => Net::Down(error.to_string()),
                    };
                    let down = matches!(net, Net::Down(_) | Net::Refused(_));
                    if tx.send(net).is_err() || down || pump_stopped.is_set() {
                        break;
                    }
                }
            });
        if let Err(e) = pump {
            return Err(format!("cannot start the network thread: {e}"));
        }
        let result = self.drive(worker, &client, &rx);
        // The pump ends on its own after a connection error; otherwise the disconnect (or, when
        // the connection is still being set up, the connect timeout) ends it. It is not joined
        // so that a stop never waits for a connect timeout.
        pump_stop.set();
        let _ = client.try_disconnect();
        result
    }

    fn drive(
        &mut self,
        worker: &Worker,
        client: &Client,
        rx: &mpsc::Receiver<Net>,
    ) -> Result<(), String> {
        loop {
            if worker.stop.is_set() {
                return Ok(());
            }
            match rx.recv_timeout(POLL) {
                Ok(Net::Up) => {
                    {
                        let mut store = worker.lock();
                        self.store_id = store
                            .store_id()
                            .map_err(|e| format!("store id not readable: {e}"))?;
                        self.read_after = store.sync_cursor();
                    }
                    self.connected = true;
                    worker.status.connected();
                    worker.announce();
                    log::info!(
                        "upstream={}:{} cursor={} connected to the upstream broker",
                        worker.endpoint.host,
                        worker.endpoint.port,
                        self.read_after
                    );
                }
                Ok(Net::Sent(pkid)) => {
                    if let Some(batch) = self.window.iter_mut().find(|b| b.pkid.is_none()) {
                        batch.pkid = Some(pkid);
                    }
                }
                Ok(Net::Acked(pkid)) => {
                    if let Some(batch) = self
                        .window
                        .iter_mut()
                        .find(|b| b.pkid == Some(pkid) && !b.acked)
                    {
                        batch.acked = true;
                    }
                    self.commit_acknowledged(worker)?;
                }
                Ok(Net::Down(error)) => return Err(error),
                Ok(Net::Refused(error)) => {
                    self.refused = true;
                    return Err(error);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err("connection closed".into()),
            }
            if self.connected {
                self.fill_window(worker, client)?;
            }
        }
    }

    /// Publishes further batches until the window is full or the outbox is empty. The store
    /// lock is held for one batch read at a time.
    fn fill_window(&mut self, worker: &Worker, client: &Client) -> Result<(), String> {
        while self.window.len() < WINDOW {
            let batch = {
                let store = worker.lock();
                if self.read_after + 1 >= store.next_seq() {
                    return Ok(());
                }
                store.unsynced_batch(self.read_after, BATCH_READINGS_HINT)
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    log::error!("upstream batch not read, retrying: {e}");
                    return Ok(());
                }
            };
            let Some(msg) = message::encode(
                &worker.settings.gateway_id,
                &self.store_id,
                now_ms(),
                &batch,
            ) else {
                return Ok(());
            };
            client
                .try_publish(
                    worker.settings.topic.as_str(),
                    QoS::AtLeastOnce,
                    false,
                    msg.payload,
                )
                .map_err(|e| format!("publish failed: {e}"))?;
            self.window.push_back(InFlight {
                first: msg.first_seq,
                last: msg.last_seq,
                count: msg.count,
                pkid: None,
                acked: false,
            });
            self.read_after = msg.last_seq;
        }
        Ok(())
    }

    /// Advances the persisted cursor over the acknowledged batches at the front of the window.
    fn commit_acknowledged(&mut self, worker: &Worker) -> Result<(), String> {
        while self.window.front().is_some_and(|b| b.acked) {
            let Some(batch) = self.window.pop_front() else {
                break;
            };
            worker
                .lock()
                .ack_synced(batch.first, batch.last, batch.count as u64)
                .map_err(|e| format!("cursor not saved (the batch will be sent again): {e}"))?;
            worker.status.acknowledged(batch.count as u64);
        }
        Ok(())
    }
}

/// Why the broker refused a publish, or `None` when it took it.
fn refusal(ack: &PubAck) -> Option<String> {
    if matches!(
        ack.reason,
        PubAckReason::Success | PubAckReason::NoMatchingSubscribers
    ) {
        return None;
    }
    let mut why = format!("the upstream broker refused a batch: {:?}", ack.reason);
    if let Some(text) = ack
        .properties
        .as_ref()
        .and_then(|p| p.reason_string.as_ref())
    {
        why.push_str(" (");
        why.push_str(text);
        why.push(')');
    }
    Some(why)
}

/// Exponential backoff with "equal jitter": each wait is between half and all of the current
/// step, so many gateways that lost the same broker do not come back in lockstep.
pub(super) struct Backoff {
    initial: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    pub(super) fn new(initial: Duration, max: Duration) -> Backoff {
        let max = max.max(initial);
        Backoff {
            initial,
            max,
            step: initial,
        }
    }

    pub(super) fn reset(&mut self) {
        self.step = self.initial;
    }

    pub(super) fn next(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(self.max);
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        step / 2 + step.mul_f64((random % 1000) as f64 / 2000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let waits: Vec<_> = (0..8).map(|_| b.next()).collect();
        for (wait, step) in waits
            .iter()
            .zip([100u64, 200, 400, 800, 1000, 1000, 1000, 1000])
        {
            assert!(
                *wait >= Duration::from_millis(step / 2),
                "{wait:?} < half of {step}"
            );
            assert!(*wait <= Duration::from_millis(step), "{wait:?} > {step}");
        }
        b.reset();
        assert!(b.next() <= Duration::from_millis(100));
    }
}
