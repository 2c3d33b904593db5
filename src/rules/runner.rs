//! The rules thread: a bus subscriber that evaluates committed readings and status changes,
//! records firings, runs actions and announces `automation.trigger`.
//!
//! Evaluation is off the writer's critical path: the writer only offers each committed batch
//! to the bus (a reference-count bump). The thread subscribes only while rules exist, so a
//! gateway without rules pays nothing. Its queue holds `ENGINE_QUEUE` batches; when the
//! engine falls that far behind, further batches are not evaluated and are counted
//! (`automation.events_dropped`) rather than slowing ingest.
//!
//! Firings over a rule's rate cap and actions whose rendered topic cannot be published to are
//! counted and logged through one `WarnLimit`, so a noisy input cannot flood the log either.

use super::engine::Firing;
use super::spec::{Action, MAX_FIRINGS_PER_MIN};
use super::template::render;
use super::{lock, topic, Automation};
use crate::bus::{ActionOutcome, Interest, LiveEvent, Subscription, TriggerFired};
use crate::logging::WarnLimit;
use crate::model::now_ms;
use smol::future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Committed batches (and status changes) the engine may lag behind.
pub const ENGINE_QUEUE: usize = 16;
/// How often offline rules are checked; the precision of `after_s`.
const TICK: Duration = Duration::from_secs(1);

/// A running rules thread.
pub struct Runner {
    stop: Arc<AtomicBool>,
    automation: Arc<Automation>,
    thread: Option<JoinHandle<()>>,
}

impl Runner {
    pub fn spawn(automation: Arc<Automation>) -> std::io::Result<Runner> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let automation = automation.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("rules".into())
                .stack_size(256 * 1024)
                .spawn(move || smol::block_on(run(&automation, &stop)))?
        };
        Ok(Runner {
            stop,
            automation,
            thread: Some(thread),
        })
    }

    pub fn stop(mut self) {
        self.stop.store(true, Relaxed);
        self.automation.wake_runner();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Wake {
    Event(LiveEvent),
    Changed,
    Tick,
}

async fn run(a: &Automation, stop: &AtomicBool) {
    let mut subscription: Option<Subscription> = None;
    let mut dropped_seen = 0;
    let mut warn = WarnLimit::new("rule warnings");
    while !stop.load(Relaxed) {
        let has_rules = !a.engine().is_empty();
        if has_rules && subscription.is_none() {
            subscription = Some(
                a.bus
                    .subscribe(Interest::TELEMETRY.union(Interest::STATUS), ENGINE_QUEUE),
            );
            dropped_seen = 0;
        } else if !has_rules {
            subscription = None;
        }
        let changed = async {
            let _ = a.changed.1.recv().await;
            Wake::Changed
        };
        let tick = async {
            smol::Timer::after(TICK).await;
            Wake::Tick
        };
        let wake = match &subscription {
            Some(sub) => {
                let event = async {
                    match sub.receiver().recv().await {
                        Ok(event) => Wake::Event(event),
                        Err(_) => future::pending().await,
                    }
                };
                future::or(event, future::or(changed, tick)).await
            }
            None => future::or(changed, tick).await,
        };
        let now = now_ms();
        let mut firings = Vec::new();
        match wake {
            Wake::Event(LiveEvent::Readings(readings)) => {
                let mut engine = a.engine();
                for reading in readings.iter() {
                    engine.on_reading(reading, now, &mut firings);
                }
            }
            Wake::Event(LiveEvent::Status(change)) => {
                a.engine().on_status(&change, now, &mut firings)
            }
            Wake::Event(LiveEvent::Trigger(_) | LiveEvent::Upstream(_)) | Wake::Changed => {}
            #[cfg(feature = "influxdb")]
            Wake::Event(LiveEvent::Influxdb(_)) => {}
            Wake::Tick => a.engine().tick(now, &mut firings),
        }
        for firing in firings {
            fire(a, firing, now, &mut warn);
        }
        if let Some(sub) = &subscription {
            let dropped = sub.dropped();
            a.events_dropped.fetch_add(dropped - dropped_seen, Relaxed);
            dropped_seen = dropped;
        }
    }
}

fn fire(a: &Automation, firing: Firing, now: i64, warn: &mut WarnLimit) {
    if firing.over_cap {
        a.rate_limited.fetch_add(1, Relaxed);
        warn.warn(format_args!(
            "rule={} device={} firing skipped: over {MAX_FIRINGS_PER_MIN} firings a minute",
            firing.rule, firing.device
        ));
        return;
    }
    a.firings.fetch_add(1, Relaxed);
    if let Err(e) = a.store.lock().record_rule_firing(firing.rule, now) {
        a.record_errors.fetch_add(1, Relaxed);
        log::error!("rule={} firing not recorded: {e}", firing.rule);
    }
    let Some((name, action)) = a
        .engine()
        .rule(firing.rule)
        .map(|r| (r.spec.name.clone(), r.spec.action.clone()))
    else {
        return; // deleted meanwhile
    };
    let Action::MqttPublish {
        topic,
        payload,
        qos,
        retain,
    } = &action;
    let topic = render(topic, &firing);
    let payload = render(payload, &firing);
    // A placeholder may render empty (`{metric}` of an offline rule), and the ingest prefix
    // may have changed since the rule was checked.
    let usable = topic::check_name(&topic)
        .and_then(|()| topic::check_loop(&topic, &lock(&a.ingest_filters)));
    let queued = match usable {
        Ok(()) => {
            let queued = a
                .publisher
                .publish(&topic, payload.into_bytes(), *qos, *retain);
            if !queued {
                let rule = firing.rule;
                warn.warn(format_args!(
                    "rule={rule} topic={topic} action not published"
                ));
            }
            queued
        }
        Err(why) => {
            a.publisher.counters.failed.fetch_add(1, Relaxed);
            warn.warn(format_args!(
                "rule={} action not published: {why}",
                firing.rule
            ));
            false
        }
    };
    log::info!(
        "rule={} device={} metric={} value={} fire_count={} rule fired",
        firing.rule,
        firing.device,
        firing.metric.as_deref().unwrap_or("-"),
        firing.value.map_or("-".to_owned(), |v| v.to_string()),
        firing.fire_count
    );
    a.bus.publish(LiveEvent::Trigger(Arc::new(TriggerFired {
        rule: firing.rule,
        name,
        device: firing.device,
        metric: firing.metric,
        value: firing.value,
        ts: firing.ts,
        fire_count: firing.fire_count,
        action: ActionOutcome {
            kind: "mqtt_publish",
            topic,
            queued,
        },
    })));
}
