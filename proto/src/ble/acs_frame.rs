//! An acs-proto frame carried in manufacturer data (after the 2-byte company id, which the
//! gateway configures), so a BLE node and a LoRa node send the same bytes.
//!
//! Only CRC-protected frames are read here; an AUTHENTICATED frame is
//! `BleError::Frame(Error::NeedsKey)`. The frame is accepted whole or refused whole.

use super::{Advertisement, BleError, Format};
use crate::parse_unauthenticated;

pub(super) fn decode(data: &[u8]) -> Result<Advertisement<'_>, BleError> {
    let (header, readings) = parse_unauthenticated(data)?;
    let mut adv = Advertisement::new(Format::AcsFrame);
    adv.base_ts_ms = readings.base_ts_ms();
    adv.device_id = Some(header.device_id);
    adv.packet_id = Some(header.counter);
    for reading in readings {
        adv.readings.push(reading?)?;
    }
    Ok(adv)
}
