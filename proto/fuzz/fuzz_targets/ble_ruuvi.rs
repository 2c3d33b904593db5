//! Ruuvi data format 5 manufacturer data (company 0x0499): nothing may
//! panic, and every reading that comes out is valid.
#![no_main]

use acs_proto::ble::{decode_manufacturer_data, Context, COMPANY_RUUVI, MAX_READINGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let context = Context {
        frame_company_id: Some(0xffff),
        ..Context::default()
    };
    if let Ok(adv) = decode_manufacturer_data(COMPANY_RUUVI, data, &context) {
        assert!(adv.readings.len() <= MAX_READINGS);
        for reading in &adv.readings {
            assert!(reading.validate().is_ok());
        }
    }
});
