//! ATC1441 service data (UUID16 0x181A, 13 bytes): nothing may
//! panic, and every reading that comes out is valid.
#![no_main]

use acs_proto::ble::{decode_service_data, Context, MAX_READINGS, UUID_ENVIRONMENTAL_SENSING};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // UUID 0x181A picks the decoder by length: fit the input to this one's 13 bytes.
    let mut payload = [0u8; 13];
    let n = data.len().min(13);
    payload[..n].copy_from_slice(&data[..n]);
    if let Ok(adv) = decode_service_data(UUID_ENVIRONMENTAL_SENSING, &payload, &Context::default())
    {
        assert!(adv.readings.len() <= MAX_READINGS);
        for reading in &adv.readings {
            assert!(reading.validate().is_ok());
        }
    }
});
