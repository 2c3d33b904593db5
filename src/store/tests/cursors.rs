//! Named cursors of further upstreams: persisted, forward only, independent of the MQTT
//! upstream's cursor, with their own backlog.

use super::*;

#[test]
fn a_named_cursor_persists_moves_forward_only_and_leaves_sync_cursor_alone() {
    let dir = tempfile::tempdir().unwrap();
    let o = StoreOptions {
        sync_enabled: true,
        seal_points: 0,
        memory_head: false,
        kept: Vec::new(),
        ..opts(dir.path())
    };
    {
        let mut s = Store::open(o.clone()).unwrap();
        s.insert_batch(&batch("d", "m", 0, 10), 1).unwrap();
        assert_eq!(s.named_cursor("influxdb_cursor").unwrap(), 0);
        assert_eq!(s.backlog_after(0), (10, Some(0)));
        s.advance_named_cursor("influxdb_cursor", 6).unwrap();
        s.advance_named_cursor("influxdb_cursor", 4).unwrap();
        assert_eq!(s.named_cursor("influxdb_cursor").unwrap(), 6);
        assert_eq!(s.backlog_after(6), (4, Some(6)));
        assert_eq!(s.sync_cursor(), 0);
        assert_eq!(s.outbox_stats().backlog, 10);
    }
    let mut s = Store::open(o).unwrap();
    assert_eq!(s.named_cursor("influxdb_cursor").unwrap(), 6);
    assert_eq!(s.backlog_after(10), (0, None));
    // Readings evicted above the cursor leave the backlog (the ring keeps the newest).
    s.set_limits(2, 64 << 20, None).unwrap();
    assert_eq!(s.backlog_after(6), (2, Some(8)));
}
