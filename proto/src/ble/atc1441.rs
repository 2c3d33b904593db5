//! ATC1441 format: service data UUID16 `0x181A`, 13 bytes, big-endian
//! (atc1441/ATC_MiThermometer README, "Advertising format of the custom firmware").
//!
//! ```text
//! 0..6   MAC (display order)    6..8   temperature i16, 0.1 °C
//! 8      humidity u8, %         9      battery u8, %
//! 10..12 battery u16, mV        12     frame counter u8 (the packet id)
//! ```

use super::{scaled, Advertisement, BleError, Format};
use crate::reading::Value;

/// Payload length of this format.
pub(super) const LEN: usize = 13;

pub(super) fn decode(data: &[u8]) -> Result<Advertisement<'_>, BleError> {
    let Ok(bytes) = <&[u8; LEN]>::try_from(data) else {
        return Err(BleError::UnexpectedLength {
            format: Some(Format::Atc1441),
            len: data.len(),
        });
    };
    let mut adv = Advertisement::new(Format::Atc1441);
    adv.mac = Some([bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]]);
    let r = &mut adv.readings;
    let temperature = i16::from_be_bytes([bytes[6], bytes[7]]);
    r.push_value("temperature", scaled(temperature.into(), 1, 10))?;
    r.push_value("humidity", Value::I64(bytes[8].into()))?;
    r.push_value("battery", Value::I64(bytes[9].into()))?;
    let battery_mv = u16::from_be_bytes([bytes[10], bytes[11]]);
    r.push_value("battery_mv", Value::I64(battery_mv.into()))?;
    adv.packet_id = Some(bytes[12].into());
    Ok(adv)
}
