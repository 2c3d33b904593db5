//! Shelly Gen2/Gen3: `<shelly-id>/events/rpc` carries RPC notifications.
//!
//! `NotifyStatus` and `NotifyFullStatus` hold component statuses keyed `type:id`:
//! `{"method": "NotifyStatus", "params": {"ts": 1631266595.43, "switch:0": {"id": 0, "output":
//! true, "apower": 8.9, "voltage": 237.5, "current": 0.068, "aenergy": {"total": 6.532}}}}`
//! yields switch:0.output 1, switch:0.apower 8.9, switch:0.voltage 237.5, switch:0.current
//! 0.068 and switch:0.aenergy.total 6.532 (Shelly's own names: component key, then the field's
//! path). Read are switch and pm1 (output, apower, voltage, current, aenergy.total),
//! temperature (tC), humidity (rh) and devicepower (battery.percent, battery.V); other
//! components (wifi, cloud, sys) and other methods (`NotifyEvent`) carry no readings.
//! `params.ts` (UTC epoch seconds) is the readings' time. The device is the topic level the
//! filter's first wildcard matched (the Shelly id in the default `+/events/rpc`).

use super::{push, readings, Decoded, Malformed, Message};
use serde_json::Value;

/// Fields read per component type, as paths below the component's status object.
const FIELDS: &[(&str, &[&str])] = &[
    (
        "switch",
        &["output", "apower", "voltage", "current", "aenergy.total"],
    ),
    ("pm1", &["apower", "voltage", "current", "aenergy.total"]),
    ("temperature", &["tC"]),
    ("humidity", &["rh"]),
    ("devicepower", &["battery.percent", "battery.V"]),
];

pub(super) fn decode(message: &Message) -> Result<Decoded, (Malformed, String)> {
    let raw_device = message
        .levels
        .get(message.first_wildcard)
        .copied()
        .unwrap_or_default();
    let device = message.device(raw_device)?;
    let rpc = message.json()?;
    let Some(method) = rpc.get("method").and_then(Value::as_str) else {
        return Err((
            Malformed::Json,
            "expected an RPC notification with a method".into(),
        ));
    };
    if method != "NotifyStatus" && method != "NotifyFullStatus" {
        return Ok(Decoded::Nothing);
    }
    let Some(Value::Object(params)) = rpc.get("params") else {
        return Err((Malformed::Json, format!("{method} without params")));
    };
    let ts = match params.get("ts").and_then(Value::as_f64) {
        Some(secs) if secs.is_finite() && secs > 0.0 => (secs * 1000.0).round() as i64,
        _ => message.now_ms,
    };
    let mut out = Vec::new();
    for (component, status) in params {
        let kind = component.split(':').next().unwrap_or_default();
        let Some((_, fields)) = FIELDS.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        for path in *fields {
            let value = path
                .split('.')
                .try_fold(status, |v, key| v.get(key))
                .unwrap_or(&Value::Null);
            push(&mut out, &device, &format!("{component}.{path}"), value, ts);
        }
    }
    Ok(readings(out))
}
