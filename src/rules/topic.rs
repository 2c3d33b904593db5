//! What a rule action may publish to: a valid MQTT topic name that none of the daemon's own
//! ingest subscriptions matches. A rule whose message came back as a reading would feed its
//! own trigger (or another rule's) and fill the ring with synthetic readings, so such topics
//! are refused when a rule is stored, disabled when a stored rule is loaded or the ingest
//! prefix changes, and checked again after rendering, before each publish.

/// Longest topic template of an action, in bytes.
pub const MAX_TOPIC: usize = 256;

/// Placeholders templates (topics and payloads) may use.
pub const PLACEHOLDERS: &[&str] = &["device", "metric", "value", "ts", "rule"];

/// Why `topic` is not a topic name a client may publish to.
pub fn check_name(topic: &str) -> Result<(), String> {
    if topic.is_empty() || topic.len() > MAX_TOPIC {
        return Err(format!("'action.topic' must be 1 to {MAX_TOPIC} bytes"));
    }
    if topic.starts_with('$') {
        return Err("'action.topic' must not start with '$' (the broker's own topics)".into());
    }
    if topic.contains(['+', '#']) || topic.chars().any(char::is_control) {
        return Err("'action.topic' must not contain '+', '#' or control characters".into());
    }
    if topic.split('/').any(str::is_empty) {
        return Err("'action.topic' has an empty level (a leading, trailing or double '/')".into());
    }
    Ok(())
}

/// Fails with the first of `filters` that could match `topic`; a level holding a placeholder
/// could render to anything, so it matches every filter level.
pub fn check_loop(topic: &str, filters: &[String]) -> Result<(), String> {
    match filters.iter().find(|f| could_match(f, topic)) {
        Some(f) => Err(format!(
            "'action.topic' {topic:?} is matched by the ingest subscription {f:?}: \
             the rule would trigger itself"
        )),
        None => Ok(()),
    }
}

fn could_match(filter: &str, topic: &str) -> bool {
    crate::ingest::topic::matches_with(filter, topic, has_placeholder)
}

fn has_placeholder(level: &str) -> bool {
    PLACEHOLDERS.iter().any(|p| {
        level
            .match_indices(p)
            .any(|(i, _)| level[..i].ends_with('{') && level[i + p.len()..].starts_with('}'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingest() -> Vec<String> {
        ["acs/+/telemetry", "acs/+/frame", "acs/+/status"]
            .map(String::from)
            .into()
    }

    #[test]
    fn topics_an_ingest_filter_could_match_are_refused_naming_the_filter() {
        for (topic, filter) in [
            ("acs/{device}/telemetry", "acs/+/telemetry"),
            ("acs/dev1/frame", "acs/+/frame"),
            ("acs/x-{rule}/status", "acs/+/status"),
            ("acs/{device}/{metric}", "acs/+/telemetry"),
            ("{device}/d/status", "acs/+/status"),
        ] {
            let err = check_loop(topic, &ingest()).expect_err(topic);
            assert!(err.contains(filter), "{topic}: {err}");
        }
        let all = vec!["home/#".to_owned()];
        assert!(check_loop("home", &all).is_err());
        assert!(check_loop("home/a/b/c", &all).is_err());
    }

    #[test]
    fn topics_beside_the_ingest_filters_pass() {
        for topic in [
            "alerts/{device}",
            "acs/dev1/telemetry/alert",
            "acs/dev1",
            "acs2/dev1/telemetry",
            "acs/dev1/telemetry{",
            "acs/d/{values}",
            "acs/d/x{rule",
        ] {
            assert_eq!(check_loop(topic, &ingest()), Ok(()), "{topic}");
        }
    }

    #[test]
    fn names_that_cannot_be_published_to_are_refused() {
        for (topic, needle) in [
            ("", "1 to"),
            ("$SYS/broker/x", "'$'"),
            ("$share/g/t", "'$'"),
            ("/", "empty level"),
            ("a//b", "empty level"),
            ("/a", "empty level"),
            ("a/", "empty level"),
            ("a/+/b", "'+'"),
            ("a/#", "'#'"),
            ("a\u{0}b", "control"),
            ("a\nb", "control"),
        ] {
            let err = check_name(topic).expect_err(topic);
            assert!(err.contains(needle), "{topic:?}: {err}");
        }
        assert!(check_name(&"a".repeat(MAX_TOPIC + 1)).is_err());
        assert_eq!(check_name("alerts/{device}/temperature"), Ok(()));
    }
}
