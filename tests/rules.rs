//! Automation rules end to end: a real mosquitto, the real daemon, rules created over REST,
//! readings published over MQTT, action messages observed by a real MQTT subscriber.

mod common;

use common::*;
use serde_json::{json, Value};

const RULES: &str = "/api/v1/automation/rules";

fn threshold(device: &str, metric: &str, op: &str, value: f64) -> Value {
    json!({"kind": "threshold", "device": device, "metric": metric, "op": op, "value": value})
}

fn publish_to(topic: &str) -> Value {
    json!({"kind": "mqtt_publish", "topic": topic,
           "payload": "{\"rule\":{rule},\"device\":\"{device}\",\"value\":{value},\"ts\":{ts}}"})
}

fn create(daemon: &Daemon, rule: Value) -> Value {
    let (status, body) = daemon.send("POST", RULES, Some(&rule));
    assert_eq!(status, 201, "{body}");
    body
}

/// A rule on metric `sentinel` of `device` that publishes to `done/<device>`: once its message
/// arrives, every reading published before the sentinel has been evaluated (one engine thread,
/// commit order).
fn sentinel_rule(daemon: &Daemon, device: &str) {
    create(
        daemon,
        json!({"name": "sentinel", "trigger": threshold(device, "sentinel", ">", 0.0),
               "action": publish_to("done/{device}")}),
    );
}

fn values_on(messages: &[(String, String)], topic: &str) -> Vec<f64> {
    messages
        .iter()
        .filter(|(t, _)| t == topic)
        .map(|(_, p)| {
            serde_json::from_str::<Value>(p).unwrap()["value"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

fn setup() -> (Broker, Daemon, Publisher, Subscriber) {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let publisher = Publisher::connect(broker.port);
    let subscriber = Subscriber::connect(broker.port, "#");
    (broker, daemon, publisher, subscriber)
}

#[test]
fn a_rule_for_temperature_above_30_publishes_for_31_and_not_for_29() {
    let (_broker, daemon, publisher, subscriber) = setup();
    let rule = create(
        &daemon,
        json!({"name": "too hot", "trigger": threshold("dev1", "temperature", ">", 30.0),
               "action": publish_to("alerts/{device}/temperature"), "cooldown_s": 0}),
    );
    let id = rule["id"].as_i64().unwrap();
    assert_eq!(rule["enabled"], true);
    assert_eq!(rule["fire_count"], 0);
    assert_eq!(rule["last_fired"], Value::Null);
    sentinel_rule(&daemon, "dev1");

    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 29}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"sentinel": 1}"#);
    let messages = subscriber.wait_for("done/dev1");
    assert!(values_on(&messages, "alerts/dev1/temperature").is_empty());

    publisher.publish(
        "acs/dev1/telemetry",
        r#"{"ts": 1767225600123, "temperature": 31}"#,
    );
    let messages = subscriber.wait_for("alerts/dev1/temperature");
    let payloads: Vec<Value> = messages
        .iter()
        .filter(|(t, _)| t == "alerts/dev1/temperature")
        .map(|(_, p)| serde_json::from_str(p).unwrap())
        .collect();
    assert_eq!(
        payloads,
        [json!({"rule": id, "device": "dev1", "value": 31, "ts": 1767225600123_i64})]
    );

    let (status, got) = daemon.send("GET", &format!("{RULES}/{id}"), None);
    assert_eq!(status, 200);
    assert_eq!(got["fire_count"], 1);
    assert!(got["last_fired"].as_i64().unwrap() > 0);
    let health = daemon.health();
    assert_eq!(health["automation"]["firings"], 2, "{health}");
    assert_eq!(health["automation"]["action_failures"], 0);
}

#[test]
fn hysteresis_for_and_cooldown_limit_when_a_rule_fires() {
    let (_broker, daemon, publisher, subscriber) = setup();
    let mut hysteresis = threshold("d", "h", ">", 30.0);
    hysteresis["hysteresis"] = json!(2.0);
    create(
        &daemon,
        json!({"name": "h", "trigger": hysteresis, "action": publish_to("out/h")}),
    );
    create(
        &daemon,
        json!({"name": "c", "trigger": threshold("d", "c", ">", 30.0),
               "action": publish_to("out/c"), "cooldown_s": 3600}),
    );
    let mut held = threshold("d", "f", ">", 30.0);
    held["for_s"] = json!(10);
    create(
        &daemon,
        json!({"name": "f", "trigger": held, "action": publish_to("out/f")}),
    );
    sentinel_rule(&daemon, "d");

    for value in [31.0, 29.5, 31.0, 27.0, 32.0] {
        publisher.publish("acs/d/telemetry", json!({"h": value}).to_string());
    }
    for value in [31.0, 29.0, 33.0] {
        publisher.publish("acs/d/telemetry", json!({"c": value}).to_string());
    }
    let t0 = 1_767_225_600_000_i64;
    for (dt_s, value) in [
        (0, 31.0),
        (5, 31.0),
        (8, 29.0),
        (9, 31.0),
        (15, 31.0),
        (19, 34.0),
    ] {
        let body = json!({"ts": t0 + dt_s * 1000, "f": value});
        publisher.publish("acs/d/telemetry", body.to_string());
    }
    publisher.publish("acs/d/telemetry", r#"{"sentinel": 1}"#);
    let messages = subscriber.wait_for("done/d");
    assert_eq!(values_on(&messages, "out/h"), [31.0, 32.0], "hysteresis");
    assert_eq!(values_on(&messages, "out/c"), [31.0], "cooldown");
    assert_eq!(values_on(&messages, "out/f"), [34.0], "for_s");
}

#[test]
fn rules_and_their_firing_record_survive_a_restart() {
    let (_broker, mut daemon, publisher, subscriber) = setup();
    let rule = create(
        &daemon,
        json!({"name": "hot", "trigger": threshold("dev1", "temperature", ">", 30.0),
               "action": publish_to("alerts/{device}")}),
    );
    let id = rule["id"].as_i64().unwrap();
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 31}"#);
    subscriber.wait_for("alerts/dev1");

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    daemon.spawn();

    let (status, list) = daemon.send("GET", RULES, None);
    assert_eq!(status, 200);
    assert_eq!(list["next_cursor"], Value::Null);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[0]["name"], "hot");
    assert_eq!(items[0]["fire_count"], 1);

    // Still evaluated after the restart: a new crossing fires again.
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 20}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 35}"#);
    wait_until("the second firing", patience(), || {
        (values_on(&subscriber.messages(), "alerts/dev1") == [31.0, 35.0]).then_some(())
    });
    wait_until("the firing record", patience(), || {
        let (_, got) = daemon.send("GET", &format!("{RULES}/{id}"), None);
        (got["fire_count"] == 2).then_some(())
    });
}

#[test]
fn rules_can_be_replaced_disabled_and_deleted() {
    let (_broker, daemon, publisher, subscriber) = setup();
    let rule = create(
        &daemon,
        json!({"name": "hot", "trigger": threshold("dev1", "temperature", ">", 30.0),
               "action": publish_to("alerts/old")}),
    );
    let path = format!("{RULES}/{}", rule["id"]);
    let replacement = json!({"name": "hotter", "enabled": true,
        "trigger": threshold("dev1", "temperature", ">=", 40.0), "action": publish_to("alerts/new")});
    let (status, replaced) = daemon.send("PUT", &path, Some(&replacement));
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["name"], "hotter");
    assert_eq!(replaced["created"], rule["created"]);
    sentinel_rule(&daemon, "dev1");
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 35}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 40}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"sentinel": 1}"#);
    let messages = subscriber.wait_for("done/dev1");
    assert!(values_on(&messages, "alerts/old").is_empty());
    assert_eq!(values_on(&messages, "alerts/new"), [40.0]);

    let mut disabled = replacement.clone();
    disabled["enabled"] = json!(false);
    assert_eq!(daemon.send("PUT", &path, Some(&disabled)).0, 200);
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 10}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 45}"#);
    assert_eq!(daemon.send("DELETE", &path, None), (204, Value::Null));
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 10}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"temperature": 50}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"sentinel": 0}"#);
    publisher.publish("acs/dev1/telemetry", r#"{"sentinel": 2}"#);
    wait_until("the second sentinel", patience(), || {
        (values_on(&subscriber.messages(), "done/dev1").len() == 2).then_some(())
    });
    assert_eq!(values_on(&subscriber.messages(), "alerts/new"), [40.0]);
    assert_eq!(daemon.send("GET", &path, None).0, 404);
    assert_eq!(daemon.send("DELETE", &path, None).0, 404);
}

#[test]
fn malformed_or_unusable_rules_are_refused_with_the_reason() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let good = json!({"name": "r", "trigger": threshold("d", "t", ">", 1.0),
                      "action": publish_to("a/{device}")});
    let with = |pointer: &str, value: Value| {
        let mut rule = good.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        rule.pointer_mut(parent).unwrap()[key] = value;
        rule
    };
    let mut unknown = good.clone();
    unknown["colour"] = json!("red");
    let mut unknown_nested = good.clone();
    unknown_nested["action"]["bogus"] = json!(1);
    for (rule, status, needle) in [
        (unknown, 400, "colour"),
        (unknown_nested, 400, "bogus"),
        (with("/trigger/op", json!("=>")), 400, "=>"),
        (with("/trigger/kind", json!("sometimes")), 400, "sometimes"),
        (with("/action/topic", json!("a/#")), 422, "topic"),
        (with("/action/payload", json!("{temp}")), 422, "{temp}"),
        (with("/action/qos", json!(2)), 422, "qos"),
        (with("/trigger/device", json!("a/b")), 422, "trigger.device"),
        (with("/name", json!("")), 422, "name"),
    ] {
        let (got, body) = daemon.send("POST", RULES, Some(&rule));
        assert_eq!(got, status, "{rule} -> {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
    }
    assert_eq!(
        daemon.send("PUT", &format!("{RULES}/999"), Some(&good)).0,
        404
    );
    assert_eq!(daemon.send("GET", &format!("{RULES}/abc"), None).0, 404);
    assert_eq!(daemon.send("PATCH", RULES, Some(&good)).0, 405);
    assert_eq!(daemon.send("GET", RULES, None).1["items"], json!([]));
}

#[test]
fn an_offline_rule_fires_when_the_device_goes_offline() {
    let (_broker, daemon, publisher, subscriber) = setup();
    create(
        &daemon,
        json!({"name": "gone", "trigger": {"kind": "offline", "device": "dev9", "after_s": 1},
               "action": {"kind": "mqtt_publish", "topic": "alerts/{device}/offline",
                          "payload": "offline since {ts}", "qos": 1}}),
    );
    publisher.publish("acs/dev9/status", "online");
    publisher.publish("acs/dev9/status", "offline");
    let messages = subscriber.wait_for("alerts/dev9/offline");
    let (_, payload) = messages
        .iter()
        .find(|(t, _)| t == "alerts/dev9/offline")
        .unwrap();
    assert!(payload.starts_with("offline since "), "{payload}");
}
