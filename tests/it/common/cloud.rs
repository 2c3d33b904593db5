//! The cloud side of upstream tests: certificates made with the `openssl` CLI, a second
//! mosquitto with a TLS listener that requires client certificates (for the daemon) and a plain
//! listener (for the test's collector), and a collector with a persistent QoS 1 session that
//! records every upstream message, also across broker restarts.

use super::{free_port, wait_until};
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A CA with a server certificate (127.0.0.1, localhost) and a client certificate.
pub struct Certs {
    pub dir: tempfile::TempDir,
}

impl Certs {
    pub fn generate() -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        make_ca(d, "ca");
        make_leaf(
            d,
            "ca",
            "server",
            "serverAuth",
            "IP:127.0.0.1,DNS:localhost",
        );
        make_leaf(d, "ca", "client", "clientAuth", "DNS:test-gw");
        Certs { dir }
    }

    /// A second, unrelated CA (`other-ca.pem`) for the wrong-CA scenario.
    pub fn with_other_ca(self) -> Certs {
        make_ca(self.dir.path(), "other-ca");
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is needed to make test certificates (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

fn make_ca(dir: &Path, name: &str) {
    let (key, pem, subj) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("/CN={name}"),
    );
    let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", &subj];
    args.extend(EC_KEY);
    args.extend(["-keyout", &key, "-out", &pem]);
    args.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    args.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &args);
}

fn make_leaf(dir: &Path, ca: &str, name: &str, usage: &str, san: &str) {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    let subj = format!("/CN={name}");
    let mut args = vec![
        "req", "-nodes", "-subj", &subj, "-keyout", &key, "-out", &csr,
    ];
    args.extend(EC_KEY);
    openssl(dir, &args);
    let ext = format!("{name}.ext");
    std::fs::write(
        dir.join(&ext),
        format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage={usage}\nsubjectAltName={san}\n"
        ),
    )
    .unwrap();
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &pem,
            "-extfile",
            &ext,
        ],
    );
}

/// The cloud broker: mosquitto with persistence, so that a stop (SIGTERM) and start keep the
/// collector's session and its queued messages, like a managed broker would.
pub struct Cloud {
    pub tls_port: u16,
    pub plain_port: u16,
    conf: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Cloud {
    /// Configured but not running.
    pub fn new(certs: &Certs) -> Cloud {
        Cloud::configured(certs, None)
    }

    /// Configured but not running; anonymous clients (the daemon) may subscribe but not
    /// publish: their publishes are refused (MQTT 5: a PUBACK with reason Not authorized).
    pub fn refusing_publishes(certs: &Certs) -> Cloud {
        Cloud::configured(certs, Some("topic read #\n"))
    }

    fn configured(certs: &Certs, acl: Option<&str>) -> Cloud {
        let dir = tempfile::tempdir().unwrap();
        let (tls_port, plain_port) = (free_port(), free_port());
        let conf = dir.path().join("mosquitto.conf");
        let mut text = format!(
            // `user root`: as root, mosquitto would otherwise switch to its own user, which
            // cannot read the test's private files (ignored when not run as root).
            "user root\nper_listener_settings false\nallow_anonymous true\npersistence true\n\
                 persistence_location {data}/\nmax_queued_messages 1000000\n\
                 max_inflight_messages 100\n\
                 listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n\
                 require_certificate true\n\
                 listener {plain_port} 127.0.0.1\n",
            data = dir.path().display(),
            ca = certs.path("ca.pem").display(),
            cert = certs.path("server.pem").display(),
            key = certs.path("server.key").display(),
        );
        if let Some(acl) = acl {
            let path = dir.path().join("acl");
            std::fs::write(&path, acl).unwrap();
            text.push_str(&format!("acl_file {}\n", path.display()));
        }
        std::fs::write(&conf, text).unwrap();
        Cloud {
            tls_port,
            plain_port,
            conf,
            _dir: dir,
            child: None,
        }
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the cloud broker is already running");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let ports = [self.tls_port, self.plain_port];
        wait_until(
            "the cloud broker to listen",
            Duration::from_secs(10),
            || {
                ports
                    .iter()
                    .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
                    .then_some(())
            },
        );
    }

    /// Stops the broker (SIGTERM: it saves its sessions and queues, then exits).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One reading as it arrived upstream.
#[derive(Debug, Clone, PartialEq)]
pub struct UpReading {
    pub seq: i64,
    pub device: String,
    pub metric: String,
    pub ts: i64,
    pub value: f64,
}

/// Subscribes to every upstream topic on the cloud's plain listener with a persistent session
/// and records the readings of every message, in arrival order.
pub struct Collector {
    pub received: Arc<Mutex<Vec<UpReading>>>,
    pub messages: Arc<Mutex<Vec<Value>>>,
    _client: Client,
}

impl Collector {
    /// Connects and waits until the subscription is in place (the cloud must be running).
    pub fn connect(cloud: &Cloud) -> Collector {
        let mut options = MqttOptions::new("cloud-collector", "127.0.0.1", cloud.plain_port);
        options
            .set_clean_session(false)
            .set_max_packet_size(4 << 20, 64 << 10);
        let (client, mut connection) = Client::new(options, 16);
        let received = Arc::new(Mutex::new(Vec::new()));
        let messages = Arc::new(Mutex::new(Vec::new()));
        let subscribed = Arc::new(Mutex::new(false));
        let (readings, raw, flag, sub) = (
            received.clone(),
            messages.clone(),
            subscribed.clone(),
            client.clone(),
        );
        std::thread::spawn(move || {
            let mut seen = std::collections::HashSet::new();
            for event in connection.iter() {
                match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = sub.try_subscribe("acs/+/up", QoS::AtLeastOnce);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => *flag.lock().unwrap() = true,
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        // The cloud broker redelivers its in-flight messages after a restart:
                        // byte-identical copies (same sent_ms), not the daemon's doing.
                        if !seen.insert(p.payload.to_vec()) {
                            continue;
                        }
                        let msg: Value = serde_json::from_slice(&p.payload).unwrap();
                        let mut out = readings.lock().unwrap();
                        for r in msg["readings"].as_array().unwrap() {
                            out.push(UpReading {
                                seq: r["seq"].as_i64().unwrap(),
                                device: r["device"].as_str().unwrap().to_owned(),
                                metric: r["metric"].as_str().unwrap().to_owned(),
                                ts: r["ts"].as_i64().unwrap(),
                                value: r["value"].as_f64().unwrap(),
                            });
                        }
                        raw.lock().unwrap().push(msg);
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        wait_until(
            "the collector to subscribe",
            Duration::from_secs(10),
            || (*subscribed.lock().unwrap()).then_some(()),
        );
        Collector {
            received,
            messages,
            _client: client,
        }
    }

    pub fn readings(&self) -> Vec<UpReading> {
        self.received.lock().unwrap().clone()
    }

    /// Distinct seqs received so far.
    pub fn distinct(&self) -> usize {
        let received = self.received.lock().unwrap();
        let mut seqs: Vec<i64> = received.iter().map(|r| r.seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs.len()
    }

    pub fn wait_distinct(&self, n: usize, timeout: Duration) {
        wait_until(&format!("{n} distinct readings upstream"), timeout, || {
            (self.distinct() >= n).then_some(())
        });
    }
}

/// What a delivery check found.
#[derive(Debug)]
pub struct Delivery {
    /// Distinct readings by seq.
    pub by_seq: BTreeMap<i64, UpReading>,
    /// Copies received beyond the first, over all seqs.
    pub duplicates: usize,
}

/// Checks the invariants every scenario shares: copies of one seq are identical (the key
/// names one reading), and per device the first arrivals come in seq and ts order.
pub fn check_delivery(received: &[UpReading]) -> Delivery {
    let mut by_seq: BTreeMap<i64, UpReading> = BTreeMap::new();
    let mut duplicates = 0;
    let mut last_per_device: HashMap<String, (i64, i64)> = HashMap::new();
    for r in received {
        if let Some(first) = by_seq.get(&r.seq) {
            assert_eq!(first, r, "a repeated key must carry the same reading");
            duplicates += 1;
            continue;
        }
        if let Some((seq, ts)) = last_per_device.get(&r.device) {
            assert!(
                r.seq > *seq && r.ts > *ts,
                "device {} out of order: seq {} ts {} after seq {seq} ts {ts}",
                r.device,
                r.seq,
                r.ts
            );
        }
        last_per_device.insert(r.device.clone(), (r.seq, r.ts));
        by_seq.insert(r.seq, r.clone());
    }
    Delivery { by_seq, duplicates }
}
