//! `make bench`: measures acs-edge and the limits it works under in the same run, so each
//! figure comes with the limit or peer it is compared with and the ratio of the two:
//!
//! - store: the ring buffer's batched insert cost and day query at 10k, 1M and (full mode)
//!   10M rows, next to a bare rusqlite insert loop on the same disk ([`store`]);
//! - the release daemon with a full 1M-row store: resident memory idle and at 5k readings/s,
//!   REST latency, end-to-end ingest next to the broker's own limit, rules ([`daemon`], [`rest`]);
//! - the mixed sensor workload of 100 series on the row store: bytes per reading and readings
//!   a 4 MB store holds, the day query, an hourly rollup over REST, QoS 1 ingest next to a
//!   broker-only QoS 1 subscriber ([`mixed`], [`workload`]);
//! - flash wear at 1k readings/s ([`flash`]), upstream drain ([`upstream`]);
//! - router builds when they exist: binary sizes, ingest under qemu-mipsel ([`router`]);
//! - peers on the same workload: mosquitto with persistence, a Node-RED flow ([`peers`]).
//!
//! `--quick` (or `ACS_BENCH_QUICK=1`) runs smaller versions of every part; `ACS_BENCH_ONLY`
//! (a comma-separated list of store, daemon, mixed, flash, upstream, router, peers) runs some parts.
//! The table goes to stdout, the full run's rows to `bench/results.json` (quick or partial runs
//! to `bench/out/`). Nothing here asserts a time.

mod daemon;
mod flash;
mod harness;
mod mixed;
mod peers;
mod report;
mod rest;
mod router;
mod store;
mod upstream;
mod workload;

use harness::{free_port, start_broker, DaemonSpec};
use report::{ratio, Row};
use rumqttc::QoS;
use std::path::PathBuf;

/// The sizes of one run.
struct Plan {
    name: &'static str,
    store_sizes: &'static [u64],
    store_measure: u64,
    ingest: u64,
    rules_rounds: usize,
    rules_ingest: u64,
    load_seconds: u64,
    rest_clients: usize,
    rest_requests: usize,
    flash_intervals: &'static [u64],
    flash_seconds: u64,
    backlog: u64,
    emulated: u64,
    mosquitto: u64,
    node_red: u64,
    /// The mixed workload: messages (5 readings each) for the QoS 1 comparison, messages
    /// beside the day query, days of 60 s readings under the hourly rollup.
    mixed_ingest: usize,
    mixed_background: usize,
    rollup_days: u64,
}

const FULL: Plan = Plan {
    name: "full",
    store_sizes: &[10_000, 1_000_000, 10_000_000],
    store_measure: 200_000,
    ingest: 200_000,
    rules_rounds: 3,
    rules_ingest: 100_000,
    load_seconds: 12,
    rest_clients: 8,
    rest_requests: 50,
    flash_intervals: &[100, 1000, 10_000],
    flash_seconds: 20,
    backlog: 1_000_000,
    emulated: 20_000,
    mosquitto: 200_000,
    node_red: 5_000,
    mixed_ingest: 50_000,
    mixed_background: 100_000,
    rollup_days: 365,
};

const QUICK: Plan = Plan {
    name: "quick",
    store_sizes: &[10_000, 1_000_000],
    store_measure: 50_000,
    ingest: 50_000,
    rules_rounds: 1,
    rules_ingest: 20_000,
    load_seconds: 6,
    rest_clients: 8,
    rest_requests: 15,
    flash_intervals: &[1000],
    flash_seconds: 8,
    backlog: 100_000,
    emulated: 3_000,
    mosquitto: 20_000,
    node_red: 1_000,
    mixed_ingest: 20_000,
    mixed_background: 20_000,
    rollup_days: 30,
};

/// The store the daemon benchmarks run on: a full ring of this many rows.
const DAEMON_ROWS: u64 = 1_000_000;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("ACS_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let plan = if quick { &QUICK } else { &FULL };
    let only = std::env::var("ACS_BENCH_ONLY").unwrap_or_default();
    let runs = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    let started = std::time::Instant::now();
    report::section("start");
    let machine = report::machine();
    println!("acs-edge bench, {} mode, on {machine}", plan.name);
    let work = tempfile::Builder::new()
        .prefix("acs-bench")
        .tempdir_in(std::env::var("ACS_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))
        .expect("a work directory on disk");
    let mut rows: Vec<Row> = Vec::new();

    if runs("router") {
        report::section("binary sizes");
        rows.extend(router::sizes());
    }
    let mut kept_store = None;
    let mut in_process_day = None;
    if runs("store") || runs("daemon") {
        report::section("store scale curve");
        let sizes: &[u64] = if runs("store") {
            plan.store_sizes
        } else {
            &[DAEMON_ROWS]
        };
        let (store_rows, kept) = store::bench(work.path(), sizes, plan.store_measure, DAEMON_ROWS);
        in_process_day = store_rows
            .iter()
            .find(|r| r.figure.contains("day query") && r.figure.contains("1M-row"))
            .and_then(|r| r.value);
        if runs("store") {
            rows.extend(store_rows);
        }
        kept_store = kept;
    }
    let mut native = Vec::new();
    if runs("daemon") {
        if let Some(store) = kept_store.take() {
            native = daemon_part(
                plan,
                &work.path().join("daemon"),
                store,
                in_process_day,
                &mut rows,
            );
        }
    }
    if runs("mixed") {
        report::section("mixed workload, row store");
        rows.extend(mixed::bench(
            work.path(),
            plan.mixed_ingest,
            plan.mixed_background,
            plan.rollup_days,
        ));
    }
    if runs("flash") {
        report::section("flash wear");
        rows.extend(flash::bench(plan.flash_intervals, plan.flash_seconds));
    }
    let mut drain = None;
    if runs("upstream") {
        report::section("upstream drain");
        let up = upstream::bench(work.path(), plan.backlog);
        drain = up.first().and_then(|r| r.value);
        rows.extend(up);
    }
    if runs("router") {
        report::section("emulated router");
        rows.extend(router::emulated_ingest(work.path(), plan.emulated, &native));
    }
    if runs("peers") {
        report::section("peers");
        let qos1 = native
            .iter()
            .find(|(q, _)| *q == QoS::AtLeastOnce)
            .map(|(_, r)| *r);
        rows.extend(peers::mosquitto::bench(
            work.path(),
            plan.mosquitto,
            qos1,
            drain,
        ));
        rows.extend(peers::nodered::bench(work.path(), plan.node_red, qos1));
    }

    report::print_table(&rows);
    println!(
        "\n{} run took {:.0} s",
        plan.name,
        started.elapsed().as_secs_f64()
    );
    let out = if only.is_empty() && !quick {
        PathBuf::from("bench/results.json")
    } else {
        let _ = std::fs::create_dir_all("bench/out");
        PathBuf::from(format!("bench/out/results-{}.json", plan.name))
    };
    report::write_json(&out, machine, plan.name, &rows);
}

/// The daemon on a full 1M-row store: memory idle, REST latency, memory at 5k readings/s,
/// ingest at full speed next to the broker's limit, rules. Returns the native ingest rates.
fn daemon_part(
    plan: &Plan,
    dir: &std::path::Path,
    store: PathBuf,
    in_process_day: Option<f64>,
    rows: &mut Vec<Row>,
) -> Vec<(QoS, f64)> {
    report::section("broker limit");
    std::fs::create_dir_all(dir).unwrap();
    let port = free_port();
    let _broker = start_broker(dir, port, "");
    let limit = daemon::broker_limit(port, plan.ingest);
    rows.push(Row::plain(
        "broker QoS 0 delivery to a subscriber that only counts",
        limit,
        "msg/s",
    ));

    println!(
        "\n== daemon with a full {}-row store",
        store::human(DAEMON_ROWS)
    );
    let mut spec = DaemonSpec::new(dir, port);
    spec.max_rows = DAEMON_ROWS;
    std::fs::rename(&store, spec.store_path()).expect("move the prepared store");
    let daemon = match spec.start() {
        Ok(d) => d,
        Err(e) => {
            rows.push(Row::skipped("daemon figures", e));
            return Vec::new();
        }
    };
    let label = store::human(DAEMON_ROWS);
    rows.extend(daemon::memory_idle(&daemon, &label));
    report::section("REST latency");
    rows.extend(rest::bench(
        &daemon,
        plan.rest_clients,
        plan.rest_requests,
        in_process_day,
    ));
    report::section("memory at load");
    rows.extend(daemon::memory_at_load(
        &daemon,
        port,
        plan.load_seconds,
        &label,
    ));
    report::section("ingest");
    let ingest = daemon::ingest(&daemon, port, plan.ingest, limit, &label);
    let native = vec![
        (QoS::AtMostOnce, ingest[0].value.unwrap_or(0.0)),
        (QoS::AtLeastOnce, ingest[1].value.unwrap_or(0.0)),
    ];
    rows.extend(ingest);
    report::section("rules");
    rows.extend(daemon::rules(
        &daemon,
        port,
        plan.rules_ingest,
        plan.rules_rounds,
    ));
    let hwm = daemon.rss_kb("VmHWM") as f64 / 1024.0;
    rows.push(Row::vs(
        format!("daemon RSS peak (VmHWM) after every daemon run, {label}-row store"),
        hwm,
        "MB",
        "budget 16 MB",
        ratio(hwm, 16.0),
    ));
    native
}
