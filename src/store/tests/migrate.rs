//! A store written by the release before sealed chunks (schema version 4, with a late reading
//! expired by age, evictions counted, a sync cursor, device metadata, a rule and a frame
//! counter) is converted at its first open: every reading kept with its seq, the rows of
//! full series sealed, the counters and registries as they were.
//!
//! The file `tests/it/fixtures/store-v4.db` was written by that release's `Store` API; how,
//! is in `tests/it/fixtures/README.md`.

use super::*;

const V4_STORE: &[u8] = include_bytes!("../../../tests/it/fixtures/store-v4.db");

type Row = (i64, String, String, i64, u64);

/// The readings of the version 4 file, read with plain SQL before the store touches it.
fn v4_readings(path: &Path) -> Vec<Row> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let mut stmt = conn
        .prepare(
            "SELECT r.seq, d.key, m.name, r.ts, r.value FROM readings r \
             JOIN devices d ON d.id = r.device_id JOIN metrics m ON m.id = r.metric_id \
             ORDER BY r.seq",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get::<_, f64>(4)?.to_bits(),
            ))
        })
        .unwrap()
        .collect::<Result<Vec<Row>, _>>()
        .unwrap();
    rows
}

#[test]
fn a_version_4_store_is_sealed_at_first_open_and_keeps_every_reading_and_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    std::fs::write(&path, V4_STORE).unwrap();
    let want = v4_readings(&path);
    assert_eq!(want.len(), 2_998);
    let o = StoreOptions {
        path: path.clone(),
        max_rows: 1_000_000,
        sync_enabled: true,
        seal_points: 256,
        ..opts(dir.path())
    };
    for _open in 0..2 {
        let s = Store::open(o.clone()).unwrap();
        let st = s.stats();
        assert_eq!(st.rows, 2_998);
        // The two 1,149-reading series fill several chunks each; the rest stays in the head.
        assert!(st.sealed >= 1_800 && st.sealed < 2_998, "{st:?}");
        assert_eq!((st.next_seq, st.oldest_seq), (3_137, 137));
        assert_eq!((st.evicted_total, st.evicted_unsynced), (138, 138));
        assert_eq!(s.sync_cursor(), 1_500);
        let mut got: Vec<Row> = Vec::new();
        let mut after = 0;
        loop {
            let batch = s.unsynced_batch(after, 333).unwrap();
            let Some(last) = batch.last() else { break };
            after = last.seq;
            got.extend(
                batch
                    .into_iter()
                    .map(|r| (r.seq, r.device, r.metric, r.ts, r.value.to_bits())),
            );
        }
        assert_eq!(got, want);
        let kitchen = s.device("kitchen").unwrap().unwrap();
        assert_eq!(kitchen.name.as_deref(), Some("Kitchen"));
        assert_eq!(kitchen.metadata, serde_json::json!({"room": "kitchen"}));
        assert_eq!(s.rules().unwrap().len(), 1);
        assert_eq!(
            s.frame_counters().unwrap().get("lora-70b3d57ed0001234"),
            Some(&1_199)
        );
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (version, holes): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), \
             (SELECT count(*) FROM meta WHERE key = 'holes')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, holes), (schema::SCHEMA_VERSION, 0));
}
