//! Schema migrations keyed on `PRAGMA user_version`: step `i` (0-based) takes a file from
//! version `i` to `i + 1`, each in its own transaction. Steps are only ever appended.

use std::path::Path;

use rusqlite::Connection;

use super::{Ctx, StoreError};

/// The migration steps; `MIGRATIONS.len()` is the version this build writes.
const MIGRATIONS: &[&str] = &[
    // 1: ring buffer, registries, persisted counters.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
     INSERT INTO meta (key, value) VALUES
         ('next_seq', 1), ('evicted_total', 0), ('evicted_unsynced', 0), ('sync_cursor', 0);
     CREATE TABLE metrics (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
     CREATE TABLE devices (
         id INTEGER PRIMARY KEY,
         key TEXT UNIQUE NOT NULL,
         name TEXT,
         transport TEXT,
         first_seen INTEGER,
         last_seen INTEGER,
         online INTEGER,
         enabled INTEGER DEFAULT 1,
         metadata TEXT
     );
     CREATE TABLE readings (
         seq INTEGER PRIMARY KEY,
         device_id INTEGER NOT NULL,
         metric_id INTEGER NOT NULL,
         ts INTEGER NOT NULL,
         value REAL NOT NULL
     );
     CREATE INDEX readings_device_metric_ts ON readings (device_id, metric_id, ts);",
    // 2: automation rules (definition as JSON text, firing record).
    "CREATE TABLE rules (
         id INTEGER PRIMARY KEY,
         spec TEXT NOT NULL,
         last_fired INTEGER,
         fire_count INTEGER NOT NULL DEFAULT 0,
         created INTEGER NOT NULL,
         updated INTEGER NOT NULL
     );",
    // 3: frame counters of radio devices (replay protection survives restarts).
    "CREATE TABLE frame_counters (device TEXT PRIMARY KEY, counter INTEGER NOT NULL) WITHOUT ROWID;",
    // 4: holes left by age eviction of late rows; the file says whose it is.
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('holes', 0);
     PRAGMA application_id = 1094931269;",
    // 5: sealed chunks (`chunks/mod.rs`); the row count no longer comes from seq arithmetic.
    "CREATE TABLE chunks (
         id INTEGER PRIMARY KEY,
         device_id INTEGER NOT NULL,
         metric_id INTEGER NOT NULL,
         ts_first INTEGER NOT NULL,
         ts_last INTEGER NOT NULL,
         seq_first INTEGER NOT NULL,
         seq_last INTEGER NOT NULL,
         count INTEGER NOT NULL,
         points BLOB NOT NULL,
         seqs BLOB NOT NULL
     );
     CREATE INDEX chunks_series ON chunks (device_id, metric_id, ts_last, ts_first);
     CREATE INDEX chunks_seq_first ON chunks (seq_first);
     CREATE INDEX chunks_seq_last ON chunks (seq_last, seq_first);
     DELETE FROM meta WHERE key = 'holes';",
    // 6: kept rollups of evicted readings (`kept/mod.rs`).
    "CREATE TABLE kept (
         id INTEGER PRIMARY KEY,
         device_id INTEGER NOT NULL,
         metric_id INTEGER NOT NULL,
         step INTEGER NOT NULL,
         first_bucket INTEGER NOT NULL,
         last_bucket INTEGER NOT NULL,
         data BLOB NOT NULL
     );
     CREATE INDEX kept_series ON kept (device_id, metric_id, step, first_bucket);
     CREATE INDEX kept_age ON kept (step, first_bucket);",
];

/// `PRAGMA application_id` of acs-edge stores: "ACSE".
pub const APPLICATION_ID: i64 = 0x4143_5345;

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file to [`SCHEMA_VERSION`]; refuses files from a newer build.
pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| super::open_error(path, source))?;
    if let Some(why) = foreign(conn, found).map_err(|source| super::open_error(path, source))? {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            why,
        });
    }
    if found > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let sql = format!(
            "BEGIN IMMEDIATE; {step}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        );
        if let Err(e) = conn.execute_batch(&sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e).ctx("migrate");
        }
        log::info!(
            "path={} schema_version={} store migrated",
            path.display(),
            i + 1
        );
    }
    Ok(())
}

/// Why the file is some other application's SQLite database, or `None` when it is ours (or
/// empty). Files from before version 4 carry no application id; they are recognised by their
/// tables.
fn foreign(conn: &Connection, version: i64) -> rusqlite::Result<Option<&'static str>> {
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app == APPLICATION_ID {
        return Ok(None);
    }
    if app != 0 {
        return Ok(Some("another application's id in the file header"));
    }
    let (tables, ours): (i64, i64) = conn.query_row(
        "SELECT count(*), count(name IN ('meta', 'metrics', 'devices', 'readings') OR NULL) \
         FROM sqlite_master WHERE type = 'table'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(match version {
        0 if tables > 0 => Some("tables that are not a store's"),
        0 => None,
        _ if ours == 4 => None,
        _ => Some("a schema version but not a store's tables"),
    })
}
