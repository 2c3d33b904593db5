//! The MQTT ingest topic contract: `<prefix>/<device_id>/<kind>` with kind `telemetry`,
//! `frame` or `status`. The prefix may itself contain `/` (for example `home/acs`). Also the
//! MQTT filter match (rumqttc has none), used to route a publish to the source whose filter
//! took it and by rules to keep their actions out of every ingest filter.

use crate::model::validate_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Telemetry,
    Frame,
    Status,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Telemetry, Kind::Frame, Kind::Status];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Telemetry => "telemetry",
            Kind::Frame => "frame",
            Kind::Status => "status",
        }
    }
}

/// The subscription filter for one kind, e.g. `acs/+/telemetry`.
pub fn filter(prefix: &str, kind: Kind) -> String {
    format!("{prefix}/+/{}", kind.as_str())
}

/// Splits a topic into (device, kind), refusing topics outside the contract.
pub fn parse<'t>(prefix: &str, topic: &'t str) -> Result<(&'t str, Kind), String> {
    let rest = topic
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('/'))
        .ok_or_else(|| format!("topic is not under the prefix {prefix:?}"))?;
    let (device, kind) = rest
        .split_once('/')
        .ok_or("topic has no <device>/<kind> part")?;
    validate_name(device).map_err(|e| format!("device id {device:?} {e}"))?;
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| format!("unknown message kind {kind:?}"))?;
    Ok((device, kind))
}

/// Whether `filter` matches `topic` by MQTT's rules (MQTT 5 section 4.7): `+` takes one level,
/// a trailing `#` the parent level and everything below it, and a filter starting with a
/// wildcard does not match the broker's own `$` topics. `any_level` says which topic levels
/// match every filter level (rules pass their template placeholders; ingest none).
pub fn matches_with(filter: &str, topic: &str, any_level: impl Fn(&str) -> bool) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut levels = topic.split('/');
    for f in filter.split('/') {
        if f == "#" {
            return true;
        }
        let Some(level) = levels.next() else {
            return false;
        };
        if f != "+" && f != level && !any_level(level) {
            return false;
        }
    }
    levels.next().is_none()
}

/// Whether the topic of a received publish matches `filter`.
pub fn matches(filter: &str, topic: &str) -> bool {
    matches_with(filter, topic, |_| false)
}

/// `online` / `offline` (any case, surrounding whitespace ignored).
pub fn parse_status(payload: &[u8]) -> Result<bool, String> {
    let text = std::str::from_utf8(payload).map_err(|_| "status is not UTF-8")?;
    match text.trim().to_ascii_lowercase().as_str() {
        "online" => Ok(true),
        "offline" => Ok(false),
        _ => Err(format!(
            "status must be 'online' or 'offline', got {:?}",
            text.chars().take(32).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_split_into_device_and_kind_under_multi_level_prefixes() {
        assert_eq!(
            parse("acs", "acs/dev1/telemetry"),
            Ok(("dev1", Kind::Telemetry))
        );
        assert_eq!(
            parse("home/acs", "home/acs/d-2/frame"),
            Ok(("d-2", Kind::Frame))
        );
        assert_eq!(parse("acs", "acs/x/status"), Ok(("x", Kind::Status)));
    }

    #[test]
    fn topics_outside_the_contract_are_refused() {
        for topic in [
            "acsx/dev/telemetry",
            "acs/dev",
            "acs/a/b/telemetry",
            "acs/d/other",
            "acs//telemetry",
            "acs/d$/status",
        ] {
            assert!(parse("acs", topic).is_err(), "{topic}");
        }
    }

    #[test]
    fn filters_match_by_mqtt_rules() {
        for (filter, topic) in [
            ("zigbee2mqtt/#", "zigbee2mqtt/kitchen/floor light"),
            ("zigbee2mqtt/#", "zigbee2mqtt"),
            ("tele/+/SENSOR", "tele/plug_1/SENSOR"),
            ("+/sensor/+/state", "node1/sensor/temp/state"),
            ("#", "a/b"),
        ] {
            assert!(matches(filter, topic), "{filter} {topic}");
        }
        for (filter, topic) in [
            ("tele/+/SENSOR", "tele/a/b/SENSOR"),
            ("tele/+/SENSOR", "tele/a/STATE"),
            ("+/status", "a/b/status"),
            ("+/status", "$SYS/status"),
            ("#", "$SYS/broker/load"),
            ("a/b", "a"),
        ] {
            assert!(!matches(filter, topic), "{filter} {topic}");
        }
    }

    #[test]
    fn status_accepts_online_and_offline_only() {
        assert_eq!(parse_status(b" Online\n"), Ok(true));
        assert_eq!(parse_status(b"offline"), Ok(false));
        assert!(parse_status(b"1").is_err());
        assert!(parse_status(&[0xff]).is_err());
    }
}
