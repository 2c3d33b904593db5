//! acs-proto frames arriving on `<prefix>/<device>/frame`, turned into readings.
//!
//! Over MQTT the topic names the device (the broker's ACLs decide who may publish where), so
//! readings are attributed to the topic's device id; the frame's own EUI-64 device id matters
//! for transports without addressing (LoRa, BLE) and is shown by `acs-edge decode frame`.
//! A frame is accepted whole or refused whole. Authenticated frames need a per-device key:
//! over MQTT they are refused; the LoRa source verifies them (`ingest::lora`).

use crate::model::{validate_name, Reading};
use acs_proto::{Metric, MetricCode, Value};
use serde_json::json;

/// The gateway's name for a metric: its well-known name, or `metric_<code>` for codes this
/// version does not know.
fn metric_name(metric: &Metric<'_>) -> String {
    match metric {
        Metric::Code(code) => code
            .name()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("metric_{}", code.0)),
        Metric::Name(name) => (*name).to_owned(),
    }
}

/// Decodes a CRC-protected frame into readings of `device`.
pub fn decode_frame(device: &str, bytes: &[u8], now_ms: i64) -> Result<Vec<Reading>, String> {
    let (_, readings) = acs_proto::parse_unauthenticated(bytes).map_err(|e| e.to_string())?;
    let out = collect_readings(device, readings, now_ms)?;
    if out.is_empty() {
        return Err("frame carries no readings".into());
    }
    Ok(out)
}

/// The readings of a verified frame body, attributed to `device`; refused whole on the first
/// bad reading.
pub fn collect_readings(
    device: &str,
    readings: acs_proto::ReadingIter<'_>,
    now_ms: i64,
) -> Result<Vec<Reading>, String> {
    let base = readings.base_ts_ms();
    let receive_ms = u64::try_from(now_ms).unwrap_or(0);
    let mut out = Vec::new();
    for reading in readings {
        let reading = reading.map_err(|e| e.to_string())?;
        let metric = metric_name(&reading.metric);
        validate_name(&metric).map_err(|e| format!("metric name {metric:?} {e}"))?;
        let ts = reading.timestamp_ms(base, receive_ms);
        out.push(Reading {
            device: device.to_owned(),
            metric,
            ts_ms: i64::try_from(ts).map_err(|_| format!("timestamp {ts} out of range"))?,
            value: reading.value.as_f64(),
        });
    }
    Ok(out)
}

/// `acs-edge decode frame`: the header and readings of a frame as pretty JSON.
pub fn describe_frame(bytes: &[u8], now_ms: i64) -> Result<String, String> {
    let (header, readings) = acs_proto::parse_unauthenticated(bytes).map_err(|e| e.to_string())?;
    let device_id = format!("{:016x}", header.device_id);
    let decoded = decode_frame(&device_id, bytes, now_ms)?;
    let base = readings.base_ts_ms();
    let items: Vec<_> = decoded
        .iter()
        .map(|r| json!({"metric": r.metric, "ts": r.ts_ms, "value": r.value}))
        .collect();
    let doc = json!({
        "version": header.version,
        "device_id": device_id,
        "counter": header.counter,
        "base_ts": if base == 0 { None } else { Some(base) },
        "readings": items,
    });
    Ok(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// Encodes readings as a CRC-protected frame, as a sensor node would: well-known metric names
/// become their numeric codes, values that survive `f32` travel as 4 bytes.
pub fn encode_frame(
    device_id: u64,
    counter: u32,
    base_ts_ms: u64,
    readings: &[(&str, f64)],
) -> Vec<u8> {
    let wire: Vec<acs_proto::Reading<'_>> = readings
        .iter()
        .map(|&(name, value)| acs_proto::Reading {
            metric: MetricCode::from_name(name).map_or(Metric::Name(name), Metric::Code),
            ts_offset_ms: 0,
            value: if f64::from(value as f32) == value {
                Value::F32(value as f32)
            } else {
                Value::F64(value)
            },
        })
        .collect();
    let repr = acs_proto::FrameRepr::new(device_id, counter);
    let mut buf = vec![0u8; repr.buffer_len(base_ts_ms, &wire)];
    let len = repr
        .emit(base_ts_ms, &wire, &mut buf)
        .expect("buffer sized by buffer_len");
    buf.truncate(len);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_frames_decode_to_the_same_readings_with_codes_and_names() {
        let frame = encode_frame(
            7,
            1,
            1_767_225_600_000,
            &[("temperature", 21.25), ("my_metric", 0.1)],
        );
        let readings = decode_frame("node", &frame, 5).unwrap();
        assert_eq!(readings.len(), 2);
        assert_eq!(
            (readings[0].metric.as_str(), readings[0].value),
            ("temperature", 21.25)
        );
        assert_eq!(
            (readings[1].metric.as_str(), readings[1].value),
            ("my_metric", 0.1)
        );
        assert!(readings
            .iter()
            .all(|r| r.ts_ms == 1_767_225_600_000 && r.device == "node"));
    }

    #[test]
    fn frames_without_a_clock_take_the_receive_time() {
        let frame = encode_frame(7, 1, 0, &[("humidity", 50.0)]);
        assert_eq!(
            decode_frame("n", &frame, 1_767_225_600_999).unwrap()[0].ts_ms,
            1_767_225_600_999
        );
    }

    #[test]
    fn unknown_codes_stay_representable() {
        assert_eq!(metric_name(&Metric::Code(MetricCode(999))), "metric_999");
    }

    #[test]
    fn corrupt_or_empty_frames_are_refused() {
        let mut frame = encode_frame(7, 1, 0, &[("humidity", 50.0)]);
        let last = frame.len() - 1;
        frame[last] ^= 0xff;
        assert!(decode_frame("n", &frame, 0).is_err());
        assert!(decode_frame("n", &encode_frame(7, 1, 0, &[]), 0).is_err());
        assert!(decode_frame("n", b"{}", 0).is_err());
    }
}
