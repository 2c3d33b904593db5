//! The `mqtt_publish` action: an MQTT 5 client of its own to the ingest broker (`config mqtt`),
//! driven by a thread like the ingest source, so that ingest backpressure (the ingest thread
//! blocks on a full writer queue) can never hold up an alarm, and a restart of the ingest
//! source does not drop one.
//!
//! Bounded: publishes go through rumqttc's request channel (`QUEUE` messages); when it is full
//! (broker unreachable for a while) a publish is refused at once and counted as a failure,
//! never waited for.

use crate::ingest::mqtt::MqttSettings;
use portable_atomic::AtomicU64;
use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Connection, Event, MqttOptions};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Action messages that may wait for the broker.
const QUEUE: usize = 64;
/// How long `stop` waits for the connection thread.
const STOP_GRACE: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct ActionCounters {
    pub published: AtomicU64,
    pub failed: AtomicU64,
}

pub struct ActionPublisher {
    client: Option<Client>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub counters: Arc<ActionCounters>,
}

impl ActionPublisher {
    /// A publisher that refuses (and counts) everything: MQTT is off.
    pub fn disabled() -> ActionPublisher {
        ActionPublisher {
            client: None,
            stop: Arc::new(AtomicBool::new(true)),
            thread: None,
            counters: Arc::default(),
        }
    }

    pub fn spawn(settings: &MqttSettings) -> std::io::Result<ActionPublisher> {
        let mut options = MqttOptions::new(
            format!("{}-rules", settings.client_id),
            &settings.host,
            settings.port,
        );
        options
            .set_keep_alive(settings.keepalive)
            .set_clean_start(true)
            // rumqttc allocates a slot per allowed in-flight publish (65,535 unless limited);
            // no more than the queue can be waiting anyway.
            .set_outgoing_inflight_upper_limit(QUEUE as u16);
        if let Some(user) = &settings.username {
            options.set_credentials(user, settings.password.as_deref().unwrap_or(""));
        }
        let (client, connection) = Client::new(options, QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let broker = format!("{}:{}", settings.host, settings.port);
            let reconnect_max = settings.reconnect_max;
            std::thread::Builder::new()
                .name("rules-mqtt".into())
                .stack_size(256 * 1024)
                .spawn(move || drive(connection, &stop, &broker, reconnect_max))?
        };
        Ok(ActionPublisher {
            client: Some(client),
            stop,
            thread: Some(thread),
            counters: Arc::default(),
        })
    }

    /// Hands a message to the client without waiting; false (and counted) when refused.
    pub fn publish(&self, topic: &str, payload: Vec<u8>, qos: u8, retain: bool) -> bool {
        let qos = if qos == 0 {
            QoS::AtMostOnce
        } else {
            QoS::AtLeastOnce
        };
        let ok = self
            .client
            .as_ref()
            .is_some_and(|c| c.try_publish(topic, qos, retain, payload).is_ok());
        let counter = if ok {
            &self.counters.published
        } else {
            &self.counters.failed
        };
        counter.fetch_add(1, Relaxed);
        ok
    }

    /// Disconnects and waits up to `STOP_GRACE` for the thread: a connection attempt to an
    /// absent broker must not hold up the daemon's exit (the thread then ends with the process).
    pub fn stop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(client) = &self.client {
            let _ = client.try_disconnect();
        }
        if let Some(thread) = self.thread.take() {
            let deadline = std::time::Instant::now() + STOP_GRACE;
            while !thread.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

impl Drop for ActionPublisher {
    fn drop(&mut self) {
        self.stop();
    }
}

fn drive(mut connection: Connection, stop: &AtomicBool, broker: &str, reconnect_max: Duration) {
    let initial = Duration::from_millis(250);
    let mut backoff = initial;
    let mut logged = false;
    while !stop.load(Relaxed) {
        match connection.recv() {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                backoff = initial;
                logged = false;
                log::info!("broker={broker} rule actions connected");
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                if stop.load(Relaxed) {
                    break;
                }
                if !logged {
                    log::warn!("broker={broker} rule action connection failed, retrying: {e}");
                    logged = true;
                }
                let until = std::time::Instant::now() + backoff;
                while !stop.load(Relaxed) && std::time::Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(50));
                }
                backoff = (backoff * 2).min(reconnect_max.max(initial));
            }
            Err(_) => break,
        }
    }
}
