use super::*;

fn counter(device: &str, counter: u32) -> FrameCounter {
    FrameCounter {
        device: device.into(),
        counter,
    }
}

#[test]
fn frame_counters_commit_with_their_batch_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let mut s = Store::open(o.clone()).unwrap();
    assert!(s.frame_counters().unwrap().is_empty());
    s.insert_batch_with_counters(&batch("node", "t", 1, 2), &[counter("node", 7)], 1)
        .unwrap();
    // A stale counter from an older batch never moves the stored one back.
    s.insert_batch_with_counters(&Batch::default(), &[counter("node", 3)], 1)
        .unwrap();
    drop(s);
    let s = Store::open(o).unwrap();
    assert_eq!(s.frame_counters().unwrap().get("node"), Some(&7));
    assert_eq!(s.stats().rows, 2);
}

#[test]
fn a_store_from_before_frame_counters_migrates_and_keeps_its_readings() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let mut s = Store::open(o.clone()).unwrap();
    s.insert_batch(&batch("old", "t", 1, 3), 1).unwrap();
    drop(s);
    // Turn the file back into what the build before the frame_counters step (version 3)
    // left behind.
    let before = 2;
    let conn = rusqlite::Connection::open(&o.path).unwrap();
    conn.execute_batch(&format!(
        "DROP TABLE frame_counters; DROP TABLE chunks; DROP TABLE kept; PRAGMA user_version = {before};"
    ))
    .unwrap();
    drop(conn);
    let mut s = Store::open(o).unwrap();
    assert_eq!(s.stats().rows, 3);
    s.insert_batch_with_counters(&Batch::default(), &[counter("old", 1)], 1)
        .unwrap();
    assert_eq!(s.frame_counters().unwrap().get("old"), Some(&1));
}
