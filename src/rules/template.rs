//! `{device}`, `{metric}`, `{value}`, `{ts}` and `{rule}` in action topics and payloads.
//! Anything else, braces included, is copied as is, so JSON payloads need no escaping.

use super::engine::Firing;

pub fn render(template: &str, firing: &Firing) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let value = after.find('}').and_then(|end| {
            let v = match &after[..end] {
                "device" => firing.device.clone(),
                "metric" => firing.metric.clone().unwrap_or_default(),
                "value" => firing.value.map(|v| v.to_string()).unwrap_or_default(),
                "ts" => firing.ts.to_string(),
                "rule" => firing.rule.to_string(),
                _ => return None,
            };
            Some((v, end))
        });
        match value {
            Some((v, end)) => {
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_other_braces_kept() {
        let firing = Firing {
            rule: 3,
            device: "d1".into(),
            metric: Some("temperature".into()),
            value: Some(31.5),
            ts: 1767225600123,
            fire_count: 1,
            over_cap: false,
        };
        assert_eq!(
            render(
                r#"{"rule":{rule},"{metric}":{value},"ts":{ts},"x":{other}}"#,
                &firing
            ),
            r#"{"rule":3,"temperature":31.5,"ts":1767225600123,"x":{other}}"#
        );
        assert_eq!(
            render("alerts/{device}/{metric", &firing),
            "alerts/d1/{metric"
        );
    }
}
