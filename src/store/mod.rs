//! The store: a bounded, crash-safe SQLite ring buffer of readings plus the device registry.
//!
//! # Tiers
//!
//! A reading is first a row in the head (`readings`), then, once its series (device, metric)
//! has a chunk's worth, part of a sealed chunk: a `chunks` row holding a few bytes per reading
//! (`chunks/`). The head lives in the file, or in RAM until a flush (`head.rs`,
//! `store.flush_interval_s`). Queries, the outbox and eviction read both tiers; a reading is
//! in exactly one of them. What eviction takes is folded into kept rollups (`kept/`), which
//! answer rollups past the raw history.
//!
//! # Invariants
//!
//! - Every stored reading has a `seq`, an insert sequence number handed out by the store. A
//!   seq is never reused, also not after eviction, a restart or a power cut (`next_seq` is
//!   persisted in `meta` with the rows it covers, or reserved ahead of them with a RAM head).
//! - The readings stored are counted in memory (`head_rows` + `sealed`, read from the file at
//!   open), so bounds are checked without `COUNT(*)`.
//! - Eviction takes the oldest-inserted unit first: head rows below the oldest chunk's
//!   `seq_first`, or that chunk whole (`evict.rs`). Insert cost does not depend on how full
//!   the buffer is.
//! - After every committed batch (with a RAM head: after every flush): readings `<= max_rows`
//!   and the pages in use (`(page_count - freelist_count) * page_size`) are `<= max_bytes`
//!   (unless the schema alone is bigger), at chunk granularity. Freed pages go to the freelist
//!   and are reused by later inserts (`auto_vacuum=NONE`, never `VACUUM`), so the file stops
//!   growing once the bound is reached.
//! - Every evicted reading is counted in `meta` in the same transaction that deletes it:
//!   `evicted_total`, and `evicted_unsynced` for readings whose seq is above the sync cursor
//!   (counted only when `StoreOptions::sync_enabled`: with no upstream nothing is "unsynced").
//! - The device and metric registries are capped (`max_devices`, `max_metrics`): a flood of
//!   random ids is rejected, counted and logged (rate-limited), it grows neither memory nor the
//!   file. A message that would need more new entries than there is room for is refused whole.
//!
//! # On-disk format (schema version 6, `PRAGMA user_version`, see `schema.rs`)
//!
//! - `readings(seq INTEGER PRIMARY KEY, device_id, metric_id, ts, value)` with index
//!   `(device_id, metric_id, ts)`: the head; `ts` is epoch ms as reported by the device. With
//!   a RAM head the same table exists in `temp` and this one stays empty.
//! - `chunks(id, device_id, metric_id, ts_first, ts_last, seq_first, seq_last, count, points,
//!   seqs)` (version 5), indexed by series and `ts_last`, by `seq_first` and by `seq_last`:
//!   sealed readings (`chunks/mod.rs` has the format).
//! - `kept(id, device_id, metric_id, step, first_bucket, last_bucket, data)` (version 6),
//!   indexed by series and step, and by step and age: buckets of evicted readings
//!   (`kept/mod.rs`).
//! - `devices(id, key UNIQUE, name, transport, first_seen, last_seen, online, enabled, metadata)`
//!   with `metadata` a JSON object as text.
//! - `metrics(id, name UNIQUE)`.
//! - `meta(key, value)`: `next_seq`, `evicted_total`, `evicted_unsynced`, `sync_cursor`;
//!   `influxdb_cursor` once the InfluxDB upstream has run (`cursors.rs`). (Version 4 had
//!   `holes`, seqs without a row; version 5 counts readings instead.)
//! - `PRAGMA application_id` 0x41435345 ("ACSE", version 4): a SQLite file with another id,
//!   or with tables that are not a store's, is refused with [`StoreError::Foreign`].
//! - `<path>-reserve` beside the file: disk space held back for eviction (`reserve.rs`).
//! - `rules(id, spec, last_fired, fire_count, created, updated)` (version 2): automation rules,
//!   `spec` the rule's JSON definition.
//! - `frame_counters(device, counter)` (schema version 3): replay protection of radio
//!   devices, see `counters.rs`.
//!
//! A file with a newer `user_version` than this build knows is refused with
//! [`StoreError::NewerSchema`], never silently downgraded.
//!
//! # When data may be deleted
//!
//! Only by eviction, and always counted:
//! - a batch (or a flush) pushes the buffer over `max_rows` or `max_bytes`: the
//!   oldest-*inserted* readings (lowest seq) are evicted in the same transaction;
//! - [`Store::evict_expired`] removes every reading whose `ts` is older than `now - max_age`,
//!   whatever order it arrived in (a chunk once its newest point is that old);
//! - [`Store::set_limits`] with lower bounds evicts immediately (in small steps after
//!   releasing the disk-space reserve when the disk is full).
//!
//! An evicted reading leaves its trace in every kept rollup level (`kept/`), folded in the
//! transaction that evicts it; kept blocks go by their level's retention or when the tier
//! outgrows its share of `max_bytes`.
//!
//! The sync cursor does not protect rows: when the buffer is full, unsynced rows are evicted
//! too (and counted as `evicted_unsynced`). Keeping the newest data is the `WhenFull` policy.
//!
//! # Pragmas, chosen for 128 MB routers and flash file systems
//!
//! - `page_size=4096` (set before the first table exists; the unit of flash writes).
//! - `locking_mode=EXCLUSIVE` before the first WAL access when `StoreOptions::exclusive`
//!   (default): on jffs2 the `-shm` file cannot be mmapped shared; in exclusive mode SQLite
//!   keeps the WAL index on the heap. It means ONE connection per file, so the daemon shares
//!   one `Store` through [`SharedStore`] (one lock); a second process opening the file gets
//!   [`StoreError::Locked`].
//! - `journal_mode=WAL`: one sequential append per commit instead of rewriting pages in place
//!   and a rollback journal; readers are never blocked by the writer.
//! - `synchronous=FULL`: a committed batch survives power loss. The cost is one fsync per
//!   commit, which group commit keeps at one per commit interval.
//! - `cache_size=-1024` (1 MiB), `temp_store=MEMORY`, `mmap_size=0`: RAM stays small and
//!   predictable.
//! - `wal_autocheckpoint` and `journal_size_limit` scale with `max_bytes`: a quarter of it,
//!   between 64 pages (256 KiB) and SQLite's default 1000 pages (~4 MiB). Measured: the WAL
//!   grows to the checkpoint threshold and then stays that size, so with the fixed default a
//!   store bounded to 1 MiB would carry a 4 MiB WAL on a 5 MB overlay. A larger WAL means
//!   fewer checkpoints (hot pages such as `meta` and index tails are written back less often),
//!   so big stores keep the default.
//! - Disk use is therefore at most `max_bytes` + the WAL limit (+ one commit), plus the
//!   reserve file of the WAL limit's size.
//!
//! # Commit interval: latency vs flash wear
//!
//! [`Store::insert_batch`] writes one whole batch (readings and device status changes) in one
//! transaction. Each commit appends the changed pages to the WAL plus a commit frame and
//! fsyncs, so bytes written per reading fall with the batch size: a 4 KiB page holds about
//! 100 readings, and a commit of 10 readings still rewrites whole pages (index and table leaf,
//! `meta`, device rows). Longer intervals (e.g. 1 s) mean fewer, fuller pages per commit and
//! less flash wear, at the price of up to one interval of readings being lost on power loss
//! and of queries seeing them one interval later. The interval is the runtime's setting
//! (`commit_interval_ms`); this module only guarantees that what `insert_batch` returned `Ok`
//! for is durable, with the head in the file. With the head in RAM, `Ok` means stored and
//! served; durable at the next [`Store::flush`], whose one transaction replaces every
//! commit's pages with a few bytes of chunk per reading.

mod chunks;
mod counters;
#[cfg(feature = "influxdb")]
mod cursors;
mod devices;
mod evict;
mod head;
mod kept;
mod ledger;
mod outbox;
mod query;
mod reserve;
mod ring;
mod rollup;
mod rollup_fold;
mod rules;
mod schema;
mod shared;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

pub use devices::{Device, DevicePatch};
pub use head::{head_limit, SEQ_BLOCK};
pub use kept::{KeptLevel, BLOCK_BUCKETS, KEPT_SHARE};
pub use outbox::{OutboxReading, OutboxStats};
pub use query::{Cursor, Page, StoredReading, TelemetryQuery};
pub use ring::{Batch, BatchOutcome, Committed};
pub use rollup::{Agg, Rollup, RollupCursor, TelemetryPage};
pub use rules::StoredRule;
pub use shared::SharedStore;

/// Most rows [`Store::evict_expired`] deletes per call, so one call is bounded work.
pub const EXPIRE_CHUNK: u64 = 10_000;

/// Most `(device, metric)` pairs one [`Store::evict_expired`] call looks at for late rows.
pub const EXPIRE_PAIRS: usize = 512;

/// Page size of files this build creates.
const PAGE_SIZE: u64 = 4096;

/// How the store is opened and bounded.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The database file; parent directories are created.
    pub path: PathBuf,
    /// Most readings kept (>= 1).
    pub max_rows: u64,
    /// Most bytes of database pages in use (>= 1); the WAL comes on top (see `wal_limit_bytes`).
    pub max_bytes: u64,
    /// Readings older than this (by `ts`) are removed by [`Store::evict_expired`].
    pub max_age_ms: Option<i64>,
    /// Most devices in the registry; readings of further new devices are rejected.
    pub max_devices: usize,
    /// Most distinct metric names; readings with further new names are rejected.
    pub max_metrics: usize,
    /// `locking_mode=EXCLUSIVE` (one connection; required on jffs2). Default true.
    pub exclusive: bool,
    /// Whether an upstream sync exists, so that evicting rows past the cursor is data loss.
    pub sync_enabled: bool,
    /// Readings of one series sealed into one chunk (`chunks/mod.rs`); 0 keeps every reading
    /// a row. [`seal_points_for`] gives the daemon's choice for a ring size.
    pub seal_points: usize,
    /// The head lives in RAM and reaches the file at [`Store::flush`] (`head.rs`); otherwise
    /// every committed batch is in the file.
    pub memory_head: bool,
    /// Levels of kept rollups: evicted readings folded into buckets of each step, kept for
    /// its retention (`kept/`). Empty: evicted readings leave nothing behind.
    pub kept: Vec<KeptLevel>,
}

/// Points per sealed chunk for a ring of `max_rows`: 256 (about 1 byte of chunk overhead per
/// 5 readings), fewer for small rings so that whole-chunk eviction stays under 2% of the ring.
pub fn seal_points_for(max_rows: u64) -> usize {
    (max_rows / 64).clamp(16, 256) as usize
}

/// The one error type of the storage layer; each variant says where it happened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: cannot create directory: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store {path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("store {path}: locked by another process (exclusive mode allows one connection)")]
    Locked { path: PathBuf },
    #[error(
        "store {path}: schema version {found} is newer than this build supports ({supported}); \
         upgrade acs-edge or move the file away"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("store: invalid option: {0}")]
    InvalidOptions(&'static str),
    #[error("store: device metadata must be a JSON object")]
    InvalidMetadata,
    #[error(
        "store {path}: cannot write: {source}; the daemon needs write access to the store file \
         and its directory"
    )]
    NotWritable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("store {path}: not an acs-edge store ({why}); set store.path to another file")]
    Foreign { path: PathBuf, why: &'static str },
    #[error("store: chunk {id} is corrupt ({why}); the file was changed outside acs-edge")]
    CorruptChunk { id: i64, why: &'static str },
    #[error("store: kept rollup block {id} is corrupt; the file was changed outside acs-edge")]
    CorruptKept { id: i64 },
    #[error("store: {op}: {source}")]
    Sqlite {
        op: &'static str,
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// The file system (or SQLite's own page limit) has no room for the write.
    pub fn is_disk_full(&self) -> bool {
        let source = match self {
            StoreError::Sqlite { source, .. } | StoreError::Open { source, .. } => source,
            _ => return false,
        };
        source.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull)
    }
}

/// Adds the operation name to a rusqlite error.
pub(crate) trait Ctx<T> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError>;
}

impl<T> Ctx<T> for Result<T, rusqlite::Error> {
    fn ctx(self, op: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite { op, source })
    }
}

/// Cheap figures for `/health` and `status` (memory plus two pragmas).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreStats {
    /// Readings stored, in the head and in sealed chunks.
    pub rows: u64,
    /// Of `rows`, the readings in sealed chunks.
    pub sealed: u64,
    pub oldest_seq: i64,
    pub next_seq: i64,
    /// `page_count * page_size` of the main database file.
    pub file_bytes: u64,
    /// Pages in use (not on the freelist) times the page size: what `max_bytes` bounds.
    pub used_bytes: u64,
    /// Current size of the `-wal` file (0 when absent).
    pub wal_bytes: u64,
    pub max_rows: u64,
    pub max_bytes: u64,
    pub evicted_total: u64,
    pub evicted_unsynced: u64,
    /// Bytes of kept rollup buckets (blobs and row overhead), inside `max_bytes`.
    pub rollup_bytes: u64,
    pub devices: usize,
    pub metrics: usize,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct DevEntry {
    pub id: i64,
    pub enabled: bool,
}

/// Everything the store keeps in memory besides the connection.
pub(crate) struct State {
    pub opts: StoreOptions,
    pub page_size: i64,
    pub next_seq: i64,
    /// The lowest stored seq in either tier (`next_seq` when empty).
    pub oldest_seq: i64,
    /// Rows in the head (`readings`).
    pub head_rows: u64,
    /// Points in sealed chunks.
    pub sealed: u64,
    /// Head rows per series `(device_id, metric_id)`: which series have a chunk to seal.
    pub head_series: HashMap<(i64, i64), u32>,
    /// The `next_seq` the file holds (a reservation above `next_seq` with a RAM head).
    pub seq_reserved: i64,
    /// What a RAM head owes the file until the next flush.
    pub deferred: head::Deferred,
    pub evicted_total: u64,
    pub evicted_unsynced: u64,
    /// Bytes of the kept rollup tier, as `kept::bytes` counts them.
    pub kept_bytes: i64,
    pub sync_cursor: i64,
    /// Where the next walk for late expired rows resumes: `(device_id, metric_id)`.
    pub expire_from: (i64, i64),
    /// The walk for late expired rows has not finished its round.
    pub expire_pending: bool,
    /// The disk-space reserve is absent (released for eviction, or no room to create it).
    pub reserve_missing: bool,
    /// Eviction is freeing a full disk in small steps: it folds nothing into kept rollups,
    /// whose writes could need the space it is making.
    pub fold_paused: bool,
    pub devices: HashMap<String, DevEntry>,
    pub device_keys: HashMap<i64, String>,
    pub metrics: HashMap<String, i64>,
    pub metric_names: HashMap<i64, String>,
    /// Refusals by the registry caps are logged, at a bounded rate.
    pub cap_log: crate::logging::WarnLimit,
}

/// The ring buffer and device registry in one SQLite file. One writer; `Send`, not `Sync`:
/// the daemon shares it as a [`SharedStore`].
pub struct Store {
    conn: Connection,
    st: State,
}

impl Store {
    /// Opens (creating if needed) the store at `opts.path`, migrates the schema and loads the
    /// registries and counters into memory.
    pub fn open(opts: StoreOptions) -> Result<Store, StoreError> {
        if opts.max_rows == 0 {
            return Err(StoreError::InvalidOptions("max_rows must be at least 1"));
        }
        if opts.max_bytes == 0 {
            return Err(StoreError::InvalidOptions("max_bytes must be at least 1"));
        }
        let path = opts.path.clone();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        // SQLite opens an unwritable file read-only without a word and fails later with
        // "disk I/O error"; probing first names the path and the permission problem.
        let not_writable = |source| StoreError::NotWritable {
            path: path.clone(),
            source,
        };
        let ensure_reserve = || match reserve::ensure(&path, wal_limit_bytes(&opts)) {
            Ok(()) => Ok(false),
            Err(e) if is_disk_full_io(&e) => {
                log::warn!(
                    "path={} reserve={} no room for the disk-space reserve: {e}",
                    path.display(),
                    reserve::path(&path).display()
                );
                Ok(true)
            }
            Err(e) => Err(not_writable(e)),
        };
        // A new store: creating the reserve first also proves the directory writable. An
        // existing file gets its reserve only once it is known to be a store.
        let mut reserve_missing = None;
        if path.exists() {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(not_writable)?;
        } else {
            reserve_missing = Some(ensure_reserve()?);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        configure(&conn, &opts).map_err(|e| open_error(&path, e))?;
        schema::migrate(&conn, &path)?;
        let reserve_missing = match reserve_missing {
            Some(missing) => missing,
            None => ensure_reserve()?,
        };
        let mut st = State::load(&conn, opts).map_err(|e| open_error(&path, e))?;
        st.reserve_missing = reserve_missing;
        log::info!(
            "path={} rows={} sealed={} next_seq={} devices={} metrics={} store opened",
            path.display(),
            st.head_rows,
            st.sealed,
            st.next_seq,
            st.devices.len(),
            st.metrics.len()
        );
        let mut store = Store { conn, st };
        store.seal_backlog()?;
        if store.st.opts.memory_head {
            // The file's own head is shadowed by the RAM head: everything in it is sealed.
            store.seal_all()?;
            head::create(&store.conn).map_err(|e| open_error(&path, e))?;
        }
        Ok(store)
    }

    /// Figures from memory plus `page_count`/`freelist_count`.
    pub fn stats(&self) -> StoreStats {
        let (pages, free) = page_counts(&self.conn).unwrap_or((0, 0));
        let ps = self.st.page_size as u64;
        let wal = wal_path(&self.st.opts.path);
        StoreStats {
            rows: self.st.rows(),
            sealed: self.st.sealed,
            oldest_seq: self.st.oldest_seq,
            next_seq: self.st.next_seq,
            file_bytes: pages * ps,
            used_bytes: pages.saturating_sub(free) * ps,
            wal_bytes: std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0),
            max_rows: self.st.opts.max_rows,
            max_bytes: self.st.opts.max_bytes,
            evicted_total: self.st.evicted_total,
            evicted_unsynced: self.st.evicted_unsynced,
            rollup_bytes: self.st.kept_bytes.max(0) as u64,
            devices: self.st.devices.len(),
            metrics: self.st.metrics.len(),
        }
    }

    /// Runs `PRAGMA integrity_check`; `"ok"` when the file is sound, else SQLite's findings.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .ctx("integrity_check")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .ctx("integrity_check")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("integrity_check")?;
        Ok(lines.join("\n"))
    }

    /// The options in force (limits reflect [`Store::set_limits`]).
    pub fn options(&self) -> &StoreOptions {
        &self.st.opts
    }
}

impl State {
    fn load(conn: &Connection, opts: StoreOptions) -> rusqlite::Result<State> {
        let meta = |key: &str| -> rusqlite::Result<i64> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        };
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let (max, sealed): (Option<i64>, i64) = conn.query_row(
            "SELECT max(coalesce((SELECT max(seq) FROM readings), 0), \
                        coalesce((SELECT max(seq_last) FROM chunks), 0)), \
                    coalesce((SELECT sum(count) FROM chunks), 0)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // `meta.next_seq` is written in the same transaction as the rows; max(seq) + 1 is a
        // belt-and-braces floor so that a seq can never be handed out twice.
        let next_seq = meta("next_seq")?.max(max.map_or(1, |m| m + 1));
        let mut st = State {
            opts,
            page_size,
            next_seq,
            oldest_seq: next_seq,
            head_rows: 0,
            sealed: sealed as u64,
            head_series: HashMap::new(),
            seq_reserved: next_seq,
            deferred: head::Deferred::default(),
            evicted_total: meta("evicted_total")? as u64,
            evicted_unsynced: meta("evicted_unsynced")? as u64,
            kept_bytes: kept::bytes(conn)?,
            sync_cursor: meta("sync_cursor")?,
            expire_from: (0, 0),
            expire_pending: false,
            reserve_missing: false,
            fold_paused: false,
            devices: HashMap::new(),
            device_keys: HashMap::new(),
            metrics: HashMap::new(),
            metric_names: HashMap::new(),
            cap_log: crate::logging::WarnLimit::new("messages refused by the registry caps"),
        };
        let mut stmt = conn.prepare("SELECT id, key, enabled FROM devices")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (id, key, enabled): (i64, String, Option<i64>) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let enabled = enabled.unwrap_or(1) != 0;
            st.devices.insert(key.clone(), DevEntry { id, enabled });
            st.device_keys.insert(id, key);
        }
        let mut stmt = conn.prepare("SELECT id, name FROM metrics")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (id, name): (i64, String) = (r.get(0)?, r.get(1)?);
            st.metrics.insert(name.clone(), id);
            st.metric_names.insert(id, name);
        }
        let mut stmt = conn.prepare(
            "SELECT device_id, metric_id, count(*) FROM readings GROUP BY device_id, metric_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(2)?;
            st.head_series.insert((r.get(0)?, r.get(1)?), n as u32);
            st.head_rows += n as u64;
        }
        st.oldest_seq = oldest_stored(conn)?.unwrap_or(st.next_seq);
        Ok(st)
    }

    pub fn rows(&self) -> u64 {
        self.head_rows + self.sealed
    }
}

/// Sets the pragmas in the order SQLite needs: locking mode and page size before the first
/// access that creates the WAL or a table.
fn configure(conn: &Connection, opts: &StoreOptions) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(48);
    if opts.exclusive {
        conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE")?;
    } else {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
    }
    conn.execute_batch("PRAGMA page_size=4096; PRAGMA auto_vacuum=NONE;")?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!(
            "path={} journal_mode={mode} WAL not available, using the rollback journal",
            opts.path.display()
        );
    }
    let wal_pages = wal_limit_bytes(opts) / PAGE_SIZE;
    conn.execute_batch(&format!(
        "PRAGMA synchronous=FULL;
         PRAGMA cache_size=-1024;
         PRAGMA temp_store=MEMORY;
         PRAGMA mmap_size=0;
         PRAGMA wal_autocheckpoint={wal_pages};
         PRAGMA journal_size_limit={};",
        wal_pages * PAGE_SIZE
    ))
}

/// The WAL's steady size: a quarter of `max_bytes`, between 64 pages and SQLite's default
/// 1000 pages (the checkpoint threshold and the size the WAL is truncated back to).
pub(crate) fn wal_limit_bytes(opts: &StoreOptions) -> u64 {
    (opts.max_bytes / 4 / PAGE_SIZE).clamp(64, 1000) * PAGE_SIZE
}

fn is_disk_full_io(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) {
        StoreError::Locked {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::Open {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The lowest stored seq in either tier: one rowid and one index lookup.
pub(crate) fn oldest_stored(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT min(coalesce((SELECT min(seq) FROM readings), 9223372036854775807), \
                    coalesce((SELECT min(seq_first) FROM chunks), 9223372036854775807))",
    )?
    .query_row([], |r| r.get::<_, i64>(0))
    .map(|m| (m != i64::MAX).then_some(m))
}

/// `(page_count, freelist_count)`: both read from the database header, no scan.
pub(crate) fn page_counts(conn: &Connection) -> rusqlite::Result<(u64, u64)> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    Ok((pages as u64, free as u64))
}

fn wal_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}
