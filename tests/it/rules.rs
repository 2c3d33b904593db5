//! Automation rules end to end: a real mosquitto, the real daemon, rules created over REST,
//! readings published over MQTT, action messages observed by a real MQTT subscriber.

use crate::common;

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

#[test]
fn action_topics_that_ingest_could_match_or_that_cannot_be_published_to_are_refused() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let rule = |topic: &str| {
        json!({"name": "r", "trigger": threshold("d", "t", ">", 1.0),
               "action": publish_to(topic)})
    };
    let id = create(&daemon, rule("alerts/{device}"))["id"].clone();
    let long = "a/".repeat(128) + "b";
    for (topic, needle) in [
        ("acs/{device}/telemetry", "\"acs/+/telemetry\""),
        ("acs/dev1/telemetry", "\"acs/+/telemetry\""),
        ("acs/{device}/frame", "\"acs/+/frame\""),
        ("acs/other/status", "\"acs/+/status\""),
        ("acs/{device}/{metric}", "\"acs/+/telemetry\""),
        ("acs/x{rule}/status", "\"acs/+/status\""),
        ("$SYS/broker/log", "'$'"),
        ("$share/g/alerts", "'$'"),
        ("/", "empty level"),
        ("a//b", "empty level"),
        ("/alerts", "empty level"),
        ("alerts/", "empty level"),
        ("a/+/b", "'+'"),
        ("a/#", "'#'"),
        ("a\u{1}b", "control"),
        (long.as_str(), "bytes"),
    ] {
        for (method, path) in [("POST", RULES.to_owned()), ("PUT", format!("{RULES}/{id}"))] {
            let (status, body) = daemon.send(method, &path, Some(&rule(topic)));
            assert_eq!(status, 422, "{method} {topic:?} -> {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(needle), "{topic:?}: {message}");
        }
    }
    // Beside the ingest filters is fine.
    for topic in [
        "acs/dev1/telemetry/alarm",
        "acs/dev1",
        "acs2/{device}/telemetry",
    ] {
        let (status, body) = daemon.send("PUT", &format!("{RULES}/{id}"), Some(&rule(topic)));
        assert_eq!(status, 200, "{topic}: {body}");
    }
    let (_, list) = daemon.send("GET", RULES, None);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

/// Rewrites the daemon's config with `mqtt.topic_prefix` set to `prefix`.
fn set_prefix(daemon: &Daemon, prefix: &str) {
    let text = std::fs::read_to_string(&daemon.config_path).unwrap();
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("topic_prefix"))
        .collect();
    let at = lines
        .iter()
        .position(|l| *l == "config mqtt 'mqtt'")
        .unwrap();
    let option = format!("\toption topic_prefix '{prefix}'");
    lines.insert(at + 1, &option);
    std::fs::write(&daemon.config_path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn stored_rules_that_a_new_ingest_prefix_would_loop_are_disabled_and_never_fire() {
    let (broker, mut daemon, _publisher, subscriber) = setup();
    let on_restart = create(
        &daemon,
        json!({"name": "loops under home", "trigger": threshold("dev1", "t", ">", 30.0),
               "action": publish_to("home/{device}/telemetry")}),
    );
    let on_reload = create(
        &daemon,
        json!({"name": "loops under site", "trigger": threshold("dev1", "t", ">", 30.0),
               "action": publish_to("site/x/status")}),
    );
    let rule_path = |rule: &Value| format!("{RULES}/{}", rule["id"]);

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    set_prefix(&daemon, "home");
    daemon.spawn();
    let (_, got) = daemon.send("GET", &rule_path(&on_restart), None);
    assert_eq!(got["enabled"], false, "{got}");
    assert_eq!(
        daemon.send("GET", &rule_path(&on_reload), None).1["enabled"],
        true
    );
    assert!(daemon.log().contains("\"home/+/telemetry\""));

    set_prefix(&daemon, "site");
    daemon.signal("HUP");
    wait_until("the reload to disable the rule", patience(), || {
        let (_, got) = daemon.send("GET", &rule_path(&on_reload), None);
        (got["enabled"] == false).then_some(())
    });
    daemon.wait_subscribed();

    // Neither fires now, under either prefix; re-enabling is refused with the reason.
    create(
        &daemon,
        json!({"name": "sentinel", "trigger": threshold("dev1", "sentinel", ">", 0.0),
               "action": publish_to("done/{device}")}),
    );
    let publisher = Publisher::connect(broker.port);
    publisher.publish("site/dev1/telemetry", r#"{"t": 31}"#);
    publisher.publish("site/dev1/telemetry", r#"{"sentinel": 1}"#);
    let messages = subscriber.wait_for("done/dev1");
    assert!(
        !messages
            .iter()
            .any(|(t, _)| t == "site/x/status" || t == "home/dev1/telemetry"),
        "{messages:?}"
    );
    assert_eq!(daemon.health()["automation"]["firings"], 1);
    let mut enable = on_reload.clone();
    for key in [
        "id",
        "fire_count",
        "last_fired",
        "created",
        "updated",
        "rate_limited",
    ] {
        enable.as_object_mut().unwrap().remove(key);
    }
    enable["enabled"] = json!(true);
    let (status, body) = daemon.send("PUT", &rule_path(&on_reload), Some(&enable));
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("\"site/+/status\""));
}

#[test]
fn a_rule_fires_at_most_60_times_a_minute_and_the_skipped_firings_are_counted() {
    let (_broker, daemon, publisher, subscriber) = setup();
    let rule = create(
        &daemon,
        json!({"name": "flappy", "trigger": threshold("d", "t", ">", 30.0),
               "action": publish_to("out/{device}")}),
    );
    sentinel_rule(&daemon, "d");
    // 75 crossings in one message: the engine sees them at once.
    let t0 = 1_767_225_600_000_i64;
    let burst: Vec<Value> = (0..150)
        .map(|i| json!({"ts": t0 + i, "t": if i % 2 == 0 { 29.0 } else { 31.0 }}))
        .collect();
    publisher.publish("acs/d/telemetry", Value::from(burst).to_string());
    publisher.publish("acs/d/telemetry", r#"{"sentinel": 1}"#);
    let messages = subscriber.wait_for("done/d");
    assert_eq!(values_on(&messages, "out/d").len(), 60);

    let health = daemon.health();
    assert_eq!(health["automation"]["rate_limited"], 15, "{health}");
    assert_eq!(health["automation"]["firings"], 61);
    let (_, got) = daemon.send("GET", &format!("{RULES}/{}", rule["id"]), None);
    assert_eq!(got["fire_count"], 60);
    assert_eq!(got["rate_limited"], 15);
    assert!(daemon.log().contains("over 60 firings a minute"));
}
