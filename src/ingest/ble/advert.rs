//! One received advertisement as the daemon keeps it, and its capture-file form: a JSON object
//! per line,
//!
//! ```json
//! {"time": 1767225600123, "mac": "A4:C1:38:8D:18:B2", "rssi": -67,
//!  "service_data": {"fcd2": "4002ca0903bf13"}, "manufacturer_data": {"0x0499": "0512fc..."}}
//! ```
//!
//! `time` is epoch milliseconds or RFC 3339 (absent: the receive time); `rssi` in dBm is
//! optional; keys of `service_data` are UUID16s and keys of `manufacturer_data` company ids,
//! both in hex; values are the payload in hex (for manufacturer data, the bytes after the
//! company id). At least one payload is required.

use super::{parse_id16, BleAddress};
use serde_json::Value;

/// Longest capture line accepted, in bytes.
pub const MAX_LINE_LEN: usize = 4096;

/// One payload of an advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    ServiceData { uuid: u16, data: Vec<u8> },
    ManufacturerData { company: u16, data: Vec<u8> },
}

/// A received advertisement: who sent it, how strong, when, and what it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub mac: BleAddress,
    pub rssi: Option<i16>,
    /// Epoch milliseconds; `None`: use the receive time.
    pub ts_ms: Option<i64>,
    pub payloads: Vec<Payload>,
}

impl Advert {
    /// Parses one capture line; the error says which field is wrong.
    pub fn from_json_line(line: &str) -> Result<Advert, String> {
        if line.len() > MAX_LINE_LEN {
            return Err(format!(
                "line of {} bytes exceeds {MAX_LINE_LEN}",
                line.len()
            ));
        }
        let doc: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let obj = doc.as_object().ok_or("not a JSON object")?;
        let mac = obj
            .get("mac")
            .and_then(Value::as_str)
            .ok_or("\"mac\" (a string) is missing")?
            .parse()?;
        let rssi = match obj.get("rssi") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .and_then(|r| i16::try_from(r).ok())
                    .filter(|r| (-127..=20).contains(r))
                    .ok_or_else(|| format!("\"rssi\" {v} is not a dBm value in -127..=20"))?,
            ),
        };
        let ts_ms = match obj.get("time") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .filter(|t| *t >= 0)
                    .ok_or_else(|| format!("\"time\" {n} is not epoch milliseconds"))?,
            ),
            Some(Value::String(s)) => Some(
                crate::timestamp::parse_ms_or_rfc3339(s)
                    .ok_or_else(|| format!("\"time\" {s:?} is not RFC 3339 or epoch ms"))?,
            ),
            Some(v) => return Err(format!("\"time\" {v} is not a timestamp")),
        };
        let mut payloads = Vec::new();
        for (field, service) in [("service_data", true), ("manufacturer_data", false)] {
            let Some(map) = obj.get(field) else { continue };
            let map = map
                .as_object()
                .ok_or_else(|| format!("\"{field}\" is not an object of hex strings"))?;
            for (key, hex) in map {
                let id = parse_id16(key).map_err(|e| format!("\"{field}\": {e}"))?;
                let data = hex
                    .as_str()
                    .ok_or_else(|| format!("\"{field}\".{key} is not a hex string"))
                    .and_then(|h| {
                        crate::hex::decode(h).map_err(|e| format!("\"{field}\".{key}: {e}"))
                    })?;
                payloads.push(if service {
                    Payload::ServiceData { uuid: id, data }
                } else {
                    Payload::ManufacturerData { company: id, data }
                });
            }
        }
        if payloads.is_empty() {
            return Err(
                "neither \"service_data\" nor \"manufacturer_data\" holds a payload".into(),
            );
        }
        Ok(Advert {
            mac,
            rssi,
            ts_ms,
            payloads,
        })
    }
}
