//! Automation rules: their definition and checks ([`spec`]), their evaluation ([`engine`]),
//! the thread that evaluates them off the ingest path ([`runner`]), the MQTT action
//! ([`action`]) and the topics it may publish to ([`topic`]). [`Automation`] is what the REST
//! API and the runtime hold.
//!
//! Invariants: the store is the source of truth for rules and their firing record; the
//! engine's index is updated after every successful store change, under the engine lock, so
//! the runner never evaluates a rule the store does not hold (for longer than one batch). No
//! enabled rule in the engine publishes to a topic the daemon's ingest subscriptions match:
//! such a rule is refused when stored, and disabled (in the store too) when it is loaded or
//! the ingest prefix changes under it.

pub mod action;
pub mod engine;
pub mod runner;
pub mod spec;
pub mod template;
pub mod topic;

use crate::bus::Bus;
use crate::model::now_ms;
use crate::store::{SharedStore, StoreError, StoredRule};
use action::ActionPublisher;
use engine::Engine;
use portable_atomic::AtomicU64;
use serde::Serialize;
use spec::{Action, Rule, RuleSpec, MAX_RULES};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

/// Why a rule operation failed; the API maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("no rule {0}")]
    NotFound(i64),
    #[error("{0}")]
    Invalid(String),
    #[error("at most {MAX_RULES} rules may exist")]
    TooMany,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counters for `/api/v1/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AutomationStats {
    pub rules: usize,
    pub firings: u64,
    pub actions_published: u64,
    /// Actions refused: MQTT off, or the client's queue full while the broker is away.
    pub action_failures: u64,
    /// Batches of events the engine lost because its queue was full.
    pub events_dropped: u64,
    /// Firings whose record could not be written to the store.
    pub record_errors: u64,
    /// Firings skipped because their rule was over `MAX_FIRINGS_PER_MIN`.
    pub rate_limited: u64,
}

pub struct Automation {
    store: SharedStore,
    bus: Arc<Bus>,
    engine: Mutex<Engine>,
    publisher: ActionPublisher,
    /// Wakes the runner when rules change (capacity 1: one pending wake is enough).
    changed: (async_channel::Sender<()>, async_channel::Receiver<()>),
    /// The MQTT source's subscription filters: action topics they match are refused.
    ingest_filters: Mutex<Vec<String>>,
    firings: AtomicU64,
    events_dropped: AtomicU64,
    record_errors: AtomicU64,
    rate_limited: AtomicU64,
}

impl Automation {
    /// Loads the stored rules. A stored rule that no longer parses is skipped with a warning
    /// (it stays in the store and is shown by GET as far as possible); one that fails the
    /// checks or would loop through `ingest_filters` is disabled.
    pub fn load(
        store: SharedStore,
        bus: Arc<Bus>,
        publisher: ActionPublisher,
        ingest_filters: Vec<String>,
    ) -> Result<Arc<Automation>, StoreError> {
        let stored = store.lock().rules()?;
        let rules: Vec<Rule> = stored.iter().filter_map(|s| decode(s).ok()).collect();
        if rules.len() < stored.len() {
            log::warn!(
                "skipped={} stored rules could not be read and are not evaluated",
                stored.len() - rules.len()
            );
        }
        log::info!("rules={} automation rules loaded", rules.len());
        let automation = Automation {
            store,
            bus,
            engine: Mutex::new(Engine::new(rules)),
            publisher,
            changed: async_channel::bounded(1),
            ingest_filters: Mutex::new(ingest_filters),
            firings: AtomicU64::new(0),
            events_dropped: AtomicU64::new(0),
            record_errors: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        };
        automation.disable_unusable(&mut automation.engine());
        Ok(Arc::new(automation))
    }

    /// The MQTT source now subscribes to `filters` (a reload changed the prefix): rules that
    /// would loop through them are disabled.
    pub fn set_ingest_filters(&self, filters: Vec<String>) {
        let mut engine = self.engine();
        *lock(&self.ingest_filters) = filters;
        self.disable_unusable(&mut engine);
    }

    /// Every check a rule must pass to be stored enabled, the loop check included.
    fn check(&self, spec: &RuleSpec) -> Result<(), RuleError> {
        spec.validate().map_err(RuleError::Invalid)?;
        let Action::MqttPublish { topic, .. } = &spec.action;
        topic::check_loop(topic, &lock(&self.ingest_filters)).map_err(RuleError::Invalid)
    }

    /// Disables (in the store and the engine) every enabled rule that fails [`Self::check`],
    /// so it is never fired; the user sees `enabled: false` and gets the reason on re-enabling.
    fn disable_unusable(&self, engine: &mut Engine) {
        let unusable: Vec<(Rule, String)> = engine
            .rules()
            .filter(|r| r.spec.enabled)
            .filter_map(|r| match self.check(&r.spec) {
                Err(RuleError::Invalid(why)) => Some((r.clone(), why)),
                _ => None,
            })
            .collect();
        for (mut rule, why) in unusable {
            log::warn!("rule={} disabled, it is not evaluated: {why}", rule.id);
            rule.spec.enabled = false;
            let stored = encode(&rule.spec)
                .and_then(|json| Ok(self.store.lock().update_rule(rule.id, &json, now_ms())?));
            if let Err(e) = stored {
                log::error!("rule={} could not be stored disabled: {e}", rule.id);
            }
            engine.upsert(rule);
        }
    }

    pub fn list(&self) -> Result<Vec<Rule>, RuleError> {
        let stored = self.store.lock().rules()?;
        let mut rules = stored.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let engine = self.engine();
        for rule in &mut rules {
            rule.rate_limited = engine.rule(rule.id).map_or(0, |r| r.rate_limited);
        }
        Ok(rules)
    }

    pub fn get(&self, id: i64) -> Result<Rule, RuleError> {
        let stored = self.store.lock().rule(id)?;
        let mut rule = decode(&stored.ok_or(RuleError::NotFound(id))?)?;
        rule.rate_limited = self.engine().rule(id).map_or(0, |r| r.rate_limited);
        Ok(rule)
    }

    pub fn create(&self, spec: RuleSpec) -> Result<Rule, RuleError> {
        self.check(&spec)?;
        let json = encode(&spec)?;
        let mut engine = self.engine();
        let stored = {
            let mut store = self.store.lock();
            if store.rule_count()? >= MAX_RULES {
                return Err(RuleError::TooMany);
            }
            store.insert_rule(&json, now_ms())?
        };
        let rule = decode(&stored)?;
        engine.upsert(rule.clone());
        drop(engine);
        self.wake_runner();
        Ok(rule)
    }

    pub fn replace(&self, id: i64, spec: RuleSpec) -> Result<Rule, RuleError> {
        self.check(&spec)?;
        let json = encode(&spec)?;
        let mut engine = self.engine();
        let stored = self
            .store
            .lock()
            .update_rule(id, &json, now_ms())?
            .ok_or(RuleError::NotFound(id))?;
        let mut rule = decode(&stored)?;
        rule.rate_limited = engine.rule(id).map_or(0, |r| r.rate_limited);
        engine.upsert(rule.clone());
        drop(engine);
        self.wake_runner();
        Ok(rule)
    }

    pub fn delete(&self, id: i64) -> Result<(), RuleError> {
        let mut engine = self.engine();
        if !self.store.lock().delete_rule(id)? {
            return Err(RuleError::NotFound(id));
        }
        engine.remove(id);
        drop(engine);
        self.wake_runner();
        Ok(())
    }

    pub fn stats(&self) -> AutomationStats {
        AutomationStats {
            rules: self.engine().len(),
            firings: self.firings.load(Relaxed),
            actions_published: self.publisher.counters.published.load(Relaxed),
            action_failures: self.publisher.counters.failed.load(Relaxed),
            events_dropped: self.events_dropped.load(Relaxed),
            record_errors: self.record_errors.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
        }
    }

    fn wake_runner(&self) {
        let _ = self.changed.0.try_send(());
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn encode(spec: &RuleSpec) -> Result<String, RuleError> {
    serde_json::to_string(spec).map_err(|e| RuleError::Invalid(e.to_string()))
}

fn decode(stored: &StoredRule) -> Result<Rule, RuleError> {
    let spec: RuleSpec = serde_json::from_str(&stored.spec).map_err(|e| {
        RuleError::Store(StoreError::Sqlite {
            op: "decode rule",
            source: rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                Box::new(e),
            ),
        })
    })?;
    Ok(Rule {
        id: stored.id,
        spec,
        last_fired: stored.last_fired,
        fire_count: stored.fire_count,
        created: stored.created,
        updated: stored.updated,
        rate_limited: 0,
    })
}
