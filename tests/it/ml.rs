//! Local inference end to end (`ml` feature): the shipped model loaded by tract agrees with
//! the training script's own scores; a replayed temperature stream with injected anomalies,
//! published to a real mosquitto, yields anomaly readings above the threshold over REST and
//! fires a rule; a broken model is refused alone.

use crate::common;

use acs_edge::ml::{LoadedModel, MlError};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const WINDOW: usize = 16;
const THRESHOLD: f64 = 2.0;

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn shipped_model() -> PathBuf {
    models_dir().join("temperature-ae.onnx")
}

/// (value, injected anomaly kind) of each row of the replay stream.
fn replay_stream() -> Vec<(f64, u8)> {
    let text = std::fs::read_to_string(models_dir().join("temperature-replay.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[1].parse().unwrap(), fields[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn the_shipped_model_gives_the_scores_of_the_training_script() {
    let model = LoadedModel::load(&shipped_model(), WINDOW).unwrap();
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(models_dir().join("temperature-ae.reference.json")).unwrap(),
    )
    .unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() > 10);
    for case in cases {
        let input: Vec<f32> = case["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let expected = case["score"].as_f64().unwrap();
        let got = f64::from(model.score(&input).unwrap());
        // float32 inference against the script's float64: relative error, plus a floor for
        // scores near zero.
        assert!(
            (got - expected).abs() <= 1e-3 * expected.abs() + 1e-4,
            "input {input:?}: tract {got}, script {expected}"
        );
    }
}

#[test]
fn a_model_whose_input_does_not_fit_the_window_is_refused_with_the_reason() {
    let err = LoadedModel::load(&shipped_model(), 2 * WINDOW).unwrap_err();
    assert!(matches!(err, MlError::Mismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("[1, 32]"), "{message}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.onnx");
    std::fs::write(&broken, b"not a protobuf message at all").unwrap();
    let err = LoadedModel::load(&broken, WINDOW).unwrap_err();
    assert!(matches!(err, MlError::Load { .. }), "{err:?}");
}

fn model_section(name: &str, path: &Path, output: &str) -> String {
    format!(
        "config model '{name}'\n\toption path '{}'\n\toption device 'room1'\n\
         \tlist metrics 'temperature'\n\toption window '{WINDOW}'\n\toption hop '1'\n\
         \toption output '{output}'\n\toption threshold '{THRESHOLD}'\n\n",
        path.display()
    )
}

#[test]
fn injected_anomalies_in_a_replayed_stream_become_anomaly_readings_and_fire_a_rule() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    let missing = Path::new("/nonexistent/model.onnx");
    cfg.extra = model_section("broken", missing, "temperature.broken")
        + &model_section(
            "temperature_anomaly",
            &shipped_model(),
            "temperature.anomaly",
        );
    let daemon = Daemon::start(&cfg);
    let subscriber = Subscriber::connect(broker.port, "alerts/#");
    let publisher = Publisher::connect(broker.port);

    let (status, rule) = daemon.send(
        "POST",
        "/api/v1/automation/rules",
        Some(&json!({
            "name": "temperature anomaly",
            "trigger": {"kind": "threshold", "device": "room1",
                        "metric": "temperature.anomaly", "op": ">=", "value": THRESHOLD},
            "action": {"kind": "mqtt_publish", "topic": "alerts/{device}/anomaly",
                       "payload": "{\"value\":{value},\"ts\":{ts}}"},
            "cooldown_s": 0
        })),
    );
    assert_eq!(status, 201, "{rule}");

    let stream = replay_stream();
    let start = acs_edge::model::now_ms() - stream.len() as i64 * 60_000;
    let ts = |i: usize| start + i as i64 * 60_000;
    for (i, (value, _)) in stream.iter().enumerate() {
        let body = json!({"ts": ts(i), "temperature": value});
        publisher.publish("acs/room1/telemetry", body.to_string());
    }
    publisher.wait_acked(stream.len() as u64);

    // Every reading reaches the store, and the last window has been scored once the last
    // anomaly event's windows have passed.
    wait_until("all temperature readings stored", patience(), || {
        let n = daemon
            .all_readings("room1")
            .iter()
            .filter(|r| r["metric"] == "temperature")
            .count();
        (n == stream.len()).then_some(())
    });
    let last_anomalous = stream.iter().rposition(|(_, k)| *k != 0).unwrap();
    let anomalies = wait_until("the last anomaly scored", patience(), || {
        let got: Vec<(i64, f64)> = daemon
            .all_readings("room1")
            .iter()
            .filter(|r| r["metric"] == "temperature.anomaly")
            .map(|r| (r["ts"].as_i64().unwrap(), r["value"].as_f64().unwrap()))
            .collect();
        got.iter()
            .any(|(t, _)| *t >= ts(last_anomalous))
            .then_some(got)
    });

    // Each injected event is flagged by a window that contains it; every flagged window
    // contains an injected anomaly (no false alarm on this stream); all are above threshold.
    let event_starts: Vec<usize> = (0..stream.len())
        .filter(|&i| stream[i].1 != 0 && (i == 0 || stream[i - 1].1 == 0))
        .collect();
    assert_eq!(event_starts.len(), 5);
    for &s in &event_starts {
        assert!(
            anomalies
                .iter()
                .any(|(t, _)| *t >= ts(s) && *t < ts(s + WINDOW)),
            "the anomaly starting at row {s} was not flagged: {anomalies:?}"
        );
    }
    for (t, value) in &anomalies {
        assert!(*value >= THRESHOLD, "{value} below the threshold");
        let row = ((t - start) / 60_000) as usize;
        let window = row + 1 - WINDOW..=row;
        assert!(
            window.clone().any(|i| stream[i].1 != 0),
            "a score of {value} at row {row}, whose window holds no injected anomaly"
        );
    }

    // The rule fired on a derived reading, with its value.
    let messages = subscriber.wait_for("alerts/room1/anomaly");
    let fired: Value = serde_json::from_str(&messages[0].1).unwrap();
    assert!(fired["value"].as_f64().unwrap() >= THRESHOLD, "{fired}");

    // The broken model was refused alone, with the reason in the log.
    let log = daemon.log();
    assert!(
        log.contains("model=broken") && log.contains("cannot load model"),
        "{log}"
    );
    assert!(daemon
        .all_readings("room1")
        .iter()
        .all(|r| r["metric"] != "temperature.broken"));
    let health = daemon.health();
    assert!(
        health["features"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("ml"))),
        "{}",
        health["features"]
    );
    let ml = &health["ml"];
    assert_eq!(ml["models_loaded"], 1, "{ml}");
    assert_eq!(ml["load_errors"], 1, "{ml}");
    assert_eq!(ml["inference_errors"], 0, "{ml}");
    assert!(
        ml["inferences"].as_u64().unwrap() > anomalies.len() as u64,
        "{ml}"
    );
    assert!(
        ml["outputs"].as_u64().unwrap() >= anomalies.len() as u64,
        "{ml}"
    );
}
