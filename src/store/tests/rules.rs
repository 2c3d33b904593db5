use super::*;

#[test]
fn rules_round_trip_and_keep_their_firing_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(opts(dir.path())).unwrap();
    let a = s.insert_rule(r#"{"name":"a"}"#, 10).unwrap();
    let b = s.insert_rule(r#"{"name":"b"}"#, 11).unwrap();
    assert!(b.id > a.id);
    assert_eq!(s.record_rule_firing(a.id, 50).unwrap(), Some(1));
    assert_eq!(s.record_rule_firing(a.id, 60).unwrap(), Some(2));
    let updated = s
        .update_rule(a.id, r#"{"name":"a2"}"#, 70)
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.fire_count, updated.last_fired, updated.updated),
        (2, Some(60), 70)
    );
    assert!(s.delete_rule(b.id).unwrap());
    assert!(!s.delete_rule(b.id).unwrap());
    assert_eq!(s.record_rule_firing(b.id, 80).unwrap(), None);
    assert_eq!(s.update_rule(b.id, "{}", 80).unwrap(), None);
    assert_eq!(s.rule_count().unwrap(), 1);
    drop(s);
    let s = Store::open(opts(dir.path())).unwrap();
    assert_eq!(s.rules().unwrap(), vec![updated]);
}

#[test]
fn a_version_1_store_gains_the_rules_table_and_keeps_its_readings() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let mut s = Store::open(o.clone()).unwrap();
    s.insert_batch(&batch("d", "t", 1, 10), 1).unwrap();
    drop(s);
    let conn = rusqlite::Connection::open(&o.path).unwrap();
    conn.execute_batch(
        "DROP TABLE rules; DROP TABLE frame_counters; DROP TABLE chunks; DROP TABLE kept; PRAGMA user_version = 1",
    )
    .unwrap();
    drop(conn);
    let mut s = Store::open(o).unwrap();
    assert_eq!(s.stats().rows, 10);
    assert!(s.rules().unwrap().is_empty());
    s.insert_rule("{}", 1).unwrap();
    assert_eq!(s.rule_count().unwrap(), 1);
}
