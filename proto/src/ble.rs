//! Bluetooth LE advertisement decoders: the sensor formats people own, turned into the same
//! [`Reading`]s an acs-proto frame carries.
//!
//! | carried in | id | format | module |
//! |---|---|---|---|
//! | service data | UUID16 `0xFCD2` | BTHome v2, plain or AES-CCM encrypted | `bthome` |
//! | service data | UUID16 `0x181A`, 15 bytes | pvvx custom (ATC_MiThermometer firmware) | `pvvx` |
//! | service data | UUID16 `0x181A`, 13 bytes | ATC1441 (original ATC_MiThermometer) | `atc1441` |
//! | manufacturer data | company `0x0499` | Ruuvi data format 5 (RAWv2) | `ruuvi` |
//! | manufacturer data | a company id the caller chooses | an acs-proto frame | `acs_frame` |
//!
//! Invariants:
//! - Decoding never panics, never allocates and never reads past its input, whatever the bytes.
//! - Metric names are the gateway's names: the well-known names of [`crate::MetricCode`]
//!   (`temperature` in °C, `pressure` in hPa, `battery_mv`, `energy` in Wh, `distance` in mm...)
//!   where one fits, otherwise a descriptive lower-case name that passes
//!   [`crate::validate_metric_name`]. Values are scaled to those units.
//! - A field a sensor marks "not available" yields no reading; it is never reported as a number.
//! - An advertisement yields at most [`MAX_READINGS`] readings; more is [`BleError::TooManyReadings`].
//! - Repeated advertisements are not filtered here: [`Advertisement::packet_id`] carries the
//!   packet id or counter, and the receiver drops repeats per device.

mod acs_frame;
mod atc1441;
mod bthome;
mod error;
mod pvvx;
mod ruuvi;
#[cfg(test)]
mod tests;

use core::fmt;

pub use bthome::{BtHomeObject, ObjectKind, BTHOME_OBJECTS};
pub use error::BleError;

use crate::metric::Metric;
use crate::reading::{Reading, Value};

/// Service data UUID16 of BTHome v2.
pub const UUID_BTHOME: u16 = 0xFCD2;
/// Service data UUID16 (Environmental Sensing) used by the pvvx and ATC1441 firmwares.
pub const UUID_ENVIRONMENTAL_SENSING: u16 = 0x181A;
/// Bluetooth SIG company id of Ruuvi Innovations.
pub const COMPANY_RUUVI: u16 = 0x0499;
/// Most readings one advertisement may carry.
pub const MAX_READINGS: usize = 32;
/// Longest payload accepted (the length byte of an AD structure caps it below 255).
pub const MAX_PAYLOAD_LEN: usize = 255;

/// A Bluetooth device address in the usual display order (`A4:C1:38:...` is `[0xa4, 0xc1, 0x38, ...]`).
pub type Mac = [u8; 6];

/// The payload formats this module decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// BTHome v2 (bthome.io).
    BtHomeV2,
    /// pvvx custom format.
    PvvxCustom,
    /// ATC1441 format.
    Atc1441,
    /// Ruuvi data format 5.
    RuuviV5,
    /// An acs-proto frame in manufacturer data.
    AcsFrame,
}

impl Format {
    /// Stable lower-case name: `bthome_v2`, `pvvx_custom`, `atc1441`, `ruuvi_v5`, `acs_frame`.
    pub fn name(self) -> &'static str {
        match self {
            Format::BtHomeV2 => "bthome_v2",
            Format::PvvxCustom => "pvvx_custom",
            Format::Atc1441 => "atc1441",
            Format::RuuviV5 => "ruuvi_v5",
            Format::AcsFrame => "acs_frame",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the receiver knows about the sender: its address and keys. Filled per device by the
/// gateway's configuration (bindkeys, the company id of acs-proto frames).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context<'k> {
    /// The advertiser's address, from the radio; BTHome encryption needs it in the nonce
    /// unless the payload carries it.
    pub mac: Option<Mac>,
    /// BTHome v2 bindkey (AES-128) of this device.
    pub bindkey: Option<&'k [u8; 16]>,
    /// Company id under which manufacturer data holds an acs-proto frame; `None`: no frames.
    pub frame_company_id: Option<u16>,
}

/// Up to [`MAX_READINGS`] readings, kept inline (no allocator).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readings<'a> {
    items: [Reading<'a>; MAX_READINGS],
    len: usize,
}

const EMPTY_READING: Reading<'static> = Reading {
    metric: Metric::Name("none"),
    ts_offset_ms: 0,
    value: Value::I64(0),
};

impl Default for Readings<'_> {
    fn default() -> Self {
        Readings {
            items: [EMPTY_READING; MAX_READINGS],
            len: 0,
        }
    }
}

impl<'a> Readings<'a> {
    /// Appends a reading; [`BleError::TooManyReadings`] when full.
    pub fn push(&mut self, reading: Reading<'a>) -> Result<(), BleError> {
        let slot = self
            .items
            .get_mut(self.len)
            .ok_or(BleError::TooManyReadings)?;
        *slot = reading;
        self.len += 1;
        Ok(())
    }

    /// Appends `name = value` measured now (no time offset).
    pub(crate) fn push_value(&mut self, name: &'static str, value: Value) -> Result<(), BleError> {
        self.push(Reading {
            metric: Metric::Name(name),
            ts_offset_ms: 0,
            value,
        })
    }

    /// The readings, in payload order.
    pub fn as_slice(&self) -> &[Reading<'a>] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Number of readings.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of the first reading named `name`.
    pub fn get(&self, name: &str) -> Option<Value> {
        let mut buf = NameBuf::default();
        self.as_slice()
            .iter()
            .find(|r| buf.render(&r.metric) == name)
            .map(|r| r.value)
    }
}

/// Renders a [`Metric`] into a small stack buffer, so names can be compared without a heap.
struct NameBuf {
    bytes: [u8; 80],
    len: usize,
}

impl Default for NameBuf {
    fn default() -> Self {
        NameBuf {
            bytes: [0; 80],
            len: 0,
        }
    }
}

impl NameBuf {
    fn render(&mut self, metric: &Metric<'_>) -> &str {
        self.len = 0;
        let _ = fmt::write(self, format_args!("{metric}"));
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl fmt::Write for NameBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl<'r, 'a> IntoIterator for &'r Readings<'a> {
    type Item = &'r Reading<'a>;
    type IntoIter = core::slice::Iter<'r, Reading<'a>>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

/// One decoded advertisement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Advertisement<'a> {
    /// Which format it was.
    pub format: Format,
    /// The readings, scaled to the gateway's units.
    pub readings: Readings<'a>,
    /// Packet id, measurement counter or encryption counter: repeats of one measurement carry
    /// the same value, so a receiver keeps the first and drops the rest.
    pub packet_id: Option<u32>,
    /// The device address when the payload carries one (display order).
    pub mac: Option<Mac>,
    /// True when the payload was encrypted and its MIC checked out.
    pub encrypted: bool,
    /// acs-proto frames only: the frame's device id (EUI-64).
    pub device_id: Option<u64>,
    /// acs-proto frames only: the frame's base timestamp in epoch ms (0: none).
    pub base_ts_ms: u64,
    /// Set when decoding stopped before the end of the payload (an object id this version
    /// does not know, or a truncated last object); the readings before that point are kept.
    pub stopped: Option<BleError>,
}

impl<'a> Advertisement<'a> {
    pub(crate) fn new(format: Format) -> Self {
        Advertisement {
            format,
            readings: Readings::default(),
            packet_id: None,
            mac: None,
            encrypted: false,
            device_id: None,
            base_ts_ms: 0,
            stopped: None,
        }
    }
}

/// Decodes the service data of one UUID16.
pub fn decode_service_data<'a>(
    uuid16: u16,
    data: &'a [u8],
    context: &Context<'_>,
) -> Result<Advertisement<'a>, BleError> {
    check_len(data)?;
    match uuid16 {
        UUID_BTHOME => bthome::decode(data, context),
        UUID_ENVIRONMENTAL_SENSING => match data.len() {
            pvvx::LEN => pvvx::decode(data),
            atc1441::LEN => atc1441::decode(data),
            len => Err(BleError::UnexpectedLength { format: None, len }),
        },
        _ => Err(BleError::UnknownServiceData(uuid16)),
    }
}

/// Decodes the manufacturer data of one company id (the bytes after the 2-byte company id).
pub fn decode_manufacturer_data<'a>(
    company_id: u16,
    data: &'a [u8],
    context: &Context<'_>,
) -> Result<Advertisement<'a>, BleError> {
    check_len(data)?;
    if context.frame_company_id == Some(company_id) {
        return acs_frame::decode(data);
    }
    match company_id {
        COMPANY_RUUVI => ruuvi::decode(data),
        _ => Err(BleError::UnknownManufacturer(company_id)),
    }
}

fn check_len(data: &[u8]) -> Result<(), BleError> {
    if data.len() > MAX_PAYLOAD_LEN {
        return Err(BleError::TooLong {
            len: data.len(),
            max: MAX_PAYLOAD_LEN,
        });
    }
    Ok(())
}

/// `raw * num / den` as a value: an integer when `den` is 1, otherwise the nearest `f64`
/// (dividing last keeps `2506 / 100` at `25.06` instead of `25.060000000000002`).
pub(crate) fn scaled(raw: i64, num: i64, den: i64) -> Value {
    if den == 1 {
        Value::I64(raw.saturating_mul(num))
    } else {
        Value::F64(raw.saturating_mul(num) as f64 / den as f64)
    }
}
