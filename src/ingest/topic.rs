//! The MQTT ingest topic contract: `<prefix>/<device_id>/<kind>` with kind `telemetry`,
//! `frame` or `status`. The prefix may itself contain `/` (for example `home/acs`).

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
    fn status_accepts_online_and_offline_only() {
        assert_eq!(parse_status(b" Online\n"), Ok(true));
        assert_eq!(parse_status(b"offline"), Ok(false));
        assert!(parse_status(b"1").is_err());
        assert!(parse_status(&[0xff]).is_err());
    }
}
