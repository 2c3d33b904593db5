//! `GET /metrics` against the real daemon and broker: the bearer token is required, the figures
//! are health's, Prometheus' own `promtool check metrics` accepts the text, and a real
//! Prometheus (Debian's `prometheus` package) scrapes the daemon with a `metrics_only` API token
//! (refused everywhere else) and answers queries with the daemon's values. Without `promtool`/`prometheus` on PATH those two steps
//! are skipped with a message (CI installs the package).

use crate::common::*;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The exposition text as (series as written, value) pairs, comments left out.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn value(text: &str, series: &str) -> f64 {
    samples(text)
        .into_iter()
        .find(|(s, _)| s == series)
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .1
}

/// `GET /metrics` with an optional `Authorization` value: (status, Content-Type, body).
fn scrape(daemon: &Daemon, authorization: Option<&str>) -> (u16, String, String) {
    let mut request = ureq::get(&daemon.url("/metrics"));
    if let Some(value) = authorization {
        request = request.set("Authorization", value);
    }
    let response = match request.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET /metrics: {e}"),
    };
    let status = response.status();
    let content_type = response.header("Content-Type").unwrap_or("").to_owned();
    (status, content_type, response.into_string().unwrap())
}

fn on_path(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// Publishes `n` telemetry messages of two metrics each and waits until all are committed.
fn ingest(broker: &Broker, daemon: &Daemon, n: u64) {
    let publisher = Publisher::connect(broker.port);
    for i in 0..n {
        let payload = format!(r#"{{"temperature": {i}, "humidity": 40}}"#);
        publisher.publish(&format!("acs/m{}/telemetry", i % 3), payload);
    }
    publisher.wait_acked(n);
    wait_until("the readings to be committed", patience(), || {
        (daemon.health()["ingest"]["committed"] == 2 * n).then_some(())
    });
}

#[test]
fn metrics_need_the_token_match_health_and_pass_promtool() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    ingest(&broker, &daemon, 7);

    let (status, _, body) = scrape(&daemon, None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(scrape(&daemon, Some("Bearer not-a-token")).0, 401);

    let bearer = format!("Bearer {}", daemon.token.as_deref().unwrap());
    let (status, content_type, text) = scrape(&daemon, Some(&bearer));
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let health = daemon.health();
    let figure = |pointer: &str| health.pointer(pointer).unwrap().as_f64().unwrap();
    for (series, pointer) in [
        ("acs_edge_ingest_received_total", "/ingest/received"),
        ("acs_edge_ingest_committed_total", "/ingest/committed"),
        ("acs_edge_ingest_batches_total", "/ingest/batches"),
        ("acs_edge_mqtt_messages_total", "/mqtt/messages"),
        ("acs_edge_mqtt_connects_total", "/mqtt/connects"),
        ("acs_edge_store_rows", "/store/rows"),
        ("acs_edge_store_sealed", "/store/sealed"),
        ("acs_edge_store_devices", "/store/devices"),
        ("acs_edge_store_metrics", "/store/metrics"),
        ("acs_edge_store_max_rows", "/store/max_rows"),
        ("acs_edge_store_rollup_bytes", "/store/rollup_bytes"),
        ("acs_edge_bus_published_total", "/bus/published"),
    ] {
        assert_eq!(value(&text, series), figure(pointer), "{series}");
    }
    assert_eq!(value(&text, "acs_edge_ingest_committed_total"), 14.0);
    assert_eq!(value(&text, "acs_edge_store_devices"), 3.0);
    assert_eq!(value(&text, "acs_edge_mqtt_connected"), 1.0);
    assert_eq!(value(&text, "acs_edge_healthy"), 1.0);
    assert_eq!(
        value(&text, "acs_edge_upstream_state{state=\"disabled\"}"),
        1.0
    );
    let last_commit = value(&text, "acs_edge_ingest_last_commit_timestamp_seconds");
    assert_eq!(last_commit * 1000.0, figure("/ingest/last_commit"));
    let build = samples(&text)
        .into_iter()
        .find(|(s, _)| s.starts_with("acs_edge_build_info{"))
        .expect("build info");
    assert!(
        build.0.contains(&format!(
            "version=\"{}\"",
            health["version"].as_str().unwrap()
        )),
        "{build:?}"
    );
    assert!(text.contains("# TYPE acs_edge_ingest_committed_total counter\n"));
    assert!(text.contains("# TYPE acs_edge_store_rows gauge\n"));

    // HEAD answers like GET, without a body.
    let head = daemon
        .authed(ureq::head(&daemon.url("/metrics")))
        .call()
        .unwrap();
    assert_eq!(head.status(), 200);

    if !on_path("promtool") {
        eprintln!("SKIPPED promtool check: promtool is not installed (Debian package prometheus)");
        return;
    }
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Prometheus server with its own data directory, killed when dropped.
struct Prometheus {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes `target` (host:port) every second with `token`.
    fn start(target: &str, token: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: acs-edge\n    metrics_path: /metrics\n\
                 \x20   authorization:\n      type: Bearer\n      credentials: '{token}'\n\
                 \x20   static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        Prometheus { port, child, dir }
    }

    fn api(&self, path_and_query: &str) -> Option<serde_json::Value> {
        let url = format!("http://127.0.0.1:{}{path_and_query}", self.port);
        ureq::get(&url).call().ok()?.into_json().ok()
    }

    /// The value of an instant query that returns one series, once it has one.
    fn query(&self, query: &str) -> Option<f64> {
        let body = self.api(&format!("/api/v1/query?query={query}"))?;
        let result = body["data"]["result"].as_array()?;
        let [series] = result.as_slice() else {
            return None;
        };
        series["value"][1].as_str()?.parse().ok()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_metrics_only_token_opens_only_metrics_and_prometheus_scrapes_with_it() {
    let broker = Broker::start();
    let daemon = Daemon::start(&DaemonConfig::new(broker.port));
    let token = create_api_token(&daemon.config_path, "prometheus");
    // A scrape token: it opens /metrics and nothing else.
    let config = std::fs::read_to_string(&daemon.config_path).unwrap();
    let header = "config api_token 'prometheus'\n";
    assert!(config.contains(header), "{config}");
    let scoped = header.to_owned() + "\toption metrics_only '1'\n";
    std::fs::write(&daemon.config_path, config.replace(header, &scoped)).unwrap();
    daemon.signal("HUP");
    let bearer = format!("Bearer {token}");
    wait_until("the API token after SIGHUP", patience(), || {
        (scrape(&daemon, Some(&bearer)).0 == 200).then_some(())
    });
    for path in [
        "/api/v1/devices",
        "/api/v1/telemetry",
        "/api/v1/automation/rules",
    ] {
        let request = ureq::get(&daemon.url(path)).set("Authorization", &bearer);
        let (status, body, _) = answer(request.call());
        assert_eq!(status, 401, "{path} with the metrics-only token: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("only /metrics"),
            "{body}"
        );
    }
    let (status, body, _) = answer(
        ureq::post(&daemon.url("/api/v1/automation/rules"))
            .set("Authorization", &bearer)
            .send_json(serde_json::json!({})),
    );
    assert_eq!(
        status, 401,
        "a rule written with the metrics-only token: {body}"
    );
    ingest(&broker, &daemon, 5);

    if !on_path("prometheus") {
        eprintln!("SKIPPED the scrape: prometheus is not installed (Debian package prometheus)");
        return;
    }
    let prometheus = Prometheus::start(&format!("127.0.0.1:{}", daemon.api_port), &token);
    let scrape_wait = patience() + Duration::from_secs(20);
    let target = wait_until("Prometheus to scrape the daemon", scrape_wait, || {
        let targets = prometheus.api("/api/v1/targets")?;
        let target = targets["data"]["activeTargets"].get(0)?.clone();
        (target["health"] != "unknown").then_some(target)
    });
    assert_eq!(target["health"], "up", "{target}\n{}", prometheus.log());
    assert_eq!(target["lastError"], "");

    let committed = daemon.health()["ingest"]["committed"].as_f64().unwrap();
    assert_eq!(committed, 10.0);
    let scraped = wait_until("the committed readings in Prometheus", scrape_wait, || {
        prometheus.query("acs_edge_ingest_committed_total")
    });
    assert_eq!(scraped, committed);
    let rows = daemon.health()["store"]["rows"].as_f64().unwrap();
    assert_eq!(prometheus.query("acs_edge_store_rows"), Some(rows));
    assert_eq!(prometheus.query("acs_edge_healthy"), Some(1.0));
    assert_eq!(prometheus.query("up"), Some(1.0));
}
