//! Tasmota: `tele/<topic>/SENSOR`, `tele/<topic>/STATE` and `tele/<topic>/LWT`.
//!
//! SENSOR nests one object per sensor: `{"Time": "2019-01-01T00:00:00", "AM2301":
//! {"Temperature": 24.6, "Humidity": 58.2}, "TempUnit": "C"}` yields am2301_temperature 24.6
//! and am2301_humidity 58.2: the sensor's name and the field's, lowercased and joined by `_`
//! (two levels deep; text such as `TempUnit`, arrays and deeper objects are skipped). Values
//! are stored in the unit the device reports (`TempUnit`, `PressureUnit` say which).
//! STATE the same way: `{"UptimeSec": 19, "Vcc": 3.151, "POWER": "OFF", "Wifi": {"RSSI": 66}}`
//! yields uptimesec 19, vcc 3.151, power 0 and wifi_rssi 66. LWT (`Online`/`Offline`) is the
//! device's status.
//!
//! Time: Tasmota's `Time` is the device's local time without a zone unless `SetOption52 1`
//! adds the offset. A time with an offset (or `Z`) is used; one without is ignored and the
//! readings take the receive time, because guessing the zone would shift them by hours while
//! Tasmota publishes telemetry the moment it measures. The device is the topic level the
//! filter's first wildcard matched (`%topic%` in the default FullTopic).

use super::{push, readings, Decoded, Malformed, Message};
use crate::timestamp::parse_rfc3339;
use serde_json::Value;

pub(super) fn decode(message: &Message) -> Result<Decoded, (Malformed, String)> {
    let levels = &message.levels;
    let raw_device = levels
        .get(message.first_wildcard)
        .filter(|_| message.first_wildcard + 1 < levels.len())
        .copied()
        .unwrap_or_default();
    match levels.last().copied() {
        Some("LWT") => return message.status(raw_device),
        Some("SENSOR" | "STATE") => {}
        _ => return Ok(Decoded::Nothing),
    }
    let device = message.device(raw_device)?;
    let Value::Object(fields) = message.json()? else {
        return Err((Malformed::Json, "expected a JSON object".into()));
    };
    let ts = fields
        .get("Time")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .unwrap_or(message.now_ms);
    let mut out = Vec::new();
    for (name, value) in &fields {
        let name = name.to_ascii_lowercase();
        match value {
            Value::Object(inner) => {
                for (field, value) in inner {
                    let metric = format!("{name}_{}", field.to_ascii_lowercase());
                    push(&mut out, &device, &metric, value, ts);
                }
            }
            _ => push(&mut out, &device, &name, value, ts),
        }
    }
    Ok(readings(out))
}
