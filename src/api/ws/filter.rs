//! What a WebSocket client asked to see, and the JSON it is sent.
//!
//! Client messages (text frames, JSON):
//! `{"subscribe": {"devices": ["dev1"], "metrics": ["temperature"]}}` replaces the filter; an
//! empty or missing list means "all". Until a client subscribes it gets everything. The device
//! list applies to every event about a device; the metric list to `telemetry.live`;
//! `upstream.status` (about no device) goes to every client. The server answers
//! `{"event": "subscribed", "data": {"devices": [...], "metrics": [...]}}`, or
//! `{"event": "error", "data": {"code": "bad_request", "message": ...}}` for a message it does not
//! understand (the connection stays open).

use crate::bus::LiveEvent;
use crate::model::validate_name;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Most devices and metrics one filter may name.
pub const MAX_FILTER_NAMES: usize = 64;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Filter {
    devices: HashSet<String>,
    metrics: HashSet<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientMessage {
    subscribe: Subscribe,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    #[serde(default)]
    devices: Vec<String>,
    #[serde(default)]
    metrics: Vec<String>,
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    event: &'a str,
    data: T,
}

#[derive(Serialize)]
struct ErrorData<'a> {
    code: &'a str,
    message: &'a str,
}

/// Serializes an envelope; the shapes are plain data, so this cannot fail in practice.
pub fn envelope<T: Serialize>(event: &str, data: T) -> String {
    serde_json::to_string(&Envelope { event, data }).unwrap_or_default()
}

impl Filter {
    /// Applies a client message; returns the reply to send.
    pub fn apply(&mut self, text: &str) -> String {
        match parse(text) {
            Ok(subscribe) => {
                self.devices = subscribe.devices.iter().cloned().collect();
                self.metrics = subscribe.metrics.iter().cloned().collect();
                envelope("subscribed", subscribe)
            }
            Err(message) => envelope(
                "error",
                ErrorData {
                    code: "bad_request",
                    message: shorten(&message),
                },
            ),
        }
    }

    fn device(&self, device: &str) -> bool {
        self.devices.is_empty() || self.devices.contains(device)
    }

    fn metric(&self, metric: &str) -> bool {
        self.metrics.is_empty() || self.metrics.contains(metric)
    }

    /// The messages `event` becomes for this client, at most `room` of them; returns how
    /// many more there would have been.
    pub fn render(&self, event: &LiveEvent, room: usize, out: &mut Vec<String>) -> usize {
        let mut skipped = 0;
        let mut push = |text: String| {
            if out.len() < room {
                out.push(text);
            } else {
                skipped += 1;
            }
        };
        match event {
            LiveEvent::Readings(readings) => {
                for r in readings.iter() {
                    if self.device(&r.device) && self.metric(&r.metric) {
                        push(envelope("telemetry.live", r));
                    }
                }
            }
            LiveEvent::Status(change) => {
                if self.device(&change.device) {
                    push(envelope("device.status", &**change));
                }
            }
            LiveEvent::Trigger(fired) => {
                if self.device(&fired.device) {
                    push(envelope("automation.trigger", &**fired));
                }
            }
            LiveEvent::Upstream(status) => {
                push(format!(r#"{{"event":"upstream.status","data":{status}}}"#));
            }
            #[cfg(feature = "influxdb")]
            LiveEvent::Influxdb(status) => {
                push(format!(r#"{{"event":"influxdb.status","data":{status}}}"#));
            }
        }
        skipped
    }
}

/// Longest error message sent back: parse errors quote the client's text (escaped, up to six
/// bytes per byte), and a reply must not be an amplified copy of what the client sent.
const MAX_ERROR_CHARS: usize = 200;

fn shorten(message: &str) -> &str {
    match message.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => &message[..end],
        None => message,
    }
}

fn parse(text: &str) -> Result<Subscribe, String> {
    let message: ClientMessage = serde_json::from_str(text).map_err(|e| {
        format!("expected {{\"subscribe\": {{\"devices\": [...], \"metrics\": [...]}}}}: {e}")
    })?;
    let s = message.subscribe;
    for (what, names) in [("devices", &s.devices), ("metrics", &s.metrics)] {
        if names.len() > MAX_FILTER_NAMES {
            return Err(format!("at most {MAX_FILTER_NAMES} {what} per filter"));
        }
        for name in names {
            validate_name(name).map_err(|e| format!("{what}: {name:?} {e}"))?;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reading;
    use std::sync::Arc;

    fn readings() -> LiveEvent {
        let r = |device: &str, metric: &str| Reading {
            device: device.into(),
            metric: metric.into(),
            ts_ms: 1767225600123,
            value: 21.5,
        };
        LiveEvent::Readings(Arc::new(vec![r("a", "t"), r("a", "h"), r("b", "t")]))
    }

    #[test]
    fn an_error_reply_quotes_little_of_the_message_whatever_its_length() {
        // Found by fuzzing (fuzz/fuzz_targets/ws_message.rs): serde's message quotes the
        // client's string with every control character escaped, six bytes for one.
        let text = format!("\"[{}\"", "e\u{7f}".repeat(1000));
        let mut f = Filter::default();
        let reply = f.apply(&text);
        assert!(reply.starts_with(r#"{"event":"error""#), "{reply}");
        assert!(reply.len() < 2048, "{} bytes", reply.len());
        assert_eq!(f, Filter::default());
    }

    #[test]
    fn a_subscription_narrows_telemetry_to_its_devices_and_metrics() {
        let mut f = Filter::default();
        let mut out = Vec::new();
        assert_eq!(f.render(&readings(), 100, &mut out), 0);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out[0],
            r#"{"event":"telemetry.live","data":{"device":"a","metric":"t","ts":1767225600123,"value":21.5}}"#
        );
        let reply = f.apply(r#"{"subscribe":{"devices":["a"],"metrics":["t"]}}"#);
        assert!(reply.starts_with(r#"{"event":"subscribed""#), "{reply}");
        out.clear();
        f.render(&readings(), 100, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn bad_client_messages_get_an_error_and_keep_the_filter() {
        let mut f = Filter::default();
        f.apply(r#"{"subscribe":{"devices":["a"]}}"#);
        let before = f.clone();
        for bad in [
            "nonsense",
            r#"{"subscribe":{"devices":["a/b"]}}"#,
            r#"{"subscribe":{},"extra":1}"#,
        ] {
            assert!(f.apply(bad).starts_with(r#"{"event":"error""#), "{bad}");
            assert_eq!(f, before);
        }
    }

    #[test]
    fn upstream_events_reach_every_filter_whole() {
        let mut f = Filter::default();
        f.apply(r#"{"subscribe":{"devices":["a"],"metrics":["t"]}}"#);
        let mut out = Vec::new();
        let event = LiveEvent::Upstream(r#"{"state":"connected"}"#.into());
        f.render(&event, 10, &mut out);
        assert_eq!(
            out,
            [r#"{"event":"upstream.status","data":{"state":"connected"}}"#]
        );
    }

    #[test]
    fn messages_beyond_the_room_are_counted_not_kept() {
        let f = Filter::default();
        let mut out = Vec::new();
        assert_eq!(f.render(&readings(), 2, &mut out), 1);
        assert_eq!(out.len(), 2);
    }
}
