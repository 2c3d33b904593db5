//! The InfluxDB upstream against Debian's real `influxdb` 1.6 server (the v1 write and query
//! API): readings ingested over MQTT arrive with their tags, values and ms timestamps; readings
//! ingested while influxd is down (not started, or killed) arrive once it is up, each once; a
//! missing database and bad credentials show in health while the cursor stays; a batch
//! InfluxDB refuses as bad is skipped and counted. The v2 request (there is no v2 server here)
//! is checked against InfluxDB's documented form on a listener that records it.
//!
//! Without `influxd` on PATH the tests against it are skipped with a message, except in CI
//! (`CI` set), where that is a failure (.ci/run installs the package).

use crate::common;

use common::{free_port, patience, wait_until, Broker, Daemon, DaemonConfig, Publisher};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BASE_TS: i64 = 1_767_225_600_000;

/// A real influxd with its data in a temporary directory, on free ports.
struct Influxd {
    port: u16,
    dir: tempfile::TempDir,
    auth: bool,
    child: Option<Child>,
}

impl Influxd {
    /// `None` (after saying why) when influxd is not installed outside CI.
    fn installed() -> bool {
        let found = Command::new("influxd")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "influxd is not installed (Debian package influxdb); CI must have it"
            );
            eprintln!("SKIPPED: influxd is not installed (Debian package influxdb)");
        }
        found
    }

    /// Chooses the port and directory; the server starts with [`Influxd::start`].
    fn new(auth: bool) -> Influxd {
        Influxd {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            auth,
            child: None,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let d = self.dir.path();
        let config = d.join("influxdb.conf");
        std::fs::write(
            &config,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
                 [monitor]\n  store-enabled = false\n\
                 [continuous_queries]\n  enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n  \
                 auth-enabled = {auth}\n",
                rpc = free_port(),
                d = d.display(),
                http = self.port,
                auth = self.auth,
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("influxd.log"))
            .unwrap();
        let child = Command::new("influxd")
            .args(["run", "-config"])
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start influxd");
        self.child = Some(child);
        let ping = format!("{}/ping", self.url());
        wait_until("influxd to answer /ping", patience(), || {
            ureq::get(&ping).call().ok().filter(|r| r.status() == 204)
        });
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// An InfluxQL statement (POST /query), as the admin when auth is on; the JSON answer.
    fn query(&self, db: &str, q: &str) -> Value {
        let mut request = ureq::post(&format!("{}/query", self.url()));
        if self.auth {
            request = request.query("u", "admin").query("p", "admin-pw");
        }
        let answer = request
            .query("db", db)
            .query("epoch", "ms")
            .send_form(&[("q", q)]);
        let (_, body, _) = common::answer(answer);
        body
    }

    /// The rows of a SELECT: each row's columns by name.
    fn rows(&self, db: &str, q: &str) -> Vec<serde_json::Map<String, Value>> {
        let body = self.query(db, q);
        let Some(series) = body["results"][0]["series"].as_array() else {
            return Vec::new();
        };
        let mut rows = Vec::new();
        for s in series {
            let columns: Vec<String> = s["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            for values in s["values"].as_array().unwrap() {
                let row = columns
                    .iter()
                    .cloned()
                    .zip(values.as_array().unwrap().iter().cloned())
                    .collect();
                rows.push(row);
            }
        }
        rows
    }

    fn count(&self, db: &str, measurement: &str) -> i64 {
        let rows = self.rows(db, &format!("SELECT count(value) FROM \"{measurement}\""));
        rows.first().and_then(|r| r["count"].as_i64()).unwrap_or(0)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("influxd.log")).unwrap_or_default()
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn influx_section(url: &str, options: &str) -> String {
    format!(
        "config influxdb 'influxdb'\n\toption enabled '1'\n\toption url '{url}'\n\
         \toption reconnect_max_s '1'\n{options}\n"
    )
}

fn start_daemon(broker: &Broker, section: String) -> Daemon {
    let mut cfg = DaemonConfig::new(broker.port);
    cfg.extra = section;
    Daemon::start(&cfg)
}

fn influx(daemon: &Daemon) -> Value {
    daemon.health()["influxdb"].clone()
}

/// Publishes readings `from..from+n` of `device`, metrics `temperature` (20 + i/10) and
/// `humidity` (40 + i), ts = BASE_TS + i*1000, and waits until the store has `stored` rows.
fn publish(daemon: &Daemon, publisher: &Publisher, device: &str, from: i64, n: i64, stored: i64) {
    let batch: Vec<Value> = (from..from + n)
        .map(|i| json!({"ts": BASE_TS + i * 1000, "temperature": 20.0 + i as f64 / 10.0, "humidity": 40 + i}))
        .collect();
    publisher.publish(
        &format!("acs/{device}/telemetry"),
        serde_json::to_vec(&batch).unwrap(),
    );
    wait_until("readings to be stored", patience(), || {
        (daemon.health()["store"]["rows"].as_i64() == Some(stored)).then_some(())
    });
}

fn wait_drained(daemon: &Daemon, sent: i64) -> Value {
    wait_until("the InfluxDB backlog to drain", patience() * 3, || {
        let status = influx(daemon);
        (status["backlog"] == 0 && status["sent"] == sent).then_some(status)
    })
}

#[test]
fn readings_written_while_influxd_is_down_arrive_once_it_is_up_each_once() {
    if !Influxd::installed() {
        return;
    }
    let broker = Broker::start();
    let mut influxd = Influxd::new(false);
    let daemon = start_daemon(&broker, influx_section(&influxd.url(), ""));
    let publisher = Publisher::connect(broker.port);
    daemon.wait_subscribed();

    // influxd not started yet: the readings wait in the store, the cursor stays.
    publish(&daemon, &publisher, "th-01", 0, 20, 40);
    let status = wait_until("a failed write in health", patience(), || {
        let s = influx(&daemon);
        (s["state"] == "backoff").then_some(s)
    });
    assert!(
        status["last_error"].as_str().unwrap().contains("connect"),
        "{status}"
    );
    assert_eq!(
        (status["cursor"].as_i64(), status["backlog"].as_i64()),
        (Some(0), Some(40))
    );

    // Up, but without the database: 404, visible, and still nothing skipped.
    influxd.start();
    let status = wait_until("the missing database in health", patience(), || {
        let s = influx(&daemon);
        s["last_error"].as_str()?.contains("404").then_some(s)
    });
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("database not found"),
        "{status}"
    );
    assert_eq!(
        (status["cursor"].as_i64(), status["sent"].as_i64()),
        (Some(0), Some(0))
    );

    influxd.query("", "CREATE DATABASE acs");
    let status = wait_drained(&daemon, 40);
    assert_eq!(status["state"], "connected", "{status}");
    assert_eq!(status["last_error"], Value::Null);
    assert_eq!(
        status["cursor"],
        daemon.health()["store"]["next_seq"].as_i64().unwrap() - 1
    );
    assert!(status["last_success_ts"].as_i64().is_some());

    // Tags, values and ms timestamps as stored.
    let rows = influxd.rows("acs", "SELECT * FROM temperature ORDER BY time");
    assert_eq!(rows.len(), 20, "{}", influxd.log());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["time"], BASE_TS + i as i64 * 1000, "{row:?}");
        assert_eq!(row["device"], "th-01");
        assert_eq!(row["gateway"], "test-gw");
        assert_eq!(row["value"].as_f64(), Some(20.0 + i as f64 / 10.0));
    }
    let rows = influxd.rows("acs", "SELECT * FROM humidity WHERE time = 1767225619000ms");
    assert_eq!(rows[0]["value"].as_f64(), Some(59.0), "{rows:?}");

    // Killed: what is ingested meanwhile arrives after its restart, nothing twice.
    influxd.kill9();
    publish(&daemon, &publisher, "th-02", 0, 150, 340);
    wait_until("the outage in health", patience(), || {
        (influx(&daemon)["state"] == "backoff").then_some(())
    });
    assert_eq!(influx(&daemon)["backlog"], 300);
    influxd.start();
    let status = wait_drained(&daemon, 340);
    assert_eq!(status["rejected"], 0);
    assert_eq!(influxd.count("acs", "temperature"), 170);
    assert_eq!(influxd.count("acs", "humidity"), 170);
    let per_device = influxd.rows(
        "acs",
        "SELECT count(value) FROM temperature GROUP BY device",
    );
    assert_eq!(per_device.len(), 2, "{per_device:?}");
    // `sent` counts every reading InfluxDB accepted, repeats included: 340 means no batch
    // went twice (InfluxDB would have stored a repeat once, so count() alone cannot tell).
    assert_eq!(status["sent"], 340);
}

#[test]
fn bad_credentials_show_in_health_and_keep_the_cursor() {
    if !Influxd::installed() {
        return;
    }
    let mut influxd = Influxd::new(true);
    influxd.start();
    // With authentication on and no user yet, InfluxDB 1.x takes this one statement unauthenticated.
    influxd.query(
        "",
        "CREATE USER admin WITH PASSWORD 'admin-pw' WITH ALL PRIVILEGES",
    );
    influxd.query("", "CREATE DATABASE acs");
    let broker = Broker::start();
    let daemon = start_daemon(
        &broker,
        influx_section(
            &influxd.url(),
            "\toption username 'admin'\n\toption password 'pw-wr0ng-x'\n",
        ),
    );
    let publisher = Publisher::connect(broker.port);
    daemon.wait_subscribed();
    publish(&daemon, &publisher, "th-01", 0, 5, 10);
    let status = wait_until("the refusal in health", patience(), || {
        let s = influx(&daemon);
        s["last_error"].as_str()?.contains("401").then_some(s)
    });
    assert_eq!(status["state"], "backoff", "{status}");
    assert_eq!(
        (status["cursor"].as_i64(), status["backlog"].as_i64()),
        (Some(0), Some(10))
    );
    // Still refused a few retries later, and nothing written.
    std::thread::sleep(Duration::from_secs(2));
    let status = influx(&daemon);
    assert_eq!(
        (status["cursor"].as_i64(), status["sent"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(influxd.count("acs", "temperature"), 0);
    assert!(
        !daemon.log().contains("pw-wr0ng-x"),
        "the password is never logged"
    );
}

#[test]
fn a_batch_influxdb_refuses_as_bad_is_skipped_and_counted() {
    if !Influxd::installed() {
        return;
    }
    let mut influxd = Influxd::new(false);
    influxd.start();
    influxd.query("", "CREATE DATABASE acs");
    // `value` of `pressure` becomes a string field in the shard the readings fall into: the
    // daemon's float points for it are a field type conflict (400, partial write).
    let seeded = ureq::post(&format!("{}/write?db=acs&precision=ms", influxd.url()))
        .send_string(&format!("pressure,device=seed value=\"text\" {BASE_TS}"));
    assert_eq!(seeded.unwrap().status(), 204);
    let broker = Broker::start();
    let daemon = start_daemon(&broker, influx_section(&influxd.url(), ""));
    let publisher = Publisher::connect(broker.port);
    daemon.wait_subscribed();
    let batch: Vec<Value> = (0..5)
        .map(|i| json!({"ts": BASE_TS + i, "pressure": 1000 + i}))
        .collect();
    publisher.publish("acs/p-01/telemetry", serde_json::to_vec(&batch).unwrap());
    let status = wait_until("the rejection in health", patience(), || {
        let s = influx(&daemon);
        (s["rejected"] == 5).then_some(s)
    });
    let why = status["last_error"].as_str().unwrap();
    assert!(
        why.contains("400") && why.contains("field type conflict"),
        "{status}"
    );
    assert_eq!(
        (status["cursor"].as_i64(), status["backlog"].as_i64()),
        (Some(5), Some(0))
    );
    assert!(
        daemon.log().contains("skipped"),
        "the rejected batch is logged"
    );
    // The outbox goes on after it.
    publish(&daemon, &publisher, "th-01", 0, 3, 11);
    wait_drained(&daemon, 6);
    assert_eq!(influxd.count("acs", "temperature"), 3);
}

/// One request as the listener received it.
struct Recorded {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// Accepts connections on `listener` and answers each request with the next of `statuses`.
fn record(listener: TcpListener, statuses: &[u16]) -> Vec<Recorded> {
    let mut out = Vec::new();
    let (mut stream, _) = listener.accept().unwrap();
    for status in statuses {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head_len, length, request) = loop {
            let n = stream.read(&mut chunk).unwrap();
            if n == 0 {
                // The daemon closed this connection (after an error answer): take the next one.
                stream = listener.accept().unwrap().0;
                continue;
            }
            buf.extend_from_slice(&chunk[..n]);
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            if let httparse::Status::Complete(len) = req.parse(&buf).unwrap() {
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into(),
                        )
                    })
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap();
                let line = format!("{} {}", req.method.unwrap(), req.path.unwrap());
                break (len, length, (line, headers));
            }
        };
        while buf.len() < head_len + length {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "request body cut short");
            buf.extend_from_slice(&chunk[..n]);
        }
        let reason = if *status == 204 {
            "No Content"
        } else {
            "Service Unavailable"
        };
        let answer = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n");
        stream.write_all(answer.as_bytes()).unwrap();
        out.push(Recorded {
            line: request.0,
            headers: request.1,
            body: String::from_utf8(buf[head_len..head_len + length].to_vec()).unwrap(),
        });
    }
    out
}

#[test]
fn the_v2_request_has_influxdbs_documented_form_and_is_repeated_until_accepted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let recorder = std::thread::spawn(move || record(listener, &[503, 204]));
    let broker = Broker::start();
    let daemon = start_daemon(
        &broker,
        influx_section(
            &format!("http://127.0.0.1:{port}"),
            "\toption api 'v2'\n\toption org 'my org'\n\toption bucket 'sensors'\n\
             \toption token 'tok-123=='\n",
        ),
    );
    let publisher = Publisher::connect(broker.port);
    daemon.wait_subscribed();
    publisher.publish(
        "acs/th-01/telemetry",
        serde_json::to_vec(&json!({"ts": BASE_TS + 123, "temperature": 21.5, "humidity": 40}))
            .unwrap(),
    );
    let requests = recorder.join().unwrap();
    // https://docs.influxdata.com/influxdb/v2/api/#operation/PostWrite: POST /api/v2/write with
    // org, bucket and precision in the query, `Authorization: Token <token>`, line protocol.
    for r in &requests {
        assert_eq!(
            r.line,
            "POST /api/v2/write?org=my%20org&bucket=sensors&precision=ms"
        );
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("authorization"), Some("Token tok-123=="));
        assert_eq!(header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(header("host"), Some(format!("127.0.0.1:{port}").as_str()));
    }
    let mut lines: Vec<&str> = requests[0].body.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "humidity,device=th-01,gateway=test-gw value=40 1767225600123",
            "temperature,device=th-01,gateway=test-gw value=21.5 1767225600123",
        ]
    );
    assert_eq!(
        requests[1].body, requests[0].body,
        "the refused batch is sent again whole"
    );
    let status = wait_drained(&daemon, 2);
    assert_eq!(
        (status["cursor"].as_i64(), status["rejected"].as_i64()),
        (Some(2), Some(0))
    );
    assert!(
        !daemon.log().contains("tok-123"),
        "the token is never logged"
    );
}
