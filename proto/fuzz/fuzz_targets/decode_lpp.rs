//! Feeds arbitrary bytes to the Cayenne LPP decoder: no panic, finite values, at most one
//! error and nothing after it, and every item's length accounted for.
#![no_main]

use acs_proto::lpp::decode_lpp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut consumed = 0;
    let mut failed = false;
    for item in decode_lpp(data) {
        assert!(!failed, "iteration continued after an error");
        match item {
            Ok(item) => {
                assert!(item.values().iter().all(|v| v.is_finite()));
                consumed += 2 + item.kind.data_len().expect("decoded types are known");
            }
            Err(_) => failed = true,
        }
    }
    assert!(consumed <= data.len());
    if !failed {
        assert_eq!(consumed, data.len());
    }
});
