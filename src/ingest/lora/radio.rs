//! A LoRa radio attached to the router (SX126x/SX127x on SPI): a thread runs a small async
//! loop that waits for packets from a [`Radio`] and hands them to the shared [`Delivery`].
//! The hardware driver (`phy.rs`, lora-phy over spidev and GPIO character devices) is behind
//! the Cargo feature `lora`; the loop works with any [`Radio`], which is how it is tested.
//!
//! Invariants: a receive error is counted and logged (rate-limited) and the loop retries after
//! a pause that grows to [`MAX_BACKOFF`], so a flaky SPI bus cannot spin a CPU core; stopping
//! never waits for the radio (the pending receive is dropped).

use super::uplink::RadioMeta;
use super::{Delivery, SharedDecoder};
use crate::ingest::stats::IngestStats;
use crate::model::Event;
use crate::threads::{StopFlag, WorkerThread};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

/// Longest pause between attempts after repeated receive errors.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The largest LoRa packet.
pub const MAX_PACKET: usize = 255;

/// Why the radio could not start or receive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RadioError {
    #[error("cannot open {what}: {reason}")]
    Open { what: String, reason: String },
    #[error("radio: {0}")]
    Driver(String),
}

/// A source of received LoRa packets.
pub trait Radio {
    /// Waits for the next packet, writes it to the start of `buf` (at least [`MAX_PACKET`]
    /// bytes) and returns its length and signal figures.
    fn receive(
        &mut self,
        buf: &mut [u8],
    ) -> impl Future<Output = Result<(usize, RadioMeta), RadioError>>;
}

/// The supported radio chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chip {
    Sx1261,
    Sx1262,
    Sx1276,
}

/// Everything the radio input needs from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RadioSettings {
    pub chip: Chip,
    pub spi_device: PathBuf,
    pub gpio_chip: PathBuf,
    /// GPIO line offsets on `gpio_chip`.
    pub reset_pin: u32,
    /// SX126x only.
    pub busy_pin: u32,
    /// DIO1 on SX126x, DIO0 on SX127x.
    pub irq_pin: u32,
    /// SX126x TCXO supply in millivolts (1600, 1700, ... 3300); `None`: crystal.
    pub tcxo_mv: Option<u32>,
    pub frequency_hz: u32,
    pub spreading_factor: u8,
    pub bandwidth_hz: u32,
    /// The `x` of 4/x (5..=8).
    pub coding_rate: u8,
    /// LoRaWAN public sync word (0x34) rather than the private one (0x12).
    pub public_network: bool,
}

/// A running radio input.
pub struct RadioSource {
    /// Closed on a stop request: it wakes the async loop out of a pending receive, which the
    /// thread's stop flag alone could not.
    wake: async_channel::Sender<()>,
    thread: WorkerThread,
}

impl RadioSource {
    /// Starts the thread; `open` brings the radio up inside it (async, as lora-phy's init is).
    pub fn spawn<R, F, Fut>(
        open: F,
        decoder: SharedDecoder,
        tx: async_channel::Sender<Event>,
        stats: Arc<IngestStats>,
    ) -> std::io::Result<RadioSource>
    where
        R: Radio,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<R, RadioError>>,
    {
        let (wake, stopped) = async_channel::bounded::<()>(1);
        let delivery = Delivery::new(decoder, tx, stats);
        // The loop watches `stopped`, not the flag (see `wake`).
        let thread = WorkerThread::spawn("lora-radio", StopFlag::default(), move || {
            smol::block_on(async move {
                let radio = smol::future::or(async { Some(open().await) }, async {
                    let _ = stopped.recv().await;
                    None
                })
                .await;
                match radio {
                    Some(Ok(radio)) => {
                        log::info!("LoRa radio receiving");
                        receive_loop(radio, delivery, stopped).await;
                    }
                    Some(Err(e)) => log::error!("LoRa radio not started: {e}"),
                    None => {}
                }
            })
        })?;
        Ok(RadioSource { wake, thread })
    }

    /// Asks the loop to end; a pending receive is abandoned.
    pub fn request_stop(&self) {
        self.thread.request_stop();
        self.wake.close();
    }

    /// Waits up to `grace` for the thread to end after `request_stop`; true when it has.
    pub fn wait_finished(&self, grace: Duration) -> bool {
        self.thread.wait_finished(grace)
    }

    pub fn stop(self) {
        self.request_stop();
        self.thread.stop();
    }
}

async fn receive_loop<R: Radio>(
    mut radio: R,
    mut delivery: Delivery,
    stopped: async_channel::Receiver<()>,
) {
    let mut buf = [0u8; MAX_PACKET];
    let mut backoff = Duration::from_millis(100);
    loop {
        let next = smol::future::or(async { Some(radio.receive(&mut buf).await) }, async {
            let _ = stopped.recv().await;
            None
        })
        .await;
        match next {
            None => return,
            Some(Ok((len, meta))) => {
                backoff = Duration::from_millis(100);
                delivery.counters().radio_packets.fetch_add(1, Relaxed);
                let Some(packet) = buf.get(..len) else {
                    continue;
                };
                if !delivery.deliver("radio", packet, meta) {
                    return; // the writer is gone
                }
            }
            Some(Err(e)) => {
                delivery.counters().radio_errors.fetch_add(1, Relaxed);
                delivery.warn(format!(
                    "retry_s={} LoRa radio receive failed: {e}",
                    backoff.as_secs_f32()
                ));
                let pause = smol::future::or(
                    async {
                        smol::Timer::after(backoff).await;
                        false
                    },
                    async {
                        let _ = stopped.recv().await;
                        true
                    },
                )
                .await;
                if pause {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::lora::keys::{LoraKeys, LorawanDeviceKeys};
    use crate::ingest::lora::uplink::UplinkDecoder;
    use acs_proto::lorawan::{FCtrl, UplinkRepr};
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A radio that plays back a script, then waits forever (like a quiet band).
    struct ScriptedRadio(VecDeque<Result<(Vec<u8>, RadioMeta), RadioError>>);

    impl Radio for ScriptedRadio {
        async fn receive(&mut self, buf: &mut [u8]) -> Result<(usize, RadioMeta), RadioError> {
            match self.0.pop_front() {
                Some(Ok((packet, meta))) => {
                    buf[..packet.len()].copy_from_slice(&packet);
                    Ok((packet.len(), meta))
                }
                Some(Err(e)) => Err(e),
                None => std::future::pending().await,
            }
        }
    }

    fn uplink(fcnt: u32) -> Vec<u8> {
        let repr = UplinkRepr {
            confirmed: false,
            dev_addr: 0x0102_0304,
            fctrl: FCtrl::default(),
            fcnt,
            fopts: &[],
            fport: Some(1),
            payload: &[1, 0x67, 0, 200], // temperature_1 = 20.0
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&[1; 16], &[2; 16], &mut buf).unwrap();
        buf
    }

    #[test]
    fn scripted_radio_packets_become_events_and_errors_are_counted() {
        let keys = LoraKeys {
            lorawan: vec![LorawanDeviceKeys {
                device_id: "radio-node".into(),
                dev_addr: 0x0102_0304,
                nwk_s_key: [1; 16],
                app_s_key: [2; 16],
                payload: Default::default(),
            }],
            frames: Vec::new(),
        };
        let decoder = Arc::new(Mutex::new(UplinkDecoder::new(
            keys,
            Default::default(),
            Duration::from_secs(60),
        )));
        let meta = RadioMeta {
            rssi: Some(-100.0),
            snr: Some(-3.0),
        };
        let script = VecDeque::from([
            Ok((uplink(1), meta)),
            Err(RadioError::Driver("CRC error".into())),
            Ok((vec![0x40, 0xff], meta)),
            Ok((uplink(1), meta)),
            Ok((uplink(2), meta)),
        ]);
        let (tx, rx) = async_channel::bounded(16);
        let stats = Arc::new(IngestStats::default());
        let source = RadioSource::spawn(
            move || async move { Ok(ScriptedRadio(script)) },
            decoder,
            tx,
            stats.clone(),
        )
        .unwrap();
        let mut counters = Vec::new();
        for _ in 0..2 {
            match rx.recv_blocking().unwrap() {
                Event::Counted(transport, readings, counter) => {
                    assert_eq!(transport, crate::model::Transport::Lora);
                    assert_eq!(readings[0].metric, "temperature_1");
                    assert_eq!(readings[0].value, 20.0);
                    assert_eq!(readings[1].value, -100.0);
                    counters.push(counter.counter);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(counters, [1, 2]);
        source.stop();
        let lora = stats.lora.snapshot();
        assert_eq!(lora.radio_packets, 4);
        assert_eq!(lora.radio_errors, 1);
        assert_eq!(lora.malformed, 1);
        assert_eq!(lora.duplicates, 1);
        assert_eq!(lora.decoded, 2);
    }

    #[test]
    fn a_radio_that_fails_to_open_ends_the_thread() {
        let decoder = Arc::new(Mutex::new(UplinkDecoder::new(
            LoraKeys::default(),
            Default::default(),
            Duration::from_secs(60),
        )));
        let (tx, _rx) = async_channel::bounded(1);
        let source = RadioSource::spawn(
            || async {
                Err::<ScriptedRadio, _>(RadioError::Open {
                    what: "/dev/spidev9.9".into(),
                    reason: "no such device".into(),
                })
            },
            decoder,
            tx,
            Arc::new(IngestStats::default()),
        )
        .unwrap();
        assert!(source.wait_finished(Duration::from_secs(5)));
    }
}
