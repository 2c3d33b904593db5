//! The processes a benchmark runs against: a real mosquitto on a free loopback port, the
//! release daemon (optionally under an emulator) with an API token made by its own
//! `token create`, MQTT publishers, and `/proc` readings of their memory and I/O.
//! Every child is killed when its handle drops, so a failed part leaves nothing running.

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `ok` until it holds; `Err` after `timeout`.
pub fn wait_for(timeout: Duration, mut ok: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while !ok() {
        if Instant::now() > deadline {
            return Err(format!("timed out after {} s", timeout.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A child process killed on drop.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Killed {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

/// The release daemon `cargo build --release` made, unless `ACS_EDGE_BIN` names another.
pub fn release_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("ACS_EDGE_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    PathBuf::from(target).join("release/acs-edge")
}

/// mosquitto on 127.0.0.1:`port` with `extra` config lines.
pub fn start_broker(dir: &Path, port: u16, extra: &str) -> Killed {
    let conf = dir.join(format!("mosquitto-{port}.conf"));
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\n\
             max_inflight_messages 1000\n{extra}"
        ),
    )
    .unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto (apt-get install mosquitto)");
    wait_for(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .expect("mosquitto listening");
    Killed(child)
}

pub fn connect(port: u16, id: &str, clean: bool) -> (Client, rumqttc::Connection) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options
        .set_inflight(1000)
        .set_clean_session(clean)
        .set_max_packet_size(1 << 20, 1 << 20);
    Client::new(options, 10_000)
}

/// The benchmark's message: one reading of metric `t` for device `b<i % 50>`.
pub fn message(i: u64) -> (String, String) {
    let payload = format!("{{\"ts\":{},\"t\":{}}}", 1_767_225_600_000u64 + i, i % 1000);
    (format!("acs/b{}/telemetry", i % 50), payload)
}

/// Publishes `n` one-reading messages, as fast as the client goes or at `rate` per second;
/// returns when the broker has taken them all (QoS 1: every PUBACK seen).
pub fn publish_all(port: u16, n: u64, qos: QoS, rate: Option<f64>) {
    let (client, connection) = connect(port, &format!("bench-pub-{}", free_port()), true);
    let (acked, driver) = count_acks(connection, false);
    let start = Instant::now();
    for i in 0..n {
        let (topic, payload) = message(i);
        client.publish(topic, qos, false, payload).unwrap();
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(d) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
    }
    if qos == QoS::AtLeastOnce {
        let _ = wait_for(Duration::from_secs(600), || {
            acked.load(Ordering::Relaxed) >= n
        });
    }
    std::thread::sleep(Duration::from_millis(200));
    let _ = client.disconnect();
    let _ = driver.join();
}

/// Drives a publisher's connection on a thread of its own and counts the broker's PUBACKs,
/// until the client disconnects; a connection error ends it, or with `reconnect` is waited
/// out (rumqttc reconnects on the next poll).
pub fn count_acks(
    mut connection: rumqttc::Connection,
    reconnect: bool,
) -> (Arc<AtomicU64>, std::thread::JoinHandle<()>) {
    let acked = Arc::new(AtomicU64::new(0));
    let counter = acked.clone();
    let driver = std::thread::spawn(move || {
        for event in connection.iter() {
            match event {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(_) if reconnect => std::thread::sleep(Duration::from_millis(100)),
                Err(_) => break,
            }
        }
    });
    (acked, driver)
}

/// A field of `/proc/<pid>/status` in kB (VmRSS, VmHWM); 0 when the process is gone.
pub fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Size of one file in bytes; 0 when missing.
pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// How a daemon is started.
pub struct DaemonSpec {
    pub dir: PathBuf,
    pub broker_port: u16,
    pub max_rows: u64,
    pub max_mb: u64,
    pub commit_interval_ms: u64,
    /// `store.max_age_days` when set (the daemon's default, 30, when not).
    pub max_age_days: Option<u64>,
    pub binary: PathBuf,
    /// An emulator the binary runs under (qemu-mipsel-static), or none.
    pub wrapper: Option<String>,
}

/// The daemon under measurement: its store is `<dir>/store.db`.
pub struct Daemon {
    child: Killed,
    pub api: u16,
    /// `None` for a build without `token create` (older cross binaries): the ingest
    /// benchmarks only read `/health`, which needs no token.
    pub token: Option<String>,
}

impl DaemonSpec {
    pub fn new(dir: &Path, broker_port: u16) -> DaemonSpec {
        DaemonSpec {
            dir: dir.to_path_buf(),
            broker_port,
            max_rows: 2_000_000,
            max_mb: 1024,
            commit_interval_ms: 200,
            max_age_days: None,
            binary: release_binary(),
            wrapper: None,
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.join("store.db")
    }

    fn command(&self) -> Command {
        match &self.wrapper {
            Some(w) => {
                let mut c = Command::new(w);
                c.arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        }
    }

    pub fn start(&self) -> Result<Daemon, String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        let api = free_port();
        let config = self.dir.join("acs-edge");
        std::fs::write(&config, format!(
            "config main 'main'\n\toption log_level 'warn'\n\nconfig store 'store'\n\toption path '{}'\n\toption max_rows '{}'\n\toption max_mb '{}'\n\toption commit_interval_ms '{}'\n\nconfig mqtt 'mqtt'\n\toption port '{}'\n\toption client_id 'bench-daemon'\n\nconfig api 'api'\n\toption listen '127.0.0.1:{api}'\n",
            self.store_path().display(), self.max_rows, self.max_mb, self.commit_interval_ms, self.broker_port
        )).map_err(|e| e.to_string())?;
        if let Some(days) = self.max_age_days {
            let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
            let text = text.replacen(
                "config store 'store'\n",
                &format!("config store 'store'\n\toption max_age_days '{days}'\n"),
                1,
            );
            std::fs::write(&config, text).map_err(|e| e.to_string())?;
        }
        let out = self
            .command()
            .args(["token", "create", "bench", "--config"])
            .arg(&config)
            .output()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let token = if out.status.success() {
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            println!(
                "  no API token ({}): only /health is used",
                err.lines().next().unwrap_or("").trim()
            );
            None
        };
        let log = std::fs::File::create(self.dir.join("daemon.log")).map_err(|e| e.to_string())?;
        let child = self
            .command()
            .arg("--config")
            .arg(&config)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let daemon = Daemon {
            child: Killed(child),
            api,
            token,
        };
        // A cross binary built before `mqtt.subscribed` existed reports its connection only.
        wait_for(Duration::from_secs(180), || {
            daemon.health().is_some_and(|h| {
                let mqtt = &h["mqtt"];
                mqtt.get("subscribed").unwrap_or(&mqtt["connected"]) == true
            })
        })
        .map_err(|e| format!("daemon not subscribed at the broker: {e}"))?;
        Ok(daemon)
    }
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api)
    }

    pub fn health(&self) -> Option<serde_json::Value> {
        ureq::get(&self.url("/api/v1/health"))
            .timeout(Duration::from_secs(10))
            .call()
            .ok()?
            .into_json()
            .ok()
    }

    pub fn committed(&self) -> u64 {
        self.health()
            .map(|h| h["ingest"]["committed"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    }

    /// SIGTERM, then waits for the exit: the daemon flushes and closes its store.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let _ = self.child.0.wait();
    }

    pub fn rss_kb(&self, field: &str) -> u64 {
        status_kb(self.pid(), field)
    }

    /// `request` with the API token.
    pub fn authed(&self, request: ureq::Request) -> ureq::Request {
        match &self.token {
            Some(t) => request.set("Authorization", &format!("Bearer {t}")),
            None => request,
        }
    }

    /// Readings/s from the first publish until the last committed row: publishes `n` messages
    /// and follows `/health` until every reading is committed or the count stalls for 3 s.
    pub fn ingest(&self, broker_port: u16, n: u64, qos: QoS) -> (f64, u64) {
        let before = self.committed();
        let start = Instant::now();
        let publisher = std::thread::spawn(move || publish_all(broker_port, n, qos, None));
        let mut last = (before, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.committed();
            // Time the last progress before deciding to stop: a run that completes between
            // two polls ends at the poll that saw it, not at the start.
            if now != last.0 {
                last = (now, Instant::now());
            }
            if now - before >= n || last.1.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        let _ = publisher.join();
        let got = self.committed() - before;
        let elapsed = last.1.duration_since(start).as_secs_f64().max(1e-3);
        println!("  daemon committed {got} of {n} readings ({qos:?})");
        (got as f64 / elapsed, got)
    }
}
