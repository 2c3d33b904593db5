//! `GET /metrics`: the health report in Prometheus' text exposition format 0.0.4, behind the
//! same bearer token as the rest of the API.
//!
//! It is made from the very document `GET /api/v1/health` serves, read back and walked: one
//! collection of the parts' snapshots, every figure of health appears here (a field added to
//! health appears without a change), and the walk is less code than a writer per part (the
//! size budget). The rules, so that a name can be looked up in the health schema:
//! - a number at `a.b.c` is `acs_edge_a_b_c`; a counter gets `_total` (unless its field already
//!   ends so), a level is a gauge ([`GAUGES`]); `_s` fields become `_seconds` and epoch-ms
//!   fields ([`TIMESTAMPS_MS`]) `_timestamp_seconds` in seconds, the Prometheus base units;
//! - a boolean is a 0/1 gauge; a `state` string is `..._state{state="..."} 1`;
//! - an array of objects (LoRa gateways) gives one series per element, labelled by its strings;
//! - `status` is `acs_edge_healthy` (1 ok, 0 degraded), version and features are
//!   `acs_edge_build_info`; other strings and nulls (errors, not yet known) are left out.
//!
//! Invariant: the lines of one metric are contiguous, each after its `# HELP` and `# TYPE`.

use super::health::health;
use super::respond::{ApiError, JsonResponse};
use super::state::AppState;
use serde_json::Value;
use std::fmt::Write;

/// The exposition format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const PREFIX: &str = "acs_edge_";

/// Levels (the rest of the numbers count since start). An entry ending in `_` covers the fields
/// under it.
const GAUGES: &[&str] = &[
    "uptime_s",
    "store_rows",
    "store_sealed",
    "store_oldest_seq",
    "store_next_seq",
    "store_file_bytes",
    "store_used_bytes",
    "store_wal_bytes",
    "store_max_rows",
    "store_max_bytes",
    "store_devices",
    "store_metrics",
    "store_rollup_bytes",
    "upstream_backlog",
    "upstream_lag_s",
    "upstream_cursor",
    #[cfg(feature = "influxdb")]
    "influxdb_backlog",
    #[cfg(feature = "influxdb")]
    "influxdb_lag_s",
    #[cfg(feature = "influxdb")]
    "influxdb_cursor",
    "ingest_queue_depth",
    "api_connections_active",
    "lora_gateways_last_stat_",
    "ml_models_loaded",
    "hass_series",
    "bus_subscribers",
    "automation_rules",
    "ws_clients",
];

/// Fields holding epoch milliseconds (gauges).
const TIMESTAMPS_MS: &[&str] = &[
    "upstream_last_sync_ms",
    #[cfg(feature = "influxdb")]
    "influxdb_last_success_ts",
    "ingest_last_commit",
    "lora_gateways_last_seen",
    "lora_gateways_last_stat_received",
];

/// One line of the exposition: the metric, its labels (`a="x",b="y"`), the value.
struct Sample {
    name: String,
    /// The health field it comes from, for `# HELP`.
    field: String,
    labels: String,
    value: f64,
    gauge: bool,
}

#[inline(never)]
pub(super) fn metrics(state: &AppState) -> Result<JsonResponse, ApiError> {
    let report = health(state)?;
    let document: Value = serde_json::from_slice(report.body())
        .map_err(|e| ApiError::Internal(format!("metrics: health unreadable: {e}")))?;
    let mut samples = Vec::new();
    let mut build_labels = format!("version=\"{}\",features=\"", env!("CARGO_PKG_VERSION"));
    build_labels.push_str(&crate::BUILD_FEATURES.join(","));
    build_labels.push('"');
    samples.push(gauge("build_info", "version, features", build_labels, 1.0));
    let healthy = document["status"] == "ok";
    samples.push(gauge(
        "healthy",
        "status",
        String::new(),
        f64::from(u8::from(healthy)),
    ));
    walk(&document, "", "", &mut samples);
    let body = render(samples);
    Ok(JsonResponse::new(200, body.into_bytes()).with_header("Content-Type", CONTENT_TYPE))
}

fn gauge(name: &str, field: &str, labels: String, value: f64) -> Sample {
    Sample {
        name: name.into(),
        field: field.into(),
        labels,
        value,
        gauge: true,
    }
}

/// Adds the samples of `value`, found at `field` (dotted; `[]` after an array) with `labels`.
fn walk(value: &Value, field: &str, labels: &str, out: &mut Vec<Sample>) {
    match value {
        Value::Object(map) => walk_object(map, field, labels, out),
        Value::Array(items) => {
            for item in items.iter().filter_map(Value::as_object) {
                let mut item_labels = labels.to_owned();
                for (key, value) in item {
                    if let Value::String(s) = value {
                        item_labels = join_labels(&item_labels, key, s);
                    }
                }
                walk_object(item, &format!("{field}[]"), &item_labels, out);
            }
        }
        Value::Number(n) => out.push(number(field, labels, n.as_f64().unwrap_or(0.0))),
        Value::Bool(b) => out.push(gauge(
            &base_name(field),
            field,
            labels.into(),
            f64::from(u8::from(*b)),
        )),
        Value::String(_) | Value::Null => {}
    }
}

fn walk_object(
    map: &serde_json::Map<String, Value>,
    field: &str,
    labels: &str,
    out: &mut Vec<Sample>,
) {
    for (key, value) in map {
        let field = if field.is_empty() {
            key.clone()
        } else {
            format!("{field}.{key}")
        };
        match value {
            Value::String(s) if key == "state" => {
                let labels = join_labels(labels, "state", s);
                out.push(gauge(&base_name(&field), &field, labels, 1.0));
            }
            _ => walk(value, &field, labels, out),
        }
    }
}

/// The metric name of `field` before the type and unit rules (without the prefix).
fn base_name(field: &str) -> String {
    field.replace("[]", "").replace('.', "_")
}

/// The sample of a number at `field`, named and typed by the rules of the module doc.
fn number(field: &str, labels: &str, value: f64) -> Sample {
    let base = base_name(field);
    let gauge = GAUGES
        .iter()
        .any(|g| *g == base || (g.ends_with('_') && base.starts_with(g)));
    let (name, value, gauge) = if TIMESTAMPS_MS.contains(&base.as_str()) {
        let stem = base.strip_suffix("_ms").unwrap_or(&base);
        #[cfg(feature = "influxdb")]
        let stem = stem.strip_suffix("_ts").unwrap_or(stem);
        (format!("{stem}_timestamp_seconds"), value / 1000.0, true)
    } else if gauge {
        match base.strip_suffix("_s") {
            Some(stem) => (format!("{stem}_seconds"), value, true),
            None => (base, value, true),
        }
    } else if base.ends_with("_total") {
        (base, value, false)
    } else {
        (base + "_total", value, false)
    };
    Sample {
        name,
        field: field.into(),
        labels: labels.into(),
        value,
        gauge,
    }
}

/// `labels` with `key="value"` added, the value escaped as the format requires.
fn join_labels(labels: &str, key: &str, value: &str) -> String {
    let mut out = String::with_capacity(labels.len() + key.len() + value.len() + 4);
    out.push_str(labels);
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(key);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The exposition text: the samples grouped by metric (stable, so series keep their order).
fn render(mut samples: Vec<Sample>) -> String {
    samples.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::with_capacity(samples.len() * 96);
    let mut previous = "";
    for sample in &samples {
        let name = &sample.name;
        if name != previous {
            let kind = if sample.gauge { "gauge" } else { "counter" };
            let _ = writeln!(
                out,
                "# HELP {PREFIX}{name} {} in GET /api/v1/health.",
                sample.field
            );
            let _ = writeln!(out, "# TYPE {PREFIX}{name} {kind}");
            previous = name;
        }
        let _ = if sample.labels.is_empty() {
            writeln!(out, "{PREFIX}{name} {}", sample.value)
        } else {
            writeln!(out, "{PREFIX}{name}{{{}}} {}", sample.labels, sample.value)
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exposition(document: Value) -> String {
        let mut samples = Vec::new();
        walk(&document, "", "", &mut samples);
        render(samples)
    }

    #[test]
    fn names_types_and_units_follow_the_health_fields() {
        let text = exposition(json!({
            "uptime_s": 7,
            "store": {"rows": 3, "evicted_total": 2},
            "upstream": {"state": "backoff", "last_sync_ms": 1500, "sent_total": 4, "last_error": "x"},
            "mqtt": {"connected": true, "messages": 9, "malformed": {"json": 1}},
            "ingest": {"last_commit": null},
        }));
        for line in [
            "# TYPE acs_edge_uptime_seconds gauge\nacs_edge_uptime_seconds 7\n",
            "# TYPE acs_edge_store_rows gauge\nacs_edge_store_rows 3\n",
            "# TYPE acs_edge_store_evicted_total counter\nacs_edge_store_evicted_total 2\n",
            "acs_edge_upstream_state{state=\"backoff\"} 1\n",
            "acs_edge_upstream_last_sync_timestamp_seconds 1.5\n",
            "acs_edge_upstream_sent_total 4\n",
            "# TYPE acs_edge_mqtt_connected gauge\nacs_edge_mqtt_connected 1\n",
            "# TYPE acs_edge_mqtt_messages_total counter\nacs_edge_mqtt_messages_total 9\n",
            "# HELP acs_edge_mqtt_malformed_json_total mqtt.malformed.json in GET /api/v1/health.\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        assert!(
            !text.contains("last_error") && !text.contains("last_commit"),
            "{text}"
        );
    }

    #[test]
    fn array_elements_are_labelled_series_of_one_group() {
        let text = exposition(json!({"lora": {"gateways": [
            {"eui": "aa", "datagrams": 1, "last_stat": {"rxnb": 5}},
            {"eui": "b\"\\\nb", "datagrams": 2, "last_stat": null},
        ]}}));
        let expected =
            "# HELP acs_edge_lora_gateways_datagrams_total lora.gateways[].datagrams in \
                        GET /api/v1/health.\n\
                        # TYPE acs_edge_lora_gateways_datagrams_total counter\n\
                        acs_edge_lora_gateways_datagrams_total{eui=\"aa\"} 1\n\
                        acs_edge_lora_gateways_datagrams_total{eui=\"b\\\"\\\\\\nb\"} 2\n";
        assert!(text.contains(expected), "{text}");
        assert!(
            text.contains("acs_edge_lora_gateways_last_stat_rxnb{eui=\"aa\"} 5\n"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE").count(), 2, "{text}");
    }
}
