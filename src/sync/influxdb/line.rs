//! InfluxDB line protocol for a batch of stored readings, one line each:
//! `<metric>,device=<id>,gateway=<gateway_id> value=<f64> <ts_ms>` (precision `ms`).
//!
//! Escaping follows the line-protocol reference: in the measurement commas and spaces, in tag
//! keys and values commas, equals signs and spaces get a backslash. Device ids, metric names
//! and the gateway id are names (`A-Z a-z 0-9 _ - . :`, see `model::validate_name`), so none of
//! these occur today; the escaping keeps the output valid if the rule is ever widened. Tags are
//! in key order, as InfluxDB sorts them anyway. A value that is not finite has no line-protocol
//! form: the store never holds one (ingest refuses NaN and infinities), and a line for one
//! would make the server refuse the whole batch, so it is left out here.

use crate::store::OutboxReading;
use std::fmt::Write;

/// Appends one line per finite reading to `out`; returns the number of lines.
pub fn encode(out: &mut String, gateway: &str, readings: &[OutboxReading]) -> usize {
    let mut lines = 0;
    for r in readings.iter().filter(|r| r.value.is_finite()) {
        escape(out, &r.metric, &[',', ' ']);
        out.push_str(",device=");
        escape(out, &r.device, &[',', '=', ' ']);
        out.push_str(",gateway=");
        escape(out, gateway, &[',', '=', ' ']);
        // `{}` of an f64 is the shortest text that reads back as the same number, never in
        // exponent form; without an `i` suffix InfluxDB takes it as a float, also "21".
        let _ = writeln!(out, " value={} {}", r.value, r.ts);
        lines += 1;
    }
    lines
}

fn escape(out: &mut String, text: &str, special: &[char]) {
    for c in text.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(device: &str, metric: &str, value: f64) -> OutboxReading {
        OutboxReading {
            seq: 1,
            device: device.into(),
            metric: metric.into(),
            ts: 1767225600123,
            value,
        }
    }

    #[test]
    fn a_reading_is_one_line_with_device_and_gateway_tags_and_ms_timestamp() {
        let mut out = String::new();
        let n = encode(
            &mut out,
            "gw-1",
            &[
                reading("th-01", "temperature", 21.5),
                reading("th-01", "rssi", -70.0),
            ],
        );
        assert_eq!(n, 2);
        assert_eq!(
            out,
            "temperature,device=th-01,gateway=gw-1 value=21.5 1767225600123\n\
             rssi,device=th-01,gateway=gw-1 value=-70 1767225600123\n"
        );
    }

    #[test]
    fn measurement_escapes_commas_and_spaces_tags_also_equals_signs() {
        let mut out = String::new();
        encode(
            &mut out,
            "gw 1",
            &[reading("a=b,c d", "temp,inside x=y", 1.0)],
        );
        assert_eq!(
            out,
            "temp\\,inside\\ x=y,device=a\\=b\\,c\\ d,gateway=gw\\ 1 value=1 1767225600123\n"
        );
    }

    #[test]
    fn values_keep_their_precision_and_non_finite_ones_are_left_out() {
        let mut out = String::new();
        let n = encode(
            &mut out,
            "g",
            &[
                reading("d", "m", 0.1 + 0.2),
                reading("d", "m", f64::NAN),
                reading("d", "m", f64::INFINITY),
                reading("d", "m", 1e-7),
            ],
        );
        assert_eq!(n, 2);
        let values: Vec<f64> = out
            .lines()
            .map(|l| l.split(' ').nth(1).unwrap())
            .map(|f| f.strip_prefix("value=").unwrap().parse().unwrap())
            .collect();
        assert_eq!(values, [0.1 + 0.2, 1e-7]);
    }
}
