//! The frame: a checked view [`Frame`] over received bytes, and [`FrameRepr`], the header as a
//! value that emits whole frames into a caller's buffer.
//!
//! Invariants:
//! - A `Frame` exists only after [`Frame::new_checked`] succeeded: the buffer is exactly
//!   `20 + body length` bytes, the version is [`VERSION`], no reserved flag bit is set and the
//!   body is at most [`MAX_BODY_LEN`] bytes. No accessor can panic, whatever the buffer holds.
//! - Integrity is a separate step: [`Frame::check_crc`] for plain frames; for AUTHENTICATED
//!   frames the caller verifies [`Frame::trailer`] as a MIC over [`Frame::mic_input`].
//! - Emission writes nothing past the returned length and refuses readings a parser would
//!   refuse (bad names, non-finite values), so emit -> parse is the identity.

use core::ops::{BitOr, Range};

use crate::error::Error;
use crate::reading::{body_len, emit_body, Reading, ReadingIter};

/// The wire format version this crate reads and writes.
pub const VERSION: u8 = 1;
/// Bytes before the body: version, flags, device id, counter, body length.
pub const HEADER_LEN: usize = 16;
/// Bytes after the body: CRC-32 or MIC.
pub const TRAILER_LEN: usize = 4;
/// The shortest possible frame (empty body).
pub const MIN_FRAME_LEN: usize = HEADER_LEN + TRAILER_LEN;
/// The longest body accepted or emitted.
pub const MAX_BODY_LEN: usize = 1024;
/// The longest possible frame; a buffer this long fits any frame.
pub const MAX_FRAME_LEN: usize = MIN_FRAME_LEN + MAX_BODY_LEN;

/// Byte ranges of the header fields.
mod field {
    use core::ops::Range;
    pub const VERSION: usize = 0;
    pub const FLAGS: usize = 1;
    pub const DEVICE_ID: Range<usize> = 2..10;
    pub const COUNTER: Range<usize> = 10..14;
    pub const BODY_LEN: Range<usize> = 14..16;
}

/// CRC-32/ISO-HDLC (the CRC of zlib, Ethernet and PNG; check value 0xcbf43926).
const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The flags byte. Only known bits can be set, so an emitted frame never has reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flags: the trailer is a CRC-32.
    pub const EMPTY: Flags = Flags(0);
    /// Bit 0: the trailer is a 4-byte MIC computed with a per-device key.
    pub const AUTHENTICATED: Flags = Flags(0x01);
    /// Every bit this version knows.
    const KNOWN: u8 = Flags::AUTHENTICATED.0;

    /// Flags from a raw byte; any reserved bit set is [`Error::UnknownFlags`].
    pub fn from_bits(bits: u8) -> Result<Flags, Error> {
        if bits & !Flags::KNOWN != 0 {
            return Err(Error::UnknownFlags(bits));
        }
        Ok(Flags(bits))
    }

    /// The raw byte.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// True if every bit of `other` is set in `self`.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

/// A checked, read-only view of one frame in a buffer.
#[derive(Debug, Clone)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Checks, in this order: at least 20 bytes, version, flags, buffer length equals
    /// `20 + body length`, body length <= [`MAX_BODY_LEN`]. The body is not looked at.
    pub fn new_checked(buffer: T) -> Result<Frame<T>, Error> {
        let frame = Frame { buffer };
        let got = frame.buffer.as_ref().len();
        if got < MIN_FRAME_LEN {
            return Err(Error::Truncated {
                needed: MIN_FRAME_LEN,
                got,
            });
        }
        if frame.version() != VERSION {
            return Err(Error::UnsupportedVersion(frame.version()));
        }
        Flags::from_bits(frame.flags())?;
        let expected = MIN_FRAME_LEN + frame.body_len();
        if got < expected {
            return Err(Error::Truncated {
                needed: expected,
                got,
            });
        }
        if got > expected {
            return Err(Error::TrailingBytes { expected, got });
        }
        if frame.body_len() > MAX_BODY_LEN {
            return Err(Error::BodyTooLong {
                len: frame.body_len(),
                max: MAX_BODY_LEN,
            });
        }
        Ok(frame)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole frame.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// Byte 0: the format version (always [`VERSION`] after the check).
    pub fn version(&self) -> u8 {
        self.array::<1>(field::VERSION)[0]
    }

    /// Byte 1: the raw flags byte.
    pub fn flags(&self) -> u8 {
        self.array::<1>(field::FLAGS)[0]
    }

    /// True if the trailer is a MIC rather than a CRC-32.
    pub fn is_authenticated(&self) -> bool {
        self.flags() & Flags::AUTHENTICATED.bits() != 0
    }

    /// Bytes 2..10: the device's EUI-64, big-endian.
    pub fn device_id(&self) -> u64 {
        u64::from_be_bytes(self.array(field::DEVICE_ID.start))
    }

    /// Bytes 10..14: the per-device frame counter, big-endian.
    pub fn counter(&self) -> u32 {
        u32::from_be_bytes(self.array(field::COUNTER.start))
    }

    /// Bytes 14..16: the body length N, big-endian.
    pub fn body_len(&self) -> usize {
        usize::from(u16::from_be_bytes(self.array(field::BODY_LEN.start)))
    }

    /// Bytes 16..16+N: the postcard body.
    pub fn body(&self) -> &[u8] {
        self.slice(HEADER_LEN..HEADER_LEN + self.body_len())
    }

    /// Bytes 0..16+N: everything the CRC or the MIC covers.
    pub fn mic_input(&self) -> &[u8] {
        self.slice(0..HEADER_LEN + self.body_len())
    }

    /// The last 4 bytes: CRC-32 (big-endian) or MIC.
    pub fn trailer(&self) -> [u8; TRAILER_LEN] {
        self.array(HEADER_LEN + self.body_len())
    }

    /// Verifies the CRC-32 trailer. An AUTHENTICATED frame is [`Error::NeedsKey`]: its
    /// trailer is a MIC the caller must verify with the device key.
    pub fn check_crc(&self) -> Result<(), Error> {
        if self.is_authenticated() {
            return Err(Error::NeedsKey);
        }
        let computed = CRC32.checksum(self.mic_input());
        let trailer = u32::from_be_bytes(self.trailer());
        if computed != trailer {
            return Err(Error::BadCrc { computed, trailer });
        }
        Ok(())
    }

    /// Decodes the base timestamp and returns an iterator over the readings.
    pub fn readings(&self) -> Result<ReadingIter<'_>, Error> {
        ReadingIter::new(self.body())
    }

    /// `N` bytes at `at`; zeros if out of range (cannot happen after the check).
    fn array<const N: usize>(&self, at: usize) -> [u8; N] {
        self.buffer
            .as_ref()
            .get(at..at + N)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .unwrap_or([0; N])
    }

    /// The bytes in `range`; empty if out of range (cannot happen after the check).
    fn slice(&self, range: Range<usize>) -> &[u8] {
        self.buffer.as_ref().get(range).unwrap_or_default()
    }
}

impl<'a> Frame<&'a [u8]> {
    /// Like [`Frame::readings`], but borrowing from the buffer rather than from the view.
    pub fn into_readings(self) -> Result<ReadingIter<'a>, Error> {
        let body = self
            .buffer
            .get(HEADER_LEN..HEADER_LEN + self.body_len())
            .unwrap_or_default();
        ReadingIter::new(body)
    }
}

/// The header of a frame as a value: parsed from a [`Frame`], or filled in to emit one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRepr {
    /// Format version; emit refuses anything but [`VERSION`].
    pub version: u8,
    /// Flags; [`Flags::AUTHENTICATED`] makes emit leave the trailer for a MIC.
    pub flags: Flags,
    /// The device's EUI-64.
    pub device_id: u64,
    /// Monotonic per-device frame counter.
    pub counter: u32,
}

impl FrameRepr {
    /// A version-1 header without flags.
    pub fn new(device_id: u64, counter: u32) -> FrameRepr {
        FrameRepr {
            version: VERSION,
            flags: Flags::EMPTY,
            device_id,
            counter,
        }
    }

    /// The header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> FrameRepr {
        FrameRepr {
            version: frame.version(),
            // The check rejected reserved bits, so this cannot fail.
            flags: Flags::from_bits(frame.flags()).unwrap_or_default(),
            device_id: frame.device_id(),
            counter: frame.counter(),
        }
    }

    /// Exact length of the frame [`emit`](Self::emit) writes for these readings.
    pub fn buffer_len(&self, base_ts_ms: u64, readings: &[Reading<'_>]) -> usize {
        MIN_FRAME_LEN.saturating_add(body_len(base_ts_ms, readings))
    }

    /// Writes header, body and trailer to the start of `buf`; returns the frame length.
    /// The trailer is the CRC-32, or four zero bytes for the caller's MIC when the
    /// AUTHENTICATED flag is set (see [`emit_authenticated`](Self::emit_authenticated)).
    pub fn emit(
        &self,
        base_ts_ms: u64,
        readings: &[Reading<'_>],
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        if self.version != VERSION {
            return Err(Error::UnsupportedVersion(self.version));
        }
        let n = body_len(base_ts_ms, readings);
        if n > MAX_BODY_LEN {
            return Err(Error::BodyTooLong {
                len: n,
                max: MAX_BODY_LEN,
            });
        }
        let total = MIN_FRAME_LEN + n;
        let got = buf.len();
        let frame = buf
            .get_mut(..total)
            .ok_or(Error::BufferTooSmall { needed: total, got })?;
        let (header, rest) = frame.split_at_mut(HEADER_LEN);
        let (body, trailer) = rest.split_at_mut(n);
        header[field::VERSION] = self.version;
        header[field::FLAGS] = self.flags.bits();
        header[field::DEVICE_ID].copy_from_slice(&self.device_id.to_be_bytes());
        header[field::COUNTER].copy_from_slice(&self.counter.to_be_bytes());
        // n <= MAX_BODY_LEN, which fits a u16.
        header[field::BODY_LEN].copy_from_slice(&(n as u16).to_be_bytes());
        emit_body(base_ts_ms, readings, body)?;
        if self.flags.contains(Flags::AUTHENTICATED) {
            trailer.fill(0);
        } else {
            let crc = CRC32.checksum(&frame[..HEADER_LEN + n]);
            frame[HEADER_LEN + n..].copy_from_slice(&crc.to_be_bytes());
        }
        Ok(total)
    }

    /// Emits with the AUTHENTICATED flag set and the trailer computed by `mic` over the
    /// header and body (the bytes [`Frame::mic_input`] returns on the receiving side).
    pub fn emit_authenticated(
        &self,
        base_ts_ms: u64,
        readings: &[Reading<'_>],
        buf: &mut [u8],
        mic: impl FnOnce(&[u8]) -> [u8; TRAILER_LEN],
    ) -> Result<usize, Error> {
        let repr = FrameRepr {
            flags: self.flags | Flags::AUTHENTICATED,
            ..*self
        };
        let total = repr.emit(base_ts_ms, readings, buf)?;
        let (covered, trailer) = buf[..total].split_at_mut(total - TRAILER_LEN);
        trailer.copy_from_slice(&mic(covered));
        Ok(total)
    }
}

#[cfg(test)]
mod tests;
