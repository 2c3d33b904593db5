//! acs-proto frames in manufacturer data (a configured company id): nothing may
//! panic, and every reading that comes out is valid.
#![no_main]

use acs_proto::ble::{decode_manufacturer_data, Context, MAX_READINGS};
use libfuzzer_sys::fuzz_target;

const FRAME_COMPANY: u16 = 0xffff;

fuzz_target!(|data: &[u8]| {
    let context = Context {
        frame_company_id: Some(FRAME_COMPANY),
        ..Context::default()
    };
    if let Ok(adv) = decode_manufacturer_data(FRAME_COMPANY, data, &context) {
        assert!(adv.readings.len() <= MAX_READINGS);
        for reading in &adv.readings {
            assert!(reading.validate().is_ok());
        }
    }
});
