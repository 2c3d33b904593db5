//! The public LoRaWAN vectors (`tests/vectors/lorawan.json`, a committed copy of the project's
//! shared vector file; its `about` names their source): every case must parse, pass its MIC
//! and decrypt to the expected payload.

use acs_proto::lorawan::{extend_fcnt, AesKey, PhyPayload};
use std::path::PathBuf;

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/lorawan.json")
}

fn key(hex_key: &str) -> AesKey {
    hex::decode(hex_key).unwrap().try_into().unwrap()
}

#[test]
fn shared_vectors_parse_verify_and_decrypt() {
    let text = std::fs::read_to_string(vectors_path())
        .unwrap_or_else(|e| panic!("{}: {e}", vectors_path().display()));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let bytes = hex::decode(case["phy_payload_hex"].as_str().unwrap()).unwrap();
        let (nwk, app) = (
            key(case["nwk_s_key"].as_str().unwrap()),
            key(case["app_s_key"].as_str().unwrap()),
        );
        let expect = &case["expect"];
        let frame = PhyPayload::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.mtype().name(), expect["mtype"]);
        assert_eq!(format!("{:08X}", frame.dev_addr()), expect["dev_addr"]);
        let fcnt = extend_fcnt(None, frame.fcnt16());
        assert_eq!(u64::from(fcnt), expect["fcnt"].as_u64().unwrap());
        assert_eq!(
            frame.fport().map(u64::from),
            expect["fport"].as_u64(),
            "fport"
        );
        assert_eq!(hex::encode(frame.mic()), expect["mic"]);
        frame.verify_mic(&nwk, fcnt).unwrap();
        let mut out = [0u8; 255];
        let n = frame
            .decrypt_frm_payload(&nwk, &app, fcnt, &mut out)
            .unwrap();
        if let Some(text) = expect["frm_payload_utf8"].as_str() {
            assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), text);
        }
    }
}
