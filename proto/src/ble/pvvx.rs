//! pvvx custom format: service data UUID16 `0x181A`, 15 bytes, little-endian
//! (pvvx/ATC_MiThermometer README, "Custom format").
//!
//! ```text
//! 0..6   MAC, reversed          6..8   temperature i16, 0.01 °C
//! 8..10  humidity u16, 0.01 %   10..12 battery u16, mV
//! 12     battery u8, %          13     measurement counter u8 (the packet id)
//! 14     flags u8 (GPIO and trigger state; not a reading)
//! ```

use super::{scaled, Advertisement, BleError, Format};
use crate::reading::Value;

/// Payload length of this format.
pub(super) const LEN: usize = 15;

pub(super) fn decode(data: &[u8]) -> Result<Advertisement<'_>, BleError> {
    let Ok(bytes) = <&[u8; LEN]>::try_from(data) else {
        return Err(BleError::UnexpectedLength {
            format: Some(Format::PvvxCustom),
            len: data.len(),
        });
    };
    let mut adv = Advertisement::new(Format::PvvxCustom);
    let mut mac = [bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]];
    mac.reverse();
    adv.mac = Some(mac);
    let r = &mut adv.readings;
    let temperature = i16::from_le_bytes([bytes[6], bytes[7]]);
    r.push_value("temperature", scaled(temperature.into(), 1, 100))?;
    let humidity = u16::from_le_bytes([bytes[8], bytes[9]]);
    r.push_value("humidity", scaled(humidity.into(), 1, 100))?;
    let battery_mv = u16::from_le_bytes([bytes[10], bytes[11]]);
    r.push_value("battery_mv", Value::I64(battery_mv.into()))?;
    r.push_value("battery", Value::I64(bytes[12].into()))?;
    adv.packet_id = Some(bytes[13].into());
    Ok(adv)
}
