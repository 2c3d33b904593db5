//! AES-128-CMAC MICs for AUTHENTICATED frames: the trailer is the first four bytes of
//! AES-128-CMAC(device key, header | body), the bytes [`Frame::mic_input`] returns.
//!
//! Invariants: verification is constant-time (`cmac`'s `verify_truncated_left`); a frame that
//! is not AUTHENTICATED never passes [`Frame::verify_mic`], so a CRC frame cannot stand in for
//! a signed one; [`FrameRepr::emit_signed`] output always passes [`parse_authenticated`].

use aes::Aes128;
use cmac::{Cmac, Mac};

use crate::error::Error;
use crate::frame::{Frame, FrameRepr, TRAILER_LEN};
use crate::reading::{Reading, ReadingIter};

/// A per-device AES-128 key.
pub type FrameKey = [u8; 16];

fn mac(key: &FrameKey, data: &[u8]) -> Cmac<Aes128> {
    let mut mac = <Cmac<Aes128> as cmac::digest::KeyInit>::new(key.into());
    mac.update(data);
    mac
}

/// The 4-byte MIC of `mic_input` under `key`: AES-128-CMAC truncated to its first 4 bytes.
pub fn frame_mic(key: &FrameKey, mic_input: &[u8]) -> [u8; TRAILER_LEN] {
    let tag = mac(key, mic_input).finalize().into_bytes();
    [tag[0], tag[1], tag[2], tag[3]]
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Verifies the MIC of an AUTHENTICATED frame under the device key. A frame without the
    /// flag is [`Error::NotAuthenticated`]; a wrong MIC is [`Error::BadMic`].
    pub fn verify_mic(&self, key: &FrameKey) -> Result<(), Error> {
        if !self.is_authenticated() {
            return Err(Error::NotAuthenticated);
        }
        mac(key, self.mic_input())
            .verify_truncated_left(&self.trailer())
            .map_err(|_| Error::BadMic)
    }
}

impl FrameRepr {
    /// Emits an AUTHENTICATED frame whose trailer is [`frame_mic`] under `key`.
    pub fn emit_signed(
        &self,
        base_ts_ms: u64,
        readings: &[Reading<'_>],
        buf: &mut [u8],
        key: &FrameKey,
    ) -> Result<usize, Error> {
        self.emit_authenticated(base_ts_ms, readings, buf, |covered| frame_mic(key, covered))
    }
}

/// Checks an AUTHENTICATED frame with the device key and returns its header and readings.
/// The caller looks the key up by [`Frame::device_id`] first (e.g. with
/// [`peek_device_id`]), and checks the counter against replays after this succeeds.
pub fn parse_authenticated<'a>(
    bytes: &'a [u8],
    key: &FrameKey,
) -> Result<(FrameRepr, ReadingIter<'a>), Error> {
    let frame = Frame::new_checked(bytes)?;
    frame.verify_mic(key)?;
    let repr = FrameRepr::parse(&frame);
    Ok((repr, frame.into_readings()?))
}

/// The device id of a structurally valid frame, to look up its key before verifying it.
pub fn peek_device_id(bytes: &[u8]) -> Result<u64, Error> {
    Ok(Frame::new_checked(bytes)?.device_id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Metric, MetricCode, Value, MAX_FRAME_LEN};

    const KEY: FrameKey = *b"0123456789abcdef";

    fn signed(counter: u32) -> ([u8; MAX_FRAME_LEN], usize) {
        let readings = [Reading {
            metric: Metric::Code(MetricCode::TEMPERATURE),
            ts_offset_ms: 0,
            value: Value::F32(20.5),
        }];
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = FrameRepr::new(0x0102_0304_0506_0708, counter)
            .emit_signed(0, &readings, &mut buf, &KEY)
            .unwrap();
        (buf, len)
    }

    // RFC 4493 section 4, example 2: AES-128-CMAC of a 16-byte message.
    #[test]
    fn cmac_matches_rfc4493_example_2() {
        let key = [
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf,
            0x4f, 0x3c,
        ];
        let msg = [
            0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93,
            0x17, 0x2a,
        ];
        assert_eq!(frame_mic(&key, &msg), [0x07, 0x0a, 0x16, 0xb4]);
    }

    #[test]
    fn signed_frames_verify_and_decode() {
        let (buf, len) = signed(7);
        let (header, mut readings) = parse_authenticated(&buf[..len], &KEY).unwrap();
        assert_eq!(header.counter, 7);
        assert!(readings.next().unwrap().is_ok());
        assert_eq!(peek_device_id(&buf[..len]), Ok(0x0102_0304_0506_0708));
    }

    #[test]
    fn wrong_key_or_altered_bytes_fail_the_mic() {
        let (mut buf, len) = signed(7);
        assert_eq!(
            parse_authenticated(&buf[..len], b"0123456789abcdeX").err(),
            Some(Error::BadMic)
        );
        buf[12] ^= 1; // the counter
        assert_eq!(
            parse_authenticated(&buf[..len], &KEY).err(),
            Some(Error::BadMic)
        );
    }

    #[test]
    fn crc_frames_are_not_accepted_as_signed() {
        let mut buf = [0u8; MAX_FRAME_LEN];
        let len = FrameRepr::new(1, 1).emit(0, &[], &mut buf).unwrap();
        assert_eq!(
            parse_authenticated(&buf[..len], &KEY).err(),
            Some(Error::NotAuthenticated)
        );
    }
}
