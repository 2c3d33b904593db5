//! acs-proto frames as the daemon ingests them (`ingest::frame::decode_frame`): on top of
//! proto/fuzz's `parse_frame`, this covers metric naming and timestamp conversion. Nothing may
//! panic; an accepted frame yields at least one reading, all of the topic's device, with valid
//! metric names, finite values and non-negative timestamps; decoding is deterministic.
#![no_main]

use acs_edge::ingest::frame::decode_frame;
use acs_edge::model::validate_name;
use libfuzzer_sys::fuzz_target;

const DEVICE: &str = "dev-1";
const NOW_MS: i64 = 1_767_225_600_000;

fuzz_target!(|data: &[u8]| {
    let result = decode_frame(DEVICE, data, NOW_MS);
    assert_eq!(result, decode_frame(DEVICE, data, NOW_MS));
    let Ok(readings) = result else {
        return;
    };
    assert!(!readings.is_empty());
    for r in &readings {
        assert_eq!(r.device, DEVICE, "{r:?}");
        assert!(validate_name(&r.metric).is_ok(), "{r:?}");
        assert!(r.value.is_finite(), "{r:?}");
        assert!(r.ts_ms >= 0, "{r:?}");
    }
});
