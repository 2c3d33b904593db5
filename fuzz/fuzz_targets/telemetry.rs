//! MQTT `<prefix>/<device>/telemetry` payloads through `decode_telemetry`. Nothing may panic,
//! and an accepted payload must yield only storable readings: at least one, all of the given
//! device, with valid metric names, finite values and a plausible (or the receive) timestamp.
//! Decoding is deterministic, and whatever is refused is refused with a reason.
#![no_main]

use acs_edge::ingest::telemetry::decode_telemetry;
use acs_edge::model::validate_name;
use libfuzzer_sys::fuzz_target;

const DEVICE: &str = "dev-1";
/// 2026-01-01T00:00:00Z.
const NOW_MS: i64 = 1_767_225_600_000;
/// The decoder's own bound: epoch ms below this are refused as probably epoch seconds.
const MIN_PLAUSIBLE_TS_MS: i64 = 100_000_000_000;

fuzz_target!(|data: &[u8]| {
    let result = decode_telemetry(DEVICE, data, NOW_MS);
    assert_eq!(
        result,
        decode_telemetry(DEVICE, data, NOW_MS),
        "decoding is deterministic"
    );
    let readings = match result {
        Ok(readings) => readings,
        Err(reason) => {
            assert!(!reason.is_empty(), "a refusal carries a reason");
            return;
        }
    };
    assert!(!readings.is_empty(), "an accepted payload has readings");
    for r in &readings {
        assert_eq!(r.device, DEVICE, "reading attributed to another device: {r:?}");
        assert!(validate_name(&r.metric).is_ok(), "invalid metric name: {r:?}");
        assert!(r.value.is_finite(), "non-finite value: {r:?}");
        assert!(
            r.ts_ms == NOW_MS || r.ts_ms >= MIN_PLAUSIBLE_TS_MS,
            "implausible timestamp: {r:?}"
        );
    }
    // The same payload received at another time only changes readings that had no `ts`.
    let later = decode_telemetry(DEVICE, data, NOW_MS + 1).expect("acceptance does not depend on now");
    assert_eq!(later.len(), readings.len());
    for (a, b) in readings.iter().zip(&later) {
        assert_eq!((&a.metric, a.value.to_bits()), (&b.metric, b.value.to_bits()));
        assert!(b.ts_ms == a.ts_ms || (a.ts_ms == NOW_MS && b.ts_ms == NOW_MS + 1));
    }
});
