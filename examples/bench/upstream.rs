//! Upstream sync drain rate: a backlog of readings drained from the release daemon to a local
//! mosquitto (plain `mqtt://`, and `mqtts://` with client certificates when the `openssl` CLI is
//! there to make them), measured from the daemon's first connection until `/health` reports an
//! empty backlog, with the daemon's peak RSS over the drain.

use crate::harness::{free_port, release_binary, status_kb, Killed};
use crate::report::{ratio, Row};
use acs_edge::model::{Reading, Transport};
use acs_edge::store::{Batch, Store, StoreOptions};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn bench(work: &Path, backlog: u64) -> Vec<Row> {
    let template = work.join("backlog.db");
    fill_store(&template, backlog);
    let mut rows = Vec::new();
    let certs_made = make_certs(work);
    let mut plain_rate = None;
    for tls in [false, true] {
        let scheme = if tls {
            "mqtts (TLS 1.3, client cert)"
        } else {
            "mqtt"
        };
        if tls && !certs_made {
            rows.push(Row::skipped(
                format!("upstream drain, {scheme}"),
                "openssl CLI not found",
            ));
            continue;
        }
        let dir = work.join(if tls { "tls" } else { "plain" });
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&template, dir.join("store.db")).unwrap();
        let port = free_port();
        let _broker = start_broker(&dir, port, tls.then_some(work));
        let (rate, rss) = drain(&dir, port, tls.then_some(work), backlog);
        let (compared, r) = match plain_rate {
            Some(p) => (format!("mqtt drain {p:.0}/s"), ratio(rate, p)),
            None => (String::new(), None),
        };
        plain_rate.get_or_insert(rate);
        rows.push(Row::vs(
            format!(
                "upstream drain of a {}-reading backlog, {scheme}",
                crate::store::human(backlog)
            ),
            rate,
            "readings/s",
            compared,
            r,
        ));
        let mb = rss as f64 / 1024.0;
        rows.push(Row::vs(
            format!("daemon RSS peak (VmHWM) during the {scheme} drain"),
            mb,
            "MB",
            "budget 16 MB",
            ratio(mb, 16.0),
        ));
    }
    let _ = std::fs::remove_file(&template);
    rows
}

/// A store holding `n` readings of 50 devices x 3 metrics, none synced yet.
fn fill_store(path: &Path, n: u64) {
    let mut store = Store::open(StoreOptions {
        path: path.to_path_buf(),
        max_rows: n.max(1000),
        max_bytes: 4 << 30,
        max_age_ms: None,
        max_devices: 1000,
        max_metrics: 100,
        exclusive: true,
        sync_enabled: true,
        seal_points: 0,
        memory_head: false,
        kept: Vec::new(),
    })
    .unwrap();
    let mut i = 0;
    while i < n {
        let readings = (i..(i + 5000).min(n))
            .map(|k| {
                let r = Reading {
                    device: format!("dev{}", k % 50),
                    metric: ["temperature", "humidity", "pressure"][(k % 3) as usize].to_owned(),
                    ts_ms: 1_767_225_600_000 + k as i64,
                    value: k as f64 * 0.5,
                };
                (Transport::Mqtt, r)
            })
            .collect::<Vec<_>>();
        i += readings.len() as u64;
        store
            .insert_batch(
                &Batch {
                    readings,
                    statuses: Vec::new(),
                },
                0,
            )
            .unwrap();
    }
}

/// CA, server and client certificates via the openssl CLI; false when it is missing.
fn make_certs(dir: &Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ok = run(&[
        &["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=ca"][..],
        &ec,
        &["-keyout", "ca.key", "-out", "ca.pem"],
        &["-addext", "basicConstraints=critical,CA:TRUE"],
    ]
    .concat());
    for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
        let ext = format!("{name}.ext");
        std::fs::write(
            dir.join(&ext),
            format!("extendedKeyUsage={usage}\nsubjectAltName=IP:127.0.0.1\n"),
        )
        .unwrap();
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        ok = ok
            && run(&[
                &[
                    "req",
                    "-nodes",
                    "-subj",
                    "/CN=bench",
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                ][..],
                &ec,
            ]
            .concat())
            && run(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &pem,
                "-extfile",
                &ext,
            ]);
    }
    ok
}

fn start_broker(dir: &Path, port: u16, certs: Option<&Path>) -> Killed {
    let conf = dir.join("mosquitto.conf");
    let mut text = format!("user root\nlistener {port} 127.0.0.1\nallow_anonymous true\n");
    if let Some(c) = certs {
        text.push_str(&format!(
            "cafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key\n\
             require_certificate true\n",
            c.display()
        ));
    }
    std::fs::write(&conf, text).unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto");
    wait(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    Killed(child)
}

fn wait(mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the daemon on the prepared store until the backlog is empty; (readings/s, peak RSS kB).
fn drain(dir: &Path, port: u16, certs: Option<&Path>, backlog: u64) -> (f64, u64) {
    let api = free_port();
    let config = dir.join("acs-edge");
    let upstream = match certs {
        Some(c) => format!(
            "\toption url 'mqtts://127.0.0.1:{port}'\n\toption ca_file '{0}/ca.pem'\n\
             \toption cert_file '{0}/client.pem'\n\toption key_file '{0}/client.key'\n",
            c.display()
        ),
        None => format!("\toption url 'mqtt://127.0.0.1:{port}'\n"),
    };
    std::fs::write(
        &config,
        format!(
            "config main 'main'\n\toption gateway_id 'bench'\n\toption log_level 'warn'\n\n\
             config store 'store'\n\toption path '{}'\n\toption max_rows '{}'\n\
             \toption max_mb '4096'\n\nconfig mqtt 'mqtt'\n\toption enabled '0'\n\n\
             config api 'api'\n\toption listen '127.0.0.1:{api}'\n\n\
             config upstream 'upstream'\n\toption enabled '1'\n{upstream}",
            dir.join("store.db").display(),
            backlog.max(1000),
        ),
    )
    .unwrap();
    let binary = release_binary();
    let child = Killed(
        Command::new(binary)
            .arg("--config")
            .arg(&config)
            .spawn()
            .expect("start the release daemon (cargo build --release)"),
    );
    let health = || -> Option<serde_json::Value> {
        ureq::get(&format!("http://127.0.0.1:{api}/api/v1/health"))
            .call()
            .ok()?
            .into_json()
            .ok()
    };
    let mut start = None;
    let mut peak = 0;
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let Some(h) = health() else { continue };
        let up = &h["upstream"];
        if start.is_none() && up["connects"].as_u64().unwrap_or(0) > 0 {
            start = Some(Instant::now());
        }
        peak = peak.max(status_kb(child.0.id(), "VmHWM"));
        if start.is_some() && up["backlog"] == 0 {
            println!(
                "sent {} readings, cursor {}",
                up["sent_total"], up["cursor"]
            );
            break;
        }
    }
    let elapsed = start.unwrap().elapsed().as_secs_f64().max(1e-3);
    (backlog as f64 / elapsed, peak)
}
