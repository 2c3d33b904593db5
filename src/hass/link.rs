//! The MQTT connection of Home Assistant discovery: its own MQTT 5 client on the ingest broker,
//! with a retained last will `offline` on the gateway's status topic, driven by a thread (like
//! the rule actions' client) that tells the publisher when the connection comes up, goes down,
//! and when Home Assistant announces itself (its birth message on `<prefix>/status`).

use super::discovery::Topics;
use super::HassSettings;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet};
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{Client, Connection, Event, MqttOptions};
use rumqttc::Outgoing;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Messages that may wait in the client for the broker (configs, states, the status).
pub const QUEUE: usize = 256;

/// What the connection thread reports to the publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    Up,
    Down,
    /// Home Assistant (re)started: every config is published again.
    HomeAssistantOnline,
}

pub struct Link {
    pub client: Client,
    pub events: async_channel::Receiver<LinkEvent>,
    status_topic: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Link {
    pub fn spawn(settings: &HassSettings, topics: &Topics) -> std::io::Result<Link> {
        let mqtt = &settings.mqtt;
        let mut options =
            MqttOptions::new(format!("{}-hass", mqtt.client_id), &mqtt.host, mqtt.port);
        options
            .set_keep_alive(mqtt.keepalive)
            .set_clean_start(true)
            .set_last_will(LastWill::new(
                topics.status(),
                "offline",
                QoS::AtLeastOnce,
                true,
                None,
            ))
            .set_outgoing_inflight_upper_limit(QUEUE as u16);
        if let Some(user) = &mqtt.username {
            options.set_credentials(user, mqtt.password.as_deref().unwrap_or(""));
        }
        let (client, connection) = Client::new(options, QUEUE);
        let (tx, events) = async_channel::bounded(16);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let broker = format!("{}:{}", mqtt.host, mqtt.port);
            let ha_status = topics.ha_status();
            let reconnect_max = mqtt.reconnect_max;
            std::thread::Builder::new()
                .name("hass-mqtt".into())
                .stack_size(256 * 1024)
                .spawn(move || drive(connection, &tx, &stop, &broker, &ha_status, reconnect_max))?
        };
        Ok(Link {
            client,
            events,
            status_topic: topics.status(),
            stop,
            thread: Some(thread),
        })
    }

    /// Sets the retained status to `offline` (a clean disconnect sends no will), disconnects
    /// and waits up to `grace` for the thread.
    pub fn stop(&mut self, grace: Duration) {
        self.stop.store(true, Relaxed);
        let _ = self
            .client
            .try_publish(&self.status_topic, QoS::AtLeastOnce, true, "offline");
        let _ = self.client.try_disconnect();
        if let Some(thread) = self.thread.take() {
            let deadline = Instant::now() + grace;
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

fn drive(
    mut connection: Connection,
    tx: &async_channel::Sender<LinkEvent>,
    stop: &AtomicBool,
    broker: &str,
    ha_status: &str,
    reconnect_max: Duration,
) {
    let initial = Duration::from_millis(250);
    let mut backoff = initial;
    let mut up = false;
    let mut logged = false;
    let report = |event| {
        let _ = tx.send_blocking(event);
    };
    // Once asked to stop, the thread drives the connection on until the final status and the
    // DISCONNECT are out (`Link::stop` bounds the wait).
    while up || !stop.load(Relaxed) {
        match connection.recv() {
            Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => break,
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                backoff = initial;
                logged = false;
                up = true;
                log::info!("broker={broker} home assistant discovery connected");
                report(LinkEvent::Up);
            }
            // A retained birth message is an old one, delivered because we subscribed.
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                if !p.retain
                    && p.topic == ha_status.as_bytes()
                    && p.payload.trim_ascii() == b"online"
                {
                    report(LinkEvent::HomeAssistantOnline);
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                if stop.load(Relaxed) {
                    break;
                }
                if up {
                    up = false;
                    report(LinkEvent::Down);
                }
                if !logged {
                    log::warn!(
                        "broker={broker} home assistant discovery connection failed, retrying: {e}"
                    );
                    logged = true;
                }
                let until = Instant::now() + backoff;
                while !stop.load(Relaxed) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(50));
                }
                backoff = (backoff * 2).min(reconnect_max.max(initial));
            }
            Err(_) => break,
        }
    }
}
