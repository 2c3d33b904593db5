//! The `seqs` column of a chunk: its points' seqs, in point order.
//!
//! Format: the count, then the first seq, then for each further seq the difference of its
//! delta from the previous delta (delta-of-delta), all as LEB128 varints, signed values
//! zigzag-mapped. A series reporting at a steady rate among other steady series has nearly
//! constant seq deltas, so most points cost one byte. Late readings make deltas negative,
//! which zigzag keeps short. Arithmetic wraps, so every `i64` sequence round-trips.

/// Encodes `seqs`.
pub fn encode_seqs(seqs: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(seqs.len() + 8);
    varint(&mut out, seqs.len() as u64);
    let (mut prev, mut prev_delta) = (0i64, 0i64);
    for (i, &seq) in seqs.iter().enumerate() {
        if i == 0 {
            varint(&mut out, zigzag(seq));
        } else {
            let delta = seq.wrapping_sub(prev);
            varint(&mut out, zigzag(delta.wrapping_sub(prev_delta)));
            prev_delta = delta;
        }
        prev = seq;
    }
    out
}

/// Decodes what [`encode_seqs`] wrote; `None` for anything it could not have written.
pub fn decode_seqs(bytes: &[u8]) -> Option<Vec<i64>> {
    let mut pos = 0;
    let n = read_varint(bytes, &mut pos)?;
    // Every seq takes at least one byte: a count beyond the input is corrupt.
    if n > bytes.len() as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(n as usize);
    let (mut prev, mut prev_delta) = (0i64, 0i64);
    for i in 0..n {
        let v = unzigzag(read_varint(bytes, &mut pos)?);
        let seq = if i == 0 {
            v
        } else {
            prev_delta = prev_delta.wrapping_add(v);
            prev.wrapping_add(prev_delta)
        };
        out.push(seq);
        prev = seq;
    }
    (pos == bytes.len()).then_some(out)
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn read_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            // The tenth byte may carry only the top bit of a u64.
            return (shift < 63 || b <= 1).then_some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn steady_interleaved_seqs_cost_about_a_byte_each() {
        let seqs: Vec<i64> = (0..256).map(|i| 1_000_000 + i * 57 + (i % 3)).collect();
        let bytes = encode_seqs(&seqs);
        assert!(bytes.len() <= 256 + 8, "{} bytes", bytes.len());
        assert_eq!(decode_seqs(&bytes).unwrap(), seqs);
    }

    #[test]
    fn truncated_padded_and_overlong_inputs_are_refused() {
        let bytes = encode_seqs(&[5, 9, 3, i64::MAX, i64::MIN]);
        for cut in 0..bytes.len() {
            assert_eq!(decode_seqs(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(decode_seqs(&padded), None);
        assert_eq!(decode_seqs(&[0xff; 11]), None);
        assert_eq!(
            decode_seqs(&[0x80 | 100, 0]),
            None,
            "count beyond the input"
        );
    }

    proptest! {
        #[test]
        fn every_sequence_round_trips(seqs in proptest::collection::vec(any::<i64>(), 0..300)) {
            prop_assert_eq!(decode_seqs(&encode_seqs(&seqs)), Some(seqs));
        }
    }
}
