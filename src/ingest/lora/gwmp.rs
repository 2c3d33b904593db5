//! The Semtech UDP packet-forwarder protocol (GWMP, versions 1 and 2; see the forwarder's
//! PROTOCOL.md): datagram headers, acknowledgements, and the `rxpk`/`stat` JSON of PUSH_DATA.
//!
//! ```text
//! PUSH_DATA  ver | token(2) | 0x00 | gateway EUI(8) | JSON   -> PUSH_ACK ver | token | 0x01
//! PULL_DATA  ver | token(2) | 0x02 | gateway EUI(8)          -> PULL_ACK ver | token | 0x04
//! TX_ACK     ver | token(2) | 0x05 | gateway EUI(8) | [JSON]
//! ```
//!
//! Invariants: parsing never panics and never allocates more than the datagram's JSON needs;
//! an acknowledgement echoes the version and token of the datagram it answers.

use base64::Engine as _;
use serde::Deserialize;

const PUSH_DATA: u8 = 0x00;
const PUSH_ACK: u8 = 0x01;
const PULL_DATA: u8 = 0x02;
const PULL_ACK: u8 = 0x04;
const TX_ACK: u8 = 0x05;
const HEADER_LEN: usize = 12;

/// One datagram from a gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum Datagram<'a> {
    PushData { gateway: u64, json: &'a [u8] },
    PullData { gateway: u64 },
    TxAck { gateway: u64 },
}

/// A parsed datagram with what an acknowledgement needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Received<'a> {
    pub version: u8,
    pub token: [u8; 2],
    pub datagram: Datagram<'a>,
}

impl Received<'_> {
    /// PUSH_ACK for PUSH_DATA, PULL_ACK for PULL_DATA; nothing for TX_ACK.
    pub fn ack(&self) -> Option<[u8; 4]> {
        let id = match self.datagram {
            Datagram::PushData { .. } => PUSH_ACK,
            Datagram::PullData { .. } => PULL_ACK,
            Datagram::TxAck { .. } => return None,
        };
        Some([self.version, self.token[0], self.token[1], id])
    }
}

/// Splits a datagram; the error says what is wrong with it.
pub fn parse(bytes: &[u8]) -> Result<Received<'_>, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "{} bytes is shorter than a GWMP header",
            bytes.len()
        ));
    }
    let version = bytes[0];
    if !matches!(version, 1 | 2) {
        return Err(format!("unsupported GWMP version {version}"));
    }
    let token = [bytes[1], bytes[2]];
    let id = bytes[3];
    let gateway = || -> Result<u64, String> {
        let eui = bytes.get(4..HEADER_LEN).ok_or_else(|| {
            format!(
                "identifier {id:#04x} needs a gateway EUI: {} bytes",
                bytes.len()
            )
        })?;
        Ok(u64::from_be_bytes(eui.try_into().unwrap_or_default()))
    };
    let datagram = match id {
        PUSH_DATA => Datagram::PushData {
            gateway: gateway()?,
            json: &bytes[HEADER_LEN..],
        },
        PULL_DATA => Datagram::PullData {
            gateway: gateway()?,
        },
        TX_ACK => Datagram::TxAck {
            gateway: gateway()?,
        },
        other => return Err(format!("unexpected GWMP identifier {other:#04x}")),
    };
    Ok(Received {
        version,
        token,
        datagram,
    })
}

/// The JSON object of a PUSH_DATA.
#[derive(Debug, Default, Deserialize)]
pub struct PushData {
    #[serde(default)]
    pub rxpk: Vec<Rxpk>,
    pub stat: Option<Stat>,
}

/// One received radio packet.
#[derive(Debug, Clone, Deserialize)]
pub struct Rxpk {
    /// Base64 of the PHY payload.
    pub data: String,
    /// CRC status: 1 ok, -1 bad, 0 none.
    pub stat: Option<i8>,
    pub rssi: Option<f64>,
    pub lsnr: Option<f64>,
    pub freq: Option<f64>,
    /// `"SF7BW125"` for LoRa, a number (bit/s) for FSK.
    pub datr: Option<serde_json::Value>,
    pub tmst: Option<u64>,
    pub time: Option<String>,
    /// Per-antenna signal of multi-antenna concentrators (forwarder v2 without top-level rssi).
    #[serde(default)]
    pub rsig: Vec<Rsig>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rsig {
    pub rssic: Option<f64>,
    pub lsnr: Option<f64>,
}

impl Rxpk {
    /// The PHY payload bytes.
    pub fn payload(&self) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD
            .decode(self.data.as_bytes())
            .map_err(|e| format!("rxpk data is not base64: {e}"))
    }

    /// RSSI in dBm, from `rssi` or the first antenna of `rsig`.
    pub fn rssi(&self) -> Option<f64> {
        self.rssi
            .or_else(|| self.rsig.first().and_then(|r| r.rssic))
            .filter(|v| v.is_finite())
    }

    /// SNR in dB, from `lsnr` or the first antenna of `rsig`.
    pub fn snr(&self) -> Option<f64> {
        self.lsnr
            .or_else(|| self.rsig.first().and_then(|r| r.lsnr))
            .filter(|v| v.is_finite())
    }
}

/// Gateway status, sent every `stat_interval` seconds.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Stat {
    pub time: Option<String>,
    /// Packets received / with a valid CRC / forwarded.
    pub rxnb: Option<u64>,
    pub rxok: Option<u64>,
    pub rxfw: Option<u64>,
    /// Percentage of upstream datagrams acknowledged.
    pub ackr: Option<f64>,
    pub dwnb: Option<u64>,
    pub txnb: Option<u64>,
}

/// The JSON of a PUSH_DATA.
pub fn parse_push(json: &[u8]) -> Result<PushData, String> {
    serde_json::from_slice(json).map_err(|e| format!("PUSH_DATA JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(json: &str) -> Vec<u8> {
        let mut d = vec![2, 0xab, 0xcd, PUSH_DATA, 0, 1, 2, 3, 4, 5, 6, 7];
        d.extend_from_slice(json.as_bytes());
        d
    }

    #[test]
    fn push_data_is_acknowledged_with_its_token_and_rxpk_decodes() {
        // The rxpk example of the shared vectors (Semtech PROTOCOL.md shape).
        let d = push(
            r#"{"rxpk":[{"time":"2013-03-31T16:21:17.528002Z","tmst":3512348611,"chan":2,"rfch":0,
                "freq":866.349812,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/6",
                "rssi":-35,"lsnr":5.1,"size":17,"data":"QPF9vkkAAgABlUN4disR/w0="}]}"#,
        );
        let r = parse(&d).unwrap();
        assert_eq!(r.ack(), Some([2, 0xab, 0xcd, PUSH_ACK]));
        let Datagram::PushData { gateway, json } = r.datagram else {
            panic!("not PUSH_DATA");
        };
        assert_eq!(gateway, 0x0001_0203_0405_0607);
        let p = parse_push(json).unwrap();
        assert_eq!(p.rxpk[0].rssi(), Some(-35.0));
        assert_eq!(p.rxpk[0].snr(), Some(5.1));
        assert_eq!(p.rxpk[0].payload().unwrap()[0], 0x40);
        assert_eq!(p.rxpk[0].payload().unwrap().len(), 17);
    }

    #[test]
    fn pull_data_gets_pull_ack_and_tx_ack_nothing() {
        let r = parse(&[1, 9, 8, PULL_DATA, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!(r.ack(), Some([1, 9, 8, PULL_ACK]));
        let r = parse(&[2, 9, 8, TX_ACK, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!(r.ack(), None);
    }

    #[test]
    fn malformed_datagrams_are_explained() {
        assert!(parse(&[2, 0]).unwrap_err().contains("shorter"));
        assert!(parse(&[3, 0, 0, 0]).unwrap_err().contains("version 3"));
        assert!(parse(&[2, 0, 0, 0x09])
            .unwrap_err()
            .contains("identifier 0x09"));
        assert!(parse(&[2, 0, 0, PUSH_DATA, 1]).unwrap_err().contains("EUI"));
        assert!(parse_push(b"{\"rxpk\": 5}").is_err());
        let stat = parse_push(br#"{"stat":{"rxnb":2,"rxok":2,"rxfw":2,"ackr":100.0}}"#).unwrap();
        assert_eq!(stat.stat.unwrap().rxok, Some(2));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            if let Ok(r) = parse(&bytes) {
                if let Datagram::PushData { json, .. } = r.datagram {
                    let _ = parse_push(json);
                }
            }
        }
    }
}
