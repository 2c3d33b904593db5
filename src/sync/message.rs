//! The upstream message: one JSON object per batch (schema in `docs/UPSTREAM.md`).
//!
//! Invariants: readings appear in seq order (so in order per device); a message is at most
//! [`MAX_PAYLOAD`] bytes and holds at least one reading; `first_seq..=last_seq` spans exactly
//! the readings it holds (every stored reading in that range; seqs of readings removed by age
//! eviction are missing from it).

use crate::store::OutboxReading;
use serde::Serialize;

/// Format version in every message; bumped only for incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// Largest payload built: under the 128 KiB message limit of AWS IoT Core and most managed
/// brokers, with room for the topic and MQTT header.
pub const MAX_PAYLOAD: usize = 120 * 1024;

/// Readings read from the store per batch. A message holds fewer when they exceed
/// [`MAX_PAYLOAD`] (about 1,000 readings of typical size fit).
pub const BATCH_READINGS_HINT: usize = 500;

/// One encoded batch.
#[derive(Debug, Clone)]
pub struct Message {
    pub payload: Vec<u8>,
    pub first_seq: i64,
    pub last_seq: i64,
    pub count: usize,
}

#[derive(Serialize)]
struct Header<'a> {
    v: u32,
    gateway: &'a str,
    store: &'a str,
    sent_ms: i64,
}

/// Encodes the longest prefix of `readings` that fits [`MAX_PAYLOAD`] (always at least one
/// reading). `None` when `readings` is empty.
pub fn encode(
    gateway: &str,
    store: &str,
    sent_ms: i64,
    readings: &[OutboxReading],
) -> Option<Message> {
    let first = readings.first()?;
    let header = Header {
        v: FORMAT_VERSION,
        gateway,
        store,
        sent_ms,
    };
    let mut payload = serde_json::to_vec(&header).ok()?;
    payload.pop(); // reopen the object: `{"v":1,...,"sent_ms":N`
    payload.extend_from_slice(b",\"readings\":[");
    let mut last_seq = first.seq;
    let mut count = 0;
    let mut item = Vec::with_capacity(128);
    // Room for the closing `],"first_seq":N,"last_seq":N}`.
    let budget = MAX_PAYLOAD - 64;
    for reading in readings {
        item.clear();
        if serde_json::to_writer(&mut item, reading).is_err() {
            continue;
        }
        if count > 0 && payload.len() + 1 + item.len() > budget {
            break;
        }
        if count > 0 {
            payload.push(b',');
        }
        payload.extend_from_slice(&item);
        last_seq = reading.seq;
        count += 1;
    }
    payload.extend_from_slice(
        format!("],\"first_seq\":{},\"last_seq\":{last_seq}}}", first.seq).as_bytes(),
    );
    Some(Message {
        payload,
        first_seq: first.seq,
        last_seq,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(seq: i64, device: &str) -> OutboxReading {
        OutboxReading {
            seq,
            device: device.into(),
            metric: "temperature".into(),
            ts: 1_700_000_000_000 + seq,
            value: 21.5,
        }
    }

    #[test]
    fn message_carries_gateway_seq_range_and_readings_in_order() {
        let readings = vec![reading(7, "a"), reading(8, "b"), reading(9, "a")];
        let m = encode("gw-1", "00000000000000ab", 5, &readings).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["gateway"], "gw-1");
        assert_eq!(v["store"], "00000000000000ab");
        assert_eq!(v["sent_ms"], 5);
        assert_eq!(v["first_seq"], 7);
        assert_eq!(v["last_seq"], 9);
        assert_eq!((m.first_seq, m.last_seq, m.count), (7, 9, 3));
        let items = v["readings"].as_array().unwrap();
        assert_eq!(items[1]["seq"], 8);
        assert_eq!(items[1]["device"], "b");
        assert_eq!(items[1]["metric"], "temperature");
        assert_eq!(items[1]["ts"], 1_700_000_000_008i64);
        assert_eq!(items[1]["value"], 21.5);
    }

    #[test]
    fn a_batch_too_big_for_one_message_is_cut_at_the_size_limit() {
        let readings: Vec<_> = (1..=5_000).map(|s| reading(s, "device")).collect();
        let m = encode("gw", "s", 0, &readings).unwrap();
        assert!(m.payload.len() <= MAX_PAYLOAD);
        assert!(m.count < 5_000 && m.count > 100);
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["readings"].as_array().unwrap().len(), m.count);
        assert_eq!(v["last_seq"], m.last_seq);
        assert_eq!(m.last_seq, m.count as i64);
    }

    #[test]
    fn nothing_to_send_is_no_message() {
        assert!(encode("gw", "s", 0, &[]).is_none());
    }
}
