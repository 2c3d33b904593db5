//! BTHome v2 service data, plain and encrypted: nothing may panic, and every reading that comes
//! out is valid. The first input byte chooses the context (no key, key + MAC, key only) so the
//! decryption path is reached; with a fixed key the fuzzer cannot forge a MIC, so the
//! post-decryption parser is covered by the plain path and by `ble_props.rs`.
#![no_main]

use acs_proto::ble::{decode_service_data, Context, MAX_READINGS, UUID_BTHOME};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 16] = [
    0x23, 0x1d, 0x39, 0xc1, 0xd7, 0xcc, 0x1a, 0xb1, 0xae, 0xe2, 0x24, 0xcd, 0x09, 0x6d, 0xb9, 0x32,
];
const MAC: [u8; 6] = [0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let context = match selector % 3 {
        0 => Context::default(),
        1 => Context {
            mac: Some(MAC),
            bindkey: Some(&KEY),
            frame_company_id: None,
        },
        _ => Context {
            bindkey: Some(&KEY),
            ..Context::default()
        },
    };
    if let Ok(adv) = decode_service_data(UUID_BTHOME, payload, &context) {
        assert!(adv.readings.len() <= MAX_READINGS);
        for reading in &adv.readings {
            assert!(reading.validate().is_ok());
        }
    }
});
