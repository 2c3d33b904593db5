//! BTHome v2 service data (UUID16 `0xFCD2`), plain or encrypted.
//!
//! Layout (<https://bthome.io/format>, <https://bthome.io/encryption>):
//!
//! ```text
//! device info  1 byte: bit 0 encrypted, bit 1 MAC included, bit 2 trigger based,
//!                      bits 5-7 version (2)
//! [MAC]        6 bytes, reversed, when bit 1 is set
//! objects      id (1 byte) + value (little-endian, length fixed by the id; text and raw
//!              objects carry a length byte first), back to back
//! -- when encrypted, the objects are AES-128-CCM ciphertext followed by:
//! counter      4 bytes (u32 little-endian)
//! MIC          4 bytes
//! nonce        MAC (6, display order) + 0xD2 0xFC + device info + counter (as sent)
//! ```
//!
//! Invariants: the object table below is the only place lengths and scales live; an id not in
//! it stops decoding ([`BleError::UnknownObject`]) because its length, and so where the next
//! object starts, is unknown. Readings before it are kept.

use aes::Aes128;
use ccm::aead::generic_array::GenericArray;
use ccm::aead::{AeadInPlace, KeyInit};
use ccm::consts::{U13, U4};
use ccm::Ccm;

use super::{scaled, Advertisement, BleError, Context, Format, Readings, MAX_PAYLOAD_LEN};
use crate::reading::Value;

const ENCRYPTED: u8 = 0x01;
const MAC_INCLUDED: u8 = 0x02;
const VERSION_2: u8 = 2;
/// The service UUID as it appears in the nonce (little-endian 0xFCD2).
const UUID_LE: [u8; 2] = [0xd2, 0xfc];
const COUNTER_LEN: usize = 4;
const MIC_LEN: usize = 4;

type BtHomeCcm = Ccm<Aes128, U4, U13>;

/// How an object's value bytes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// Unsigned little-endian integer, times the scale: a reading.
    Unsigned,
    /// Signed (two's complement) little-endian integer, times the scale: a reading.
    Signed,
    /// The packet id (0x00): used to drop repeated advertisements, not a reading.
    PacketId,
    /// Button event (0x3A): the event code (1 press, 2 double press, ...), 0 means none.
    Button,
    /// Dimmer event (0x3C): event type (1 left, 2 right) and steps, read as +/- steps.
    Dimmer,
    /// Device clock (0x50), epoch seconds: not a reading.
    Timestamp,
    /// Device information (0xF0..0xF2: type id, firmware version): not a reading.
    DeviceInfo,
    /// Text or raw bytes with a length byte first (0x53, 0x54): skipped.
    LengthPrefixed,
}

/// One row of the object table: what an id means and how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtHomeObject {
    /// The object id.
    pub id: u8,
    /// The gateway's metric name for it (see the module doc of `ble` for the naming rule).
    pub name: &'static str,
    /// Value bytes after the id (0 for [`ObjectKind::LengthPrefixed`]).
    pub len: u8,
    /// How the bytes are read.
    pub kind: ObjectKind,
    /// Scale numerator: the value is `raw * num / den`, in the metric's gateway unit.
    pub num: i32,
    /// Scale denominator.
    pub den: u32,
}

const fn obj(
    id: u8,
    name: &'static str,
    len: u8,
    kind: ObjectKind,
    num: i32,
    den: u32,
) -> BtHomeObject {
    BtHomeObject {
        id,
        name,
        len,
        kind,
        num,
        den,
    }
}

use ObjectKind::{
    Button, DeviceInfo, Dimmer, LengthPrefixed, PacketId, Signed, Timestamp, Unsigned,
};

/// Every object id of the BTHome v2 format page (<https://bthome.io/format>: sensor data,
/// binary sensor data, events, device information), in id order. Cross-checked with the
/// reference parser bthome-ble (`src/bthome_ble/const.py`, `MEAS_TYPES`).
///
/// Unit conversions to the gateway's metric units: energy 0.001 kWh = 1 Wh, distance 0.1 m =
/// 100 mm, volume 1 mL = 0.001 L. Binary sensors read 0 or 1.
#[rustfmt::skip]
pub const BTHOME_OBJECTS: &[BtHomeObject] = &[
    obj(0x00, "packet_id",        1, PacketId, 1, 1),
    obj(0x01, "battery",          1, Unsigned, 1, 1),         // %
    obj(0x02, "temperature",      2, Signed,   1, 100),       // °C
    obj(0x03, "humidity",         2, Unsigned, 1, 100),       // %
    obj(0x04, "pressure",         3, Unsigned, 1, 100),       // hPa
    obj(0x05, "illuminance",      3, Unsigned, 1, 100),       // lx
    obj(0x06, "weight",           2, Unsigned, 1, 100),       // kg
    obj(0x07, "weight_lb",        2, Unsigned, 1, 100),       // lb
    obj(0x08, "dew_point",        2, Signed,   1, 100),       // °C
    obj(0x09, "count",            1, Unsigned, 1, 1),
    obj(0x0a, "energy",           3, Unsigned, 1, 1),         // Wh (0.001 kWh)
    obj(0x0b, "power",            3, Unsigned, 1, 100),       // W
    obj(0x0c, "voltage",          2, Unsigned, 1, 1000),      // V
    obj(0x0d, "pm25",             2, Unsigned, 1, 1),         // µg/m³
    obj(0x0e, "pm10",             2, Unsigned, 1, 1),         // µg/m³
    obj(0x0f, "generic_boolean",  1, Unsigned, 1, 1),
    obj(0x10, "power_on",         1, Unsigned, 1, 1),
    obj(0x11, "opening",          1, Unsigned, 1, 1),         // 1 = open
    obj(0x12, "co2",              2, Unsigned, 1, 1),         // ppm
    obj(0x13, "tvoc_ugm3",        2, Unsigned, 1, 1),         // µg/m³
    obj(0x14, "moisture",         2, Unsigned, 1, 100),       // %
    obj(0x15, "battery_low",      1, Unsigned, 1, 1),
    obj(0x16, "battery_charging", 1, Unsigned, 1, 1),
    obj(0x17, "carbon_monoxide",  1, Unsigned, 1, 1),
    obj(0x18, "cold",             1, Unsigned, 1, 1),
    obj(0x19, "connectivity",     1, Unsigned, 1, 1),
    obj(0x1a, "door",             1, Unsigned, 1, 1),
    obj(0x1b, "garage_door",      1, Unsigned, 1, 1),
    obj(0x1c, "gas_detected",     1, Unsigned, 1, 1),
    obj(0x1d, "heat",             1, Unsigned, 1, 1),
    obj(0x1e, "light",            1, Unsigned, 1, 1),
    obj(0x1f, "lock",             1, Unsigned, 1, 1),
    obj(0x20, "wet",              1, Unsigned, 1, 1),         // binary "moisture"
    obj(0x21, "motion",           1, Unsigned, 1, 1),
    obj(0x22, "moving",           1, Unsigned, 1, 1),
    obj(0x23, "occupancy",        1, Unsigned, 1, 1),
    obj(0x24, "plug",             1, Unsigned, 1, 1),
    obj(0x25, "presence",         1, Unsigned, 1, 1),
    obj(0x26, "problem",          1, Unsigned, 1, 1),
    obj(0x27, "running",          1, Unsigned, 1, 1),
    obj(0x28, "safety",           1, Unsigned, 1, 1),
    obj(0x29, "smoke",            1, Unsigned, 1, 1),
    obj(0x2a, "sound",            1, Unsigned, 1, 1),
    obj(0x2b, "tamper",           1, Unsigned, 1, 1),
    obj(0x2c, "vibration",        1, Unsigned, 1, 1),
    obj(0x2d, "window",           1, Unsigned, 1, 1),
    obj(0x2e, "humidity",         1, Unsigned, 1, 1),         // %
    obj(0x2f, "moisture",         1, Unsigned, 1, 1),         // %
    obj(0x3a, "button",           1, Button,   1, 1),
    obj(0x3c, "dimmer",           2, Dimmer,   1, 1),
    obj(0x3d, "count",            2, Unsigned, 1, 1),
    obj(0x3e, "count",            4, Unsigned, 1, 1),
    obj(0x3f, "rotation",         2, Signed,   1, 10),        // °
    obj(0x40, "distance",         2, Unsigned, 1, 1),         // mm
    obj(0x41, "distance",         2, Unsigned, 100, 1),       // mm (0.1 m)
    obj(0x42, "duration",         3, Unsigned, 1, 1000),      // s
    obj(0x43, "current",          2, Unsigned, 1, 1000),      // A
    obj(0x44, "speed",            2, Unsigned, 1, 100),       // m/s
    obj(0x45, "temperature",      2, Signed,   1, 10),        // °C
    obj(0x46, "uv_index",         1, Unsigned, 1, 10),
    obj(0x47, "volume",           2, Unsigned, 1, 10),        // L
    obj(0x48, "volume",           2, Unsigned, 1, 1000),      // L (1 mL)
    obj(0x49, "volume_flow_rate", 2, Unsigned, 1, 1000),      // m³/h
    obj(0x4a, "voltage",          2, Unsigned, 1, 10),        // V
    obj(0x4b, "gas",              3, Unsigned, 1, 1000),      // m³
    obj(0x4c, "gas",              4, Unsigned, 1, 1000),      // m³
    obj(0x4d, "energy",           4, Unsigned, 1, 1),         // Wh (0.001 kWh)
    obj(0x4e, "volume",           4, Unsigned, 1, 1000),      // L
    obj(0x4f, "water",            4, Unsigned, 1, 1000),      // L
    obj(0x50, "timestamp",        4, Timestamp, 1, 1),        // epoch s
    obj(0x51, "acceleration",     2, Unsigned, 1, 1000),      // m/s²
    obj(0x52, "gyroscope",        2, Unsigned, 1, 1000),      // °/s
    obj(0x53, "text",             0, LengthPrefixed, 1, 1),
    obj(0x54, "raw",              0, LengthPrefixed, 1, 1),
    obj(0x55, "volume_storage",   4, Unsigned, 1, 1000),      // L
    obj(0x56, "conductivity",     2, Unsigned, 1, 1),         // µS/cm
    obj(0x57, "temperature",      1, Signed,   1, 1),         // °C
    obj(0x58, "temperature",      1, Signed,   35, 100),      // °C (0.35)
    obj(0x59, "count",            1, Signed,   1, 1),
    obj(0x5a, "count",            2, Signed,   1, 1),
    obj(0x5b, "count",            4, Signed,   1, 1),
    obj(0x5c, "power",            4, Signed,   1, 100),       // W
    obj(0x5d, "current",          2, Signed,   1, 1000),      // A
    obj(0x5e, "direction",        2, Unsigned, 1, 100),       // °
    obj(0x5f, "rain",             2, Unsigned, 1, 10),        // mm (precipitation)
    obj(0x60, "channel",          1, Unsigned, 1, 1),
    obj(0x61, "rotational_speed", 2, Unsigned, 1, 1),         // rpm
    obj(0x62, "speed",            4, Signed,   1, 1_000_000), // m/s
    obj(0x63, "acceleration",     4, Signed,   1, 1_000_000), // m/s²
    obj(0x64, "light_level",      1, Unsigned, 1, 1),
    obj(0xf0, "device_type_id",   2, DeviceInfo, 1, 1),
    obj(0xf1, "firmware_version", 4, DeviceInfo, 1, 1),
    obj(0xf2, "firmware_version", 3, DeviceInfo, 1, 1),
];

/// The table row of `id`.
pub fn object(id: u8) -> Option<&'static BtHomeObject> {
    BTHOME_OBJECTS
        .binary_search_by_key(&id, |o| o.id)
        .ok()
        .and_then(|i| BTHOME_OBJECTS.get(i))
}

fn truncated(needed: usize, got: usize) -> BleError {
    BleError::Truncated {
        format: Format::BtHomeV2,
        needed,
        got,
    }
}

pub(super) fn decode<'a>(
    data: &'a [u8],
    context: &Context<'_>,
) -> Result<Advertisement<'a>, BleError> {
    let (&info, mut rest) = data.split_first().ok_or(truncated(1, 0))?;
    let version = info >> 5;
    if version != VERSION_2 {
        return Err(BleError::UnsupportedVersion {
            format: Format::BtHomeV2,
            version,
        });
    }
    let mut adv = Advertisement::new(Format::BtHomeV2);
    if info & MAC_INCLUDED != 0 {
        let (reversed, tail) = rest
            .split_first_chunk::<6>()
            .ok_or(truncated(7, data.len()))?;
        let mut mac = *reversed;
        mac.reverse();
        adv.mac = Some(mac);
        rest = tail;
    }
    if info & ENCRYPTED == 0 {
        parse_objects(rest, &mut adv)?;
        return Ok(adv);
    }

    let key = context.bindkey.ok_or(BleError::NeedsBindkey)?;
    let mac = adv.mac.or(context.mac).ok_or(BleError::NeedsMac)?;
    let (sealed, mic) = rest.split_last_chunk::<MIC_LEN>().ok_or(truncated(
        data.len() - rest.len() + COUNTER_LEN + MIC_LEN,
        data.len(),
    ))?;
    let (ciphertext, counter) = sealed.split_last_chunk::<COUNTER_LEN>().ok_or(truncated(
        data.len() - rest.len() + COUNTER_LEN + MIC_LEN,
        data.len(),
    ))?;
    let mut nonce = [0u8; 13];
    nonce[..6].copy_from_slice(&mac);
    nonce[6..8].copy_from_slice(&UUID_LE);
    nonce[8] = info;
    nonce[9..].copy_from_slice(counter);

    let mut buf = [0u8; MAX_PAYLOAD_LEN];
    let plain = buf.get_mut(..ciphertext.len()).ok_or(BleError::TooLong {
        len: data.len(),
        max: MAX_PAYLOAD_LEN,
    })?;
    plain.copy_from_slice(ciphertext);
    BtHomeCcm::new(GenericArray::from_slice(key))
        .decrypt_in_place_detached(
            GenericArray::from_slice(&nonce),
            &[],
            plain,
            GenericArray::from_slice(mic),
        )
        .map_err(|_| BleError::BadMic)?;
    adv.encrypted = true;
    adv.packet_id = Some(u32::from_le_bytes(*counter));
    parse_objects(plain, &mut adv)?;
    Ok(adv)
}

/// Reads objects until the end; an unknown id or a truncated object ends decoding early
/// (recorded in `adv.stopped`), more readings than fit is an error.
fn parse_objects(payload: &[u8], adv: &mut Advertisement<'_>) -> Result<(), BleError> {
    let mut at = 0;
    while let Some(&id) = payload.get(at) {
        let Some(object) = object(id) else {
            adv.stopped = Some(BleError::UnknownObject { id, offset: at });
            return Ok(());
        };
        let (start, len) = if object.kind == LengthPrefixed {
            match payload.get(at + 1) {
                Some(&len) => (at + 2, usize::from(len)),
                None => (at + 2, 0),
            }
        } else {
            (at + 1, usize::from(object.len))
        };
        let Some(value) = payload.get(start..start + len) else {
            adv.stopped = Some(truncated(start + len, payload.len()));
            return Ok(());
        };
        read_object(object, value, adv)?;
        at = start + len;
    }
    Ok(())
}

fn read_object(
    object: &BtHomeObject,
    value: &[u8],
    adv: &mut Advertisement<'_>,
) -> Result<(), BleError> {
    let readings: &mut Readings<'_> = &mut adv.readings;
    match object.kind {
        Unsigned => readings.push_value(
            object.name,
            scaled(uint_le(value) as i64, object.num.into(), object.den.into()),
        ),
        Signed => readings.push_value(
            object.name,
            scaled(sint_le(value), object.num.into(), object.den.into()),
        ),
        PacketId => {
            if adv.packet_id.is_none() {
                adv.packet_id = Some(uint_le(value) as u32);
            }
            Ok(())
        }
        Button => match uint_le(value) {
            0 => Ok(()),
            event => readings.push_value(object.name, Value::I64(event as i64)),
        },
        Dimmer => {
            let steps = i64::from(value.get(1).copied().unwrap_or(0));
            match value.first() {
                Some(1) => readings.push_value(object.name, Value::I64(-steps)),
                Some(2) => readings.push_value(object.name, Value::I64(steps)),
                _ => Ok(()),
            }
        }
        Timestamp | DeviceInfo | LengthPrefixed => Ok(()),
    }
}

/// Little-endian unsigned integer of up to 8 bytes (the table has at most 4).
fn uint_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// Little-endian two's complement integer of 1..=8 bytes.
fn sint_le(bytes: &[u8]) -> i64 {
    let n = bytes.len().clamp(1, 8);
    let shift = 64 - 8 * n as u32;
    ((uint_le(bytes) << shift) as i64) >> shift
}
