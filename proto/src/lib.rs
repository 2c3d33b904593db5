//! acs-proto: the wire format shared by the acs-edge gateway and sensor firmware.
//!
//! `no_std`, no allocator, no `unsafe`: the caller brings the buffers, the clock and the I/O.
//! A node builds a frame with [`FrameRepr::emit`]; a gateway checks one with
//! [`Frame::new_checked`], verifies it ([`Frame::check_crc`], or a MIC over
//! [`Frame::mic_input`]) and iterates its readings without copying.
//!
//! The [`ble`] module decodes the Bluetooth LE advertisements of common sensors (BTHome v2,
//! pvvx, ATC1441, Ruuvi) and acs-proto frames carried in manufacturer data into the same
//! [`Reading`]s.
//! AUTHENTICATED frames carry an AES-128-CMAC MIC ([`FrameRepr::emit_signed`],
//! [`parse_authenticated`]). The [`lorawan`] module handles LoRaWAN 1.0.x ABP uplinks (MIC,
//! counter extension, FRMPayload decryption) and [`lpp`] decodes Cayenne LPP payloads.
//! The [`chunk`] module compresses the points of one series into sealed chunks of a few bytes
//! a point, for the gateway's store and for nodes that send batches.
//!
//! # Frame, version 1
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0      | 1    | version, `1`; anything else is [`Error::UnsupportedVersion`] |
//! | 1      | 1    | flags: bit 0 = AUTHENTICATED; bits 1..7 reserved, `0` on emit, [`Error::UnknownFlags`] on parse |
//! | 2      | 8    | device id, `u64` big-endian (an EUI-64, shown as 16 lowercase hex digits) |
//! | 10     | 4    | frame counter, `u32` big-endian, monotonic per device |
//! | 14     | 2    | body length N, `u16` big-endian, at most [`MAX_BODY_LEN`] |
//! | 16     | N    | body, postcard (see below) |
//! | 16+N   | 4    | trailer: CRC-32/ISO-HDLC of bytes `0..16+N`, big-endian; or, when AUTHENTICATED, a 4-byte MIC over the same bytes computed with a per-device key: the first 4 bytes of AES-128-CMAC (see [`frame_mic`]) |
//!
//! A buffer holds exactly one frame: shorter is [`Error::Truncated`], longer is
//! [`Error::TrailingBytes`].
//!
//! # Body
//!
//! All integers are postcard varints (LEB128, 7 bits a byte, least significant group
//! first; `i64` zigzag-encoded first); floats are IEEE-754 little-endian.
//!
//! | item | encoding |
//! |------|----------|
//! | `base_ts_ms` | `u64` varint, epoch milliseconds; `0` = the node has no clock, the receiver uses its receive time |
//! | then readings, back to back until the body ends: | |
//! | `metric` | tag `0` + `u16` varint ([`MetricCode`]), or tag `1` + length varint + UTF-8 name (1..=64 bytes of `[A-Za-z0-9_.:-]`) |
//! | `ts_offset_ms` | `u32` varint, added to `base_ts_ms` |
//! | `value` | tag `0` + `f32` (4 bytes), tag `1` + `f64` (8 bytes), or tag `2` + `i64` zigzag varint; NaN and infinities are refused |
//!
//! # Example
//!
//! ```
//! use acs_proto::{parse_unauthenticated, FrameRepr, Metric, MetricCode, Reading, Value};
//!
//! let readings = [Reading {
//!     metric: Metric::Code(MetricCode::TEMPERATURE),
//!     ts_offset_ms: 0,
//!     value: Value::F32(21.5),
//! }];
//! let mut buf = [0u8; acs_proto::MAX_FRAME_LEN];
//! let len = FrameRepr::new(0x0011_2233_4455_6677, 42).emit(1_767_225_600_123, &readings, &mut buf)?;
//!
//! let (header, mut iter) = parse_unauthenticated(&buf[..len])?;
//! assert_eq!(header.counter, 42);
//! assert_eq!(iter.base_ts_ms(), 1_767_225_600_123);
//! assert_eq!(iter.next(), Some(Ok(readings[0])));
//! assert_eq!(iter.next(), None);
//! # Ok::<(), acs_proto::Error>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod auth;
pub mod ble;
pub mod chunk;
mod error;
mod frame;
pub mod lorawan;
pub mod lpp;
mod metric;
mod reading;

pub use auth::{frame_mic, parse_authenticated, peek_device_id, FrameKey};

pub use error::{BadName, Error};
pub use frame::{
    Flags, Frame, FrameRepr, HEADER_LEN, MAX_BODY_LEN, MAX_FRAME_LEN, MIN_FRAME_LEN, TRAILER_LEN,
    VERSION,
};
pub use metric::{validate_metric_name, Metric, MetricCode, MAX_METRIC_NAME_LEN};
pub use reading::{body_len, Reading, ReadingIter, Value};

/// Checks a frame protected by a CRC and returns its header and readings.
///
/// Runs [`Frame::new_checked`] and [`Frame::check_crc`] and decodes the base timestamp. An
/// AUTHENTICATED frame is [`Error::NeedsKey`]: check it with the device key instead.
pub fn parse_unauthenticated(bytes: &[u8]) -> Result<(FrameRepr, ReadingIter<'_>), Error> {
    let frame = Frame::new_checked(bytes)?;
    if frame.is_authenticated() {
        return Err(Error::NeedsKey);
    }
    frame.check_crc()?;
    let repr = FrameRepr::parse(&frame);
    Ok((repr, frame.into_readings()?))
}
