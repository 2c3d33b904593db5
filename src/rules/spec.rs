//! What a rule is, as the REST API takes and shows it, and the checks a rule must pass before it
//! is stored. Parsing (`serde`, unknown fields refused) gives 400; a well-formed rule that makes
//! no sense (an unknown operator, a wildcard in a topic, ...) gives 422 with the reason.

pub use super::topic::{MAX_TOPIC, PLACEHOLDERS};
use crate::model::validate_name;
use serde::{Deserialize, Serialize};

/// Most rules a gateway keeps.
pub const MAX_RULES: usize = 256;
/// Longest rule name and payload template, in bytes (topics: [`MAX_TOPIC`]).
pub const MAX_NAME: usize = 128;
pub const MAX_PAYLOAD: usize = 4096;
/// Most firings of one rule in a minute; more are skipped and counted. Far above any sensible
/// alarm rate, far below what a noisy input could trigger.
pub const MAX_FIRINGS_PER_MIN: u32 = 60;
/// Longest `for_s`, `after_s` and `cooldown_s`: one week.
pub const MAX_SECONDS: u64 = 7 * 24 * 3600;

/// A rule as `POST` and `PUT` take it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub trigger: Trigger,
    pub action: Action,
    #[serde(default, deserialize_with = "whole_number")]
    pub cooldown_s: u64,
}

fn yes() -> bool {
    true
}

/// An unsigned integer field that also takes a JSON number with a zero fraction (`60.0`): JSON
/// Schema counts that as an integer, and so do many JSON encoders.
fn whole_number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a non-negative whole number")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u64, E> {
            // 2^64 is the first f64 above u64::MAX.
            if v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                Ok(v as u64)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    let n = deserializer.deserialize_any(Whole)?;
    T::try_from(n).map_err(|_| {
        serde::de::Error::invalid_value(serde::de::Unexpected::Unsigned(n), &"a smaller number")
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// `metric` of `device` compared with `value`.
    Threshold {
        device: String,
        metric: String,
        op: Op,
        value: f64,
        /// The rule re-arms only once the value is back past the threshold by this much.
        #[serde(default)]
        hysteresis: f64,
        /// The condition must have held for this many seconds (by reading time).
        #[serde(default, deserialize_with = "whole_number")]
        for_s: u64,
    },
    /// `device` has been offline for `after_s` seconds.
    Offline {
        device: String,
        #[serde(deserialize_with = "whole_number")]
        after_s: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
            Op::Eq => value == threshold,
            Op::Ne => value != threshold,
        }
    }

    /// True when the condition is clearly false again, `hysteresis` past the threshold.
    pub fn cleared(self, value: f64, threshold: f64, hysteresis: f64) -> bool {
        match self {
            Op::Gt => value <= threshold - hysteresis,
            Op::Ge => value < threshold - hysteresis,
            Op::Lt => value >= threshold + hysteresis,
            Op::Le => value > threshold + hysteresis,
            Op::Eq | Op::Ne => !self.holds(value, threshold),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Publish to the ingest broker (`config mqtt`). `topic` and `payload` are templates.
    MqttPublish {
        topic: String,
        #[serde(default)]
        payload: String,
        #[serde(default, deserialize_with = "whole_number")]
        qos: u8,
        #[serde(default)]
        retain: bool,
    },
}

/// A stored rule, as `GET` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: i64,
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// Epoch ms of the last firing.
    pub last_fired: Option<i64>,
    pub fire_count: u64,
    pub created: i64,
    pub updated: i64,
    /// Firings skipped over `MAX_FIRINGS_PER_MIN` since the daemon started (not stored).
    pub rate_limited: u64,
}

impl RuleSpec {
    /// The checks that make a parsed rule storable; the error says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        check_rule_name(&self.name)?;
        if self.cooldown_s > MAX_SECONDS {
            return Err(format!("'cooldown_s' must be at most {MAX_SECONDS}"));
        }
        match &self.trigger {
            Trigger::Threshold {
                device,
                metric,
                op,
                value,
                hysteresis,
                for_s,
            } => {
                validate_name(device).map_err(|e| format!("'trigger.device' {e}"))?;
                validate_name(metric).map_err(|e| format!("'trigger.metric' {e}"))?;
                if !value.is_finite() {
                    return Err("'trigger.value' must be a finite number".into());
                }
                if !hysteresis.is_finite() || *hysteresis < 0.0 {
                    return Err("'trigger.hysteresis' must be a number >= 0".into());
                }
                if *hysteresis > 0.0 && matches!(op, Op::Eq | Op::Ne) {
                    return Err("'trigger.hysteresis' needs one of > >= < <=".into());
                }
                if *for_s > MAX_SECONDS {
                    return Err(format!("'trigger.for_s' must be at most {MAX_SECONDS}"));
                }
            }
            Trigger::Offline { device, after_s } => {
                validate_name(device).map_err(|e| format!("'trigger.device' {e}"))?;
                if *after_s > MAX_SECONDS {
                    return Err(format!("'trigger.after_s' must be at most {MAX_SECONDS}"));
                }
            }
        }
        let Action::MqttPublish {
            topic,
            payload,
            qos,
            ..
        } = &self.action;
        super::topic::check_name(topic)?;
        if payload.len() > MAX_PAYLOAD {
            return Err(format!(
                "'action.payload' must be at most {MAX_PAYLOAD} bytes"
            ));
        }
        if *qos > 1 {
            return Err("'action.qos' must be 0 or 1".into());
        }
        for (field, template) in [("topic", topic), ("payload", payload)] {
            check_placeholders(template).map_err(|p| {
                format!(
                    "'action.{field}' uses {{{p}}}; known are {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            })?;
        }
        Ok(())
    }
}

/// 1..=[`MAX_NAME`] bytes, not only spaces, and nothing that changes how it displays
/// (control and bidirectional-text characters).
fn check_rule_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > MAX_NAME {
        return Err(format!("'name' must be 1 to {MAX_NAME} bytes"));
    }
    match crate::model::unsafe_text_char(name) {
        Some(c) => Err(format!(
            "'name' must not contain control or bidirectional-text characters (found U+{:04X})",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

/// Every `{word}` in a template must be a known placeholder (other braces pass through, so JSON
/// payloads need no escaping).
fn check_placeholders(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        if let Some(end) = after.find('}') {
            let word = &after[..end];
            let is_word =
                !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if is_word && !PLACEHOLDERS.contains(&word) {
                return Err(word.to_owned());
            }
        }
        rest = after;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<RuleSpec, serde_json::Error> {
        serde_json::from_str(json)
    }

    const GOOD: &str = r#"{"name":"hot","trigger":{"kind":"threshold","device":"d1",
        "metric":"temperature","op":">","value":30},
        "action":{"kind":"mqtt_publish","topic":"alerts/{device}","payload":"{\"v\":{value}}"}}"#;

    #[test]
    fn a_minimal_rule_gets_defaults_and_validates() {
        let spec = parse(GOOD).unwrap();
        assert!(spec.enabled);
        assert_eq!(spec.cooldown_s, 0);
        assert_eq!(spec.validate(), Ok(()));
    }

    #[test]
    fn whole_numbers_written_as_floats_are_integers_and_fractions_are_refused() {
        let spec = parse(&GOOD.replace("\"name\"", "\"cooldown_s\":60.0,\"name\"")).unwrap();
        assert_eq!(spec.cooldown_s, 60);
        let offline = r#"{"name":"gone","trigger":{"kind":"offline","device":"d1","after_s":3802.0},
            "action":{"kind":"mqtt_publish","topic":"t","qos":1.0}}"#;
        let spec = parse(offline).unwrap();
        assert_eq!(
            spec.trigger,
            Trigger::Offline {
                device: "d1".into(),
                after_s: 3802
            }
        );
        assert!(parse(&offline.replace("3802.0", "3802.5")).is_err());
        assert!(parse(&offline.replace("3802.0", "-1")).is_err());
        assert!(parse(&offline.replace("1.0}", "256}")).is_err());
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        assert!(parse(&GOOD.replace("\"name\"", "\"nam\":1,\"name\"")).is_err());
        assert!(parse(&GOOD.replace("\"op\"", "\"extra\":1,\"op\"")).is_err());
        assert!(parse(&GOOD.replace("\"topic\"", "\"bogus\":1,\"topic\"")).is_err());
        assert!(parse(&GOOD.replace("\">\"", "\"=>\"")).is_err());
    }

    #[test]
    fn nonsense_is_refused_with_the_reason() {
        let mut spec = parse(GOOD).unwrap();
        let Action::MqttPublish { topic, .. } = &mut spec.action;
        *topic = "a/#".into();
        assert!(spec.validate().unwrap_err().contains("'+', '#'"));
        let mut spec = parse(GOOD).unwrap();
        let Action::MqttPublish { payload, .. } = &mut spec.action;
        *payload = "{temp}".into();
        assert!(spec.validate().unwrap_err().contains("{temp}"));
        let spec = parse(&GOOD.replace("\"d1\"", "\"d/1\"")).unwrap();
        assert!(spec.validate().unwrap_err().contains("trigger.device"));
    }

    #[test]
    fn hysteresis_clears_only_past_the_band() {
        assert!(!Op::Gt.cleared(29.5, 30.0, 1.0));
        assert!(Op::Gt.cleared(28.9, 30.0, 1.0));
        assert!(!Op::Lt.cleared(10.5, 10.0, 1.0));
        assert!(Op::Lt.cleared(11.5, 10.0, 1.0));
        assert!(Op::Gt.cleared(30.0, 30.0, 0.0));
        assert!(!Op::Ge.cleared(30.0, 30.0, 0.0));
    }
}
