//! zigbee2mqtt: `zigbee2mqtt/<friendly_name>` carries a device's state as one JSON object.
//!
//! `{"temperature": 27.34, "humidity": 44.72, "battery": 97, "occupancy": true, "state": "ON",
//! "update": {"state": "idle"}, "action": "single"}` yields the readings temperature 27.34,
//! humidity 44.72, battery 97, occupancy 1 and state 1: numbers as they are, booleans and
//! ON/OFF as 1/0; objects (`update`, `color`) and other text are skipped. The friendly name,
//! which may contain `/` and spaces, becomes the device id (`kitchen/floor light` ->
//! `kitchen_floor_light`). `<name>/availability` (`online`/`offline`, or `{"state":"online"}`)
//! is the device's status; `bridge/...` and the `set`/`get` command topics carry no readings.
//! zigbee2mqtt sends no time, so readings take the receive time.

use super::{push, readings, Decoded, Malformed, Message};
use serde_json::Value;

pub(super) fn decode(message: &Message) -> Result<Decoded, (Malformed, String)> {
    let name = message
        .levels
        .get(message.first_wildcard..)
        .unwrap_or_default();
    match name {
        [] | ["bridge", ..] => return Ok(Decoded::Nothing),
        [.., "set" | "get"] => return Ok(Decoded::Nothing),
        [device @ .., "availability"] if !device.is_empty() => {
            return availability(message, &device.join("/"));
        }
        _ => {}
    }
    let device = message.device(&name.join("/"))?;
    let Value::Object(fields) = message.json()? else {
        return Err((Malformed::Json, "expected a JSON object".into()));
    };
    let mut out = Vec::new();
    for (metric, value) in &fields {
        push(&mut out, &device, metric, value, message.now_ms);
    }
    Ok(readings(out))
}

/// zigbee2mqtt 1.x sends a bare word, 2.x `{"state":"online"}`.
fn availability(message: &Message, device: &str) -> Result<Decoded, (Malformed, String)> {
    if message.payload.first() != Some(&b'{') {
        return message.status(device);
    }
    let state = match message.json()? {
        Value::Object(fields) => fields
            .get("state")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    let online = super::super::topic::parse_status(state.unwrap_or_default().as_bytes())
        .map_err(|e| (Malformed::Status, e))?;
    Ok(Decoded::Status(message.device(device)?, online))
}
