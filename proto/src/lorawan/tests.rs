use super::*;

fn hex(s: &str) -> std::vec::Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key(s: &str) -> AesKey {
    hex(s).try_into().unwrap()
}

const NWK: &str = "44024241ed4ce9a68c6a8bc055233fd3";
const APP: &str = "ec925802ae430ca77fd3dd73cb2cc588";

// lora-packet (npm) README and test suite: "40F17DBE4900020001954378762B11FF0D" is an
// unconfirmed uplink from 49BE7DF1, FCnt 2, FPort 1, carrying "test".
#[test]
fn lora_packet_example_parses_verifies_and_decrypts() {
    let bytes = hex("40F17DBE4900020001954378762B11FF0D");
    let frame = PhyPayload::new_checked(&bytes[..]).unwrap();
    assert_eq!(frame.mtype(), MType::UnconfirmedDataUp);
    assert_eq!(frame.dev_addr(), 0x49BE_7DF1);
    assert_eq!(frame.fcnt16(), 2);
    assert_eq!(frame.fport(), Some(1));
    assert_eq!(frame.fopts(), &[] as &[u8]);
    assert_eq!(frame.mic(), [0x2b, 0x11, 0xff, 0x0d]);
    assert_eq!(frame.compute_mic(&key(NWK), 2), frame.mic());
    assert_eq!(frame.verify_mic(&key(NWK), 2), Ok(()));
    assert_eq!(
        frame.verify_mic(&key(NWK), 0x1_0002),
        Err(LorawanError::BadMic)
    );
    let mut out = [0u8; 255];
    let n = frame
        .decrypt_frm_payload(&key(NWK), &key(APP), 2, &mut out)
        .unwrap();
    assert_eq!(&out[..n], b"test");
}

// mkamka/lora_decrypt README (after LoRaMac-node's LoRaMacPayloadDecrypt): payload
// 11daf7a44d5e2bbe557176e9e6c8da, counter 2, key AABBCCDDEEFFAABBCCDDEEFFAABBCCDD, DevAddr
// 00112233 decrypts to [222, 59, 24, 8, 7, 155, 237, 158, 103, 125, 93, 34, 161, 204, 33].
#[test]
fn payload_decryption_matches_loramac_node_example() {
    let mut data = hex("11daf7a44d5e2bbe557176e9e6c8da");
    crypt_frm_payload(
        &key("AABBCCDDEEFFAABBCCDDEEFFAABBCCDD"),
        0x0011_2233,
        2,
        &mut data,
    );
    assert_eq!(
        data,
        [222, 59, 24, 8, 7, 155, 237, 158, 103, 125, 93, 34, 161, 204, 33]
    );
}

#[test]
fn emitted_uplinks_reproduce_the_reference_frame() {
    let repr = UplinkRepr {
        confirmed: false,
        dev_addr: 0x49BE_7DF1,
        fctrl: FCtrl::default(),
        fcnt: 2,
        fopts: &[],
        fport: Some(1),
        payload: b"test",
    };
    let mut buf = [0u8; MAX_PHY_LEN];
    let n = repr.emit(&key(NWK), &key(APP), &mut buf).unwrap();
    assert_eq!(&buf[..n], &hex("40F17DBE4900020001954378762B11FF0D")[..]);
}

#[test]
fn fopts_port_zero_and_long_payloads_round_trip() {
    let long = [0x5a; 40]; // three A blocks
    for (fopts, fport, payload) in [
        (&[0x02u8, 0x03][..], Some(9u8), &long[..]),
        (&[][..], Some(0), &b"\x02"[..]),
        (&[0x06][..], None, &[][..]),
    ] {
        let repr = UplinkRepr {
            confirmed: true,
            dev_addr: 0x2601_1bda,
            fctrl: FCtrl {
                adr: true,
                ack: true,
                ..FCtrl::default()
            },
            fcnt: 0x0003_0010,
            fopts,
            fport,
            payload,
        };
        let (nwk, app) = (key(NWK), key(APP));
        let mut buf = [0u8; MAX_PHY_LEN];
        let n = repr.emit(&nwk, &app, &mut buf).unwrap();
        assert_eq!(n, repr.buffer_len());
        let frame = PhyPayload::new_checked(&buf[..n]).unwrap();
        assert_eq!(frame.mtype(), MType::ConfirmedDataUp);
        assert_eq!(frame.fctrl(), repr.fctrl);
        assert_eq!(frame.fopts(), fopts);
        assert_eq!(frame.fport(), fport);
        assert_eq!(frame.fcnt16(), 0x0010);
        frame.verify_mic(&nwk, 0x0003_0010).unwrap();
        let mut out = [0u8; 255];
        let len = frame
            .decrypt_frm_payload(&nwk, &app, 0x0003_0010, &mut out)
            .unwrap();
        assert_eq!(&out[..len], payload);
    }
}

#[test]
fn structural_errors_are_named() {
    assert_eq!(
        PhyPayload::new_checked(&[0x40u8; 5][..]).err(),
        Some(LorawanError::Truncated { needed: 12, got: 5 })
    );
    let mut join = hex("40F17DBE4900020001954378762B11FF0D");
    join[0] = 0x00;
    assert_eq!(
        PhyPayload::new_checked(&join[..]).err(),
        Some(LorawanError::NotDataUplink(MType::JoinRequest))
    );
    let mut major = hex("40F17DBE4900020001954378762B11FF0D");
    major[0] = 0x41;
    assert_eq!(
        PhyPayload::new_checked(&major[..]).err(),
        Some(LorawanError::UnsupportedMajor(1))
    );
    let mut fopts = hex("40F17DBE4900020001954378762B11FF0D");
    fopts[5] = 0x0f; // 15 bytes of FOpts do not fit
    assert_eq!(
        PhyPayload::new_checked(&fopts[..]).err(),
        Some(LorawanError::Truncated {
            needed: 27,
            got: 17
        })
    );
    let mut port0 = hex("40F17DBE4900020001954378762B11FF0D");
    port0[5] = 0x01; // one FOpts byte, then FPort = 0x95... set it to 0
    port0[9] = 0x00;
    assert_eq!(
        PhyPayload::new_checked(&port0[..]).err(),
        Some(LorawanError::FOptsWithPortZero)
    );
    assert_eq!(
        PhyPayload::new_checked(&[0x40u8; 256][..]).err(),
        Some(LorawanError::TooLong(256))
    );
}

#[test]
fn counter_extension_follows_the_session() {
    assert_eq!(extend_fcnt(None, 7), 7);
    assert_eq!(extend_fcnt(Some(5), 6), 6);
    assert_eq!(extend_fcnt(Some(5), 5), 5); // a replay: the caller refuses <= last
    assert_eq!(extend_fcnt(Some(100), 99), 99);
    assert_eq!(extend_fcnt(Some(0xffff), 2), 0x1_0002);
    assert_eq!(extend_fcnt(Some(0x1_0005), 0xfff0), 0xfff0);
    assert_eq!(extend_fcnt(Some(0x2_fff0), 0x0001), 0x3_0001);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        if let Ok(frame) = PhyPayload::new_checked(&bytes[..]) {
            let k = [7u8; 16];
            let _ = frame.verify_mic(&k, 1);
            let mut out = [0u8; 255];
            let n = frame.decrypt_frm_payload(&k, &k, 1, &mut out).unwrap();
            proptest::prop_assert_eq!(n, frame.frm_payload().len());
            proptest::prop_assert_eq!(frame.mic_input().len() + MIC_LEN, bytes.len());
            let _ = (frame.fopts(), frame.fport(), frame.fctrl(), frame.fcnt16());
        }
    }

    #[test]
    fn extension_recovers_nearby_counters(last in 0u32..0xfff0_0000, step in 1u32..0x8000) {
        let next = last + step;
        proptest::prop_assert_eq!(extend_fcnt(Some(last), next as u16), next);
    }
}
