//! LoRaWAN 1.0.x data uplinks (ABP sessions): a checked view [`PhyPayload`] over received
//! bytes, the MIC check, the 16-to-32-bit frame counter extension, FRMPayload decryption, and
//! [`UplinkRepr`], which builds MIC'd and encrypted uplinks as a node does.
//!
//! ```text
//! PHYPayload = MHDR(1) | DevAddr(4, LE) | FCtrl(1) | FCnt(2, LE) | FOpts(0..15)
//!              | [FPort(1) | FRMPayload(N)] | MIC(4)
//! MIC        = AES-128-CMAC(NwkSKey, B0 | PHYPayload without MIC)[0..4]
//! B0         = 0x49 | 0x00 x4 | Dir | DevAddr(LE) | FCnt32(LE) | 0x00 | len(msg)
//! FRMPayload = plaintext XOR AES-128(K, A_i), A_i = 0x01 | 0x00 x4 | Dir | DevAddr | FCnt32 | 0x00 | i
//!              with K = NwkSKey for FPort 0, AppSKey otherwise
//! ```
//!
//! Invariants:
//! - A `PhyPayload` exists only after [`PhyPayload::new_checked`]: 12..=255 bytes, LoRaWAN
//!   major version R1, a data uplink (unconfirmed or confirmed), FOpts inside the buffer, and no
//!   FOpts together with FPort 0. No accessor can panic afterwards.
//! - Nothing is trusted before [`PhyPayload::verify_mic`] succeeded with the full 32-bit counter;
//!   a wrong counter extension therefore shows up as a MIC failure, never as accepted data.
//! - MIC comparison is constant-time (`cmac`'s `verify_truncated_left`).

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use cmac::{Cmac, Mac};
use core::fmt;

/// An AES-128 session key (NwkSKey or AppSKey), as printed in network server consoles (MSB first).
pub type AesKey = [u8; 16];

/// Bytes of the message integrity code at the end of every PHYPayload.
pub const MIC_LEN: usize = 4;
/// MHDR + DevAddr + FCtrl + FCnt + MIC: the shortest data frame.
pub const MIN_PHY_LEN: usize = 1 + 7 + MIC_LEN;
/// The largest PHYPayload a LoRa radio carries.
pub const MAX_PHY_LEN: usize = 255;
/// Largest FOpts field (4 bits of length).
pub const MAX_FOPTS_LEN: usize = 15;
/// Distance within which [`extend_fcnt`] looks for the 32-bit counter (half the 16-bit space).
const FCNT_HALF_RANGE: u32 = 0x8000;

/// Message type, the top three bits of MHDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MType {
    /// 000
    JoinRequest,
    /// 001
    JoinAccept,
    /// 010
    UnconfirmedDataUp,
    /// 011
    UnconfirmedDataDown,
    /// 100
    ConfirmedDataUp,
    /// 101
    ConfirmedDataDown,
    /// 110 (RFU in 1.0.x)
    Rfu,
    /// 111
    Proprietary,
}

impl MType {
    /// The message type of an MHDR byte.
    pub fn from_mhdr(mhdr: u8) -> MType {
        match mhdr >> 5 {
            0 => MType::JoinRequest,
            1 => MType::JoinAccept,
            2 => MType::UnconfirmedDataUp,
            3 => MType::UnconfirmedDataDown,
            4 => MType::ConfirmedDataUp,
            5 => MType::ConfirmedDataDown,
            6 => MType::Rfu,
            _ => MType::Proprietary,
        }
    }

    /// The snake_case name used in JSON output (`unconfirmed_data_up`).
    pub fn name(self) -> &'static str {
        match self {
            MType::JoinRequest => "join_request",
            MType::JoinAccept => "join_accept",
            MType::UnconfirmedDataUp => "unconfirmed_data_up",
            MType::UnconfirmedDataDown => "unconfirmed_data_down",
            MType::ConfirmedDataUp => "confirmed_data_up",
            MType::ConfirmedDataDown => "confirmed_data_down",
            MType::Rfu => "rfu",
            MType::Proprietary => "proprietary",
        }
    }

    fn is_data_up(self) -> bool {
        matches!(self, MType::UnconfirmedDataUp | MType::ConfirmedDataUp)
    }
}

/// Why a LoRaWAN frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LorawanError {
    /// Shorter than the frame needs.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// Longer than [`MAX_PHY_LEN`].
    TooLong(usize),
    /// MHDR major version other than 0 (LoRaWAN R1).
    UnsupportedMajor(u8),
    /// Not a data uplink (joins, downlinks and proprietary frames are not handled here).
    NotDataUplink(MType),
    /// FOpts present while FPort is 0 (forbidden by the specification).
    FOptsWithPortZero,
    /// The MIC does not match the frame under this key and frame counter.
    BadMic,
    /// More than [`MAX_FOPTS_LEN`] bytes of FOpts to emit.
    FOptsTooLong(usize),
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
}

impl fmt::Display for LorawanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LorawanError::Truncated { needed, got } => {
                write!(
                    f,
                    "LoRaWAN frame truncated: needs {needed} bytes, got {got}"
                )
            }
            LorawanError::TooLong(len) => {
                write!(f, "LoRaWAN frame of {len} bytes exceeds {MAX_PHY_LEN}")
            }
            LorawanError::UnsupportedMajor(m) => write!(f, "unsupported LoRaWAN major version {m}"),
            LorawanError::NotDataUplink(t) => write!(f, "not a data uplink: {}", t.name()),
            LorawanError::FOptsWithPortZero => f.write_str("FOpts present with FPort 0"),
            LorawanError::BadMic => f.write_str("MIC mismatch (wrong NwkSKey, or forged frame)"),
            LorawanError::FOptsTooLong(n) => write!(f, "{n} bytes of FOpts, at most 15"),
            LorawanError::BufferTooSmall { needed, got } => {
                write!(
                    f,
                    "output buffer too small: needs {needed} bytes, got {got}"
                )
            }
        }
    }
}

impl core::error::Error for LorawanError {}

/// The frame control byte of an uplink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct FCtrl {
    /// Bit 7: the node uses adaptive data rate.
    pub adr: bool,
    /// Bit 6: the node asks the network to confirm ADR.
    pub adr_ack_req: bool,
    /// Bit 5: acknowledges the last confirmed downlink.
    pub ack: bool,
    /// Bit 4: class B enabled (RFU in 1.0.0).
    pub class_b: bool,
}

impl FCtrl {
    fn from_byte(b: u8) -> FCtrl {
        FCtrl {
            adr: b & 0x80 != 0,
            adr_ack_req: b & 0x40 != 0,
            ack: b & 0x20 != 0,
            class_b: b & 0x10 != 0,
        }
    }

    fn to_byte(self, fopts_len: u8) -> u8 {
        (u8::from(self.adr) << 7)
            | (u8::from(self.adr_ack_req) << 6)
            | (u8::from(self.ack) << 5)
            | (u8::from(self.class_b) << 4)
            | (fopts_len & 0x0f)
    }
}

/// A checked, read-only view of one LoRaWAN data uplink.
#[derive(Debug, Clone)]
pub struct PhyPayload<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PhyPayload<T> {
    /// Checks length, major version, message type and the FOpts/FPort layout.
    pub fn new_checked(buffer: T) -> Result<PhyPayload<T>, LorawanError> {
        let bytes = buffer.as_ref();
        let got = bytes.len();
        if got < MIN_PHY_LEN {
            return Err(LorawanError::Truncated {
                needed: MIN_PHY_LEN,
                got,
            });
        }
        if got > MAX_PHY_LEN {
            return Err(LorawanError::TooLong(got));
        }
        let mhdr = bytes[0];
        if mhdr & 0x03 != 0 {
            return Err(LorawanError::UnsupportedMajor(mhdr & 0x03));
        }
        let mtype = MType::from_mhdr(mhdr);
        if !mtype.is_data_up() {
            return Err(LorawanError::NotDataUplink(mtype));
        }
        let fopts_len = usize::from(bytes[5] & 0x0f);
        let needed = MIN_PHY_LEN + fopts_len;
        if got < needed {
            return Err(LorawanError::Truncated { needed, got });
        }
        let view = PhyPayload { buffer };
        if view.fport() == Some(0) && fopts_len > 0 {
            return Err(LorawanError::FOptsWithPortZero);
        }
        Ok(view)
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn byte(&self, at: usize) -> u8 {
        self.bytes().get(at).copied().unwrap_or(0)
    }

    fn fopts_len(&self) -> usize {
        usize::from(self.byte(5) & 0x0f)
    }

    /// Offset of FPort (or of the MIC when there is none).
    fn fport_at(&self) -> usize {
        8 + self.fopts_len()
    }

    fn mic_at(&self) -> usize {
        self.bytes().len().saturating_sub(MIC_LEN)
    }

    /// The MHDR byte.
    pub fn mhdr(&self) -> u8 {
        self.byte(0)
    }

    /// Message type (a data uplink after the check).
    pub fn mtype(&self) -> MType {
        MType::from_mhdr(self.mhdr())
    }

    /// The device address, as a number (the wire carries it little-endian).
    pub fn dev_addr(&self) -> u32 {
        u32::from_le_bytes([self.byte(1), self.byte(2), self.byte(3), self.byte(4)])
    }

    /// Frame control flags.
    pub fn fctrl(&self) -> FCtrl {
        FCtrl::from_byte(self.byte(5))
    }

    /// The low 16 bits of the uplink frame counter; see [`extend_fcnt`].
    pub fn fcnt16(&self) -> u16 {
        u16::from_le_bytes([self.byte(6), self.byte(7)])
    }

    /// MAC commands piggy-backed in the header (cleartext in 1.0.x).
    pub fn fopts(&self) -> &[u8] {
        self.bytes().get(8..self.fport_at()).unwrap_or_default()
    }

    /// FPort, if the frame carries a port (and so possibly a payload).
    pub fn fport(&self) -> Option<u8> {
        let at = self.fport_at();
        if at < self.mic_at() {
            Some(self.byte(at))
        } else {
            None
        }
    }

    /// The FRMPayload as received (encrypted).
    pub fn frm_payload(&self) -> &[u8] {
        let start = self.fport_at() + 1;
        self.bytes().get(start..self.mic_at()).unwrap_or_default()
    }

    /// The MIC as received.
    pub fn mic(&self) -> [u8; MIC_LEN] {
        let at = self.mic_at();
        [
            self.byte(at),
            self.byte(at + 1),
            self.byte(at + 2),
            self.byte(at + 3),
        ]
    }

    /// Everything the MIC covers: the frame without its last four bytes.
    pub fn mic_input(&self) -> &[u8] {
        self.bytes().get(..self.mic_at()).unwrap_or_default()
    }

    /// The MIC this frame should carry under `nwk_s_key` with the 32-bit counter `fcnt`.
    pub fn compute_mic(&self, nwk_s_key: &AesKey, fcnt: u32) -> [u8; MIC_LEN] {
        uplink_mic(nwk_s_key, self.dev_addr(), fcnt, self.mic_input())
    }

    /// Checks the MIC (constant-time) under `nwk_s_key` with the 32-bit counter `fcnt`.
    pub fn verify_mic(&self, nwk_s_key: &AesKey, fcnt: u32) -> Result<(), LorawanError> {
        let mac = b0_mac(nwk_s_key, self.dev_addr(), fcnt, self.mic_input());
        mac.verify_truncated_left(&self.mic())
            .map_err(|_| LorawanError::BadMic)
    }

    /// Decrypts the FRMPayload into `out` (with the NwkSKey for FPort 0, the AppSKey otherwise)
    /// and returns the plaintext length. Check the MIC first.
    pub fn decrypt_frm_payload(
        &self,
        nwk_s_key: &AesKey,
        app_s_key: &AesKey,
        fcnt: u32,
        out: &mut [u8],
    ) -> Result<usize, LorawanError> {
        let payload = self.frm_payload();
        let got = out.len();
        let out = out
            .get_mut(..payload.len())
            .ok_or(LorawanError::BufferTooSmall {
                needed: payload.len(),
                got,
            })?;
        out.copy_from_slice(payload);
        let key = if self.fport() == Some(0) {
            nwk_s_key
        } else {
            app_s_key
        };
        crypt_frm_payload(key, self.dev_addr(), fcnt, out);
        Ok(out.len())
    }
}

/// The full 32-bit uplink counter for a received 16-bit `fcnt16`, given the last accepted
/// counter of the session (`None` for a session not seen yet: the upper half is then 0).
///
/// Picks the value with these low 16 bits closest to `last` (within half the 16-bit space), so
/// a counter just above `last` that wrapped the low half moves to the next epoch, and one just
/// below stays below (the caller treats `<= last` as a replay). The MIC, computed over the full
/// counter, decides whether the guess was right.
pub fn extend_fcnt(last: Option<u32>, fcnt16: u16) -> u32 {
    let Some(last) = last else {
        return u32::from(fcnt16);
    };
    let candidate = (last & 0xffff_0000) | u32::from(fcnt16);
    if candidate < last && last - candidate > FCNT_HALF_RANGE {
        candidate.wrapping_add(0x1_0000)
    } else if candidate > last && candidate - last > FCNT_HALF_RANGE && candidate >= 0x1_0000 {
        candidate - 0x1_0000
    } else {
        candidate
    }
}

/// An uplink as a value, emitted MIC'd and encrypted (what a node's LoRaWAN stack does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UplinkRepr<'a> {
    /// Confirmed (the node wants an ACK) or unconfirmed.
    pub confirmed: bool,
    /// The device address.
    pub dev_addr: u32,
    /// Frame control flags (the FOpts length is taken from `fopts`).
    pub fctrl: FCtrl,
    /// The full 32-bit counter; its low 16 bits go on the wire.
    pub fcnt: u32,
    /// MAC commands in the header, at most 15 bytes.
    pub fopts: &'a [u8],
    /// Port and plaintext payload; `None` for a frame without port.
    pub fport: Option<u8>,
    /// Plaintext FRMPayload (ignored when `fport` is `None`).
    pub payload: &'a [u8],
}

impl UplinkRepr<'_> {
    /// Exact length of the emitted frame.
    pub fn buffer_len(&self) -> usize {
        let port = match self.fport {
            Some(_) => 1 + self.payload.len(),
            None => 0,
        };
        MIN_PHY_LEN + self.fopts.len() + port
    }

    /// Writes the frame to the start of `buf` and returns its length.
    pub fn emit(
        &self,
        nwk_s_key: &AesKey,
        app_s_key: &AesKey,
        buf: &mut [u8],
    ) -> Result<usize, LorawanError> {
        if self.fopts.len() > MAX_FOPTS_LEN {
            return Err(LorawanError::FOptsTooLong(self.fopts.len()));
        }
        if self.fport == Some(0) && !self.fopts.is_empty() {
            return Err(LorawanError::FOptsWithPortZero);
        }
        let total = self.buffer_len();
        if total > MAX_PHY_LEN {
            return Err(LorawanError::TooLong(total));
        }
        let got = buf.len();
        let frame = buf
            .get_mut(..total)
            .ok_or(LorawanError::BufferTooSmall { needed: total, got })?;
        let mtype: u8 = if self.confirmed { 4 } else { 2 };
        frame[0] = mtype << 5;
        frame[1..5].copy_from_slice(&self.dev_addr.to_le_bytes());
        // fopts.len() <= 15 was checked above.
        frame[5] = self.fctrl.to_byte(self.fopts.len() as u8);
        frame[6..8].copy_from_slice(&(self.fcnt as u16).to_le_bytes());
        let mut at = 8;
        frame[at..at + self.fopts.len()].copy_from_slice(self.fopts);
        at += self.fopts.len();
        if let Some(port) = self.fport {
            frame[at] = port;
            at += 1;
            let payload = &mut frame[at..at + self.payload.len()];
            payload.copy_from_slice(self.payload);
            let key = if port == 0 { nwk_s_key } else { app_s_key };
            crypt_frm_payload(key, self.dev_addr, self.fcnt, payload);
            at += self.payload.len();
        }
        let mic = uplink_mic(nwk_s_key, self.dev_addr, self.fcnt, &frame[..at]);
        frame[at..].copy_from_slice(&mic);
        Ok(total)
    }
}

/// Direction byte of B0 and A_i blocks: 0 = uplink.
const DIR_UP: u8 = 0;

fn b0_mac(key: &AesKey, dev_addr: u32, fcnt: u32, msg: &[u8]) -> Cmac<Aes128> {
    let mut b0 = [0u8; 16];
    b0[0] = 0x49;
    b0[5] = DIR_UP;
    b0[6..10].copy_from_slice(&dev_addr.to_le_bytes());
    b0[10..14].copy_from_slice(&fcnt.to_le_bytes());
    // msg is at most MAX_PHY_LEN - MIC_LEN bytes, so it fits a byte.
    b0[15] = msg.len() as u8;
    let mut mac = <Cmac<Aes128> as KeyInit>::new(key.into());
    mac.update(&b0);
    mac.update(msg);
    mac
}

fn uplink_mic(key: &AesKey, dev_addr: u32, fcnt: u32, msg: &[u8]) -> [u8; MIC_LEN] {
    let tag = b0_mac(key, dev_addr, fcnt, msg).finalize().into_bytes();
    [tag[0], tag[1], tag[2], tag[3]]
}

/// XORs `data` with the key stream of A_1, A_2, ...; encryption and decryption are the same.
fn crypt_frm_payload(key: &AesKey, dev_addr: u32, fcnt: u32, data: &mut [u8]) {
    let cipher = Aes128::new(key.into());
    for (i, chunk) in data.chunks_mut(16).enumerate() {
        let mut a = [0u8; 16];
        a[0] = 0x01;
        a[5] = DIR_UP;
        a[6..10].copy_from_slice(&dev_addr.to_le_bytes());
        a[10..14].copy_from_slice(&fcnt.to_le_bytes());
        // At most 16 blocks for a 255-byte frame.
        a[15] = (i + 1) as u8;
        let mut block = a.into();
        cipher.encrypt_block(&mut block);
        for (byte, key_byte) in chunk.iter_mut().zip(block.iter()) {
            *byte ^= key_byte;
        }
    }
}

#[cfg(test)]
mod tests;
