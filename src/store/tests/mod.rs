use std::path::Path;

use super::*;
use crate::model::{DeviceStatus, FrameCounter, Reading, Transport};

pub(super) fn opts(dir: &Path) -> StoreOptions {
    StoreOptions {
        path: dir.join("sub/dir/store.db"),
        max_rows: 1_000,
        max_bytes: 64 << 20,
        max_age_ms: None,
        max_devices: 10_000,
        max_metrics: 1_000,
        exclusive: true,
        sync_enabled: false,
        seal_points: 0,
        memory_head: false,
        kept: Vec::new(),
    }
}

pub(super) fn reading(device: &str, metric: &str, ts_ms: i64, value: f64) -> (Transport, Reading) {
    let r = Reading {
        device: device.into(),
        metric: metric.into(),
        ts_ms,
        value,
    };
    (Transport::Mqtt, r)
}

/// Inserts `readings` as one batch without statuses.
pub(super) fn insert(s: &mut Store, readings: Vec<(Transport, Reading)>) {
    let b = Batch {
        readings,
        statuses: vec![],
    };
    s.insert_batch(&b, 1).unwrap();
}

/// `n` readings of one device/metric with ts = start, start+1, ...
pub(super) fn batch(device: &str, metric: &str, start: i64, n: i64) -> Batch {
    Batch {
        readings: (start..start + n)
            .map(|ts| reading(device, metric, ts, ts as f64))
            .collect(),
        statuses: Vec::new(),
    }
}

/// A batch spread over 4 devices x 3 metrics, like a small real deployment.
pub(super) fn mixed_batch(start: i64, n: i64) -> Batch {
    Batch {
        readings: (start..start + n)
            .map(|i| {
                let dev = format!("dev{}", i % 4);
                let metric = ["temperature", "humidity", "co2"][(i % 3) as usize];
                reading(&dev, metric, i * 1000, i as f64 / 10.0)
            })
            .collect(),
        statuses: Vec::new(),
    }
}

pub(super) fn all_pages(s: &Store, base: &TelemetryQuery) -> Vec<StoredReading> {
    let mut out = Vec::new();
    let mut q = base.clone();
    loop {
        let page = s.query(&q).unwrap();
        assert!(page.items.len() <= q.limit);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(Cursor::decode(&c.encode()).unwrap()),
            None => return out,
        }
    }
}

pub(super) fn files_size(path: &Path) -> (u64, u64) {
    let db = std::fs::metadata(path).unwrap().len();
    let wal = std::fs::metadata(super::wal_path(path))
        .map(|m| m.len())
        .unwrap_or(0);
    (db, wal)
}

mod chunks;
mod counters;
#[cfg(feature = "influxdb")]
mod cursors;
mod head;
mod kept;
mod migrate;
mod outbox;
mod query;
mod ring;

mod rollup;
mod rules;
