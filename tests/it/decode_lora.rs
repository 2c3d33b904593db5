//! `acs-edge decode lorawan` on the shared vectors, on an LPP uplink, and on bad input.

use crate::common;

use common::command;
use serde_json::Value;
use std::path::PathBuf;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = command().args(args).output().expect("run acs-edge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn decode(frame: &str, nwk: &str, app: &str) -> (i32, String, String) {
    run(&[
        "decode",
        "lorawan",
        frame,
        "--nwkskey",
        nwk,
        "--appskey",
        app,
    ])
}

const NWK: &str = "44024241ed4ce9a68c6a8bc055233fd3";
const APP: &str = "ec925802ae430ca77fd3dd73cb2cc588";

#[test]
fn shared_vectors_decode_to_their_expected_fields() {
    // The committed copy of the public vectors (proto/tests/vectors, source named inside).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto/tests/vectors/lorawan.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let (code, out, err) = decode(
            case["phy_payload_hex"].as_str().unwrap(),
            case["nwk_s_key"].as_str().unwrap(),
            case["app_s_key"].as_str().unwrap(),
        );
        assert_eq!(code, 0, "{err}");
        let got: Value = serde_json::from_str(&out).unwrap();
        let expect = &case["expect"];
        for field in [
            "mtype",
            "dev_addr",
            "fcnt",
            "fport",
            "mic",
            "frm_payload_utf8",
        ] {
            assert_eq!(got[field], expect[field], "{field} in {out}");
        }
        assert_eq!(got["mic_ok"], true);
    }
}

#[test]
fn lpp_payloads_print_as_readings() {
    // Built with acs-proto: DevAddr 26011BDA, FCnt 1, FPort 2, LPP temperature 21.5 (ch 1),
    // humidity 50 % (ch 2), under the keys below.
    let nwk = [0x2Bu8; 16];
    let app = [0x3Cu8; 16];
    let payload = [1, 0x67, 0x00, 0xd7, 2, 0x68, 100];
    let repr = acs_proto::lorawan::UplinkRepr {
        confirmed: true,
        dev_addr: 0x2601_1BDA,
        fctrl: Default::default(),
        fcnt: 1,
        fopts: &[],
        fport: Some(2),
        payload: &payload,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&nwk, &app, &mut buf).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let (code, out, err) = decode(&hex(&buf), &hex(&nwk), &hex(&app));
    assert_eq!(code, 0, "{err}");
    let got: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(got["mtype"], "confirmed_data_up");
    assert_eq!(
        got["readings"],
        serde_json::json!([
            {"metric": "temperature_1", "value": 21.5},
            {"metric": "humidity_2", "value": 50.0}
        ])
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let frame = "40F17DBE4900020001954378762B11FF0D";
    let wrong_key = "00000000000000000000000000000000";
    let (code, _, err) = decode(frame, wrong_key, APP);
    assert_eq!(code, 1);
    assert!(
        err.contains("MIC mismatch") && err.contains("49BE7DF1"),
        "{err}"
    );

    let (code, _, err) = decode("40F17D", NWK, APP);
    assert_eq!(code, 1);
    assert!(err.contains("truncated"), "{err}");

    let (code, _, err) = decode("4zz", NWK, APP);
    assert_eq!(code, 2);
    assert!(err.contains("frame:"), "{err}");

    let (code, _, err) = decode(frame, "0011", APP);
    assert_eq!(code, 2);
    assert!(err.contains("--nwkskey: expected 16 bytes"), "{err}");

    let (code, _, err) = run(&["decode", "lorawan", frame, "--nwkskey", NWK]);
    assert_eq!(code, 2);
    assert!(err.contains("missing --appskey"), "{err}");
}
