//! MQTT ingest: one thread drives rumqttc's blocking MQTT 5 connection (rumqttc runs a private
//! tokio runtime inside it), subscribes to the three ingest topics and to the filters of every
//! enabled `config source` ([`sources`]), decodes each publish and sends the resulting events to
//! the writer. A publish that no `acs/` filter matches goes to the first source whose filter
//! does.
//!
//! No message can block the session: an MQTT client can refuse a packet only by closing the
//! connection, before its PUBACK, and on a persistent session the broker then redelivers it
//! after every reconnect, forever. So the CONNECT carries a Maximum Packet Size ([`read_limit`],
//! also rumqttc's own read limit): the broker never sends this client a bigger packet (MQTT 5
//! section 3.1.2.11.4: it discards the message for this client), and every packet up to it is
//! read, acknowledged, and dropped here by `max_payload` when its payload is over the cap.
//!
//! Invariants: a malformed or oversize message is acknowledged (rumqttc acks on receipt),
//! counted, logged (rate-limited) and dropped, and never stops ingest; a lost broker is retried
//! forever with exponential backoff and jitter, capped at `reconnect_max`; when the writer
//! queue is full this thread blocks, which stops reading from the socket, so the broker holds
//! (QoS 1) or drops (QoS 0) what the daemon cannot take yet.

use super::sources::{self, Decoded, SourceSettings};
use super::stats::{IngestStats, Malformed};
use super::topic::{self, Kind};
use super::{frame, telemetry};
use crate::model::{now_ms, DeviceStatus, Event, Transport};
use crate::threads::{StopFlag, WorkerThread};
use rumqttc::v5::mqttbytes::v5::{Filter as SubscribeFilter, Packet, SubscribeReasonCode};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Connection, Event as MqttEvent, MqttOptions};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// Everything the MQTT source needs from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub topic_prefix: String,
    pub qos: u8,
    pub clean_session: bool,
    pub keepalive: Duration,
    pub max_payload: usize,
    pub reconnect_max: Duration,
    /// The enabled `config source` sections, in file order.
    pub sources: Vec<SourceSettings>,
}

impl MqttSettings {
    /// The ingest filters in the order they are subscribed, which is the order of the broker's
    /// answers in its SUBACK: the `acs/` topics, then each source's (a filter once).
    pub fn filters(&self) -> Vec<String> {
        let mut filters: Vec<String> = Kind::ALL
            .into_iter()
            .map(|kind| topic::filter(&self.topic_prefix, kind))
            .collect();
        for filter in self.sources.iter().flat_map(|s| s.filters()) {
            if !filters.contains(filter) {
                filters.push(filter.clone());
            }
        }
        filters
    }
}

/// A running MQTT source; dropping it without `stop` leaves the thread running.
pub struct MqttSource {
    client: Client,
    thread: WorkerThread,
}

impl MqttSource {
    pub fn spawn(
        settings: MqttSettings,
        tx: async_channel::Sender<Event>,
        stats: Arc<IngestStats>,
    ) -> std::io::Result<MqttSource> {
        let mut options = MqttOptions::new(&settings.client_id, &settings.host, settings.port);
        options
            .set_keep_alive(settings.keepalive)
            .set_clean_start(settings.clean_session)
            // MQTT 5 ends a session with its connection unless told otherwise; a persistent
            // session (clean_session 0) is one that never expires.
            .set_session_expiry_interval((!settings.clean_session).then_some(u32::MAX))
            .set_max_packet_size(Some(read_limit(settings.max_payload)))
            // This client publishes nothing; rumqttc allocates a slot per allowed in-flight
            // publish (65,535 unless limited).
            .set_outgoing_inflight_upper_limit(1);
        if let Some(user) = &settings.username {
            options.set_credentials(user, settings.password.as_deref().unwrap_or(""));
        }
        let (client, connection) = Client::new(options, 64);
        stats
            .mqtt
            .set_broker(Some(format!("{}:{}", settings.host, settings.port)));
        let stop = StopFlag::default();
        let worker = Worker {
            settings,
            client: client.clone(),
            tx,
            stats,
            stop: stop.clone(),
            log_limit: crate::logging::WarnLimit::new("malformed messages"),
        };
        let thread = WorkerThread::spawn("mqtt-ingest", stop, move || worker.run(connection))?;
        Ok(MqttSource { client, thread })
    }

    /// Asks the thread to disconnect and end, without waiting for it.
    pub fn request_stop(&self) {
        self.thread.request_stop();
        let _ = self.client.try_disconnect();
    }

    /// Waits up to `grace` for the thread to end after `request_stop`; true when it has.
    pub fn wait_finished(&self, grace: Duration) -> bool {
        self.thread.wait_finished(grace)
    }

    /// Disconnects and waits for the thread; events already sent stay queued for the writer.
    /// A connection attempt in progress can take up to rumqttc's connect timeout to give up.
    pub fn stop(self) {
        self.request_stop();
        self.thread.stop();
    }
}

struct Worker {
    settings: MqttSettings,
    client: Client,
    tx: async_channel::Sender<Event>,
    stats: Arc<IngestStats>,
    stop: StopFlag,
    log_limit: crate::logging::WarnLimit,
}

impl Worker {
    fn run(mut self, mut connection: Connection) {
        let initial_backoff = Duration::from_millis(250);
        let mut backoff = initial_backoff;
        let mut was_connected = true; // so the first failure is logged
        while !self.stop.is_set() {
            match connection.recv() {
                Ok(Ok(MqttEvent::Incoming(Packet::ConnAck(ack)))) => {
                    backoff = initial_backoff;
                    was_connected = true;
                    self.stats.mqtt.connected.store(true, Relaxed);
                    self.stats.mqtt.subscribed.store(false, Relaxed);
                    self.stats.mqtt.connects.fetch_add(1, Relaxed);
                    self.stats.mqtt.set_error(None);
                    log::info!(
                        "broker={}:{} session_present={} connected to MQTT broker",
                        self.settings.host,
                        self.settings.port,
                        ack.session_present
                    );
                    self.subscribe();
                }
                Ok(Ok(MqttEvent::Incoming(Packet::SubAck(ack)))) => {
                    self.granted(&ack.return_codes);
                }
                Ok(Ok(MqttEvent::Incoming(Packet::Publish(publish)))) => {
                    if !self.handle(&publish.topic, &publish.payload) {
                        break; // the writer is gone: shutting down
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    if self.stop.is_set() {
                        break;
                    }
                    self.stats.mqtt.connected.store(false, Relaxed);
                    self.stats.mqtt.subscribed.store(false, Relaxed);
                    self.stats.mqtt.set_error(Some(error.to_string()));
                    if was_connected {
                        log::warn!(
                            "broker={}:{} retry_max_s={} MQTT connection failed, retrying: {error}",
                            self.settings.host,
                            self.settings.port,
                            self.settings.reconnect_max.as_secs()
                        );
                        was_connected = false;
                    }
                    self.stop
                        .sleep(jittered(backoff), Duration::from_millis(100));
                    backoff = (backoff * 2).min(self.settings.reconnect_max);
                }
                Err(_) => break,
            }
        }
        self.stats.mqtt.connected.store(false, Relaxed);
        self.stats.mqtt.subscribed.store(false, Relaxed);
        self.stats.mqtt.set_broker(None);
    }

    fn filters(&self) -> Vec<String> {
        self.settings.filters()
    }

    /// One SUBSCRIBE for every ingest filter, so one SUBACK says when ingest is live.
    fn subscribe(&self) {
        let qos = if self.settings.qos == 0 {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        };
        let filters = self.filters();
        let request = filters
            .iter()
            .map(|filter| SubscribeFilter::new(filter.clone(), qos));
        if let Err(e) = self.client.try_subscribe_many(request) {
            log::error!("filters={} could not subscribe: {e}", filters.join(","));
        }
    }

    /// Records the broker's answer to the ingest SUBSCRIBE: live only when every filter was
    /// granted; a refused filter (a broker ACL, typically) is logged and shown in health.
    fn granted(&self, answers: &[SubscribeReasonCode]) {
        let refused: Vec<String> = self
            .filters()
            .into_iter()
            .zip(answers)
            .filter(|(_, answer)| !matches!(answer, SubscribeReasonCode::Success(_)))
            .map(|(filter, _)| filter)
            .collect();
        if refused.is_empty() {
            self.stats.mqtt.subscribed.store(true, Relaxed);
            log::debug!("subscribed to the ingest topics");
        } else {
            let error = format!(
                "the broker refused the subscription to {}",
                refused.join(", ")
            );
            log::error!(
                "broker={}:{} {error}; check the broker's ACL for this client",
                self.settings.host,
                self.settings.port
            );
            self.stats.mqtt.set_error(Some(error));
        }
    }

    /// Decodes one publish and queues its events. Returns false once the writer has gone.
    fn handle(&mut self, topic_name: &[u8], payload: &[u8]) -> bool {
        self.stats.mqtt.messages.fetch_add(1, Relaxed);
        // MQTT 5 requires UTF-8 topics; one that is not cannot match our filters anyway.
        let topic_name = std::str::from_utf8(topic_name).unwrap_or("<not UTF-8>");
        let event = match self.decode(topic_name, payload) {
            Ok(Some(event)) => event,
            Ok(None) => return true,
            Err((kind, reason)) => {
                self.stats.mqtt.count_malformed(kind);
                self.log_limit.warn(format_args!(
                    "topic={topic_name} dropped malformed message: {reason}"
                ));
                return true;
            }
        };
        if let Event::Readings(_, readings) = &event {
            self.stats
                .readings
                .received
                .fetch_add(readings.len() as u64, Relaxed);
        }
        if self.tx.send_blocking(event).is_err() {
            return false;
        }
        self.stats
            .readings
            .queue_depth
            .store(self.tx.len() as u64, Relaxed);
        true
    }

    /// The event of one publish; `None` for a source's message that carries no readings.
    fn decode(
        &self,
        topic_name: &str,
        payload: &[u8],
    ) -> Result<Option<Event>, (Malformed, String)> {
        let prefix = &self.settings.topic_prefix;
        // Without sources every publish is ours; the filter match allocates, so skip it then.
        let ours = self.settings.sources.is_empty()
            || Kind::ALL
                .into_iter()
                .any(|kind| topic::matches(&topic::filter(prefix, kind), topic_name));
        if !ours {
            if let Some((source, filter)) = sources::route(&self.settings.sources, topic_name) {
                self.check_size(payload)?;
                let now = now_ms();
                let event = match sources::decode(source, filter, topic_name, payload, now)? {
                    Decoded::Readings(readings) => Event::Readings(Transport::Mqtt, readings),
                    Decoded::Status(device, online) => Event::Status(DeviceStatus {
                        device,
                        transport: Transport::Mqtt,
                        online,
                        ts_ms: now,
                    }),
                    Decoded::Nothing => return Ok(None),
                };
                return Ok(Some(event));
            }
        }
        let (device, kind) = topic::parse(&self.settings.topic_prefix, topic_name)
            .map_err(|e| (Malformed::Topic, e))?;
        self.check_size(payload)?;
        let now = now_ms();
        let readings = match kind {
            Kind::Telemetry => telemetry::decode_telemetry(device, payload, now)
                .map_err(|e| (Malformed::Json, e))?,
            Kind::Frame => {
                frame::decode_frame(device, payload, now).map_err(|e| (Malformed::Frame, e))?
            }
            Kind::Status => {
                let online = topic::parse_status(payload).map_err(|e| (Malformed::Status, e))?;
                return Ok(Some(Event::Status(DeviceStatus {
                    device: device.to_owned(),
                    transport: Transport::Mqtt,
                    online,
                    ts_ms: now,
                })));
            }
        };
        Ok(Some(Event::Readings(Transport::Mqtt, readings)))
    }

    fn check_size(&self, payload: &[u8]) -> Result<(), (Malformed, String)> {
        if payload.len() > self.settings.max_payload {
            return Err((
                Malformed::TooLarge,
                format!(
                    "payload of {} bytes exceeds mqtt.max_payload_kb ({} bytes)",
                    payload.len(),
                    self.settings.max_payload
                ),
            ));
        }
        Ok(())
    }
}

/// The largest MQTT packet this client reads, announced to the broker in CONNECT: messages up to
/// it are read, acknowledged and counted; the broker discards bigger ones for this client. It
/// bounds the memory one message takes (rumqttc buffers a whole packet). 4x the payload cap, at
/// least 256 KiB, so a payload a little over the cap is still read, counted and logged with its
/// size.
fn read_limit(max_payload: usize) -> u32 {
    let limit = max_payload.max(64 * 1024).saturating_mul(4);
    u32::try_from(limit).unwrap_or(u32::MAX)
}

/// Adds up to 25% random jitter so that many gateways do not reconnect in lockstep.
fn jittered(base: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    base + base.mul_f64(f64::from(nanos % 1000) / 4000.0)
}
