//! Bluetooth LE ingest: received advertisements ([`Advert`], from the BlueZ scanner or a capture
//! file) decoded by acs-proto's `ble` decoders into readings of devices with transport `ble`.
//! Both sources hand their adverts to one [`sink::AdvertSink`], which decodes, counts and
//! sends them to the writer.
//!
//! Invariants:
//! - A device's id is `ble-` + its 12 lower-case hex address digits (`ble-a4c1388d18b2`),
//!   unless its `BleDeviceSettings::id` names it otherwise; the same sensor keeps its id
//!   whichever of its formats it sends.
//! - Repeated advertisements of one measurement (same packet id, counter or sequence number as
//!   the device's previous accepted one) are dropped and counted; advertisements without any
//!   packet id are all kept. The table of last packet ids is bounded ([`MAX_TRACKED_DEVICES`]).
//! - The RSSI of every accepted advertisement is kept as the reading `rssi` (dBm).
//! - Keys and allow/deny lists come only from [`BleSettings`]; a bindkey is never logged.

pub mod advert;
pub mod replay;
pub mod scanner;
pub mod sink;

use crate::model::{validate_name, Reading};
use acs_proto::ble::{self as decoders, Advertisement, BleError, Context, Format};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

pub use advert::{Advert, Payload};

/// Bound of the per-device packet-id table; when full it is cleared (at worst one repeated
/// advertisement per device is then stored twice).
pub const MAX_TRACKED_DEVICES: usize = 4096;

/// A Bluetooth device address in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BleAddress(pub [u8; 6]);

impl BleAddress {
    /// The device id this address gets by default: `ble-a4c1388d18b2`.
    pub fn device_id(&self) -> String {
        let mut id = String::from("ble-");
        for b in self.0 {
            id.push_str(&format!("{b:02x}"));
        }
        id
    }
}

/// `A4:C1:38:8D:18:B2`
impl fmt::Display for BleAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02X}:{b:02X}:{c:02X}:{d:02X}:{e:02X}:{g:02X}")
    }
}

/// Accepts `A4:C1:38:8D:18:B2`, `a4-c1-38-8d-18-b2` and `a4c1388d18b2`.
impl FromStr for BleAddress {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let digits: String = text.chars().filter(|c| !matches!(c, ':' | '-')).collect();
        let bytes =
            crate::hex::decode(&digits).map_err(|e| format!("MAC address {text:?}: {e}"))?;
        let mac: [u8; 6] = bytes
            .try_into()
            .map_err(|_| format!("MAC address {text:?}: needs 6 bytes (12 hex digits)"))?;
        Ok(BleAddress(mac))
    }
}

/// A 16-bit identifier (service UUID16, company id) in hex: `fcd2`, `0xFCD2`, `0x0499`.
pub fn parse_id16(text: &str) -> Result<u16, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 {
        return Err(format!(
            "{text:?} is not a 16-bit hex id (e.g. fcd2 or 0x0499)"
        ));
    }
    u16::from_str_radix(digits, 16)
        .map_err(|_| format!("{text:?} is not a 16-bit hex id (e.g. fcd2 or 0x0499)"))
}

/// A 16-byte AES key in hex (32 digits).
pub fn parse_bindkey(text: &str) -> Result<[u8; 16], String> {
    crate::hex::decode(text)
        .map_err(|e| format!("bindkey: {e}"))?
        .try_into()
        .map_err(|_| "bindkey: needs 16 bytes (32 hex digits)".to_string())
}

/// Per-device BLE settings (one `config ble_device` section).
#[derive(Clone, PartialEq, Eq)]
pub struct BleDeviceSettings {
    pub mac: BleAddress,
    /// BTHome v2 bindkey; encrypted advertisements of this device are refused without it.
    pub bindkey: Option<[u8; 16]>,
    /// Device id to use instead of `ble-<mac>` (must pass `validate_name`).
    pub id: Option<String>,
}

/// Keeps bindkeys out of logs and debug output.
impl fmt::Debug for BleDeviceSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BleDeviceSettings")
            .field("mac", &self.mac)
            .field("bindkey", &self.bindkey.map(|_| "<set>"))
            .field("id", &self.id)
            .finish()
    }
}

/// Everything BLE ingest takes from the configuration (`config ble` + `config ble_device`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BleSettings {
    /// Company id whose manufacturer data carries acs-proto frames; `None`: frames not read.
    pub frame_company_id: Option<u16>,
    /// Known devices: bindkeys, ids, and the allow list when `only_listed` is set.
    pub devices: Vec<BleDeviceSettings>,
    /// Accept only the devices in `devices` (allow list).
    pub only_listed: bool,
    /// Addresses always ignored (deny list).
    pub deny: Vec<BleAddress>,
}

impl BleSettings {
    fn device(&self, mac: &BleAddress) -> Option<&BleDeviceSettings> {
        self.devices.iter().find(|d| d.mac == *mac)
    }
}

/// What became of one advertisement.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Readings to store (the `rssi` reading included). `partial` names why decoding
    /// stopped early, when it did.
    Readings {
        readings: Vec<Reading>,
        partial: Option<String>,
    },
    /// A repeat of the device's previous measurement.
    Duplicate,
    /// Denied, not allowed, or carrying no payload of a known format.
    Ignored(IgnoreReason),
    /// A payload of a known format that could not be decoded (bad MIC, truncated...).
    Malformed(String),
}

/// Why an advertisement gave nothing, without being wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    /// Its address is on the deny list.
    Denied,
    /// An allow list is set and its address is not on it.
    NotAllowed,
    /// No payload of a supported format (another kind of BLE device).
    UnknownFormat,
    /// A supported format that carried no measurement.
    NoReadings,
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IgnoreReason::Denied => "denied",
            IgnoreReason::NotAllowed => "not in the allow list",
            IgnoreReason::UnknownFormat => "no payload of a known format",
            IgnoreReason::NoReadings => "no readings",
        })
    }
}

/// Decodes advertisements of all devices and drops repeats; one per BLE source.
#[derive(Debug)]
pub struct BleDecoder {
    settings: BleSettings,
    last_packet: HashMap<BleAddress, (Format, u32)>,
}

impl BleDecoder {
    pub fn new(settings: BleSettings) -> BleDecoder {
        BleDecoder {
            settings,
            last_packet: HashMap::new(),
        }
    }

    /// Decodes `advert`; readings take the advert's time, or `now_ms` when it has none.
    pub fn handle(&mut self, advert: &Advert, now_ms: i64) -> Outcome {
        let settings = &self.settings;
        if settings.deny.contains(&advert.mac) {
            return Outcome::Ignored(IgnoreReason::Denied);
        }
        let device = settings.device(&advert.mac);
        if settings.only_listed && device.is_none() {
            return Outcome::Ignored(IgnoreReason::NotAllowed);
        }
        let context = Context {
            mac: Some(advert.mac.0),
            bindkey: device.and_then(|d| d.bindkey.as_ref()),
            frame_company_id: settings.frame_company_id,
        };
        let id = match device.and_then(|d| d.id.clone()) {
            Some(id) => id,
            None => advert.mac.device_id(),
        };
        let mut first_error = None;
        for payload in &advert.payloads {
            match payload.decode(&context) {
                Ok(adv) => return self.accept(advert, &adv, id, now_ms),
                Err(BleError::UnknownServiceData(_) | BleError::UnknownManufacturer(_)) => {}
                Err(e) => {
                    first_error.get_or_insert_with(|| format!("{}: {e}", payload.describe()));
                }
            }
        }
        match first_error {
            Some(e) => Outcome::Malformed(e),
            None => Outcome::Ignored(IgnoreReason::UnknownFormat),
        }
    }

    fn accept(
        &mut self,
        advert: &Advert,
        adv: &Advertisement<'_>,
        id: String,
        now: i64,
    ) -> Outcome {
        if let Some(packet) = adv.packet_id {
            if self.last_packet.len() >= MAX_TRACKED_DEVICES
                && !self.last_packet.contains_key(&advert.mac)
            {
                self.last_packet.clear();
            }
            let previous = self.last_packet.insert(advert.mac, (adv.format, packet));
            if previous == Some((adv.format, packet)) {
                return Outcome::Duplicate;
            }
        }
        match readings_of(&id, adv, advert.ts_ms.unwrap_or(now), advert.rssi) {
            Ok(readings) if readings.is_empty() => match adv.stopped {
                Some(e) => Outcome::Malformed(e.to_string()),
                None => Outcome::Ignored(IgnoreReason::NoReadings),
            },
            Ok(readings) => Outcome::Readings {
                readings,
                partial: adv.stopped.map(|e| e.to_string()),
            },
            Err(e) => Outcome::Malformed(e),
        }
    }
}

/// The gateway readings of one decoded advertisement of device `id`, received at `ts_ms`.
pub fn readings_of(
    id: &str,
    adv: &Advertisement<'_>,
    ts_ms: i64,
    rssi: Option<i16>,
) -> Result<Vec<Reading>, String> {
    validate_name(id).map_err(|e| format!("device id {id:?} {e}"))?;
    let receive_ms = u64::try_from(ts_ms).unwrap_or(0);
    let mut out = Vec::with_capacity(adv.readings.len() + 1);
    for reading in &adv.readings {
        let metric = reading.metric.to_string();
        validate_name(&metric).map_err(|e| format!("metric name {metric:?} {e}"))?;
        let ts = reading.timestamp_ms(adv.base_ts_ms, receive_ms);
        out.push(Reading {
            device: id.to_owned(),
            metric,
            ts_ms: i64::try_from(ts).map_err(|_| format!("timestamp {ts} out of range"))?,
            value: reading.value.as_f64(),
        });
    }
    if let (Some(rssi), false) = (rssi, out.is_empty() && adv.stopped.is_some()) {
        out.push(Reading {
            device: id.to_owned(),
            metric: "rssi".into(),
            ts_ms,
            value: f64::from(rssi),
        });
    }
    Ok(out)
}

impl Payload {
    /// Runs the matching acs-proto decoder.
    pub fn decode<'a>(&'a self, context: &Context<'_>) -> Result<Advertisement<'a>, BleError> {
        match self {
            Payload::ServiceData { uuid, data } => {
                decoders::decode_service_data(*uuid, data, context)
            }
            Payload::ManufacturerData { company, data } => {
                decoders::decode_manufacturer_data(*company, data, context)
            }
        }
    }

    /// `service data 0xfcd2` / `manufacturer data 0x0499`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Payload::ServiceData { uuid, .. } => format!("service data 0x{uuid:04x}"),
            Payload::ManufacturerData { company, .. } => {
                format!("manufacturer data 0x{company:04x}")
            }
        }
    }
}

#[cfg(test)]
mod tests;
