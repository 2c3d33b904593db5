//! Ruuvi data format 5 ("RAWv2"): manufacturer data of company `0x0499`, 24 bytes, big-endian
//! (ruuvi/ruuvi-sensor-protocols, `dataformat_05.md`).
//!
//! ```text
//! 0      format (5)                      1..3   temperature i16, 0.005 °C   (0x8000 = n/a)
//! 3..5   humidity u16, 0.0025 %  (0xFFFF) 5..7   pressure u16, Pa - 50000   (0xFFFF = n/a)
//! 7..13  acceleration x, y, z i16, mG    (0x8000 = n/a each)
//! 13..15 power: 11 bits battery mV - 1600 (2047 = n/a), 5 bits tx power (-40 + 2n) dBm (31 = n/a)
//! 15     movement counter u8 (0xFF = n/a) 16..18 measurement sequence u16 (0xFFFF = n/a)
//! 18..24 MAC (display order; all 0xFF = n/a)
//! ```
//!
//! Invariant: a "not available" field yields no reading (and no packet id / MAC), never the
//! sentinel as a number.

use super::{scaled, Advertisement, BleError, Format};
use crate::reading::Value;

const DATA_FORMAT: u8 = 5;
const LEN: usize = 24;

pub(super) fn decode(data: &[u8]) -> Result<Advertisement<'_>, BleError> {
    let Some(&format) = data.first() else {
        return Err(BleError::Truncated {
            format: Format::RuuviV5,
            needed: 1,
            got: 0,
        });
    };
    if format != DATA_FORMAT {
        return Err(BleError::UnsupportedVersion {
            format: Format::RuuviV5,
            version: format,
        });
    }
    let Ok(b) = <&[u8; LEN]>::try_from(data) else {
        return Err(BleError::UnexpectedLength {
            format: Some(Format::RuuviV5),
            len: data.len(),
        });
    };
    let i16_at = |i: usize| i16::from_be_bytes([b[i], b[i + 1]]);
    let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);

    let mut adv = Advertisement::new(Format::RuuviV5);
    let r = &mut adv.readings;
    let temperature = i16_at(1);
    if temperature != i16::MIN {
        r.push_value("temperature", scaled(temperature.into(), 1, 200))?;
    }
    let humidity = u16_at(3);
    if humidity != u16::MAX {
        r.push_value("humidity", scaled(humidity.into(), 1, 400))?;
    }
    let pressure = u16_at(5);
    if pressure != u16::MAX {
        r.push_value("pressure", scaled(i64::from(pressure) + 50_000, 1, 100))?;
    }
    for (name, at) in [("acc_x_mg", 7), ("acc_y_mg", 9), ("acc_z_mg", 11)] {
        let acceleration = i16_at(at);
        if acceleration != i16::MIN {
            r.push_value(name, Value::I64(acceleration.into()))?;
        }
    }
    let power = u16_at(13);
    let battery = power >> 5;
    if battery != 0x7ff {
        r.push_value("battery_mv", Value::I64(i64::from(battery) + 1600))?;
    }
    let tx_power = power & 0x1f;
    if tx_power != 0x1f {
        r.push_value("tx_power_dbm", Value::I64(i64::from(tx_power) * 2 - 40))?;
    }
    if b[15] != u8::MAX {
        r.push_value("movement_counter", Value::I64(b[15].into()))?;
    }
    let sequence = u16_at(16);
    if sequence != u16::MAX {
        adv.packet_id = Some(sequence.into());
    }
    let mac = [b[18], b[19], b[20], b[21], b[22], b[23]];
    if mac != [0xff; 6] {
        adv.mac = Some(mac);
    }
    Ok(adv)
}
