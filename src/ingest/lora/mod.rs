//! LoRa ingest through the Semtech UDP packet forwarder: one thread owns a UDP socket, answers
//! PUSH_DATA and PULL_DATA, checks every received frame ([`uplink`]) and sends the readings of
//! accepted frames to the writer with the frame counter that admitted them.
//!
//! Invariants: a bad datagram, rxpk or frame is counted (see [`LoraCounters`]), logged
//! (rate-limited) and dropped, and never stops the source; PUSH_DATA is acknowledged as soon as
//! its header parsed, before its frames are decoded (the forwarder only needs to know the
//! datagram arrived); when the writer queue is full this thread blocks and the socket's buffer
//! absorbs, then drops, further datagrams (UDP has no backpressure; forwarders count missing
//! acknowledgements in `stat.ackr`).

pub mod describe;
pub mod gwmp;
pub mod keys;
mod stats;
pub mod uplink;

pub use keys::{FrameDeviceKey, LoraKeys, LorawanDeviceKeys};
pub use stats::{LoraCounters, LoraSnapshot};

use super::Event;
use crate::model::{now_ms, Transport};
use crate::stats::Stats;
use crate::store::FrameCounter;
use gwmp::Datagram;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use uplink::{Rejected, UplinkDecoder};

/// How long a repeat of the last accepted frame counts as a duplicate rather than a replay.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(60);

/// How often the thread looks at its stop flag while the socket is idle.
const POLL: Duration = Duration::from_millis(200);

/// Everything the LoRa source needs from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraSettings {
    pub gwmp_listen: SocketAddr,
    pub dedup_window: Duration,
}

/// A running LoRa source.
pub struct LoraSource {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl LoraSource {
    /// Binds the GWMP socket and starts the thread. `counters` are the persisted frame
    /// counters ([`crate::store::Store::frame_counters`]).
    pub fn spawn(
        settings: LoraSettings,
        keys: LoraKeys,
        counters: HashMap<String, u32>,
        tx: async_channel::Sender<Event>,
        stats: Arc<Stats>,
    ) -> std::io::Result<LoraSource> {
        let socket = UdpSocket::bind(settings.gwmp_listen)?;
        socket.set_read_timeout(Some(POLL))?;
        let local_addr = socket.local_addr()?;
        log::info!(
            "listen={local_addr} lorawan_devices={} frame_devices={} GWMP server ready",
            keys.lorawan.len(),
            keys.frames.len()
        );
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            socket,
            decoder: UplinkDecoder::new(keys, counters, settings.dedup_window),
            tx,
            stats,
            stop: stop.clone(),
            pull_addrs: HashMap::new(),
            log_limit: LogLimit::default(),
        };
        let thread = std::thread::Builder::new()
            .name("lora-gwmp".into())
            .spawn(move || worker.run())?;
        Ok(LoraSource {
            local_addr,
            stop,
            thread,
        })
    }

    /// The bound UDP address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Asks the thread to end; it notices within [`POLL`].
    pub fn request_stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// Waits up to `grace` for the thread to end after `request_stop`; true when it has.
    pub fn wait_finished(&self, grace: Duration) -> bool {
        let deadline = Instant::now() + grace;
        while !self.thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.thread.is_finished()
    }

    pub fn stop(self) {
        self.request_stop();
        let _ = self.thread.join();
    }
}

struct Worker {
    socket: UdpSocket,
    decoder: UplinkDecoder,
    tx: async_channel::Sender<Event>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    /// Where each gateway last sent PULL_DATA from: the address downlinks would go to.
    pull_addrs: HashMap<u64, SocketAddr>,
    log_limit: LogLimit,
}

impl Worker {
    fn run(mut self) {
        // The largest UDP payload; a PUSH_DATA with many rxpk can exceed a few KiB.
        let mut buf = vec![0u8; 65_535];
        while !self.stop.load(Relaxed) {
            match self.socket.recv_from(&mut buf) {
                Ok((n, peer)) => {
                    if !self.handle(&buf[..n], peer) {
                        break; // the writer is gone: shutting down
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    log::warn!("GWMP socket receive failed: {e}");
                    std::thread::sleep(POLL);
                }
            }
        }
    }

    fn counters(&self) -> &LoraCounters {
        &self.stats.lora
    }

    /// Handles one datagram. Returns false once the writer has gone.
    fn handle(&mut self, bytes: &[u8], peer: SocketAddr) -> bool {
        self.counters().datagrams.fetch_add(1, Relaxed);
        let received = match gwmp::parse(bytes) {
            Ok(received) => received,
            Err(reason) => {
                self.counters().malformed.fetch_add(1, Relaxed);
                self.log_limit.warn(format!(
                    "peer={peer} dropped malformed GWMP datagram: {reason}"
                ));
                return true;
            }
        };
        if let Some(ack) = received.ack() {
            if let Err(e) = self.socket.send_to(&ack, peer) {
                log::warn!("peer={peer} could not acknowledge GWMP datagram: {e}");
            }
        }
        match received.datagram {
            Datagram::PushData { gateway, json } => self.push_data(gateway, json, peer),
            Datagram::PullData { gateway } => {
                if self.pull_addrs.insert(gateway, peer) != Some(peer) {
                    log::info!("gateway={gateway:016x} peer={peer} gateway pull address");
                }
                true
            }
            Datagram::TxAck { gateway } => {
                log::debug!("gateway={gateway:016x} TX_ACK received");
                true
            }
        }
    }

    fn push_data(&mut self, gateway: u64, json: &[u8], peer: SocketAddr) -> bool {
        let push = match gwmp::parse_push(json) {
            Ok(push) => push,
            Err(reason) => {
                self.counters().malformed.fetch_add(1, Relaxed);
                self.log_limit.warn(format!(
                    "gateway={gateway:016x} peer={peer} dropped: {reason}"
                ));
                return true;
            }
        };
        if let Some(stat) = &push.stat {
            self.counters().stat.fetch_add(1, Relaxed);
            log::info!(
                "gateway={gateway:016x} rxnb={} rxok={} rxfw={} ackr={} dwnb={} txnb={} gateway status",
                opt(stat.rxnb),
                opt(stat.rxok),
                opt(stat.rxfw),
                opt(stat.ackr),
                opt(stat.dwnb),
                opt(stat.txnb)
            );
        }
        for rxpk in &push.rxpk {
            self.counters().rxpk.fetch_add(1, Relaxed);
            if !self.rxpk(gateway, rxpk) {
                return false;
            }
        }
        true
    }

    fn rxpk(&mut self, gateway: u64, rxpk: &gwmp::Rxpk) -> bool {
        if rxpk.stat == Some(-1) {
            self.counters().malformed.fetch_add(1, Relaxed);
            log::debug!("gateway={gateway:016x} rxpk with a bad radio CRC dropped");
            return true;
        }
        let phy = match rxpk.payload() {
            Ok(phy) => phy,
            Err(reason) => {
                self.counters().malformed.fetch_add(1, Relaxed);
                self.log_limit
                    .warn(format!("gateway={gateway:016x} dropped rxpk: {reason}"));
                return true;
            }
        };
        let radio = uplink::RadioMeta {
            rssi: rxpk.rssi(),
            snr: rxpk.snr(),
        };
        let accepted = match self.decoder.accept(&phy, radio, now_ms(), Instant::now()) {
            Ok(accepted) => accepted,
            Err(rejected) => {
                self.count_rejected(gateway, rejected);
                return true;
            }
        };
        let c = self.counters();
        c.decoded.fetch_add(1, Relaxed);
        if let Some(problem) = &accepted.payload_problem {
            c.payload_errors.fetch_add(1, Relaxed);
            self.log_limit.warn(format!(
                "device={} counter={} payload decoded in part: {problem}",
                accepted.device, accepted.counter
            ));
        }
        log::debug!(
            "gateway={gateway:016x} device={} counter={} readings={} uplink accepted",
            accepted.device,
            accepted.counter,
            accepted.readings.len()
        );
        self.stats
            .readings_received
            .fetch_add(accepted.readings.len() as u64, Relaxed);
        let counter = FrameCounter {
            device: accepted.device,
            counter: accepted.counter,
        };
        if self
            .tx
            .send_blocking(Event::Counted(Transport::Lora, accepted.readings, counter))
            .is_err()
        {
            return false;
        }
        self.stats.queue_depth.store(self.tx.len() as u64, Relaxed);
        true
    }

    fn count_rejected(&mut self, gateway: u64, rejected: Rejected) {
        let c = &self.stats.lora;
        let line = match rejected {
            Rejected::Malformed(reason) => {
                c.malformed.fetch_add(1, Relaxed);
                format!("gateway={gateway:016x} dropped malformed frame: {reason}")
            }
            Rejected::BadMic(reason) => {
                c.mic_failures.fetch_add(1, Relaxed);
                format!("gateway={gateway:016x} dropped frame: {reason}")
            }
            Rejected::Replay {
                device,
                counter,
                last,
            } => {
                c.replays.fetch_add(1, Relaxed);
                format!(
                    "gateway={gateway:016x} device={device} counter={counter} last={last} \
                     dropped replayed frame"
                )
            }
            Rejected::Duplicate { device, counter } => {
                c.duplicates.fetch_add(1, Relaxed);
                log::debug!("gateway={gateway:016x} device={device} counter={counter} duplicate");
                return;
            }
            Rejected::UnknownDevice(who) => {
                c.unknown_devices.fetch_add(1, Relaxed);
                log::debug!("gateway={gateway:016x} {who}: no keys, frame ignored");
                return;
            }
            Rejected::Ignored(what) => {
                c.ignored.fetch_add(1, Relaxed);
                log::debug!("gateway={gateway:016x} ignored: {what}");
                return;
            }
        };
        self.log_limit.warn(line);
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

/// At most `BURST` warnings per minute, then one line saying how many were suppressed, so
/// radio noise or a misconfigured device cannot flood syslog on a router.
#[derive(Default)]
struct LogLimit {
    window_start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl LogLimit {
    const BURST: u32 = 10;
    const WINDOW: Duration = Duration::from_secs(60);

    fn warn(&mut self, line: String) {
        let now = Instant::now();
        match self.window_start {
            Some(start) if now.duration_since(start) < Self::WINDOW => {}
            _ => {
                if self.suppressed > 0 {
                    log::warn!(
                        "suppressed={} LoRa warnings not logged in the last minute",
                        self.suppressed
                    );
                }
                self.window_start = Some(now);
                self.logged = 0;
                self.suppressed = 0;
            }
        }
        if self.logged < Self::BURST {
            self.logged += 1;
            log::warn!("{line}");
        } else {
            self.suppressed += 1;
        }
    }
}
