//! The GWMP server: one thread owns a UDP socket, answers PUSH_DATA and PULL_DATA, and hands
//! every `rxpk` payload to the shared [`Delivery`].
//!
//! Invariants: PUSH_DATA is acknowledged as soon as its header parsed, before its frames are
//! decoded (the forwarder only needs to know the datagram arrived); when the writer queue is
//! full this thread blocks and the socket's buffer absorbs, then drops, further datagrams (UDP
//! has no backpressure; forwarders count missing acknowledgements in `stat.ackr`).

use super::gwmp::{self, Datagram};
use super::uplink::RadioMeta;
use super::{Delivery, SharedDecoder};
use crate::ingest::stats::{GatewayStat, IngestStats};
use crate::model::Event;
use crate::threads::{StopFlag, WorkerThread};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// How often the thread looks at its stop flag while the socket is idle.
const POLL: Duration = Duration::from_millis(200);

/// Everything the GWMP server needs from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraSettings {
    pub gwmp_listen: SocketAddr,
}

/// A running GWMP server.
pub struct GwmpSource {
    local_addr: SocketAddr,
    thread: WorkerThread,
}

impl GwmpSource {
    /// Binds the GWMP socket and starts the thread.
    pub fn spawn(
        settings: LoraSettings,
        decoder: SharedDecoder,
        tx: async_channel::Sender<Event>,
        stats: Arc<IngestStats>,
    ) -> std::io::Result<GwmpSource> {
        let socket = UdpSocket::bind(settings.gwmp_listen)?;
        socket.set_read_timeout(Some(POLL))?;
        let local_addr = socket.local_addr()?;
        log::info!("listen={local_addr} GWMP server ready");
        let stop = StopFlag::default();
        let worker = Worker {
            socket,
            delivery: Delivery::new(decoder, tx, stats),
            stop: stop.clone(),
            pull_addrs: HashMap::new(),
        };
        let thread = WorkerThread::spawn("lora-gwmp", stop, move || worker.run())?;
        Ok(GwmpSource { local_addr, thread })
    }

    /// The bound UDP address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Asks the thread to end; it notices within [`POLL`].
    pub fn request_stop(&self) {
        self.thread.request_stop();
    }

    /// Waits up to `grace` for the thread to end after `request_stop`; true when it has.
    pub fn wait_finished(&self, grace: Duration) -> bool {
        self.thread.wait_finished(grace)
    }

    pub fn stop(self) {
        self.thread.stop();
    }
}

struct Worker {
    socket: UdpSocket,
    delivery: Delivery,
    stop: StopFlag,
    /// Where each gateway last sent PULL_DATA from: the address downlinks would go to.
    pull_addrs: HashMap<u64, SocketAddr>,
}

impl Worker {
    fn run(mut self) {
        // The largest UDP payload; a PUSH_DATA with many rxpk can exceed a few KiB.
        let mut buf = vec![0u8; 65_535];
        while !self.stop.is_set() {
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

    /// Handles one datagram. Returns false once the writer has gone.
    fn handle(&mut self, bytes: &[u8], peer: SocketAddr) -> bool {
        self.delivery.counters().datagrams.fetch_add(1, Relaxed);
        let received = match gwmp::parse(bytes) {
            Ok(received) => received,
            Err(reason) => {
                self.delivery.counters().malformed.fetch_add(1, Relaxed);
                self.delivery.warn(format!(
                    "peer={peer} dropped malformed GWMP datagram: {reason}"
                ));
                return true;
            }
        };
        let now_ms = crate::model::now_ms();
        if let Datagram::PullData { gateway } = received.datagram {
            self.delivery
                .counters()
                .record_gateway(gateway, now_ms, 0, None);
        }
        if let Some(ack) = received.ack() {
            if let Err(e) = self.socket.send_to(&ack, peer) {
                log::warn!("peer={peer} could not acknowledge GWMP datagram: {e}");
            }
        }
        match received.datagram {
            Datagram::PushData { gateway, json } => self.push_data(gateway, json, peer, now_ms),
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

    fn push_data(&mut self, gateway: u64, json: &[u8], peer: SocketAddr, now_ms: i64) -> bool {
        let push = match gwmp::parse_push(json) {
            Ok(push) => push,
            Err(reason) => {
                self.delivery
                    .counters()
                    .record_gateway(gateway, now_ms, 0, None);
                self.delivery.counters().malformed.fetch_add(1, Relaxed);
                self.delivery.warn(format!(
                    "gateway={gateway:016x} peer={peer} dropped: {reason}"
                ));
                return true;
            }
        };
        let stat = push.stat.as_ref().map(|stat| GatewayStat {
            received: now_ms,
            rxnb: stat.rxnb,
            rxok: stat.rxok,
            rxfw: stat.rxfw,
            ackr: stat.ackr.filter(|a| a.is_finite()),
            dwnb: stat.dwnb,
            txnb: stat.txnb,
        });
        self.delivery
            .counters()
            .record_gateway(gateway, now_ms, push.rxpk.len() as u64, stat);
        if let Some(stat) = &push.stat {
            self.delivery.counters().stat.fetch_add(1, Relaxed);
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
        let via = format!("gateway={gateway:016x}");
        for rxpk in &push.rxpk {
            self.delivery.counters().rxpk.fetch_add(1, Relaxed);
            if rxpk.stat == Some(-1) {
                self.delivery.counters().malformed.fetch_add(1, Relaxed);
                log::debug!("{via} rxpk with a bad radio CRC dropped");
                continue;
            }
            let phy = match rxpk.payload() {
                Ok(phy) => phy,
                Err(reason) => {
                    self.delivery.counters().malformed.fetch_add(1, Relaxed);
                    self.delivery.warn(format!("{via} dropped rxpk: {reason}"));
                    continue;
                }
            };
            let radio = RadioMeta {
                rssi: rxpk.rssi(),
                snr: rxpk.snr(),
            };
            if !self.delivery.deliver(&via, &phy, radio) {
                return false;
            }
        }
        true
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}
