//! Decoding of `<prefix>/<device>/telemetry` payloads: a JSON object of metrics, or an array of
//! such objects, e.g. `{"ts": 1767225600123, "temperature": 21.5}`.
//!
//! `ts` is optional (epoch milliseconds or RFC 3339; absent means receive time). Every other key
//! is a metric name whose value must be a number (booleans count as 1 and 0). The payload is
//! decoded in one streaming pass without building a JSON tree; a message is accepted whole or
//! refused whole, so a reading is never half-stored.

use crate::model::{validate_name, Reading};
use crate::timestamp::parse_rfc3339;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Readings before 1973-03-03 (epoch ms below 1e11) are almost always epoch *seconds* sent by
/// mistake; refusing them with that hint beats storing them fifty years in the past.
const MIN_PLAUSIBLE_TS_MS: i64 = 100_000_000_000;

/// Decodes a telemetry payload into readings for `device`.
pub fn decode_telemetry(device: &str, payload: &[u8], now_ms: i64) -> Result<Vec<Reading>, String> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(payload);
    TopLevel {
        device,
        now_ms,
        out: &mut out,
    }
    .deserialize(&mut de)
    .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    if out.is_empty() {
        return Err("no metrics in the payload".into());
    }
    Ok(out)
}

struct TopLevel<'a> {
    device: &'a str,
    now_ms: i64,
    out: &'a mut Vec<Reading>,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of metrics or an array of such objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        ObjectSeed {
            device: self.device,
            now_ms: self.now_ms,
            out: self.out,
        }
        .visit_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(ObjectSeed {
                device: self.device,
                now_ms: self.now_ms,
                out: self.out,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct ObjectSeed<'a> {
    device: &'a str,
    now_ms: i64,
    out: &'a mut Vec<Reading>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of metrics")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let first = self.out.len();
        let mut ts: Option<i64> = None;
        let mut seen_metric = false;
        let mut seen: Option<std::collections::HashSet<String>> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value: Scalar = map.next_value()?;
            if key == "ts" {
                if ts.is_some() {
                    return Err(de::Error::custom("'ts' appears twice"));
                }
                ts = Some(value.timestamp().map_err(de::Error::custom)?);
                continue;
            }
            validate_name(&key)
                .map_err(|e| de::Error::custom(format!("metric name {key:?} {e}")))?;
            let number = value
                .number()
                .ok_or_else(|| de::Error::custom(format!("metric {key:?}: expected a number")))?;
            // Two values for one metric at one instant cannot both be true; refuse the object
            // rather than store both. Typical objects are small and a scan is cheapest; a set
            // takes over for big ones so a crafted payload cannot make this quadratic.
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.to_string()),
                None => self.out[first..].iter().any(|r| r.metric == key),
            };
            if duplicate {
                return Err(de::Error::custom(format!("metric {key:?} appears twice")));
            }
            if seen.is_none() && self.out.len() - first >= 32 {
                seen = Some(
                    self.out[first..]
                        .iter()
                        .map(|r| r.metric.clone())
                        .chain(std::iter::once(key.to_string()))
                        .collect(),
                );
            }
            seen_metric = true;
            self.out.push(Reading {
                device: self.device.to_owned(),
                metric: key.into_owned(),
                ts_ms: 0,
                value: number,
            });
        }
        if !seen_metric {
            return Err(de::Error::custom("an object with no metrics"));
        }
        let ts = ts.unwrap_or(self.now_ms);
        for reading in &mut self.out[first..] {
            reading.ts_ms = ts;
        }
        Ok(())
    }
}

/// A metric or `ts` value: what JSON scalars can be, without building a tree for the rest.
enum Scalar<'de> {
    Number(f64),
    Integer(i64),
    Bool(bool),
    Text(std::borrow::Cow<'de, str>),
    Other,
}

impl Scalar<'_> {
    fn number(&self) -> Option<f64> {
        match *self {
            Scalar::Number(n) => Some(n),
            Scalar::Integer(i) => Some(i as f64),
            Scalar::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    fn timestamp(&self) -> Result<i64, String> {
        let ms = match self {
            Scalar::Integer(i) => *i,
            Scalar::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => *n as i64,
            Scalar::Text(t) => parse_rfc3339(t)
                .ok_or_else(|| format!("'ts' {t:?} is not an RFC 3339 timestamp"))?,
            _ => return Err("'ts' must be epoch milliseconds or RFC 3339 text".into()),
        };
        if ms < MIN_PLAUSIBLE_TS_MS {
            return Err(format!(
                "'ts' {ms} is before 1973: timestamps are epoch milliseconds, not seconds"
            ));
        }
        Ok(ms)
    }
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Integer(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(i64::try_from(v).map_or(Scalar::Number(v as f64), Scalar::Integer))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Number(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(v.to_owned().into()))
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000;

    fn decode(payload: &str) -> Result<Vec<Reading>, String> {
        decode_telemetry("dev1", payload.as_bytes(), NOW)
    }

    #[test]
    fn object_becomes_one_reading_per_metric_with_its_timestamp() {
        let r = decode(r#"{"ts": 1767225600123, "temperature": 21.5, "humidity": 40}"#).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].metric, "temperature");
        assert_eq!(r[0].value, 21.5);
        assert_eq!(r[1].value, 40.0);
        assert!(r
            .iter()
            .all(|r| r.ts_ms == 1_767_225_600_123 && r.device == "dev1"));
    }

    #[test]
    fn ts_may_come_last_or_be_absent_or_be_rfc3339() {
        let r = decode(r#"{"t": 1, "ts": "2026-01-01T00:00:01Z"}"#).unwrap();
        assert_eq!(r[0].ts_ms, NOW + 1000);
        let r = decode(r#"{"t": true, "open": false}"#).unwrap();
        assert_eq!((r[0].ts_ms, r[0].value, r[1].value), (NOW, 1.0, 0.0));
    }

    #[test]
    fn duplicate_metrics_are_refused_in_small_and_big_objects() {
        let big: String = (0..100).map(|i| format!("\"m{i}\": {i},")).collect();
        assert!(decode(&format!("{{{big} \"t\": 1}}")).is_ok());
        let err = decode(&format!("{{{big} \"m7\": 1}}")).unwrap_err();
        assert!(err.contains("\"m7\" appears twice"), "{err}");
    }

    #[test]
    fn array_of_objects_keeps_each_timestamp() {
        let r =
            decode(r#"[{"ts": 1767225600000, "t": 1}, {"ts": 1767225601000, "t": 2}]"#).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].ts_ms, 1_767_225_601_000);
    }

    #[test]
    fn malformed_payloads_are_refused_with_a_reason() {
        for (payload, reason) in [
            ("", "EOF"),
            ("{", "EOF"),
            ("42", "object"),
            (r#"{"ts": 1767225600000}"#, "no metrics"),
            ("{}", "no metrics"),
            ("[]", "no metrics"),
            (r#"{"t": "warm"}"#, "expected a number"),
            (r#"{"t": null}"#, "expected a number"),
            (r#"{"t": {"a": 1}}"#, "expected a number"),
            (r#"{"bad/name": 1}"#, "metric name"),
            (r#"{"ts": 1767225600, "t": 1}"#, "not seconds"),
            (r#"{"ts": "yesterday", "t": 1}"#, "RFC 3339"),
            (
                r#"{"ts": 1767225600000, "ts": 1767225600000, "t": 1}"#,
                "twice",
            ),
            (r#"{"t": 1, "h": 2, "t": 3}"#, "appears twice"),
            (r#"{"t": 1} trailing"#, "trailing"),
            (r#"[{"t": 1}, 5]"#, "object"),
        ] {
            let err = decode(payload).expect_err(payload);
            assert!(err.contains(reason), "{payload}: {err}");
        }
    }
}
