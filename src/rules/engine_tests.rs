use super::*;
use crate::rules::spec::{Action, Op, RuleSpec, MAX_FIRINGS_PER_MIN};

fn rule(id: i64, trigger: Trigger, cooldown_s: u64) -> Rule {
    Rule {
        id,
        spec: RuleSpec {
            name: format!("r{id}"),
            enabled: true,
            trigger,
            action: Action::MqttPublish {
                topic: "t".into(),
                payload: String::new(),
                qos: 0,
                retain: false,
            },
            cooldown_s,
        },
        last_fired: None,
        fire_count: 0,
        created: 0,
        updated: 0,
        rate_limited: 0,
    }
}

fn above(threshold: f64, hysteresis: f64, for_s: u64) -> Trigger {
    Trigger::Threshold {
        device: "d".into(),
        metric: "t".into(),
        op: Op::Gt,
        value: threshold,
        hysteresis,
        for_s,
    }
}

/// Feeds `(ts_s, value)` readings and returns the ts (s) of those that fired.
fn feed(engine: &mut Engine, readings: &[(i64, f64)]) -> Vec<i64> {
    let mut fired = Vec::new();
    for &(ts_s, value) in readings {
        let reading = Reading {
            device: "d".into(),
            metric: "t".into(),
            ts_ms: ts_s * 1000,
            value,
        };
        let mut out = Vec::new();
        engine.on_reading(&reading, ts_s * 1000, &mut out);
        fired.extend(out.iter().map(|_| ts_s));
    }
    fired
}

#[test]
fn fires_once_when_the_condition_becomes_true() {
    let mut e = Engine::new(vec![rule(1, above(30.0, 0.0, 0), 0)]);
    assert_eq!(
        feed(
            &mut e,
            &[(1, 29.0), (2, 31.0), (3, 32.0), (4, 29.0), (5, 31.0)]
        ),
        [2, 5]
    );
}

#[test]
fn hysteresis_keeps_a_jittering_value_from_refiring() {
    let mut e = Engine::new(vec![rule(1, above(30.0, 2.0, 0), 0)]);
    let fired = feed(
        &mut e,
        &[(1, 31.0), (2, 29.0), (3, 31.0), (4, 27.5), (5, 31.0)],
    );
    assert_eq!(fired, [1, 5]);
}

#[test]
fn for_requires_the_condition_to_hold_that_long() {
    let mut e = Engine::new(vec![rule(1, above(30.0, 0.0, 10), 0)]);
    let fired = feed(
        &mut e,
        &[
            (0, 31.0),
            (5, 31.0),
            (8, 29.0),
            (9, 31.0),
            (15, 31.0),
            (19, 31.0),
        ],
    );
    assert_eq!(fired, [19]);
}

#[test]
fn cooldown_spaces_firings() {
    let mut e = Engine::new(vec![rule(1, above(30.0, 0.0, 0), 60)]);
    let fired = feed(
        &mut e,
        &[(0, 31.0), (1, 29.0), (2, 31.0), (30, 31.0), (61, 31.0)],
    );
    assert_eq!(fired, [0, 61]);
}

#[test]
fn unrelated_readings_and_removed_rules_do_not_fire() {
    let mut e = Engine::new(vec![rule(1, above(30.0, 0.0, 0), 0)]);
    let mut out = Vec::new();
    let other = Reading {
        device: "d".into(),
        metric: "humidity".into(),
        ts_ms: 1,
        value: 99.0,
    };
    e.on_reading(&other, 1, &mut out);
    assert!(out.is_empty());
    e.remove(1);
    assert!(e.is_empty());
    assert!(feed(&mut e, &[(1, 31.0)]).is_empty());
}

#[test]
fn offline_rules_fire_after_the_delay_once_per_period() {
    let trigger = Trigger::Offline {
        device: "d".into(),
        after_s: 10,
    };
    let mut e = Engine::new(vec![rule(7, trigger, 0)]);
    let change = |online, ts| StatusChange {
        device: "d".into(),
        online,
        ts,
        source: "status_topic",
    };
    let mut out = Vec::new();
    e.on_status(&change(false, 1_000), 1_000, &mut out);
    e.tick(5_000, &mut out);
    assert!(out.is_empty());
    e.tick(11_000, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].rule, 7);
    e.tick(30_000, &mut out);
    assert_eq!(out.len(), 1);
    e.on_status(&change(true, 31_000), 31_000, &mut out);
    e.on_status(&change(false, 32_000), 32_000, &mut out);
    e.tick(42_000, &mut out);
    assert_eq!(out.len(), 2);
}

#[test]
fn a_rule_fires_at_most_the_cap_per_minute_and_counts_the_rest() {
    let mut e = Engine::new(vec![rule(1, above(30.0, 0.0, 0), 0)]);
    let cap = MAX_FIRINGS_PER_MIN as u64;
    // 2 * cap + 10 crossings within 20 s, at one gateway instant each 100 ms.
    let mut out = Vec::new();
    for i in 0..(2 * cap + 10) as i64 {
        for value in [29.0, 31.0] {
            let reading = Reading {
                device: "d".into(),
                metric: "t".into(),
                ts_ms: i * 100,
                value,
            };
            e.on_reading(&reading, i * 100, &mut out);
        }
    }
    let fired = out.iter().filter(|f| !f.over_cap).count() as u64;
    assert_eq!(fired, cap);
    assert_eq!(out.len() as u64 - fired, cap + 10);
    let r = e.rule(1).unwrap();
    assert_eq!((r.fire_count, r.rate_limited), (cap, cap + 10));
    assert_eq!(
        r.last_fired,
        Some((cap as i64 - 1) * 100),
        "skips leave it alone"
    );

    // A new minute from the window's first firing: it fires again.
    let reading = |value| Reading {
        device: "d".into(),
        metric: "t".into(),
        ts_ms: 60_000,
        value,
    };
    out.clear();
    e.on_reading(&reading(29.0), 60_000, &mut out);
    e.on_reading(&reading(31.0), 60_000, &mut out);
    assert_eq!(out.len(), 1);
    assert!(!out[0].over_cap);
    assert_eq!(out[0].fire_count, cap + 1);
}
