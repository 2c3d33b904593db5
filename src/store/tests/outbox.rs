//! The outbox: batches by seq, the acknowledged cursor and the eviction gap.

use super::*;

fn sync_opts(dir: &Path) -> StoreOptions {
    StoreOptions {
        sync_enabled: true,
        seal_points: 0,
        memory_head: false,
        kept: Vec::new(),
        ..opts(dir)
    }
}

#[test]
fn batches_are_contiguous_seq_ranges_with_names_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(sync_opts(dir.path())).unwrap();
    s.insert_batch(&mixed_batch(0, 10), 1).unwrap();
    let first = s.unsynced_batch(s.sync_cursor(), 4).unwrap();
    assert_eq!(
        first.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(first[1].device, "dev1");
    assert_eq!(first[1].metric, "humidity");
    assert_eq!(first[1].ts, 1000);
    let rest = s.unsynced_batch(4, 100).unwrap();
    assert_eq!(rest.first().unwrap().seq, 5);
    assert_eq!(rest.last().unwrap().seq, 10);
    assert!(s.unsynced_batch(10, 100).unwrap().is_empty());
}

#[test]
fn acknowledged_cursor_survives_reopen_and_never_moves_back() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut s = Store::open(sync_opts(dir.path())).unwrap();
        s.insert_batch(&mixed_batch(0, 10), 1).unwrap();
        assert_eq!(s.outbox_stats().backlog, 10);
        assert_eq!(s.outbox_stats().oldest_unsynced_ts, Some(0));
        s.ack_synced(1, 6, 6).unwrap();
        s.ack_synced(1, 3, 3).unwrap();
        assert_eq!(s.sync_cursor(), 6);
    }
    let s = Store::open(sync_opts(dir.path())).unwrap();
    let stats = s.outbox_stats();
    assert_eq!(stats.cursor, 6);
    assert_eq!(stats.backlog, 4);
    assert_eq!(stats.oldest_unsynced_ts, Some(6000));
    // Nothing was deleted by acknowledging.
    assert_eq!(s.stats().rows, 10);
}

#[test]
fn rows_evicted_while_in_flight_and_then_acknowledged_are_not_reported_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(sync_opts(dir.path())).unwrap();
    s.insert_batch(&mixed_batch(0, 1_000), 1).unwrap();
    let in_flight = s.unsynced_batch(0, 100).unwrap();
    // 150 more rows evict seqs 1..=150: 100 in flight, 50 never read.
    s.insert_batch(&mixed_batch(1_000, 150), 1).unwrap();
    assert_eq!(s.stats().evicted_unsynced, 150);
    let (first, last) = (in_flight[0].seq, in_flight.last().unwrap().seq);
    s.ack_synced(first, last, in_flight.len() as u64).unwrap();
    assert_eq!(s.stats().evicted_unsynced, 50);
    // The next batch starts at the oldest stored row, past the gap.
    assert_eq!(s.unsynced_batch(100, 1).unwrap()[0].seq, 151);
    assert_eq!(s.outbox_stats().backlog, 1_000);
}

#[test]
fn store_id_is_stable_for_a_file_and_differs_between_files() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = Store::open(sync_opts(a.path()))
        .unwrap()
        .store_id()
        .unwrap();
    assert_eq!(first.len(), 16);
    assert!(first.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(
        Store::open(sync_opts(a.path()))
            .unwrap()
            .store_id()
            .unwrap(),
        first
    );
    assert_ne!(
        Store::open(sync_opts(b.path()))
            .unwrap()
            .store_id()
            .unwrap(),
        first
    );
}
