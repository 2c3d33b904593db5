//! The publisher thread: takes committed batches off the live bus and keeps Home Assistant's
//! picture of the gateway current: a config per series (device and metric) once per connection,
//! and again after Home Assistant's birth message, and the latest value of each series of a
//! batch on its state topic.
//!
//! Never waits: every publish is offered to the client's bounded queue ([`QUEUE`]) without
//! blocking. A state that does not fit, or that comes while the broker is away, is dropped and
//! counted; a config that does not fit stays pending and is offered again on the next wake-up
//! (every [`RETRY`] while some are pending). After each (re)connect the latest value of every
//! series seen since the start goes out again after its config, so a value committed while the
//! broker was away is not missing for longer than the outage. Memory is bounded by the series
//! known, at most [`MAX_SERIES`], each with its latest value.
//!
//! [`QUEUE`]: super::link::QUEUE

use super::discovery::{DeviceInfo, Topics};
use super::link::{Link, LinkEvent};
use super::HassCounters;
use crate::bus::{LiveEvent, Subscription};
use crate::model::{Reading, Transport};
use crate::store::SharedStore;
use rumqttc::v5::mqttbytes::QoS;
use smol::future;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// Series announced at most; readings of further series are not announced (logged once).
pub const MAX_SERIES: usize = 4096;
/// How soon configs that did not fit into the client's queue are offered again.
const RETRY: Duration = Duration::from_millis(100);
const IDLE: Duration = Duration::from_secs(1);

/// A device and its metrics.
struct DeviceSeries {
    info: DeviceInfo,
    metrics: HashMap<Arc<str>, Series>,
}

#[derive(Default)]
struct Series {
    /// Its config went out on this connection (or since Home Assistant's last birth message).
    announced: bool,
    /// The latest committed value since the start, and whether it went out.
    latest: Option<f64>,
    latest_sent: bool,
}

pub struct Publisher {
    topics: Topics,
    link: Link,
    store: SharedStore,
    counters: Arc<HassCounters>,
    stop: async_channel::Receiver<()>,
    devices: HashMap<Arc<str>, DeviceSeries>,
    /// Series whose config, or latest value, waits for room in the client's queue.
    pending: VecDeque<(Arc<str>, Arc<str>)>,
    gateway_pending: bool,
    series: usize,
    connected: bool,
    full_logged: bool,
}

enum Wake {
    Link(LinkEvent),
    Batch(Arc<Vec<Reading>>),
    Tick,
    Stop,
}

impl Publisher {
    pub fn new(
        topics: Topics,
        link: Link,
        store: SharedStore,
        counters: Arc<HassCounters>,
        stop: async_channel::Receiver<()>,
    ) -> Publisher {
        Publisher {
            topics,
            link,
            store,
            counters,
            stop,
            devices: HashMap::new(),
            pending: VecDeque::new(),
            gateway_pending: false,
            series: 0,
            connected: false,
            full_logged: false,
        }
    }

    /// Runs until asked to stop and hands the connection back for a clean disconnect. The
    /// series already in the store are known from the start.
    pub fn run(mut self, bus: &Subscription) -> Link {
        let stored = self.store.lock().series(MAX_SERIES);
        match stored {
            Ok(series) => {
                for (device, metric) in series {
                    self.learn(&device, &metric);
                }
            }
            Err(e) => log::error!("home assistant discovery: cannot list stored series: {e}"),
        }
        smol::block_on(async {
            loop {
                match self.next(bus).await {
                    Wake::Stop => break,
                    Wake::Link(LinkEvent::Up) => {
                        self.connected = true;
                        self.counters.connected.store(true, Relaxed);
                        self.on_connect();
                    }
                    Wake::Link(LinkEvent::Down) => {
                        self.connected = false;
                        self.counters.connected.store(false, Relaxed);
                    }
                    Wake::Link(LinkEvent::HomeAssistantOnline) => {
                        log::info!("home assistant is online: announcing every sensor again");
                        self.announce_all();
                    }
                    Wake::Batch(readings) => self.on_batch(&readings),
                    Wake::Tick => {}
                }
                if self.connected {
                    self.flush_pending();
                }
                self.counters.batches_dropped.store(bus.dropped(), Relaxed);
            }
        });
        self.link
    }

    async fn next(&self, bus: &Subscription) -> Wake {
        let wait = if self.connected && (self.gateway_pending || !self.pending.is_empty()) {
            RETRY
        } else {
            IDLE
        };
        let link = async {
            match self.link.events.recv().await {
                Ok(event) => Wake::Link(event),
                Err(_) => Wake::Stop,
            }
        };
        let batch = async {
            loop {
                match bus.receiver().recv().await {
                    Ok(LiveEvent::Readings(readings)) => return Wake::Batch(readings),
                    Ok(_) => continue,
                    Err(_) => return Wake::Stop,
                }
            }
        };
        let stop = async {
            let _ = self.stop.recv().await;
            Wake::Stop
        };
        let tick = async {
            smol::Timer::after(wait).await;
            Wake::Tick
        };
        future::or(stop, future::or(link, future::or(batch, tick))).await
    }

    /// A new connection: the retained `online`, the subscription to Home Assistant's birth
    /// messages, then every config.
    fn on_connect(&mut self) {
        let client = &self.link.client;
        let status = client.try_publish(self.topics.status(), QoS::AtLeastOnce, true, "online");
        let subscribed = client.try_subscribe(self.topics.ha_status(), QoS::AtLeastOnce);
        if status.is_err() || subscribed.is_err() {
            log::warn!("home assistant discovery: the client's queue is full after connecting");
        }
        self.announce_all();
    }

    /// Marks every series (and the gateway) as not announced and queues its config.
    fn announce_all(&mut self) {
        self.pending.clear();
        for (device, entry) in &mut self.devices {
            for (metric, series) in &mut entry.metrics {
                series.announced = false;
                series.latest_sent = false;
                self.pending.push_back((device.clone(), metric.clone()));
            }
        }
        self.gateway_pending = true;
    }

    /// Learns the batch's new series and publishes the latest value of each series in it.
    fn on_batch(&mut self, readings: &[Reading]) {
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for reading in readings.iter().rev() {
            if !seen.insert((&reading.device, &reading.metric)) {
                continue;
            }
            self.learn(&reading.device, &reading.metric);
            let Some(series) = self
                .devices
                .get_mut(reading.device.as_str())
                .and_then(|d| d.metrics.get_mut(reading.metric.as_str()))
            else {
                continue;
            };
            series.latest = Some(reading.value);
            series.latest_sent = false;
            if !series.announced && self.connected {
                // Pending: its config goes out first, then this value.
                continue;
            }
            let published = self.connected
                && self
                    .link
                    .client
                    .try_publish(
                        self.topics.state(&reading.device, &reading.metric),
                        QoS::AtMostOnce,
                        true,
                        format_value(reading.value),
                    )
                    .is_ok();
            series.latest_sent = published;
            let counter = if published {
                &self.counters.states_published
            } else {
                &self.counters.states_dropped
            };
            counter.fetch_add(1, Relaxed);
        }
    }

    /// Adds a series not seen before (queueing its config), up to [`MAX_SERIES`].
    fn learn(&mut self, device: &str, metric: &str) {
        if let Some(entry) = self.devices.get(device) {
            if entry.metrics.contains_key(metric) {
                return;
            }
        }
        if self.series >= MAX_SERIES {
            if !self.full_logged {
                log::warn!(
                    "device={device} metric={metric} not announced to home assistant: \
                     {MAX_SERIES} series are announced already"
                );
                self.full_logged = true;
            }
            return;
        }
        if !self.devices.contains_key(device) {
            let info = self.device_info(device);
            let entry = DeviceSeries {
                info,
                metrics: HashMap::new(),
            };
            self.devices.insert(Arc::from(device), entry);
        }
        let Some(device) = self.devices.get_key_value(device).map(|(k, _)| k.clone()) else {
            return;
        };
        let metric: Arc<str> = Arc::from(metric);
        if let Some(entry) = self.devices.get_mut(&device) {
            entry.metrics.insert(metric.clone(), Series::default());
        }
        self.pending.push_back((device, metric));
        self.series += 1;
        self.counters.series.store(self.series as u64, Relaxed);
    }

    /// The device block's facts: the registry's name and location, and the transport.
    fn device_info(&self, device: &str) -> DeviceInfo {
        let found = self.store.lock().device(device).ok().flatten();
        let Some(found) = found else {
            return DeviceInfo {
                name: device.to_owned(),
                model: model_of(Transport::Mqtt),
                suggested_area: None,
            };
        };
        DeviceInfo {
            name: found.name.unwrap_or_else(|| device.to_owned()),
            model: model_of(found.transport),
            suggested_area: found
                .metadata
                .get("location")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        }
    }

    /// Offers pending configs, each followed by its series' latest value, to the client until
    /// its queue is full.
    fn flush_pending(&mut self) {
        let client = &self.link.client;
        if self.gateway_pending {
            let payload = self.topics.gateway_payload().to_string();
            if client
                .try_publish(
                    self.topics.gateway_config(),
                    QoS::AtLeastOnce,
                    true,
                    payload,
                )
                .is_err()
            {
                return;
            }
            self.gateway_pending = false;
            self.counters.configs_published.fetch_add(1, Relaxed);
        }
        while let Some((device, metric)) = self.pending.front().cloned() {
            let Some(entry) = self.devices.get_mut(&device) else {
                self.pending.pop_front();
                continue;
            };
            let Some(series) = entry.metrics.get_mut(&metric) else {
                self.pending.pop_front();
                continue;
            };
            if !series.announced {
                let payload = self.topics.sensor_payload(&device, &metric, &entry.info);
                let topic = self.topics.sensor_config(&device, &metric);
                if client
                    .try_publish(topic, QoS::AtLeastOnce, true, payload.to_string())
                    .is_err()
                {
                    return;
                }
                series.announced = true;
                self.counters.configs_published.fetch_add(1, Relaxed);
            }
            if let Some(value) = series.latest.filter(|_| !series.latest_sent) {
                let topic = self.topics.state(&device, &metric);
                if client
                    .try_publish(topic, QoS::AtMostOnce, true, format_value(value))
                    .is_err()
                {
                    return;
                }
                series.latest_sent = true;
                self.counters.states_published.fetch_add(1, Relaxed);
            }
            self.pending.pop_front();
        }
    }
}

fn model_of(transport: Transport) -> &'static str {
    match transport {
        Transport::Mqtt => "MQTT device",
        Transport::Ble => "Bluetooth LE device",
        Transport::Lora => "LoRa device",
    }
}

/// A reading's value as Home Assistant parses a sensor state: a plain decimal number.
fn format_value(value: f64) -> String {
    value.to_string()
}
