//! Rule evaluation, without I/O: an index from device and metric to the rules that watch them,
//! and each rule's state (armed, since when the condition holds, offline since).
//!
//! Semantics (documented for users in docs/ARCHITECTURE.md):
//! - A threshold rule fires when its condition becomes true, then disarms; it re-arms when the
//!   value is back past the threshold by `hysteresis` (or simply false when 0). So a steady
//!   31 for `> 30` fires once, not on every reading.
//! - `for_s`: the condition must hold on every reading from one at least `for_s` seconds
//!   earlier (reading timestamps) up to the firing one.
//! - `cooldown_s`: at least this long (gateway clock) between two firings of a rule; a rule
//!   that meets its condition inside the cooldown stays armed and fires on the first reading
//!   after it that still meets the condition.
//! - An offline rule fires once a device has been offline (see `bus::presence`) for
//!   `after_s`, once per offline period.
//! - A rule fires at most `MAX_FIRINGS_PER_MIN` times in a minute (counted from the first
//!   firing of the minute). A firing over that cap is skipped: it disarms the rule as a firing
//!   would, but runs no action and leaves `fire_count`, `last_fired` and the cooldown alone;
//!   it is counted (`rate_limited`). No condition, however noisy, can publish faster.
//!
//! Cost: a reading for a (device, metric) that no rule watches is two hash lookups by `&str`
//! (no allocation); rule state lives in memory, only firings touch the store.

use super::spec::{Rule, Trigger, MAX_FIRINGS_PER_MIN};
use crate::bus::StatusChange;
use crate::model::Reading;
use std::collections::HashMap;

/// A rule fired; the runner records it, runs the action and announces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: i64,
    pub device: String,
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub ts: i64,
    /// The rule's firing count including this one.
    pub fire_count: u64,
    /// Over the rule's firing cap: counted and logged, but no action runs.
    pub over_cap: bool,
}

#[derive(Debug, Default)]
struct State {
    disarmed: bool,
    /// Reading ts since which the condition holds.
    holds_since: Option<i64>,
    /// Gateway ms since which the device is offline.
    offline_since: Option<i64>,
    /// Gateway ms at which the current rate window began, and the firings in it.
    window_start: i64,
    window_firings: u32,
}

struct Entry {
    rule: Rule,
    state: State,
}

#[derive(Default)]
struct DeviceRules {
    by_metric: HashMap<String, Vec<i64>>,
    offline: Vec<i64>,
}

#[derive(Default)]
pub struct Engine {
    rules: HashMap<i64, Entry>,
    by_device: HashMap<String, DeviceRules>,
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Engine {
        let mut engine = Engine::default();
        for rule in rules {
            engine.upsert(rule);
        }
        engine
    }

    /// Adds or replaces a rule; a replaced rule starts from a fresh state (its count of
    /// skipped firings, a total since start, stays).
    pub fn upsert(&mut self, mut rule: Rule) {
        if let Some(old) = self.rules.get(&rule.id) {
            rule.rate_limited = old.rule.rate_limited;
        }
        self.remove(rule.id);
        let id = rule.id;
        let watch = self
            .by_device
            .entry(trigger_device(&rule).to_owned())
            .or_default();
        match &rule.spec.trigger {
            Trigger::Threshold { metric, .. } => {
                watch.by_metric.entry(metric.clone()).or_default().push(id)
            }
            Trigger::Offline { .. } => watch.offline.push(id),
        }
        self.rules.insert(
            id,
            Entry {
                rule,
                state: State::default(),
            },
        );
    }

    pub fn remove(&mut self, id: i64) {
        let Some(old) = self.rules.remove(&id) else {
            return;
        };
        let device = trigger_device(&old.rule);
        if let Some(watch) = self.by_device.get_mut(device) {
            watch.by_metric.retain(|_, ids| {
                ids.retain(|&i| i != id);
                !ids.is_empty()
            });
            watch.offline.retain(|&i| i != id);
            if watch.by_metric.is_empty() && watch.offline.is_empty() {
                self.by_device.remove(device);
            }
        }
    }

    pub fn rule(&self, id: i64) -> Option<&Rule> {
        self.rules.get(&id).map(|e| &e.rule)
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values().map(|e| &e.rule)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn on_reading(&mut self, reading: &Reading, now_ms: i64, out: &mut Vec<Firing>) {
        let Some(watch) = self.by_device.get(reading.device.as_str()) else {
            return;
        };
        let Some(ids) = watch.by_metric.get(reading.metric.as_str()) else {
            return;
        };
        for id in ids {
            let Some(entry) = self.rules.get_mut(id) else {
                continue;
            };
            if let Some(firing) = evaluate_threshold(entry, reading, now_ms) {
                out.push(firing);
            }
        }
    }

    pub fn on_status(&mut self, change: &StatusChange, now_ms: i64, out: &mut Vec<Firing>) {
        let Some(watch) = self.by_device.get(change.device.as_str()) else {
            return;
        };
        for id in &watch.offline {
            if let Some(entry) = self.rules.get_mut(id) {
                entry.state.offline_since = (!change.online).then_some(change.ts.min(now_ms));
                entry.state.disarmed = false;
            }
        }
        // An `after_s` of 0 fires at once.
        self.tick(now_ms, out);
    }

    /// Fires offline rules whose time has come.
    pub fn tick(&mut self, now_ms: i64, out: &mut Vec<Firing>) {
        for entry in self.rules.values_mut() {
            let Trigger::Offline { device, after_s } = &entry.rule.spec.trigger else {
                continue;
            };
            let Some(since) = entry.state.offline_since else {
                continue;
            };
            if !entry.rule.spec.enabled || entry.state.disarmed {
                continue;
            }
            if now_ms - since < secs_ms(*after_s) || in_cooldown(&entry.rule, now_ms) {
                continue;
            }
            let device = device.clone();
            entry.state.disarmed = true;
            let (fire_count, over_cap) = note_firing(entry, now_ms);
            out.push(Firing {
                rule: entry.rule.id,
                device,
                metric: None,
                value: None,
                ts: now_ms,
                fire_count,
                over_cap,
            });
        }
    }
}

fn evaluate_threshold(entry: &mut Entry, reading: &Reading, now_ms: i64) -> Option<Firing> {
    let Trigger::Threshold {
        op,
        value: threshold,
        hysteresis,
        for_s,
        ..
    } = &entry.rule.spec.trigger
    else {
        return None;
    };
    if !entry.rule.spec.enabled {
        return None;
    }
    let state = &mut entry.state;
    let v = reading.value;
    if state.disarmed {
        if op.cleared(v, *threshold, *hysteresis) {
            state.disarmed = false;
            state.holds_since = None;
        }
        return None;
    }
    if !op.holds(v, *threshold) {
        state.holds_since = None;
        return None;
    }
    let since = *state.holds_since.get_or_insert(reading.ts_ms);
    if reading.ts_ms - since < secs_ms(*for_s) || in_cooldown(&entry.rule, now_ms) {
        return None;
    }
    state.disarmed = true;
    state.holds_since = None;
    let (fire_count, over_cap) = note_firing(entry, now_ms);
    Some(Firing {
        rule: entry.rule.id,
        device: reading.device.clone(),
        metric: Some(reading.metric.clone()),
        value: Some(v),
        ts: reading.ts_ms,
        fire_count,
        over_cap,
    })
}

/// The in-memory firing record (cooldown, `fire_count` of the event, the rate window); the
/// runner persists it. Returns the fire count and whether the firing is over the cap.
fn note_firing(entry: &mut Entry, now_ms: i64) -> (u64, bool) {
    let (rule, state) = (&mut entry.rule, &mut entry.state);
    // A clock set back starts a new window rather than holding the rule silent.
    if now_ms - state.window_start >= 60_000 || now_ms < state.window_start {
        state.window_start = now_ms;
        state.window_firings = 0;
    }
    if state.window_firings >= MAX_FIRINGS_PER_MIN {
        rule.rate_limited += 1;
        return (rule.fire_count, true);
    }
    state.window_firings += 1;
    rule.last_fired = Some(now_ms);
    rule.fire_count += 1;
    (rule.fire_count, false)
}

fn in_cooldown(rule: &Rule, now_ms: i64) -> bool {
    rule.spec.cooldown_s > 0
        && rule
            .last_fired
            .is_some_and(|last| now_ms - last < secs_ms(rule.spec.cooldown_s))
}

fn secs_ms(s: u64) -> i64 {
    (s as i64).saturating_mul(1000)
}

fn trigger_device(rule: &Rule) -> &str {
    match &rule.spec.trigger {
        Trigger::Threshold { device, .. } | Trigger::Offline { device, .. } => device,
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
