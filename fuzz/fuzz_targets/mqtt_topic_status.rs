//! The MQTT topic contract (`ingest::topic::parse`) and status payloads
//! (`ingest::topic::parse_status`). Input: `prefix \0 topic \0 status-payload`.
//!
//! Nothing may panic. An accepted topic is exactly `<prefix>/<device>/<kind>` with a valid
//! device id, and it matches the subscription filter for its kind; any valid device id put
//! into that shape is accepted back. A status is accepted only for `online`/`offline`.
#![no_main]

use acs_edge::ingest::topic::{filter, parse, parse_status, Kind};
use acs_edge::model::validate_name;
use libfuzzer_sys::fuzz_target;

/// MQTT topic-filter matching for the `+` wildcard (all `filter()` produces).
fn matches(filter: &str, topic: &str) -> bool {
    let (f, t): (Vec<_>, Vec<_>) = (filter.split('/').collect(), topic.split('/').collect());
    f.len() == t.len() && f.iter().zip(&t).all(|(f, t)| *f == "+" || f == t)
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let prefix = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let topic = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let payload = parts.next().unwrap_or_default();

    if let Ok((device, kind)) = parse(&prefix, &topic) {
        assert!(validate_name(device).is_ok(), "invalid device {device:?}");
        assert_eq!(topic, format!("{prefix}/{device}/{}", kind.as_str()));
        // The wildcard must not swallow a '/' of the prefix: only then does the filter hold.
        if !prefix.contains(['+', '#']) {
            assert!(matches(&filter(&prefix, kind), &topic), "{topic:?} vs filter");
        }
    }
    // Any valid device id (here: the topic text) in the contract's shape parses back.
    if validate_name(&topic).is_ok() {
        for kind in Kind::ALL {
            let built = format!("{prefix}/{topic}/{}", kind.as_str());
            assert_eq!(parse(&prefix, &built), Ok((&*topic, kind)), "{built:?}");
        }
    }

    let status = parse_status(payload);
    let text = std::str::from_utf8(payload).ok().map(str::trim);
    match status {
        Ok(online) => {
            let want = if online { "online" } else { "offline" };
            assert!(text.is_some_and(|t| t.eq_ignore_ascii_case(want)), "{payload:?}");
        }
        Err(reason) => {
            assert!(!text.is_some_and(|t| t.eq_ignore_ascii_case("online")
                || t.eq_ignore_ascii_case("offline")));
            // The reason quotes at most 32 characters of the payload: bounded log lines.
            assert!(reason.len() <= 64 + 32 * 10, "{} byte reason", reason.len());
        }
    }
});
