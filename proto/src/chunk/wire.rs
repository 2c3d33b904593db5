//! Byte-level building blocks of a chunk: zigzag, LEB128 varints, the flagged varint that
//! carries the SAME bit in a point's time token, and a writer that counts past its buffer.
//!
//! Invariants: the [`Writer`] never writes outside its buffer but always counts every byte, so
//! the same code path measures a candidate encoding (on an empty buffer) and writes the chosen
//! one; the [`Reader`] never reads past its input and refuses varints beyond 64 bits, so every
//! read consumes at least one byte or fails.

use super::ChunkError;

/// Maps small magnitudes of either sign to small unsigned numbers: 0, -1, 1, -2 -> 0, 1, 2, 3.
pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub(super) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Appends bytes to a caller's buffer; bytes beyond its end are counted, not written.
pub(super) struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }

    /// Bytes the encoding needs so far (may exceed the buffer).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
        }
        self.len = self.len.saturating_add(1);
    }

    /// LEB128: 7 bits a byte, least significant group first, bit 7 = more bytes follow.
    pub(super) fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte(v as u8 | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    /// One flag bit and a `u64` in the bytes of a 65-bit varint: the first byte holds the flag
    /// (bit 0), the low 6 bits of `v` (bits 1..=6) and the continuation bit; `v >> 6` follows
    /// as a varint only if it is not zero.
    pub(super) fn flagged(&mut self, flag: bool, v: u64) {
        let first = ((v & 0x3f) as u8) << 1 | u8::from(flag);
        if v >> 6 == 0 {
            self.byte(first);
        } else {
            self.byte(first | 0x80);
            self.varint(v >> 6);
        }
    }
}

/// Reads a chunk front to back, reporting byte offsets in its errors.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub(super) fn byte(&mut self) -> Result<u8, ChunkError> {
        let b = *self.bytes.get(self.pos).ok_or(ChunkError::Truncated {
            len: self.bytes.len(),
        })?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn varint(&mut self) -> Result<u64, ChunkError> {
        let start = self.pos;
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            // The tenth byte may only hold bit 63: anything more is not a u64.
            if shift == 63 && b > 1 {
                return Err(ChunkError::Malformed {
                    offset: start,
                    reason: "varint longer than 64 bits",
                });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    /// The inverse of [`Writer::flagged`].
    pub(super) fn flagged(&mut self) -> Result<(bool, u64), ChunkError> {
        let start = self.pos;
        let first = self.byte()?;
        let low = u64::from(first >> 1 & 0x3f);
        if first & 0x80 == 0 {
            return Ok((first & 1 == 1, low));
        }
        let high = self.varint()?;
        if high >> 58 != 0 {
            return Err(ChunkError::Malformed {
                offset: start,
                reason: "time token longer than 64 bits",
            });
        }
        Ok((first & 1 == 1, low | high << 6))
    }
}

/// Bytes of `v` as a varint, as [`Writer::varint`] writes it.
#[cfg(test)]
pub(super) fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_numbers_and_back() {
        for (v, u) in [(0, 0), (-1, 1), (1, 2), (-2, 3), (i64::MAX, u64::MAX - 1)] {
            assert_eq!(zigzag(v), u);
            assert_eq!(unzigzag(u), v);
        }
        assert_eq!(zigzag(i64::MIN), u64::MAX);
        assert_eq!(unzigzag(u64::MAX), i64::MIN);
    }

    #[test]
    fn varints_and_flagged_varints_round_trip_at_every_width() {
        let mut buf = [0u8; 16];
        for shift in 0..64 {
            for v in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let mut w = Writer::new(&mut buf);
                w.varint(v);
                let len = w.len();
                assert_eq!(len, varint_len(v), "{v}");
                let mut r = Reader::new(&buf[..len]);
                assert_eq!(r.varint(), Ok(v));
                assert!(r.at_end());

                for flag in [false, true] {
                    let mut w = Writer::new(&mut buf);
                    w.flagged(flag, v);
                    let len = w.len();
                    assert!(len <= 10);
                    let mut r = Reader::new(&buf[..len]);
                    assert_eq!(r.flagged(), Ok((flag, v)));
                    assert!(r.at_end());
                }
            }
        }
    }

    #[test]
    fn overlong_varints_are_refused_and_short_ones_truncated() {
        let eleven = [0xff; 11];
        let mut r = Reader::new(&eleven);
        assert!(matches!(r.varint(), Err(ChunkError::Malformed { .. })));
        let ten = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(matches!(
            Reader::new(&ten).varint(),
            Err(ChunkError::Malformed { .. })
        ));
        let flagged = [0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x04];
        assert!(matches!(
            Reader::new(&flagged).flagged(),
            Err(ChunkError::Malformed { .. })
        ));
        assert_eq!(
            Reader::new(&[0x80]).varint(),
            Err(ChunkError::Truncated { len: 1 })
        );
    }

    #[test]
    fn a_writer_counts_what_does_not_fit() {
        let mut buf = [0u8; 2];
        let mut w = Writer::new(&mut buf);
        w.varint(u64::MAX);
        assert_eq!(w.len(), 10);
        assert_eq!(buf, [0xff, 0xff]);
    }
}
