//! The head in RAM (`store.flush_interval_s`, the default) with the real daemon: a reading
//! reaches the file at the next flush, SIGTERM flushes everything, SIGKILL loses only the
//! readings since the last flush, and a restart after SIGKILL never reuses a seq.

use crate::common;

use common::*;
use std::time::Duration;

fn stored(daemon: &Daemon, device: &str) -> (Vec<i64>, i64) {
    let store = common::store::open(&daemon.db_path());
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let mut values: Vec<i64> = common::store::query_all(&store, Some(device), None, 10_000)
        .iter()
        .map(|r| r.value as i64)
        .collect();
    values.sort_unstable();
    (values, store.stats().next_seq)
}

fn publish_range(publisher: &Publisher, device: &str, range: std::ops::Range<i64>) {
    for i in range {
        publisher.publish(
            &format!("acs/{device}/telemetry"),
            format!("{{\"n\": {i}}}"),
        );
    }
}

#[test]
fn sigkill_loses_only_the_readings_since_the_last_flush_and_no_seq_is_reused() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.flush_interval_s = Some(1);
    let mut daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    publish_range(&publisher, "ram", 0..40);
    wait_until("40 committed", patience(), || {
        (daemon.health()["ingest"]["committed"].as_u64() >= Some(40)).then_some(())
    });
    // Two flush intervals: the first 40 are in the file.
    std::thread::sleep(Duration::from_millis(2_500));
    publish_range(&publisher, "ram", 40..50);
    wait_until("50 committed", patience(), || {
        (daemon.health()["ingest"]["committed"].as_u64() >= Some(50)).then_some(())
    });
    let served_next_seq = daemon.health()["store"]["next_seq"].as_i64().unwrap();
    daemon.kill9();
    let (values, next_seq) = stored(&daemon, "ram");
    assert!(values.len() >= 40, "flushed readings lost: {values:?}");
    assert_eq!(values, (0..values.len() as i64).collect::<Vec<_>>());
    assert!(
        next_seq >= served_next_seq,
        "a seq would be handed out again"
    );

    // The restart goes on above every seq handed out before the kill.
    daemon.spawn();
    publish_range(&publisher, "after", 0..5);
    let items = wait_until("5 readings after the restart", patience(), || {
        let items = daemon.all_readings("after");
        (items.len() == 5).then_some(items)
    });
    assert_eq!(items.len(), 5);
    assert!(daemon.health()["store"]["oldest_seq"].as_i64().unwrap() >= 1);
}

#[test]
fn sigterm_makes_every_reading_in_ram_durable_and_the_next_start_continues_the_seqs() {
    let broker = Broker::start();
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.flush_interval_s = Some(3_600);
    let mut daemon = Daemon::start(&cfg);
    let publisher = Publisher::connect(broker.port);
    publish_range(&publisher, "term", 0..300);
    wait_until("300 committed", patience(), || {
        (daemon.health()["ingest"]["committed"].as_u64() >= Some(300)).then_some(())
    });
    let health = daemon.health();
    assert_eq!(health["store"]["rows"], 300);
    assert_eq!(
        health["store"]["sealed"], 0,
        "nothing is flushed before the hour"
    );
    let next_seq = health["store"]["next_seq"].as_i64().unwrap();
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
    let (values, stored_next_seq) = stored(&daemon, "term");
    assert_eq!(values, (0..300).collect::<Vec<_>>());
    assert_eq!(stored_next_seq, next_seq, "a clean stop leaves no seq gap");
    daemon.spawn();
    let health = daemon.health();
    assert_eq!(
        (
            health["store"]["rows"].as_u64(),
            health["store"]["sealed"].as_u64()
        ),
        (Some(300), Some(300))
    );
    assert_eq!(daemon.all_readings("term").len(), 300);
}
