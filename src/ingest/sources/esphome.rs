//! ESPHome's MQTT component: `<node>/sensor/<name>/state` and
//! `<node>/binary_sensor/<name>/state` carry one value as text, `<node>/status` the node's
//! birth and will messages.
//!
//! `living_room/sensor/temperature/state` with `21.50` yields the reading temperature 21.5 of
//! device `living_room`; a binary sensor's `ON`/`OFF` becomes 1/0; `online`/`offline` on
//! `<node>/status` is the device's status. `nan` (a sensor without a value yet) and text
//! sensors carry no readings. ESPHome sends no time, so readings take the receive time. The
//! device is everything before `<type>/<name>/state` (the node's `topic_prefix`, which may
//! contain `/`).

use super::{push_value, readings, Decoded, Malformed, Message};

pub(super) fn decode(message: &Message) -> Result<Decoded, (Malformed, String)> {
    let levels = &message.levels;
    let (node, kind, name) = match levels.as_slice() {
        [node @ .., "status"] if !node.is_empty() => return message.status(&node.join("/")),
        [node @ .., kind @ ("sensor" | "binary_sensor"), name, "state"] if !node.is_empty() => {
            (node.join("/"), *kind, *name)
        }
        _ => return Ok(Decoded::Nothing),
    };
    let device = message.device(&node)?;
    let text = std::str::from_utf8(message.payload)
        .map_err(|_| (Malformed::Json, "state is not UTF-8".to_owned()))?
        .trim();
    let value = match kind {
        "binary_sensor" if text.eq_ignore_ascii_case("on") => 1.0,
        "binary_sensor" if text.eq_ignore_ascii_case("off") => 0.0,
        "binary_sensor" => {
            return Err((
                Malformed::Json,
                format!("binary sensor state {text:?} is not ON or OFF"),
            ))
        }
        _ if text.eq_ignore_ascii_case("nan") => return Ok(Decoded::Nothing),
        _ => match text.parse::<f64>() {
            Ok(n) if n.is_finite() => n,
            _ => {
                return Err((
                    Malformed::Json,
                    format!("sensor state {text:?} is not a number"),
                ))
            }
        },
    };
    let mut out = Vec::new();
    push_value(&mut out, &device, name, Some(value), message.now_ms);
    Ok(readings(out))
}
