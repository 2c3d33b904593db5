//! Home Assistant MQTT discovery against a real mosquitto and the real binary: a reading makes a
//! retained sensor config appear that validates against a JSON schema written from Home
//! Assistant's documented fields (`fixtures/hass-sensor.schema.json`), with the class and unit
//! of the metric; the state topic receives the value; the gateway's retained status is `online`
//! while it runs and the broker's will makes it `offline` when the daemon is killed; Home
//! Assistant's birth message makes every config go out again; a base topic that an ingest
//! subscription matches is refused.

use crate::common;

use common::*;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HASS_ON: &str = "config hass 'hass'\n\toption enabled '1'\n";
const STATUS: &str = "acs-edge/test-gw/status";

/// One received message: topic, payload, and whether the broker flagged it retained (sent
/// because of the subscription rather than published since).
#[derive(Debug, Clone)]
struct Message {
    topic: String,
    payload: String,
    retained: bool,
}

/// A subscriber that keeps the retain flag of each message (the harness's does not).
struct Watcher {
    _client: Client,
    messages: Arc<Mutex<Vec<Message>>>,
}

impl Watcher {
    fn connect(port: u16, filter: &str) -> Watcher {
        let options = MqttOptions::new(format!("hass-watch-{}", free_port()), "127.0.0.1", port);
        let (client, mut connection) = Client::new(options, 100);
        client.subscribe(filter, QoS::AtLeastOnce).unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let (sink, subscribed) = (messages.clone(), Arc::new(Mutex::new(false)));
        let flag = subscribed.clone();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => *flag.lock().unwrap() = true,
                    Ok(Event::Incoming(Packet::Publish(p))) => sink.lock().unwrap().push(Message {
                        topic: p.topic.clone(),
                        payload: String::from_utf8_lossy(&p.payload).into_owned(),
                        retained: p.retain,
                    }),
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        wait_until(
            "the watcher's subscription",
            Duration::from_secs(10),
            || subscribed.lock().unwrap().then_some(()),
        );
        Watcher {
            _client: client,
            messages,
        }
    }

    fn all(&self) -> Vec<Message> {
        self.messages.lock().unwrap().clone()
    }

    /// The first message on `topic` that `wanted` accepts.
    fn wait(&self, topic: &str, wanted: impl Fn(&Message) -> bool) -> Message {
        wait_until(&format!("a message on {topic}"), patience(), || {
            self.all()
                .into_iter()
                .find(|m| m.topic == topic && wanted(m))
        })
    }
}

fn start(broker: &Broker) -> Daemon {
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = HASS_ON.into();
    Daemon::start(&cfg)
}

fn schema() -> jsonschema::Validator {
    let text = include_str!("fixtures/hass-sensor.schema.json");
    let schema: Value = serde_json::from_str(text).unwrap();
    jsonschema::draft202012::new(&schema).expect("a valid JSON schema")
}

/// The discovery config topic of a series: `<object_id>` of `[a-zA-Z0-9_-]` only.
fn config_topics(watcher: &Watcher) -> Vec<(String, Value)> {
    watcher
        .all()
        .into_iter()
        .filter(|m| m.topic.starts_with("homeassistant/sensor/") && m.topic.ends_with("/config"))
        .map(|m| {
            (
                m.topic,
                serde_json::from_str(&m.payload).expect("a JSON config"),
            )
        })
        .collect()
}

#[test]
fn a_reading_is_announced_with_a_schema_valid_config_and_its_state_is_published() {
    let broker = Broker::start();
    let daemon = start(&broker);
    let live = Watcher::connect(broker.port, "#");
    let publisher = Publisher::connect(broker.port);
    publisher.publish(
        "acs/dev1/telemetry",
        r#"{"temperature": 21.5, "humidity": 40.2, "soil.ph": 6.5}"#,
    );
    publisher.wait_acked(1);
    for metric in ["temperature", "humidity", "soil.ph"] {
        live.wait(&format!("acs-edge/test-gw/dev1/{metric}"), |_| true);
    }
    // Subscribing afterwards: what Home Assistant finds after a restart is retained.
    let watcher = Watcher::connect(broker.port, "#");
    let configs = wait_until("3 retained sensor configs", patience(), || {
        let configs = config_topics(&watcher);
        (configs.len() >= 3).then_some(configs)
    });
    assert!(
        watcher.all().iter().all(|m| m.retained),
        "{:?}",
        watcher.all()
    );
    let validator = schema();
    let mut by_metric = std::collections::HashMap::new();
    for (topic, config) in &configs {
        let errors: Vec<String> = validator
            .iter_errors(config)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{topic}: {config}\n{errors:#?}");
        let object_id = topic
            .strip_prefix("homeassistant/sensor/")
            .and_then(|t| t.strip_suffix("/config"))
            .unwrap();
        assert!(
            object_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "{topic}"
        );
        assert_eq!(config["unique_id"], object_id, "{topic}");
        assert_eq!(config["availability_topic"], STATUS);
        assert_eq!(config["device"]["identifiers"][0], "acs-edge.test-gw.dev1");
        assert_eq!(config["device"]["via_device"], "acs-edge.test-gw");
        by_metric.insert(config["name"].as_str().unwrap().to_owned(), config.clone());
    }
    let temperature = &by_metric["temperature"];
    assert_eq!(temperature["device_class"], "temperature");
    assert_eq!(temperature["unit_of_measurement"], "°C");
    assert_eq!(temperature["state_class"], "measurement");
    assert_eq!(by_metric["humidity"]["device_class"], "humidity");
    assert_eq!(by_metric["humidity"]["unit_of_measurement"], "%");
    let unknown = &by_metric["soil.ph"];
    assert!(unknown.get("device_class").is_none(), "{unknown}");
    assert_eq!(unknown["state_class"], "measurement");
    // The retained states and status.
    let state = watcher.wait("acs-edge/test-gw/dev1/temperature", |m| m.retained);
    assert_eq!(state.payload, "21.5");
    assert_eq!(
        temperature["state_topic"],
        "acs-edge/test-gw/dev1/temperature"
    );
    assert_eq!(watcher.wait(STATUS, |_| true).payload, "online");
    let gateway = watcher.wait("homeassistant/binary_sensor/test-gw_status/config", |_| {
        true
    });
    let gateway: Value = serde_json::from_str(&gateway.payload).unwrap();
    assert_eq!(gateway["device"]["identifiers"][0], "acs-edge.test-gw");
    // A new reading goes to the state topic as it is committed.
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 22.25}"#);
    watcher.wait("acs-edge/test-gw/dev1/temperature", |m| {
        m.payload == "22.25"
    });
    let hass = &daemon.health()["hass"];
    assert_eq!(hass["enabled"], true, "{hass}");
    assert_eq!(hass["connected"], true, "{hass}");
    assert_eq!(hass["series"], 3, "{hass}");
    assert!(hass["configs_published"].as_u64().unwrap() >= 4, "{hass}");
    assert!(hass["states_published"].as_u64().unwrap() >= 4, "{hass}");
    assert_eq!(hass["states_dropped"], 0, "{hass}");
}

#[test]
fn the_status_is_online_while_running_and_the_will_says_offline_after_sigkill() {
    let broker = Broker::start();
    let mut daemon = start(&broker);
    let watcher = Watcher::connect(broker.port, STATUS);
    watcher.wait(STATUS, |m| m.payload == "online");
    let later = Watcher::connect(broker.port, STATUS);
    let online = later.wait(STATUS, |_| true);
    assert_eq!((online.payload.as_str(), online.retained), ("online", true));
    daemon.kill9();
    watcher.wait(STATUS, |m| m.payload == "offline");
    // The will is retained too: a client that comes later sees it.
    let late = Watcher::connect(broker.port, STATUS);
    let seen = late.wait(STATUS, |_| true);
    assert_eq!((seen.payload.as_str(), seen.retained), ("offline", true));
}

#[test]
fn the_status_says_offline_after_a_clean_stop() {
    let broker = Broker::start();
    let mut daemon = start(&broker);
    let watcher = Watcher::connect(broker.port, STATUS);
    watcher.wait(STATUS, |m| m.payload == "online");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    watcher.wait(STATUS, |m| m.payload == "offline");
}

#[test]
fn home_assistants_birth_message_makes_every_config_go_out_again() {
    let broker = Broker::start();
    let daemon = start(&broker);
    let publisher = Publisher::connect(broker.port);
    publisher.publish("acs/dev2/telemetry", r#"{"co2": 612}"#);
    publisher.wait_acked(1);
    let topic = "homeassistant/sensor/test-gw_dev2_co2/config";
    let watcher = Watcher::connect(broker.port, "homeassistant/#");
    watcher.wait(topic, |_| true);
    let before = daemon.health()["hass"]["configs_published"]
        .as_u64()
        .unwrap();
    let seen = watcher.all().iter().filter(|m| m.topic == topic).count();
    let ha = Publisher::connect(broker.port);
    ha.client
        .publish("homeassistant/status", QoS::AtLeastOnce, false, "online")
        .unwrap();
    let again = wait_until("the config again", patience(), || {
        let on_topic: Vec<Message> = watcher
            .all()
            .into_iter()
            .filter(|m| m.topic == topic)
            .collect();
        on_topic.get(seen).cloned()
    });
    assert!(!again.retained, "published anew, not the retained copy");
    let config: Value = serde_json::from_str(&again.payload).unwrap();
    assert_eq!(config["device_class"], "carbon_dioxide");
    assert_eq!(config["unit_of_measurement"], "ppm");
    wait_until(
        "the gateway's config and the sensor's, again",
        patience(),
        || {
            let now = daemon.health()["hass"]["configs_published"]
                .as_u64()
                .unwrap();
            (now >= before + 2).then_some(())
        },
    );
}

#[test]
fn a_base_topic_an_ingest_filter_matches_is_refused() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("acs-edge");
    let mut cfg = DaemonConfig::new(broker.port);
    // acs/test-gw/status is the ingest topic of a device named test-gw.
    cfg.extra = format!("{HASS_ON}\toption base_topic 'acs'\n");
    write_config(&config, dir.path(), free_port(), &cfg);
    for args in [&["check-config"][..], &["--config"][..]] {
        let out = command()
            .args(args)
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail: {stderr}");
        assert!(
            stderr.contains("option 'base_topic' in section 'hass'")
                && stderr.contains("acs/+/status"),
            "{args:?}: {stderr}"
        );
    }
}
