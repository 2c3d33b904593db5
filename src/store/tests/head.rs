//! The head in RAM: nothing of it reaches the file before a flush, a flush makes all of it
//! durable at once, a crash loses only what came after the last flush and never reuses a seq,
//! and what waits in RAM is queried, synced and shown like the rest.

use super::*;

fn memory(dir: &Path) -> StoreOptions {
    StoreOptions {
        max_rows: 1_000_000,
        seal_points: 16,
        memory_head: true,
        kept: Vec::new(),
        sync_enabled: true,
        ..opts(dir)
    }
}

fn values(s: &Store) -> Vec<i64> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let batch = s.unsynced_batch(after, 1_000).unwrap();
        let Some(last) = batch.last() else {
            return out;
        };
        after = last.seq;
        out.extend(batch.iter().map(|r| r.value as i64));
    }
}

fn numbered(from: i64, n: i64) -> Batch {
    Batch {
        readings: (from..from + n)
            .map(|i| reading(&format!("d{}", i % 3), "t", 1_000 + i, i as f64))
            .collect(),
        statuses: vec![],
    }
}

#[test]
fn a_crash_loses_only_what_came_after_the_last_flush_and_never_reuses_a_seq() {
    let dir = tempfile::tempdir().unwrap();
    let last_seq;
    {
        let mut s = Store::open(memory(dir.path())).unwrap();
        s.insert_batch(&numbered(0, 100), 1).unwrap();
        assert_eq!(s.flush(false).unwrap(), 100);
        s.insert_batch(&numbered(100, 50), 1).unwrap();
        // What waits in RAM is queried and read by the outbox like the rest.
        assert_eq!(values(&s), (0..150).collect::<Vec<_>>());
        assert_eq!(s.stats().rows, 150);
        last_seq = s.stats().next_seq - 1;
        // Dropped without a flush: a power cut.
    }
    let mut s = Store::open(memory(dir.path())).unwrap();
    assert_eq!(values(&s), (0..100).collect::<Vec<_>>());
    assert_eq!(s.stats().rows, 100);
    assert!(
        s.stats().next_seq > last_seq,
        "a seq would be handed out twice"
    );
    s.insert_batch(&numbered(1_000, 10), 1).unwrap();
    s.flush(true).unwrap();
    let next = s.stats().next_seq;
    drop(s);
    let s = Store::open(memory(dir.path())).unwrap();
    assert_eq!(values(&s).len(), 110);
    // A clean stop writes the exact next seq: no gap after it.
    assert_eq!(s.stats().next_seq, next);
    assert_eq!(s.integrity_check().unwrap(), "ok");
}

#[test]
fn device_figures_and_cursors_wait_in_ram_are_shown_and_reach_the_file_with_the_flush() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(memory(dir.path())).unwrap();
        s.insert_batch(&numbered(0, 30), 5_000).unwrap();
        s.flush(false).unwrap();
        let mut b = numbered(30, 3);
        b.statuses.push(DeviceStatus {
            device: "d1".into(),
            online: false,
            transport: Transport::Mqtt,
            ts_ms: 9_000,
        });
        s.insert_batch(&b, 7_000).unwrap();
        let d0 = s.device("d0").unwrap().unwrap();
        assert_eq!((d0.last_seen_ms, d0.online), (7_000, true));
        assert!(!s.device("d1").unwrap().unwrap().online);
        s.ack_synced(1, 20, 20).unwrap();
        assert_eq!(s.sync_cursor(), 20);
    }
    {
        // Power cut: the file has the figures of the last flush.
        let mut s = Store::open(memory(dir.path())).unwrap();
        let d0 = s.device("d0").unwrap().unwrap();
        assert_eq!((d0.last_seen_ms, d0.online), (5_000, true));
        assert_eq!(s.sync_cursor(), 0);
        s.insert_batch(&numbered(40, 3), 8_000).unwrap();
        s.ack_synced(1, 20, 20).unwrap();
        s.flush(false).unwrap();
    }
    let s = Store::open(memory(dir.path())).unwrap();
    assert_eq!(s.device("d0").unwrap().unwrap().last_seen_ms, 8_000);
    assert_eq!(s.sync_cursor(), 20);
    assert_eq!(s.outbox_stats().backlog, 13);
}

#[test]
fn a_full_head_is_flushed_without_waiting_for_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(memory(dir.path())).unwrap();
    let limit = crate::store::head_limit(16) as i64;
    s.insert_batch(&numbered(0, limit - 1), 1).unwrap();
    assert_eq!(s.stats().sealed, 0);
    s.insert_batch(&numbered(limit, 1), 1).unwrap();
    assert_eq!(s.stats().sealed as i64, limit);
    drop(s);
    let s = Store::open(memory(dir.path())).unwrap();
    assert_eq!(s.stats().rows as i64, limit);
}

#[test]
fn a_store_with_its_head_in_the_file_opens_with_a_ram_head_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let file_head = StoreOptions {
        memory_head: false,
        kept: Vec::new(),
        ..memory(dir.path())
    };
    let mut s = Store::open(file_head.clone()).unwrap();
    s.insert_batch(&numbered(0, 20), 1).unwrap();
    drop(s);
    let mut s = Store::open(memory(dir.path())).unwrap();
    assert_eq!((s.stats().rows, s.stats().sealed), (20, 20));
    s.insert_batch(&numbered(20, 5), 1).unwrap();
    s.flush(true).unwrap();
    drop(s);
    let s = Store::open(file_head).unwrap();
    assert_eq!(values(&s), (0..25).collect::<Vec<_>>());
}

#[test]
fn short_chunks_of_frequent_flushes_are_merged_into_full_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(memory(dir.path())).unwrap();
    for round in 0..40 {
        s.insert_batch(&numbered(round * 6, 6), 1).unwrap();
        s.flush(false).unwrap();
    }
    assert_eq!(values(&s), (0..240).collect::<Vec<_>>());
    // Each of the 3 series got 2 readings a flush, 80 in all: merged four at a time into
    // bigger chunks, up to full ones of 16 points, a few short ones left per series.
    let chunks: Vec<(i64, i64)> = s
        .conn
        .prepare("SELECT device_id, count(*) FROM chunks GROUP BY device_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|&(_, n)| n <= 9), "{chunks:?}");
    let full: i64 = s
        .conn
        .query_row("SELECT count(*) FROM chunks WHERE count = 16", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(full >= 3 * 3, "{full} full chunks");
    assert_eq!(s.integrity_check().unwrap(), "ok");
}
