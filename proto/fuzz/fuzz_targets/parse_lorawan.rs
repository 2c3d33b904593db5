//! Feeds arbitrary bytes through what a gateway does with a LoRaWAN uplink: the structural
//! check, the MIC, payload decryption with the counter extension, and the Cayenne LPP decoder
//! on the result. Nothing may panic; a frame re-emitted from its decrypted parts must verify.
#![no_main]

use acs_proto::lorawan::{extend_fcnt, PhyPayload, UplinkRepr, MAX_PHY_LEN};
use acs_proto::lpp::decode_lpp;
use libfuzzer_sys::fuzz_target;

const NWK: [u8; 16] = [1; 16];
const APP: [u8; 16] = [2; 16];

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = PhyPayload::new_checked(data) else {
        return;
    };
    let fcnt = extend_fcnt(Some(0x1_0000), frame.fcnt16());
    let _ = frame.verify_mic(&NWK, fcnt);
    let mut plain = [0u8; MAX_PHY_LEN];
    let n = frame
        .decrypt_frm_payload(&NWK, &APP, fcnt, &mut plain)
        .expect("a 255-byte buffer fits any payload");
    for item in decode_lpp(&plain[..n]) {
        if let Ok(item) = item {
            assert!(item.values().iter().all(|v| v.is_finite()));
        }
    }
    let repr = UplinkRepr {
        confirmed: frame.mtype() == acs_proto::lorawan::MType::ConfirmedDataUp,
        dev_addr: frame.dev_addr(),
        fctrl: frame.fctrl(),
        fcnt,
        fopts: frame.fopts(),
        fport: frame.fport(),
        payload: &plain[..n],
    };
    let mut again = [0u8; MAX_PHY_LEN];
    let len = repr.emit(&NWK, &APP, &mut again).expect("parsed frames re-emit");
    let reparsed = PhyPayload::new_checked(&again[..len]).expect("re-emitted frame checks");
    assert!(reparsed.verify_mic(&NWK, fcnt).is_ok());
    assert_eq!(reparsed.frm_payload(), frame.frm_payload());
});
