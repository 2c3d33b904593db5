//! Test harness: a real mosquitto on a free port, the real daemon binary (or a cross binary
//! under qemu-user, via `ACS_EDGE_BIN` and `ACS_EDGE_WRAPPER`), a real MQTT client and a real
//! HTTP client. Every process is killed when its guard drops.
//!
//! A daemon started by [`Daemon::start`] has a user ([`TEST_USER`], created with the binary's
//! own `passwd` command, through the same emulator) and is logged in after every (re)start;
//! [`Daemon::get`] and [`Daemon::authed`] send its token.
#![allow(dead_code)]

use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const TEST_USER: &str = "tester";
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// How long to wait for things that involve process start-up; generous for qemu-user.
pub fn patience() -> Duration {
    if std::env::var_os("ACS_EDGE_WRAPPER").is_some() {
        Duration::from_secs(90)
    } else {
        Duration::from_secs(20)
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A mosquitto broker on 127.0.0.1.
pub struct Broker {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_on(free_port())
    }

    pub fn start_on(port: u16) -> Broker {
        Broker::start_configured(port, None)
    }

    /// A broker that grants anonymous clients' subscriptions only to filters matching
    /// `patterns` and answers any other with a SUBACK failure (mosquitto's dynamic-security
    /// plugin; its plain `acl_file` grants every subscription and filters at delivery).
    pub fn start_granting_subscriptions_only_to(patterns: &[&str]) -> Broker {
        let acls: Vec<Value> = patterns
            .iter()
            .map(|topic| {
                serde_json::json!({"acltype": "subscribePattern", "topic": topic, "allow": true})
            })
            .collect();
        let security = serde_json::json!({
            "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true,
                                 "subscribe": false, "unsubscribe": true},
            "clients": [],
            "groups": [{"groupname": "anonymous", "roles": [{"rolename": "subscriber"}]}],
            "anonymousGroup": "anonymous",
            "roles": [{"rolename": "subscriber", "acls": acls}],
        });
        Broker::start_configured(free_port(), Some(&security))
    }

    fn start_configured(port: u16, security: Option<&Value>) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        let mut text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
             max_queued_messages 100000\nmax_inflight_messages 1000\n"
        );
        if let Some(security) = security {
            let plugin = [
                "/usr/lib/x86_64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu",
                "/usr/lib",
            ]
            .into_iter()
            .map(|dir| Path::new(dir).join("mosquitto_dynamic_security.so"))
            .find(|p| p.exists())
            .expect("mosquitto's dynamic-security plugin is not installed");
            let path = dir.path().join("dynamic-security.json");
            std::fs::write(&path, security.to_string()).unwrap();
            text.push_str(&format!(
                "plugin {}\nplugin_opt_config_file {}\n",
                plugin.display(),
                path.display()
            ));
        }
        std::fs::write(&conf, text).unwrap();
        let binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("mosquitto is not installed (apt-get install mosquitto)");
        let child = Command::new(binary)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        wait_until("mosquitto to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Broker {
            port,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An MQTT client for publishing test traffic; counts acknowledged QoS 1 publishes.
pub struct Publisher {
    pub client: Client,
    acked: Arc<AtomicU64>,
}

impl Publisher {
    pub fn connect(port: u16) -> Publisher {
        let id = format!("test-pub-{}", free_port());
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_max_packet_size(4 << 20, 4 << 20);
        options.set_inflight(500);
        let (client, mut connection) = Client::new(options, 1000);
        let acked = Arc::new(AtomicU64::new(0));
        let counter = acked.clone();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        Publisher { client, acked }
    }

    pub fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .unwrap();
    }

    /// Waits until the broker has acknowledged `n` publishes in total.
    pub fn wait_acked(&self, n: u64) {
        wait_until("the broker to acknowledge", Duration::from_secs(30), || {
            (self.acked.load(Ordering::SeqCst) >= n).then_some(())
        });
    }
}

/// The daemon under test, with its own config and data directory.
pub struct Daemon {
    pub api_port: u16,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
    extra_args: Vec<String>,
    /// The session token of the last login by [`Daemon::spawn`].
    pub token: Option<String>,
    login: Option<(String, String)>,
    broker_port: u16,
}

/// Options written into the test config on top of the defaults.
pub struct DaemonConfig {
    pub broker_port: u16,
    pub max_rows: u64,
    pub max_mb: u64,
    pub commit_interval_ms: u64,
    /// `store.flush_interval_s`; `None` leaves the default (the head in RAM).
    pub flush_interval_s: Option<u64>,
    pub extra: String,
    /// Lines added to `config main 'main'` (e.g. "\toption offline_after_s '1'\n").
    pub main_options: String,
    /// Lines added to `config api 'api'`.
    pub api_options: String,
    /// Lines added to `config store 'store'`.
    pub store_options: String,
    /// Command-line arguments after `--config FILE`.
    pub args: Vec<String>,
    /// Environment variables of the daemon process.
    pub env: Vec<(String, String)>,
    /// A user created with `acs-edge passwd` before the start, and logged in after every
    /// (re)start; `None` for a daemon without users.
    pub user: Option<(String, String)>,
}

impl DaemonConfig {
    pub fn new(broker_port: u16) -> DaemonConfig {
        DaemonConfig {
            broker_port,
            max_rows: 1_000_000,
            max_mb: 64,
            commit_interval_ms: 100,
            flush_interval_s: None,
            extra: String::new(),
            main_options: String::new(),
            api_options: String::new(),
            store_options: String::new(),
            args: Vec::new(),
            env: Vec::new(),
            user: Some((TEST_USER.into(), TEST_PASSWORD.into())),
        }
    }
}

pub fn binary() -> PathBuf {
    std::env::var_os("ACS_EDGE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_acs-edge")))
}

/// A `Command` for the daemon binary, through the emulator when one is configured.
pub fn command() -> Command {
    match std::env::var_os("ACS_EDGE_WRAPPER") {
        Some(wrapper) => {
            let mut cmd = Command::new(wrapper);
            cmd.arg(binary());
            cmd
        }
        None => Command::new(binary()),
    }
}

/// `acs-edge token create NAME --config CONFIG`: the new API token (64 hex digits).
pub fn create_api_token(config: &Path, name: &str) -> String {
    let out = command()
        .args(["token", "create", name, "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs `acs-edge passwd USER --config FILE` with the password on stdin.
pub fn passwd(config: &Path, user: &str, password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = command()
        .args(["passwd", user, "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run acs-edge passwd");
    // The command may refuse (bad name, bad file) and exit before it reads the password; the
    // write then fails with a broken pipe, and the exit status tells the test what happened.
    let written = child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes());
    if let Err(e) = written {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "write the password: {e}"
        );
    }
    child.wait_with_output().unwrap()
}

/// `(status, body, Retry-After)` of any response, success or error.
pub fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, Value, Option<String>) {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = response.status();
    let retry_after = response.header("Retry-After").map(str::to_owned);
    let text = response.into_string().unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
    };
    (status, body, retry_after)
}

impl Daemon {
    pub fn start(cfg: &DaemonConfig) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let api_port = free_port();
        let config_path = dir.path().join("acs-edge");
        write_config(&config_path, dir.path(), api_port, cfg);
        if let Some((user, password)) = &cfg.user {
            let out = passwd(&config_path, user, password);
            assert!(
                out.status.success(),
                "acs-edge passwd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut daemon = Daemon {
            api_port,
            dir,
            config_path,
            env: cfg.env.clone(),
            child: None,
            extra_args: cfg.args.clone(),
            token: None,
            login: cfg.user.clone(),
            broker_port: cfg.broker_port,
        };
        daemon.spawn();
        daemon
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("data/store.db")
    }

    /// Starts (or restarts) the process and waits for its health endpoint.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .unwrap();
        let child = command()
            .arg("--config")
            .arg(&self.config_path)
            .args(&self.extra_args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start acs-edge");
        self.child = Some(child);
        let url = self.url("/api/v1/health");
        wait_until("the daemon's health endpoint", patience(), || {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("daemon exited early with {status}; log:\n{}", self.log());
            }
            ureq::get(&url).call().ok()
        });
        if let Some((user, password)) = self.login.clone() {
            let (status, body, _) = self.login(&user, &password);
            assert_eq!(status, 200, "login as {user}: {body}");
            self.token = Some(body["token"].as_str().expect("a token").to_owned());
        }
        self.wait_subscribed_if_broker_up();
    }

    /// With a broker listening, waits until the daemon's ingest subscription is granted, so a
    /// test's first publish is not sent before anyone is subscribed to it (MQTT drops those).
    fn wait_subscribed_if_broker_up(&self) {
        let broker = std::net::SocketAddr::from(([127, 0, 0, 1], self.broker_port));
        if std::net::TcpStream::connect_timeout(&broker, Duration::from_secs(1)).is_err() {
            return;
        }
        self.wait_subscribed();
    }

    /// Waits until health says the broker answered the ingest subscription: granted, or
    /// refused (then `mqtt.last_error` says so and `mqtt.subscribed` stays false).
    pub fn wait_subscribed(&self) {
        wait_until("the daemon's MQTT subscription", patience(), || {
            let mqtt = self.health()["mqtt"].clone();
            let refused = mqtt["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("refused the subscription"));
            (mqtt["subscribed"] == true || refused).then_some(())
        });
    }

    /// `POST /api/v1/auth/login`: (status, body, Retry-After).
    pub fn login(&self, user: &str, password: &str) -> (u16, Value, Option<String>) {
        answer(
            ureq::post(&self.url("/api/v1/auth/login"))
                .send_json(serde_json::json!({"username": user, "password": password})),
        )
    }

    /// `request` with the daemon's token.
    pub fn authed(&self, request: ureq::Request) -> ureq::Request {
        match &self.token {
            Some(token) => request.set("Authorization", &format!("Bearer {token}")),
            None => request,
        }
    }

    /// `method path` with the daemon's token and an optional JSON body: (status, body).
    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let request = self.authed(ureq::request(method, &self.url(path)));
        let result = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        let (status, body, _) = answer(result);
        (status, body)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.api_port, path)
    }

    /// GET with the daemon's token, returning (status, JSON body), for success and error
    /// statuses alike.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }

    pub fn health(&self) -> Value {
        let (status, body) = self.get("/api/v1/health");
        assert_eq!(status, 200);
        body
    }

    /// Every stored reading of a device, following cursors.
    pub fn all_readings(&self, device: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/telemetry?device={device}&limit=10000");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, body) = self.get(&path);
            assert_eq!(status, 200, "{body}");
            out.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// The process's resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        let status = wait_until("the daemon to exit", patience(), || {
            child.try_wait().unwrap()
        });
        status.code()
    }

    pub fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn write_config(path: &Path, dir: &Path, api_port: u16, cfg: &DaemonConfig) {
    let text = format!(
        "config main 'main'\n\toption gateway_id 'test-gw'\n\toption log_level 'debug'\n{main}\n\
         config store 'store'\n\toption path '{data}/store.db'\n\toption max_rows '{rows}'\n\
         \toption max_mb '{mb}'\n\toption commit_interval_ms '{commit}'\n{flush}{store_options}\n\
         config mqtt 'mqtt'\n\toption host '127.0.0.1'\n\toption port '{broker}'\n\
         \toption reconnect_max_s '1'\n\n\
         config api 'api'\n\toption listen '127.0.0.1:{api}'\n{api_options}\n{extra}\n",
        data = dir.join("data").display(),
        rows = cfg.max_rows,
        mb = cfg.max_mb,
        commit = cfg.commit_interval_ms,
        flush = cfg
            .flush_interval_s
            .map(|s| format!("\toption flush_interval_s '{s}'\n"))
            .unwrap_or_default(),
        broker = cfg.broker_port,
        api = api_port,
        extra = cfg.extra,
        main = cfg.main_options,
        api_options = cfg.api_options,
        store_options = cfg.store_options,
    );
    std::fs::write(path, text).unwrap();
}

#[cfg(feature = "ble")]
pub mod bluez;
pub mod cloud;
pub mod store;

/// An MQTT client that records every message on `filter`.
pub struct Subscriber {
    pub client: Client,
    messages: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Subscriber {
    pub fn connect(port: u16, filter: &str) -> Subscriber {
        let id = format!("test-sub-{}", free_port());
        let options = MqttOptions::new(id, "127.0.0.1", port);
        let (client, mut connection) = Client::new(options, 100);
        let messages = Arc::new(std::sync::Mutex::new(Vec::new()));
        let subscribed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (sink, flag) = (messages.clone(), subscribed.clone());
        client.subscribe(filter, QoS::AtLeastOnce).unwrap();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::SubAck(_))) => flag.store(true, Ordering::SeqCst),
                    Ok(Event::Incoming(Packet::Publish(p))) => sink.lock().unwrap().push((
                        p.topic.clone(),
                        String::from_utf8_lossy(&p.payload).into_owned(),
                    )),
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        wait_until("the subscription", Duration::from_secs(10), || {
            subscribed.load(Ordering::SeqCst).then_some(())
        });
        Subscriber { client, messages }
    }

    pub fn messages(&self) -> Vec<(String, String)> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits until a message on `topic` arrived and returns every message received so far.
    pub fn wait_for(&self, topic: &str) -> Vec<(String, String)> {
        wait_until(&format!("a message on {topic}"), patience(), || {
            let all = self.messages();
            all.iter().any(|(t, _)| t == topic).then_some(all)
        })
    }
}
