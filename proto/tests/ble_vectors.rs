//! The shared public BLE test vectors: every case decodes to exactly the expected values, or is
//! refused. `tests/vectors/ble.json` is a committed copy of the project's shared public vector
//! file (its source is named inside); refresh the copy to test newer cases.
//!
//! The vector file names fields as the formats' documents do; the gateway's names differ for
//! three of them, mapped here: `pressure_pa` is `pressure` in hPa, `packet_id` / `sequence` are
//! the advertisement's packet id (not readings), and `mac` is the address the payload carries.

use acs_proto::ble::{decode_manufacturer_data, decode_service_data, Advertisement, Context};
use serde_json::Value as Json;

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn vector_files() -> Vec<std::path::PathBuf> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![manifest.join("tests/vectors/ble.json")]
}

fn load(path: &std::path::Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn check(family: &str, adv: &Advertisement<'_>, expect: &serde_json::Map<String, Json>) {
    let mut seen = 0;
    for (key, want) in expect {
        let what = format!("{family} {key}");
        match key.as_str() {
            "packet_id" | "sequence" => {
                assert_eq!(adv.packet_id.map(u64::from), want.as_u64(), "{what}");
                continue;
            }
            "mac" => {
                assert_eq!(adv.mac.map(mac_text).as_deref(), want.as_str(), "{what}");
                continue;
            }
            _ => {}
        }
        let (name, want) = match key.as_str() {
            "pressure_pa" => ("pressure", want.as_f64().unwrap() / 100.0),
            name => (name, want.as_f64().unwrap()),
        };
        let got = adv
            .readings
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no reading {name}"))
            .as_f64();
        assert!((got - want).abs() < 1e-9, "{what}: got {got}, want {want}");
        seen += 1;
    }
    assert_eq!(
        adv.readings.len(),
        seen,
        "{family}: readings beyond the expected ones"
    );
}

#[test]
fn every_shared_vector_decodes_as_expected() {
    for path in vector_files() {
        let cases = run_file(&load(&path));
        assert!(cases >= 7, "{}: only {cases} cases", path.display());
    }
}

/// Runs every case of one vector file; returns how many ran.
fn run_file(doc: &Json) -> usize {
    let mut cases = 0;
    for (family, uuid_or_company, service) in [
        ("bthome_v2", 0xfcd2, true),
        ("pvvx_custom", 0x181a, true),
        ("atc1441", 0x181a, true),
        ("ruuvi_rawv2", 0x0499, false),
    ] {
        for case in doc[family]["cases"].as_array().expect(family) {
            let hex_key = if service {
                "service_data_hex"
            } else {
                "manufacturer_data_hex"
            };
            let bytes = unhex(case[hex_key].as_str().expect(hex_key));
            let result = if service {
                decode_service_data(uuid_or_company, &bytes, &Context::default())
            } else {
                decode_manufacturer_data(uuid_or_company, &bytes, &Context::default())
            };
            match &case["expect"] {
                Json::Object(expect) => {
                    let adv = result.unwrap_or_else(|e| panic!("{family}: {e}"));
                    assert_eq!(adv.stopped, None, "{family}");
                    check(family, &adv, expect);
                }
                Json::String(text) if text.starts_with("reject") => {
                    let err = result.expect_err(text);
                    // "reject: unsupported BTHome version 7" names the reason.
                    let reason = text.trim_start_matches("reject: ").to_lowercase();
                    assert!(
                        err.to_string().to_lowercase().contains(&reason),
                        "{family}: error {err:?} does not say {reason:?}"
                    );
                }
                Json::String(text) if text.contains("report no readings") => {
                    let adv = result.unwrap_or_else(|e| panic!("{family}: {e}"));
                    assert!(adv.readings.is_empty(), "{family}: {:?}", adv.readings);
                    assert_eq!((adv.packet_id, adv.mac), (None, None), "{family}");
                }
                other => panic!("{family}: unknown expectation {other}"),
            }
            cases += 1;
        }
    }
    cases
}
