//! `acs-edge decode ble` as a user meets it: readings as JSON for every supported format, and
//! clear errors (with distinct exit statuses) for bad hex, a wrong bindkey, an unknown format.

use crate::common;

use common::command;
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["decode", "ble"];
    all.extend_from_slice(args);
    let out = command().args(&all).output().expect("run acs-edge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn decoded(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).expect("stdout is JSON")
}

fn readings(doc: &Value) -> Vec<(String, f64)> {
    doc["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"].as_str().unwrap().to_owned(),
                r["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

const KEY: &str = "231d39c1d7cc1ab1aee224cd096db932";

#[test]
fn bthome_plain_prints_readings_packet_id_and_device() {
    let doc = decoded(&[
        "--service-data",
        "fcd2:400009015d025d0903b718",
        "--mac",
        "A4:C1:38:8D:18:B2",
    ]);
    assert_eq!(doc["format"], "bthome_v2");
    assert_eq!(doc["packet_id"], 9);
    assert_eq!(doc["device"], "ble-a4c1388d18b2");
    assert_eq!(doc["encrypted"], false);
    assert_eq!(
        readings(&doc),
        [
            ("battery".into(), 93.0),
            ("temperature".into(), 23.97),
            ("humidity".into(), 63.27)
        ]
    );
}

#[test]
fn bthome_encrypted_decodes_with_the_bindkey_and_fails_clearly_without_it() {
    let payload = "fcd2:41e445f3c9962b332211006c7c4519";
    let doc = decoded(&[
        "--service-data",
        payload,
        "--mac",
        "54:48:e6:8f:80:a5",
        "--bindkey",
        KEY,
    ]);
    assert_eq!(doc["encrypted"], true);
    assert_eq!(doc["packet_id"], 0x0011_2233);
    assert_eq!(
        readings(&doc),
        [("temperature".into(), 25.06), ("humidity".into(), 50.55)]
    );

    let wrong = KEY.replace("231d", "231e");
    let (code, out, err) = run(&[
        "--service-data",
        payload,
        "--mac",
        "54:48:e6:8f:80:a5",
        "--bindkey",
        &wrong,
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("MIC mismatch") && err.contains("wrong bindkey"),
        "{err}"
    );

    let (code, _, err) = run(&["--service-data", payload, "--mac", "54:48:e6:8f:80:a5"]);
    assert_eq!(code, 1);
    assert!(err.contains("bindkey"), "{err}");
    let (code, _, err) = run(&["--service-data", payload, "--bindkey", KEY]);
    assert_eq!(code, 1);
    assert!(err.contains("MAC"), "{err}");
}

#[test]
fn xiaomi_custom_firmwares_and_ruuvi_decode() {
    let pvvx = decoded(&["--service-data", "181a:f4830238c1a4a9066911b60b58f70d"]);
    assert_eq!(pvvx["format"], "pvvx_custom");
    assert_eq!(pvvx["mac"], "A4:C1:38:02:83:F4");
    assert_eq!(
        readings(&pvvx),
        [
            ("temperature".into(), 17.05),
            ("humidity".into(), 44.57),
            ("battery_mv".into(), 2998.0),
            ("battery".into(), 88.0)
        ]
    );
    let atc = decoded(&["--service-data", "0x181A:a4c1380283f400a22f5f0bf819"]);
    assert_eq!(atc["format"], "atc1441");
    assert_eq!(atc["packet_id"], 25);
    let ruuvi = decoded(&[
        "--manufacturer-data",
        "0499:0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F",
    ]);
    assert_eq!(ruuvi["format"], "ruuvi_v5");
    assert_eq!(ruuvi["packet_id"], 205);
    assert!(readings(&ruuvi).contains(&("pressure".into(), 1000.44)));
    let none = decoded(&[
        "--manufacturer-data",
        "0499:058000FFFFFFFF800080008000FFFFFFFFFFFFFFFFFFFFFF",
    ]);
    assert_eq!(readings(&none), []);
    assert_eq!(none["mac"], Value::Null);
}

#[test]
fn acs_frames_decode_under_the_given_company_id() {
    let frame =
        acs_edge::ingest::frame::encode_frame(0x0011_2233_4455_6677, 7, 0, &[("co2", 415.0)]);
    let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
    let payload = format!("ffff:{hex}");
    let doc = decoded(&["--manufacturer-data", &payload, "--frame-company", "0xffff"]);
    assert_eq!(doc["format"], "acs_frame");
    assert_eq!(doc["frame_device_id"], "0011223344556677");
    assert_eq!(doc["packet_id"], 7);
    assert_eq!(readings(&doc), [("co2".into(), 415.0)]);
    // Without --frame-company the company is just unknown.
    let (code, _, err) = run(&["--manufacturer-data", &payload]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown format"), "{err}");
}

#[test]
fn bad_arguments_exit_2_with_the_reason() {
    for (args, needle) in [
        (
            &["--service-data", "fcd2:40zz"][..],
            "\"zz\" is not a hex byte",
        ),
        (
            &["--service-data", "fcd2:400"][..],
            "odd number of hex digits",
        ),
        (&["--service-data", "40ca"][..], "is not ID:HEX"),
        (&["--service-data", "fcd2x:40"][..], "16-bit hex id"),
        (
            &["--service-data", "fcd2:40", "--bindkey", "abcd"][..],
            "32 hex digits",
        ),
        (
            &["--service-data", "fcd2:40", "--mac", "a4:c1"][..],
            "MAC address",
        ),
        (
            &["--mac", "a4:c1:38:8d:18:b2"][..],
            "--service-data or --manufacturer-data",
        ),
        (
            &["--service-data", "fcd2:40", "--colour", "x"][..],
            "unknown option --colour",
        ),
    ] {
        let (code, out, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn unknown_formats_and_versions_exit_1_with_the_reason() {
    for (args, needle) in [
        (
            &["--service-data", "fe95:5020aa01"][..],
            "no decoder for service data UUID 0xfe95",
        ),
        (
            &["--manufacturer-data", "004c:0215"][..],
            "no decoder for manufacturer data of company 0x004c",
        ),
        (
            &["--service-data", "fcd2:e102000c0404138a01"][..],
            "unsupported BTHome version 7",
        ),
        (
            &["--service-data", "181a:a4c138"][..],
            "neither pvvx custom (15) nor ATC1441 (13)",
        ),
    ] {
        let (code, _, err) = run(args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn unknown_bthome_object_keeps_earlier_readings_and_says_where_it_stopped() {
    let doc = decoded(&["--service-data", "fcd2:40015dfe5d0903b718"]);
    assert_eq!(readings(&doc), [("battery".into(), 93.0)]);
    assert!(doc["stopped"].as_str().unwrap().contains("0xfe"), "{doc}");
}
