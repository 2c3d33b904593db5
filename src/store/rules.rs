//! Automation rules at rest: one row per rule, its definition as JSON text (the rules layer
//! owns its shape), and its firing record. Firings are written one row update each; they are
//! rare next to readings (rules fire on transitions, and a cooldown can space them).

use rusqlite::{params, OptionalExtension, Row};

use super::{Ctx, Store, StoreError};

/// A rule row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub id: i64,
    /// The rule's definition, as JSON text.
    pub spec: String,
    pub last_fired: Option<i64>,
    pub fire_count: u64,
    pub created: i64,
    pub updated: i64,
}

const COLUMNS: &str = "id, spec, last_fired, fire_count, created, updated FROM rules";

fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredRule> {
    Ok(StoredRule {
        id: r.get(0)?,
        spec: r.get(1)?,
        last_fired: r.get(2)?,
        fire_count: r.get::<_, i64>(3)? as u64,
        created: r.get(4)?,
        updated: r.get(5)?,
    })
}

impl Store {
    /// Every rule, by id.
    pub fn rules(&self) -> Result<Vec<StoredRule>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} ORDER BY id"))
            .ctx("rules")?;
        let rows = stmt.query_map([], from_row).ctx("rules")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("rules")
    }

    pub fn rule(&self, id: i64) -> Result<Option<StoredRule>, StoreError> {
        self.conn
            .prepare_cached(&format!("SELECT {COLUMNS} WHERE id = ?1"))
            .and_then(|mut s| s.query_row([id], from_row).optional())
            .ctx("rule")
    }

    pub fn rule_count(&self) -> Result<usize, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM rules", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .ctx("rule_count")
    }

    /// Stores a new rule and returns it with its id.
    pub fn insert_rule(&mut self, spec: &str, now_ms: i64) -> Result<StoredRule, StoreError> {
        self.conn
            .execute(
                "INSERT INTO rules (spec, fire_count, created, updated) VALUES (?1, 0, ?2, ?2)",
                params![spec, now_ms],
            )
            .ctx("insert_rule")?;
        let id = self.conn.last_insert_rowid();
        self.rule(id)?.ok_or(StoreError::Sqlite {
            op: "insert_rule",
            source: rusqlite::Error::QueryReturnedNoRows,
        })
    }

    /// Replaces a rule's definition (its firing record stays); `None` when there is no such rule.
    pub fn update_rule(
        &mut self,
        id: i64,
        spec: &str,
        now_ms: i64,
    ) -> Result<Option<StoredRule>, StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE rules SET spec = ?1, updated = ?2 WHERE id = ?3",
                params![spec, now_ms, id],
            )
            .ctx("update_rule")?;
        if n == 0 {
            return Ok(None);
        }
        self.rule(id)
    }

    /// True when the rule existed.
    pub fn delete_rule(&mut self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM rules WHERE id = ?1", [id])
            .ctx("delete_rule")?;
        Ok(n > 0)
    }

    /// Records a firing; returns the new fire count, `None` when the rule is gone.
    pub fn record_rule_firing(&mut self, id: i64, at_ms: i64) -> Result<Option<u64>, StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE rules SET last_fired = ?1, fire_count = fire_count + 1 WHERE id = ?2 \
                 RETURNING fire_count",
            )
            .and_then(|mut s| {
                s.query_row(params![at_ms, id], |r| r.get::<_, i64>(0))
                    .optional()
            })
            .map(|n| n.map(|n| n as u64))
            .ctx("record_rule_firing")
    }
}
