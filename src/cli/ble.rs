//! `acs-edge decode ble`: decodes one advertisement payload given on the command line and
//! prints its readings as JSON, exactly as the BLE sources would store them.
//!
//! Exit status: 0 decoded; 1 the payload could not be decoded (unknown format, MIC failure,
//! truncated...); 2 the arguments are wrong (malformed hex, missing payload).

use crate::ingest::ble::{parse_bindkey, parse_id16, BleAddress, Payload};
use acs_proto::ble::{Advertisement, Context};
use acs_proto::Value;
use serde_json::json;
use std::process::ExitCode;

/// The arguments of `decode ble`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeBle {
    pub payload: Payload,
    pub mac: Option<BleAddress>,
    pub bindkey: Option<[u8; 16]>,
    pub frame_company: Option<u16>,
}

/// Parses the arguments after `decode ble`.
pub fn parse_args(parser: &mut lexopt::Parser) -> Result<DecodeBle, lexopt::Error> {
    use lexopt::prelude::*;
    let mut payload = None;
    let mut mac = None;
    let mut bindkey = None;
    let mut frame_company = None;
    while let Some(arg) = parser.next()? {
        let flag = match arg {
            Long(flag) => flag.to_owned(),
            other => return Err(other.unexpected()),
        };
        let value = parser.value()?.string()?;
        let bad = |e: String| lexopt::Error::from(format!("--{flag}: {e}"));
        match flag.as_str() {
            "service-data" | "manufacturer-data" => {
                let (id, hex) = value
                    .split_once(':')
                    .ok_or_else(|| bad(format!("{value:?} is not ID:HEX")))?;
                let id = parse_id16(id).map_err(bad)?;
                let data = crate::hex::decode(hex).map_err(bad)?;
                if payload.is_some() {
                    return Err(bad("only one payload at a time".into()));
                }
                payload = Some(if flag == "service-data" {
                    Payload::ServiceData { uuid: id, data }
                } else {
                    Payload::ManufacturerData { company: id, data }
                });
            }
            "mac" => mac = Some(value.parse().map_err(bad)?),
            "bindkey" => bindkey = Some(parse_bindkey(&value).map_err(bad)?),
            "frame-company" => frame_company = Some(parse_id16(&value).map_err(bad)?),
            _ => return Err(format!("decode ble: unknown option --{flag}").into()),
        }
    }
    let payload = payload.ok_or_else(|| {
        lexopt::Error::from("decode ble: give --service-data or --manufacturer-data")
    })?;
    Ok(DecodeBle {
        payload,
        mac,
        bindkey,
        frame_company,
    })
}

/// Decodes and prints; see the module doc for the exit status.
pub fn decode_ble(args: &DecodeBle) -> ExitCode {
    let context = Context {
        mac: args.mac.map(|m| m.0),
        bindkey: args.bindkey.as_ref(),
        frame_company_id: args.frame_company,
    };
    match args.payload.decode(&context) {
        Ok(adv) => super::print_stdout(&format!("{}\n", describe(&adv, args.mac))),
        Err(e) => {
            eprintln!("acs-edge decode ble: {}: {e}", args.payload.describe());
            ExitCode::from(1)
        }
    }
}

/// The decoded advertisement as pretty JSON.
pub fn describe(adv: &Advertisement<'_>, radio_mac: Option<BleAddress>) -> String {
    let mac = adv.mac.map(BleAddress).or(radio_mac);
    let readings: Vec<_> = adv
        .readings
        .as_slice()
        .iter()
        .map(|r| {
            let value = match r.value {
                Value::I64(v) => json!(v),
                other => json!(other.as_f64()),
            };
            json!({"metric": r.metric.to_string(), "value": value})
        })
        .collect();
    let mut doc = json!({
        "format": adv.format.name(),
        "encrypted": adv.encrypted,
        "mac": mac.map(|m| m.to_string()),
        "device": mac.map(|m| m.device_id()),
        "packet_id": adv.packet_id,
        "readings": readings,
    });
    if let Some(id) = adv.device_id {
        doc["frame_device_id"] = json!(format!("{id:016x}"));
        doc["base_ts"] = json!((adv.base_ts_ms != 0).then_some(adv.base_ts_ms));
    }
    if let Some(reason) = adv.stopped {
        doc["stopped"] = json!(reason.to_string());
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
