//! Node-RED doing this job the way many users do it today: a flow `mqtt in` (QoS 1, JSON) ->
//! `function` (topic and payload to parameters) -> `sqlite` (node-red-node-sqlite, a prepared
//! INSERT per message), fed the benchmark's QoS 1 burst. Measured: rows/s committed (counted
//! in the SQLite file) and the Node-RED process's peak RSS. Installed by `bench/peers.sh` into
//! `bench/.peers/node-red` (npm; the sqlite3 module built from source against the local node
//! headers, since its prebuilt binaries cannot be downloaded here).

use crate::harness::{free_port, publish_all, start_broker, Killed};
use crate::report::{command_line, ratio, Row};
use rumqttc::QoS;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LABEL: &str = "Node-RED flow MQTT -> SQLite";

fn install_dir() -> PathBuf {
    std::env::current_dir()
        .unwrap_or_default()
        .join("bench/.peers/node-red")
}

fn flow(port: u16, db: &Path) -> serde_json::Value {
    serde_json::json!([
        {"id": "tab1", "type": "tab", "label": "bench"},
        {"id": "broker1", "type": "mqtt-broker", "name": "bench", "broker": "127.0.0.1",
         "port": port.to_string(), "clientid": "nodered-bench", "autoConnect": true,
         "usetls": false, "protocolVersion": "4", "keepalive": "60", "cleansession": true},
        {"id": "in1", "type": "mqtt in", "z": "tab1", "name": "", "topic": "acs/+/telemetry",
         "qos": "1", "datatype": "json", "broker": "broker1", "nl": false, "rap": true,
         "rh": 0, "inputs": 0, "wires": [["fn1"]]},
        {"id": "fn1", "type": "function", "z": "tab1", "name": "to row", "outputs": 1,
         "func": "msg.params = {$device: msg.topic.split('/')[1], $metric: 't', $ts: msg.payload.ts, $value: msg.payload.t};\nreturn msg;",
         "wires": [["db1"]]},
        {"id": "db1", "type": "sqlite", "z": "tab1", "mydb": "sdb1", "sqlquery": "prepared",
         "sql": "INSERT INTO readings (device, metric, ts, value) VALUES ($device, $metric, $ts, $value)",
         "name": "", "wires": [[]]},
        {"id": "sdb1", "type": "sqlitedb", "db": db.display().to_string(), "mode": "RWC"}
    ])
}

/// Rows committed so far; `None` while the file is locked by a writer.
fn rows_in(db: &Path) -> Option<u64> {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| {
            c.busy_timeout(Duration::from_secs(2))?;
            c.query_row("SELECT count(*) FROM readings", [], |r| r.get::<_, i64>(0))
        })
        .map(|n| n as u64)
        .ok()
}

/// `ours_qos1`: acs-edge's QoS 1 ingest rate of this run.
pub fn bench(work: &Path, n: u64, ours_qos1: Option<f64>) -> Vec<Row> {
    let home = install_dir();
    let red = home.join("node_modules/node-red/red.js");
    if !red.is_file() || !home.join("node_modules/node-red-node-sqlite").is_dir() {
        return vec![Row::skipped(
            LABEL,
            "not installed (bench/peers.sh installs it from npm)",
        )];
    }
    let version = command_line("node", &["-p", &format!("'node-red ' + require('{}/node_modules/node-red/package.json').version + ', node ' + process.version", home.display())]);
    let dir = work.join("node-red");
    let _ = std::fs::create_dir_all(&dir);
    let db = dir.join("nodered.db");
    let created = rusqlite::Connection::open(&db).and_then(|c| {
        c.execute_batch("CREATE TABLE readings (device TEXT, metric TEXT, ts INTEGER, value REAL)")
    });
    if let Err(e) = created {
        return vec![Row::skipped(LABEL, format!("create its table: {e}"))];
    }
    let port = free_port();
    let _broker = start_broker(&dir, port, "");
    std::fs::write(dir.join("flows.json"), flow(port, &db).to_string()).unwrap();
    std::fs::write(
        dir.join("settings.js"),
        format!(
            "module.exports = {{ uiPort: {}, uiHost: '127.0.0.1', httpAdminRoot: false, \
             httpNodeRoot: false, flowFile: '{}', credentialSecret: false, \
             nodesDir: '{}', logging: {{ console: {{ level: 'info' }} }} }};\n",
            free_port(),
            dir.join("flows.json").display(),
            home.join("node_modules").display()
        ),
    )
    .unwrap();
    let log = dir.join("node-red.log");
    let child = Command::new("node")
        .arg(&red)
        .arg("--userDir")
        .arg(&home)
        .arg("--settings")
        .arg(dir.join("settings.js"))
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => Killed(c),
        Err(e) => return vec![Row::skipped(LABEL, format!("node: {e}"))],
    };
    let ready = crate::harness::wait_for(Duration::from_secs(90), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Connected to broker"))
    });
    if let Err(e) = ready {
        let tail = std::fs::read_to_string(&log).unwrap_or_default();
        let last = tail.lines().last().unwrap_or("").to_owned();
        return vec![Row::skipped(
            LABEL,
            format!("flow not connected ({e}): {last}"),
        )];
    }
    let idle = crate::daemon::peak_mb(child.pid());
    let start = Instant::now();
    let publisher = std::thread::spawn(move || publish_all(port, n, QoS::AtLeastOnce, None));
    // Node-RED may take the whole burst in before its first row lands: the count is only
    // called stalled after the publisher is done and it has not moved for 15 s.
    let mut last = (0, Instant::now());
    while start.elapsed() < Duration::from_secs(300) {
        std::thread::sleep(Duration::from_millis(250));
        let Some(now) = rows_in(&db) else { continue };
        if now >= n
            || (publisher.is_finished()
                && now == last.0
                && last.1.elapsed() > Duration::from_secs(15))
        {
            break;
        }
        if now != last.0 {
            last = (now, Instant::now());
        }
    }
    let got = rows_in(&db).unwrap_or(last.0);
    let secs = last.1.duration_since(start).as_secs_f64().max(1e-3);
    let peak = crate::daemon::peak_mb(child.pid());
    drop(child);
    let _ = publisher.join();
    let rate = got as f64 / secs;
    println!("  Node-RED committed {got} of {n} rows");
    vec![
        Row::vs(
            format!("{LABEL}, QoS 1 burst ({got}/{n} committed; {version})"),
            rate,
            "rows/s",
            ours_qos1.map_or("acs-edge QoS 1 ingest not measured".into(), |o| {
                format!("acs-edge QoS 1 ingest {o:.0}/s")
            }),
            ours_qos1.and_then(|o| ratio(rate, o)),
        ),
        Row::vs(
            format!("{LABEL}: Node-RED RSS peak (VmHWM)"),
            peak,
            "MB",
            format!("the same before the burst {idle:.0} MB"),
            ratio(peak, idle),
        ),
    ]
}
