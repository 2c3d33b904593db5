//! Cayenne Low Power Payload (LPP): the payload format of many off-the-shelf LoRaWAN sensors.
//! Each item is `channel(1) | type(1) | data(n)`, with `n` and the scale fixed by the type;
//! multi-byte values are big-endian.
//!
//! Invariants: [`LppIter`] never reads past the payload and never allocates; it yields an error
//! at most once and then ends, because after an unknown type or a short item the length of
//! what follows is unknown. Items decoded before the error stay valid.

use core::fmt;
use core::iter::FusedIterator;

/// An LPP data type (the IPSO object id minus 3200). Unknown types stay representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LppType(pub u8);

/// `(type, name, data bytes, signed, scale divisor, field names)` of every supported type.
type Entry = (u8, &'static str, usize, bool, f64, &'static [&'static str]);

const ONE: &[&str] = &[""];
const XYZ: &[&str] = &["x", "y", "z"];
const GPS: &[&str] = &["latitude", "longitude", "altitude"];

/// The type table; the first twelve are the original Cayenne LPP types, the rest the common
/// extensions of the ElectronicCats CayenneLPP library.
const TABLE: &[Entry] = &[
    (0, "digital_input", 1, false, 1.0, ONE),
    (1, "digital_output", 1, false, 1.0, ONE),
    (2, "analog_input", 2, true, 100.0, ONE),
    (3, "analog_output", 2, true, 100.0, ONE),
    (101, "illuminance", 2, false, 1.0, ONE),
    (102, "presence", 1, false, 1.0, ONE),
    (103, "temperature", 2, true, 10.0, ONE),
    (104, "humidity", 1, false, 2.0, ONE),
    (113, "accelerometer", 6, true, 1000.0, XYZ),
    (115, "barometer", 2, false, 10.0, ONE),
    (134, "gyrometer", 6, true, 100.0, XYZ),
    (136, "gps", 9, true, 0.0, GPS),
    (116, "voltage", 2, false, 100.0, ONE),
    (117, "current", 2, false, 1000.0, ONE),
    (120, "percentage", 1, false, 1.0, ONE),
    (121, "altitude", 2, true, 1.0, ONE),
    (125, "concentration", 2, false, 1.0, ONE),
    (128, "power", 2, false, 1.0, ONE),
    (130, "distance", 4, false, 1000.0, ONE),
    (131, "energy", 4, false, 1000.0, ONE),
    (132, "direction", 2, false, 1.0, ONE),
    (142, "switch", 1, false, 1.0, ONE),
];

#[allow(missing_docs)]
impl LppType {
    pub const DIGITAL_INPUT: Self = Self(0);
    pub const DIGITAL_OUTPUT: Self = Self(1);
    pub const ANALOG_INPUT: Self = Self(2);
    pub const ANALOG_OUTPUT: Self = Self(3);
    pub const ILLUMINANCE: Self = Self(101);
    pub const PRESENCE: Self = Self(102);
    pub const TEMPERATURE: Self = Self(103);
    pub const HUMIDITY: Self = Self(104);
    pub const ACCELEROMETER: Self = Self(113);
    pub const BAROMETER: Self = Self(115);
    pub const GYROMETER: Self = Self(134);
    pub const GPS: Self = Self(136);
}

impl LppType {
    fn entry(self) -> Option<&'static Entry> {
        TABLE.iter().find(|e| e.0 == self.0)
    }

    /// The snake_case name (`"temperature"`), or `None` for an unknown type.
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.1)
    }

    /// Bytes of data after channel and type, or `None` for an unknown type.
    pub fn data_len(self) -> Option<usize> {
        self.entry().map(|e| e.2)
    }

    /// Names of the values of a multi-value type (`x`, `y`, `z`); `[""]` for single values.
    pub fn fields(self) -> &'static [&'static str] {
        self.entry().map_or(&[], |e| e.5)
    }
}

/// One decoded LPP item: up to three values (accelerometer, gyrometer and GPS have three).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LppItem {
    /// The sensor channel chosen by the node.
    pub channel: u8,
    /// The data type.
    pub kind: LppType,
    values: [f64; 3],
    count: usize,
}

impl LppItem {
    /// The scaled values in engineering units, in the order of [`LppType::fields`].
    pub fn values(&self) -> &[f64] {
        &self.values[..self.count]
    }
}

/// Why an LPP payload could not be decoded further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LppError {
    /// A type this decoder does not know, at `offset`: the rest of the payload is skipped.
    UnknownType {
        /// Offset of the item's channel byte.
        offset: usize,
        /// The type byte.
        kind: u8,
    },
    /// The payload ends inside an item.
    Truncated {
        /// Offset of the item's channel byte.
        offset: usize,
    },
}

impl fmt::Display for LppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LppError::UnknownType { offset, kind } => {
                write!(f, "unknown Cayenne LPP type {kind} at byte {offset}")
            }
            LppError::Truncated { offset } => {
                write!(f, "Cayenne LPP item at byte {offset} is truncated")
            }
        }
    }
}

impl core::error::Error for LppError {}

/// Iterates over the items of an LPP payload.
#[derive(Debug, Clone)]
pub struct LppIter<'a> {
    payload: &'a [u8],
    at: usize,
    failed: bool,
}

/// Decodes `payload` lazily.
pub fn decode_lpp(payload: &[u8]) -> LppIter<'_> {
    LppIter {
        payload,
        at: 0,
        failed: false,
    }
}

impl Iterator for LppIter<'_> {
    type Item = Result<LppItem, LppError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.payload.len() {
            return None;
        }
        let offset = self.at;
        let item = self.decode_at(offset);
        match item {
            Ok((item, len)) => {
                self.at = offset + len;
                Some(Ok(item))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for LppIter<'_> {}

impl LppIter<'_> {
    fn decode_at(&self, offset: usize) -> Result<(LppItem, usize), LppError> {
        let rest = &self.payload[offset..];
        let (&channel, &kind) = match rest {
            [c, t, ..] => (c, t),
            _ => return Err(LppError::Truncated { offset }),
        };
        let (_, _, len, signed, scale, fields) = *LppType(kind)
            .entry()
            .ok_or(LppError::UnknownType { offset, kind })?;
        let data = rest.get(2..2 + len).ok_or(LppError::Truncated { offset })?;
        let mut values = [0.0; 3];
        if kind == LppType::GPS.0 {
            // Latitude and longitude in 0.0001 degrees, altitude in 0.01 m, 24-bit signed each.
            let scales = [10_000.0, 10_000.0, 100.0];
            for (i, (chunk, scale)) in data.chunks(3).zip(scales).enumerate() {
                values[i] = be_int(chunk, true) as f64 / scale;
            }
        } else {
            let width = len / fields.len();
            for (value, chunk) in values.iter_mut().zip(data.chunks(width)) {
                *value = be_int(chunk, signed) as f64 / scale;
            }
        }
        let item = LppItem {
            channel,
            kind: LppType(kind),
            values,
            count: fields.len(),
        };
        Ok((item, 2 + len))
    }
}

/// A big-endian integer of 1..=4 bytes, sign-extended when `signed`.
fn be_int(bytes: &[u8], signed: bool) -> i64 {
    let raw = bytes.iter().fold(0i64, |acc, &b| (acc << 8) | i64::from(b));
    let bits = 8 * bytes.len() as u32;
    if signed && bits > 0 && raw & (1 << (bits - 1)) != 0 {
        raw - (1 << bits)
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(payload: &[u8]) -> (std::vec::Vec<LppItem>, Option<LppError>) {
        let mut items = std::vec::Vec::new();
        for item in decode_lpp(payload) {
            match item {
                Ok(i) => items.push(i),
                Err(e) => return (items, Some(e)),
            }
        }
        (items, None)
    }

    // Examples from the Cayenne LPP documentation (myDevices, "Cayenne Low Power Payload").
    #[test]
    fn documented_examples_decode() {
        // Device with 2 temperature sensors: 03 67 01 10 05 67 00 FF -> 27.2 °C, 25.5 °C.
        let (items, err) = all(&[0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xFF]);
        assert_eq!(err, None);
        assert_eq!((items[0].channel, items[0].values()), (3, &[27.2][..]));
        assert_eq!((items[1].channel, items[1].values()), (5, &[25.5][..]));
        // Temperature + accelerometer: 01 67 FF D7 06 71 04 D2 FB 2E 00 00.
        let (items, _) = all(&[
            0x01, 0x67, 0xFF, 0xD7, 0x06, 0x71, 0x04, 0xD2, 0xFB, 0x2E, 0x00, 0x00,
        ]);
        assert_eq!(items[0].values(), &[-4.1]);
        assert_eq!(items[1].kind, LppType::ACCELEROMETER);
        assert_eq!(items[1].values(), &[1.234, -1.234, 0.0]);
        // GPS: 01 88 06 76 5F F2 96 0A 00 03 E8 -> 42.3519, -87.9094, 10 m.
        let (items, _) = all(&[
            0x01, 0x88, 0x06, 0x76, 0x5F, 0xF2, 0x96, 0x0A, 0x00, 0x03, 0xE8,
        ]);
        assert_eq!(items[0].values(), &[42.3519, -87.9094, 10.0]);
    }

    #[test]
    fn every_common_type_decodes_with_its_scale() {
        let cases: &[(&[u8], &[f64])] = &[
            (&[1, 0, 1], &[1.0]),
            (&[1, 1, 0], &[0.0]),
            (&[1, 2, 0xff, 0x9c], &[-1.0]),
            (&[1, 3, 0x01, 0x2c], &[3.0]),
            (&[1, 101, 0x01, 0xf4], &[500.0]),
            (&[1, 102, 1], &[1.0]),
            (&[1, 104, 0x61], &[48.5]),
            (&[1, 115, 0x27, 0x77], &[1010.3]),
            (&[1, 134, 0, 100, 0xff, 0x9c, 0, 0], &[1.0, -1.0, 0.0]),
        ];
        for (bytes, expect) in cases {
            let (items, err) = all(bytes);
            assert_eq!(err, None, "{bytes:?}");
            assert_eq!(items[0].values(), *expect, "{bytes:?}");
        }
    }

    #[test]
    fn unknown_type_stops_after_the_items_before_it() {
        let (items, err) = all(&[1, 103, 0, 10, 2, 0xfe, 1, 2, 3]);
        assert_eq!(items.len(), 1);
        assert_eq!(
            err,
            Some(LppError::UnknownType {
                offset: 4,
                kind: 0xfe
            })
        );
    }

    #[test]
    fn truncated_items_are_reported() {
        assert_eq!(all(&[1]).1, Some(LppError::Truncated { offset: 0 }));
        assert_eq!(all(&[1, 103, 0]).1, Some(LppError::Truncated { offset: 0 }));
        assert_eq!(all(&[]).0.len(), 0);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mut errors = 0;
            for item in decode_lpp(&bytes) {
                if let Ok(item) = item {
                    proptest::prop_assert!(item.values().iter().all(|v| v.is_finite()));
                } else {
                    errors += 1;
                }
            }
            proptest::prop_assert!(errors <= 1);
        }
    }
}
