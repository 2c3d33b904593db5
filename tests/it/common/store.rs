//! Reading a store file back the way the daemon does, through `Store::open` and the store's
//! public read paths (keyset-paged queries, the outbox walk in seq order), never through its
//! tables: readings may live in rows or in sealed chunks, and both paths must show all of them.
//! The file must not be open elsewhere (the store holds an exclusive lock).

use acs_edge::store::{OutboxReading, Store, StoreOptions, StoredReading, TelemetryQuery};
use std::path::Path;

/// The daemon's default store options (from an empty config) for the file at `path`, with
/// bounds so large that nothing is ever evicted and the head in the file (every committed
/// batch durable on return).
pub fn options(path: &Path) -> StoreOptions {
    let config = acs_edge::config::parse("")
        .expect("the defaults parse")
        .config;
    StoreOptions {
        path: path.to_owned(),
        max_rows: u64::MAX / 2,
        max_bytes: 1 << 40,
        memory_head: false,
        kept: Vec::new(),
        ..acs_edge::runtime::settings::store_options(&config)
    }
}

/// [`options`] with the head in RAM (the daemon's default), sealing chunks of `seal_points`.
pub fn ram_head_options(path: &Path, seal_points: usize) -> StoreOptions {
    StoreOptions {
        memory_head: true,
        kept: Vec::new(),
        seal_points,
        ..options(path)
    }
}

pub fn open(path: &Path) -> Store {
    open_with(options(path))
}

pub fn open_with(options: StoreOptions) -> Store {
    let path = options.path.clone();
    Store::open(options).unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
}

/// Every reading matching `device` and `metric` (either may be `None`), in `(ts, seq)` order,
/// following the cursors with pages of `page` readings. Panics when a page is out of order or
/// repeats the reading its cursor points at.
pub fn query_all(
    store: &Store,
    device: Option<&str>,
    metric: Option<&str>,
    page: usize,
) -> Vec<StoredReading> {
    let mut q = TelemetryQuery {
        device: device.map(str::to_owned),
        metric: metric.map(str::to_owned),
        limit: page,
        ..TelemetryQuery::default()
    };
    let mut out: Vec<StoredReading> = Vec::new();
    loop {
        let got = store.query(&q).unwrap();
        for r in got.items {
            if let Some(last) = out.last() {
                assert!(
                    (last.ts_ms, last.seq) < (r.ts_ms, r.seq),
                    "query {device:?}/{metric:?} out of (ts, seq) order: {last:?} then {r:?}"
                );
            }
            out.push(r);
        }
        match got.next_cursor {
            Some(cursor) => q.after = Some(cursor),
            None => return out,
        }
    }
}

/// Every stored reading with a seq above `after_seq`, in seq order (the upstream outbox walk).
pub fn walk_from(store: &Store, after_seq: i64) -> Vec<OutboxReading> {
    let mut out: Vec<OutboxReading> = Vec::new();
    let mut after = after_seq;
    loop {
        let batch = store.unsynced_batch(after, 10_000).unwrap();
        let Some(last) = batch.last() else {
            return out;
        };
        after = last.seq;
        for r in batch {
            if let Some(prev) = out.last() {
                assert!(
                    prev.seq < r.seq,
                    "outbox walk out of seq order at {}",
                    r.seq
                );
            }
            out.push(r);
        }
    }
}
