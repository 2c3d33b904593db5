//! Store figures: the scale curve of the ring buffer (batched insert cost into a full, evicting
//! ring, and the day query, at 10k, 1M and 10M stored rows) next to the SQLite limit on the
//! same disk: a bare rusqlite loop inserting the same rows (same table and index, same pragmas,
//! same batch size, WAL) into a table of the same size, without the ring's bookkeeping.

use crate::report::{ratio, Row};
use acs_edge::model::{Reading, Transport};
use acs_edge::store::{Batch, Store, StoreOptions, TelemetryQuery};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Readings per transaction while measuring (the daemon commits about this many per batch at
/// full speed); the fill before the measurement uses larger batches to be quick.
const BATCH: u64 = 1000;
const FILL_BATCH: u64 = 20_000;
/// Start of the benchmark's time axis (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600_000;
/// Points in the day series: one per second.
pub const DAY_POINTS: u64 = 86_400;

fn filler(i: u64) -> (Transport, Reading) {
    (
        Transport::Mqtt,
        Reading {
            device: format!("dev{}", i % 50),
            metric: ["temperature", "humidity", "pressure"][((i / 50) % 3) as usize].to_owned(),
            ts_ms: T0 + i as i64,
            value: i as f64 * 0.5,
        },
    )
}

fn day_point(k: u64) -> (Transport, Reading) {
    (
        Transport::Mqtt,
        Reading {
            device: "day".into(),
            metric: "t".into(),
            ts_ms: T0 + k as i64 * 1000,
            value: (k % 400) as f64 * 0.1,
        },
    )
}

fn insert(
    store: &mut Store,
    range: std::ops::Range<u64>,
    batch: u64,
    make: fn(u64) -> (Transport, Reading),
) {
    let mut start = range.start;
    while start < range.end {
        let end = (start + batch).min(range.end);
        let b = Batch {
            readings: (start..end).map(make).collect(),
            statuses: Vec::new(),
        };
        store.insert_batch(&b, 0).expect("insert_batch");
        start = end;
    }
}

fn open(path: &Path, max_rows: u64) -> Store {
    open_scratch(path, max_rows)
}

/// A scratch store bounded only by `max_rows`: no byte or age limit, room for 1000 devices and
/// metrics, no upstream; it seals chunks as the daemon does for that ring size.
pub fn open_scratch(path: &Path, max_rows: u64) -> Store {
    open_with(path, max_rows, acs_edge::store::seal_points_for(max_rows))
}

/// [`open_scratch`] with every reading kept as a row (the store before sealed chunks).
pub fn open_row_store(path: &Path, max_rows: u64) -> Store {
    open_with(path, max_rows, 0)
}

fn open_with(path: &Path, max_rows: u64, seal_points: usize) -> Store {
    Store::open(options(path, max_rows, seal_points)).expect("open the store")
}

/// The scratch stores' options: unbounded in bytes, the head in the file, nothing kept.
pub fn options(path: &Path, max_rows: u64, seal_points: usize) -> StoreOptions {
    StoreOptions {
        path: path.to_path_buf(),
        max_rows,
        max_bytes: 1 << 40,
        max_age_ms: None,
        max_devices: 1000,
        max_metrics: 1000,
        exclusive: true,
        sync_enabled: false,
        seal_points,
        memory_head: false,
        kept: Vec::new(),
    }
}

/// Time of the whole day query through the store (pages of 10,000, as the API serves it):
/// the median of 3 runs, in ms, and the points returned.
pub fn day_query(store: &Store, points: u64) -> (f64, usize) {
    let mut times = Vec::new();
    let mut got = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let mut q = TelemetryQuery {
            device: Some("day".into()),
            metric: Some("t".into()),
            from_ms: Some(T0),
            to_ms: Some(T0 + points as i64 * 1000),
            limit: 10_000,
            after: None,
        };
        got = 0;
        loop {
            let page = store.query(&q).expect("query");
            got += page.items.len();
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[1], got)
}

/// A full ring of `cap` rows: (us per reading of `measure` more inserts, day query ms, points).
/// The last `day` readings are the day series, inserted after the measurement so it survives.
fn ring(path: &Path, cap: u64, measure: u64) -> (f64, f64, usize, u64) {
    let mut store = open(path, cap);
    let t = Instant::now();
    insert(&mut store, 0..cap, FILL_BATCH, filler);
    println!(
        "  filled a {cap}-row ring in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    insert(&mut store, cap..cap + measure, BATCH, filler);
    let us = start.elapsed().as_secs_f64() * 1e6 / measure as f64;
    let day = DAY_POINTS.min(cap / 2);
    insert(&mut store, 0..day, FILL_BATCH, day_point);
    let (ms, got) = day_query(&store, day);
    (us, ms, got, day)
}

/// The SQLite limit: the same rows appended by a prepared statement, `BATCH` per transaction,
/// into a table already holding `rows` rows. Returns us per reading.
fn bare(path: &Path, rows: u64, measure: u64) -> f64 {
    let conn = Connection::open(path).expect("open the bare database");
    conn.execute_batch(
        "PRAGMA locking_mode=EXCLUSIVE; PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
         PRAGMA cache_size=-1024; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=0;
         CREATE TABLE readings (seq INTEGER PRIMARY KEY, device_id INTEGER NOT NULL,
             metric_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);
         CREATE INDEX readings_device_metric_ts ON readings (device_id, metric_id, ts);",
    )
    .expect("bare schema");
    let fill = |conn: &Connection, from: u64, to: u64, batch: u64| {
        let mut start = from;
        while start < to {
            let end = (start + batch).min(to);
            let tx = conn.unchecked_transaction().unwrap();
            {
                let mut st = tx
                    .prepare_cached("INSERT INTO readings (seq, device_id, metric_id, ts, value) VALUES (?, ?, ?, ?, ?)")
                    .unwrap();
                for i in start..end {
                    st.execute(params![
                        i as i64 + 1,
                        (i % 50) as i64 + 1,
                        ((i / 50) % 3) as i64 + 1,
                        T0 + i as i64,
                        i as f64 * 0.5
                    ])
                    .unwrap();
                }
            }
            tx.commit().unwrap();
            start = end;
        }
    };
    fill(&conn, 0, rows, FILL_BATCH.max(rows / 20));
    let start = Instant::now();
    fill(&conn, rows, rows + measure, BATCH);
    start.elapsed().as_secs_f64() * 1e6 / measure as f64
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The scale curve at each of `sizes` (the first is the reference); keeps the ring of
/// `keep_rows` rows on disk for the daemon's benchmarks and returns its path.
pub fn bench(
    dir: &Path,
    sizes: &[u64],
    measure: u64,
    keep_rows: u64,
) -> (Vec<Row>, Option<PathBuf>) {
    let mut rows = Vec::new();
    let mut kept = None;
    let mut reference: Option<(f64, f64)> = None;
    for &n in sizes {
        let label = human(n);
        let path = dir.join(format!("ring-{n}.db"));
        let (ring_us, day_ms, got, day) = ring(&path, n, measure);
        let bare_path = dir.join(format!("bare-{n}.db"));
        let bare_us = bare(&bare_path, n, measure);
        remove_db(&bare_path);
        let (ring_ref, bare_ref) = *reference.get_or_insert((ring_us, bare_us));
        rows.push(Row::vs(
            format!("store batched insert, full {label}-row ring (evicting)"),
            1e6 / ring_us,
            "readings/s",
            format!(
                "bare rusqlite insert loop, {label} rows: {:.0}/s",
                1e6 / bare_us
            ),
            ratio(bare_us, ring_us),
        ));
        rows.push(Row::vs(
            format!("store insert cost at {label} rows"),
            ring_us,
            "us/reading",
            format!("the same at {}", human(sizes[0])),
            ratio(ring_us, ring_ref),
        ));
        rows.push(Row::vs(
            format!("bare SQLite insert cost at {label} rows"),
            bare_us,
            "us/reading",
            format!("the same at {}", human(sizes[0])),
            ratio(bare_us, bare_ref),
        ));
        let what = if day == DAY_POINTS {
            "day query (86,400 points of one metric)".to_owned()
        } else {
            format!("query of {day} points of one metric (a day does not fit)")
        };
        rows.push(Row::vs(
            format!("store {what}, {label}-row ring, in process"),
            day_ms,
            "ms",
            format!("budget 50 ms ({got} points returned)"),
            ratio(day_ms, 50.0),
        ));
        if n == keep_rows {
            kept = Some(path);
        } else {
            remove_db(&path);
        }
    }
    (rows, kept)
}

pub fn human(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1000 && n % 1000 == 0 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}
