//! The radio driver (Cargo feature `lora`): lora-phy drives an SX126x or SX127x chip through
//! thin adapters from Linux interfaces to the embedded-hal-async traits it expects:
//! `/dev/spidevX.Y` ([`SpiDev`]), GPIO character-device lines ([`OutputLine`], [`InputLine`])
//! and smol timers ([`Delay`]).
//!
//! Invariants: the adapters add no buffering or retries of their own (lora-phy owns the radio
//! protocol); waiting on BUSY and the IRQ line polls the line every [`PIN_POLL`] because the
//! GPIO character device's edge events would need a second thread per line; the radio stays
//! in continuous receive, so a packet missed during a poll interval is still in the chip's
//! buffer when the IRQ line is seen high.

use super::radio::{Chip, Radio, RadioError, RadioSettings};
use super::uplink::RadioMeta;
use embedded_hal::digital::{ErrorType as PinErrorType, OutputPin};
use embedded_hal::spi::{ErrorType as SpiErrorType, Operation};
use embedded_hal_async::delay::DelayNs;
use embedded_hal_async::digital::Wait;
use gpio_cdev::{Chip as GpioChip, LineHandle, LineRequestFlags};
use lora_phy::iv::{GenericSx126xInterfaceVariant, GenericSx127xInterfaceVariant};
use lora_phy::mod_params::{
    Bandwidth, CodingRate, ModulationParams, PacketParams, RadioError as PhyError, RxMode,
    SpreadingFactor,
};
use lora_phy::sx126x::{self, Sx126x, TcxoCtrlVoltage};
use lora_phy::sx127x::{self, Sx127x};
use lora_phy::LoRa;
use spidev::{SpiModeFlags, Spidev, SpidevOptions, SpidevTransfer};
use std::time::Duration;

/// How often BUSY and the IRQ line are sampled while waiting.
pub const PIN_POLL: Duration = Duration::from_millis(1);
/// SPI clock; every SX126x/SX127x board handles this comfortably.
const SPI_HZ: u32 = 2_000_000;
const CONSUMER: &str = "acs-edge";
const PREAMBLE_LEN: u16 = 8;

/// An I/O error of an adapter, in the shape embedded-hal wants.
#[derive(Debug)]
pub struct HalError(pub std::io::Error);

impl embedded_hal::spi::Error for HalError {
    fn kind(&self) -> embedded_hal::spi::ErrorKind {
        embedded_hal::spi::ErrorKind::Other
    }
}

impl embedded_hal::digital::Error for HalError {
    fn kind(&self) -> embedded_hal::digital::ErrorKind {
        embedded_hal::digital::ErrorKind::Other
    }
}

fn gpio_error(e: gpio_cdev::Error) -> HalError {
    HalError(std::io::Error::other(e.to_string()))
}

/// `/dev/spidevX.Y` as an async `SpiDevice` (the kernel handles chip select per transfer).
pub struct SpiDev(Spidev);

impl SpiErrorType for SpiDev {
    type Error = HalError;
}

impl embedded_hal_async::spi::SpiDevice for SpiDev {
    async fn transaction(&mut self, ops: &mut [Operation<'_, u8>]) -> Result<(), HalError> {
        let mut transfers = Vec::with_capacity(ops.len() + 1);
        for op in ops {
            match op {
                Operation::Read(buf) => transfers.push(SpidevTransfer::read(buf)),
                Operation::Write(buf) => transfers.push(SpidevTransfer::write(buf)),
                Operation::Transfer(read, write) => {
                    // spidev needs equal lengths: split into a full-duplex part and the rest.
                    let n = read.len().min(write.len());
                    let (read_both, read_rest) = read.split_at_mut(n);
                    transfers.push(SpidevTransfer::read_write(&write[..n], read_both));
                    if !read_rest.is_empty() {
                        transfers.push(SpidevTransfer::read(read_rest));
                    }
                    if write.len() > n {
                        transfers.push(SpidevTransfer::write(&write[n..]));
                    }
                }
                Operation::TransferInPlace(buf) => {
                    transfers.push(SpidevTransfer::read_write_in_place(buf))
                }
                Operation::DelayNs(ns) => {
                    let us = ns.div_ceil(1000).min(u32::from(u16::MAX)) as u16;
                    transfers.push(SpidevTransfer::delay(us));
                }
            }
        }
        self.0.transfer_multiple(&mut transfers).map_err(HalError)
    }
}

/// An output GPIO line (reset).
pub struct OutputLine(LineHandle);

impl PinErrorType for OutputLine {
    type Error = HalError;
}

impl OutputPin for OutputLine {
    fn set_low(&mut self) -> Result<(), HalError> {
        self.0.set_value(0).map_err(gpio_error)
    }

    fn set_high(&mut self) -> Result<(), HalError> {
        self.0.set_value(1).map_err(gpio_error)
    }
}

/// An input GPIO line (BUSY, DIO) with async waits by polling.
pub struct InputLine(LineHandle);

impl InputLine {
    fn is_high(&self) -> Result<bool, HalError> {
        self.0.get_value().map(|v| v != 0).map_err(gpio_error)
    }

    async fn wait_for(&self, high: bool) -> Result<(), HalError> {
        while self.is_high()? != high {
            smol::Timer::after(PIN_POLL).await;
        }
        Ok(())
    }
}

impl PinErrorType for InputLine {
    type Error = HalError;
}

impl Wait for InputLine {
    async fn wait_for_high(&mut self) -> Result<(), HalError> {
        self.wait_for(true).await
    }

    async fn wait_for_low(&mut self) -> Result<(), HalError> {
        self.wait_for(false).await
    }

    async fn wait_for_rising_edge(&mut self) -> Result<(), HalError> {
        self.wait_for(false).await?;
        self.wait_for(true).await
    }

    async fn wait_for_falling_edge(&mut self) -> Result<(), HalError> {
        self.wait_for(true).await?;
        self.wait_for(false).await
    }

    async fn wait_for_any_edge(&mut self) -> Result<(), HalError> {
        let now = self.is_high()?;
        self.wait_for(!now).await
    }
}

/// Delays on smol's timer.
pub struct Delay;

impl DelayNs for Delay {
    async fn delay_ns(&mut self, ns: u32) {
        smol::Timer::after(Duration::from_nanos(u64::from(ns))).await;
    }
}

type Sx126xRadio = LoRa<
    Sx126x<SpiDev, GenericSx126xInterfaceVariant<OutputLine, InputLine>, sx126x::Sx1262>,
    Delay,
>;
type Sx1261Radio = LoRa<
    Sx126x<SpiDev, GenericSx126xInterfaceVariant<OutputLine, InputLine>, sx126x::Sx1261>,
    Delay,
>;
type Sx127xRadio = LoRa<
    Sx127x<SpiDev, GenericSx127xInterfaceVariant<OutputLine, InputLine>, sx127x::Sx1276>,
    Delay,
>;

enum Driver {
    Sx1262(Box<Sx126xRadio>),
    Sx1261(Box<Sx1261Radio>),
    Sx1276(Box<Sx127xRadio>),
}

/// A radio in continuous receive.
pub struct PhyRadio {
    driver: Driver,
    modulation: ModulationParams,
    packet: PacketParams,
}

fn driver_error(e: PhyError) -> RadioError {
    RadioError::Driver(format!("{e:?}"))
}

fn open_error(what: impl std::fmt::Display, reason: impl std::fmt::Display) -> RadioError {
    RadioError::Open {
        what: what.to_string(),
        reason: reason.to_string(),
    }
}

/// Opens the SPI device and GPIO lines, initialises the chip and starts continuous receive.
pub async fn open(settings: RadioSettings) -> Result<PhyRadio, RadioError> {
    let mut spi = Spidev::open(&settings.spi_device)
        .map_err(|e| open_error(settings.spi_device.display(), e))?;
    let options = SpidevOptions::new()
        .bits_per_word(8)
        .max_speed_hz(SPI_HZ)
        .mode(SpiModeFlags::SPI_MODE_0)
        .build();
    spi.configure(&options)
        .map_err(|e| open_error(settings.spi_device.display(), e))?;
    let spi = SpiDev(spi);
    let mut chip = GpioChip::new(&settings.gpio_chip)
        .map_err(|e| open_error(settings.gpio_chip.display(), e))?;
    let mut line = |offset: u32, output: bool| {
        let what = format!("{} line {offset}", settings.gpio_chip.display());
        let line = chip.get_line(offset).map_err(|e| open_error(&what, e))?;
        let (flags, value) = if output {
            (LineRequestFlags::OUTPUT, 1)
        } else {
            (LineRequestFlags::INPUT, 0)
        };
        line.request(flags, value, CONSUMER)
            .map_err(|e| open_error(&what, e))
    };
    let reset = OutputLine(line(settings.reset_pin, true)?);
    let irq = InputLine(line(settings.irq_pin, false)?);
    let public = settings.public_network;
    let driver = match settings.chip {
        Chip::Sx1262 | Chip::Sx1261 => {
            let busy = InputLine(line(settings.busy_pin, false)?);
            let iv = GenericSx126xInterfaceVariant::new(reset, irq, busy, None, None)
                .map_err(driver_error)?;
            let tcxo_ctrl = settings.tcxo_mv.map(tcxo_voltage);
            if settings.chip == Chip::Sx1262 {
                let config = sx126x::Config {
                    chip: sx126x::Sx1262,
                    tcxo_ctrl,
                    use_dcdc: true,
                    rx_boost: true,
                };
                let radio = LoRa::new(Sx126x::new(spi, iv, config), public, Delay)
                    .await
                    .map_err(driver_error)?;
                Driver::Sx1262(Box::new(radio))
            } else {
                let config = sx126x::Config {
                    chip: sx126x::Sx1261,
                    tcxo_ctrl,
                    use_dcdc: true,
                    rx_boost: true,
                };
                let radio = LoRa::new(Sx126x::new(spi, iv, config), public, Delay)
                    .await
                    .map_err(driver_error)?;
                Driver::Sx1261(Box::new(radio))
            }
        }
        Chip::Sx1276 => {
            let iv =
                GenericSx127xInterfaceVariant::new(reset, irq, None, None).map_err(driver_error)?;
            let config = sx127x::Config {
                chip: sx127x::Sx1276,
                tcxo_used: settings.tcxo_mv.is_some(),
                tx_boost: false,
                rx_boost: true,
            };
            let radio = LoRa::new(Sx127x::new(spi, iv, config), public, Delay)
                .await
                .map_err(driver_error)?;
            Driver::Sx1276(Box::new(radio))
        }
    };
    let mut radio = PhyRadio::configure(driver, &settings)?;
    radio.start_rx().await?;
    log::info!(
        "chip={:?} frequency_hz={} sf={} bw_hz={} cr=4/{} radio initialised",
        settings.chip,
        settings.frequency_hz,
        settings.spreading_factor,
        settings.bandwidth_hz,
        settings.coding_rate
    );
    Ok(radio)
}

/// Runs `$body` with `$lora` bound to whichever chip driver is in use.
macro_rules! with_driver {
    ($driver:expr, $lora:ident => $body:expr) => {
        match $driver {
            Driver::Sx1262($lora) => $body,
            Driver::Sx1261($lora) => $body,
            Driver::Sx1276($lora) => $body,
        }
    };
}

impl PhyRadio {
    fn configure(mut driver: Driver, s: &RadioSettings) -> Result<PhyRadio, RadioError> {
        let sf = spreading_factor(s.spreading_factor)?;
        let bw = bandwidth(s.bandwidth_hz)?;
        let cr = coding_rate(s.coding_rate)?;
        let (modulation, packet) = with_driver!(&mut driver, lora => {
            let modulation = lora
                .create_modulation_params(sf, bw, cr, s.frequency_hz)
                .map_err(driver_error)?;
            // Uplinks: explicit header, CRC on, IQ not inverted (LoRaWAN convention).
            let packet = lora
                .create_rx_packet_params(PREAMBLE_LEN, false, u8::MAX, true, false, &modulation)
                .map_err(driver_error)?;
            (modulation, packet)
        });
        Ok(PhyRadio {
            driver,
            modulation,
            packet,
        })
    }

    async fn start_rx(&mut self) -> Result<(), RadioError> {
        let (modulation, packet) = (&self.modulation, &self.packet);
        with_driver!(&mut self.driver, lora => lora
            .prepare_for_rx(RxMode::Continuous, modulation, packet)
            .await
            .map_err(driver_error))
    }
}

impl Radio for PhyRadio {
    async fn receive(&mut self, buf: &mut [u8]) -> Result<(usize, RadioMeta), RadioError> {
        let packet = &self.packet;
        let (len, status) = with_driver!(&mut self.driver, lora => lora
            .rx(packet, buf)
            .await
            .map_err(driver_error))?;
        let meta = RadioMeta {
            rssi: Some(f64::from(status.rssi)),
            snr: Some(f64::from(status.snr)),
        };
        Ok((usize::from(len), meta))
    }
}

fn tcxo_voltage(mv: u32) -> TcxoCtrlVoltage {
    match mv {
        ..=1600 => TcxoCtrlVoltage::Ctrl1V6,
        1601..=1700 => TcxoCtrlVoltage::Ctrl1V7,
        1701..=1800 => TcxoCtrlVoltage::Ctrl1V8,
        1801..=2200 => TcxoCtrlVoltage::Ctrl2V2,
        2201..=2400 => TcxoCtrlVoltage::Ctrl2V4,
        2401..=2700 => TcxoCtrlVoltage::Ctrl2V7,
        2701..=3000 => TcxoCtrlVoltage::Ctrl3V0,
        _ => TcxoCtrlVoltage::Ctrl3V3,
    }
}

fn spreading_factor(sf: u8) -> Result<SpreadingFactor, RadioError> {
    Ok(match sf {
        5 => SpreadingFactor::_5,
        6 => SpreadingFactor::_6,
        7 => SpreadingFactor::_7,
        8 => SpreadingFactor::_8,
        9 => SpreadingFactor::_9,
        10 => SpreadingFactor::_10,
        11 => SpreadingFactor::_11,
        12 => SpreadingFactor::_12,
        other => return Err(RadioError::Driver(format!("spreading factor {other}"))),
    })
}

fn bandwidth(hz: u32) -> Result<Bandwidth, RadioError> {
    Ok(match hz {
        7_800 => Bandwidth::_7KHz,
        10_400 => Bandwidth::_10KHz,
        15_600 => Bandwidth::_15KHz,
        20_800 => Bandwidth::_20KHz,
        31_250 => Bandwidth::_31KHz,
        41_700 => Bandwidth::_41KHz,
        62_500 => Bandwidth::_62KHz,
        125_000 => Bandwidth::_125KHz,
        250_000 => Bandwidth::_250KHz,
        500_000 => Bandwidth::_500KHz,
        other => return Err(RadioError::Driver(format!("bandwidth {other} Hz"))),
    })
}

fn coding_rate(x: u8) -> Result<CodingRate, RadioError> {
    Ok(match x {
        5 => CodingRate::_4_5,
        6 => CodingRate::_4_6,
        7 => CodingRate::_4_7,
        8 => CodingRate::_4_8,
        other => return Err(RadioError::Driver(format!("coding rate 4/{other}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_configurable_value_maps_to_a_driver_value() {
        for sf in 5..=12 {
            assert!(spreading_factor(sf).is_ok());
        }
        for khz in [
            "7.8", "10.4", "15.6", "20.8", "31.25", "41.7", "62.5", "125", "250", "500",
        ] {
            let hz = (khz.parse::<f64>().unwrap() * 1000.0).round() as u32;
            assert!(bandwidth(hz).is_ok(), "{khz}");
        }
        for x in 5..=8 {
            assert!(coding_rate(x).is_ok());
        }
        assert!(matches!(tcxo_voltage(1800), TcxoCtrlVoltage::Ctrl1V8));
    }

    #[test]
    fn a_missing_spi_device_is_a_clear_error() {
        let settings = RadioSettings {
            chip: Chip::Sx1262,
            spi_device: "/nonexistent/spidev9.9".into(),
            gpio_chip: "/nonexistent/gpiochip9".into(),
            reset_pin: 1,
            busy_pin: 2,
            irq_pin: 3,
            tcxo_mv: None,
            frequency_hz: 868_100_000,
            spreading_factor: 7,
            bandwidth_hz: 125_000,
            coding_rate: 5,
            public_network: true,
        };
        let err = smol::block_on(open(settings)).err().unwrap();
        assert!(err.to_string().contains("/nonexistent/spidev9.9"), "{err}");
    }
}
