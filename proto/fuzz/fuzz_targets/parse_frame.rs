//! Feeds arbitrary bytes through everything a gateway does with a received frame: the
//! header check, the CRC, and full iteration of the readings. Nothing may panic; and any
//! frame that parses completely must survive a re-emit -> re-parse with the same meaning.
#![no_main]

use acs_proto::{Frame, FrameRepr, MAX_FRAME_LEN, TRAILER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(frame) = Frame::new_checked(data) else {
        return;
    };
    let crc_ok = frame.check_crc().is_ok();
    let header = FrameRepr::parse(&frame);
    assert_eq!(frame.mic_input().len() + TRAILER_LEN, data.len());
    assert_eq!(frame.body().len(), frame.body_len());
    let _ = frame.trailer();

    let Ok(iter) = frame.readings() else {
        return;
    };
    let base_ts_ms = iter.base_ts_ms();
    let mut readings = Vec::new();
    let mut failed = false;
    for item in iter {
        assert!(!failed, "iteration continued after an error");
        match item {
            Ok(reading) => {
                assert!(reading.validate().is_ok());
                readings.push(reading);
            }
            Err(_) => failed = true,
        }
    }
    if failed || !crc_ok {
        return;
    }

    // Semantic round trip (bytes may differ: postcard accepts over-long varints).
    let mut buf = [0u8; MAX_FRAME_LEN];
    let len = header
        .emit(base_ts_ms, &readings, &mut buf)
        .expect("a parsed frame re-emits");
    assert!(len <= data.len(), "re-emitted frame is never longer");
    let again = Frame::new_checked(&buf[..len]).expect("re-emitted frame checks");
    assert!(again.check_crc().is_ok());
    assert_eq!(FrameRepr::parse(&again), header);
    let iter = again.readings().expect("re-emitted body decodes");
    assert_eq!(iter.base_ts_ms(), base_ts_ms);
    let reparsed: Vec<_> = iter
        .map(|r| r.expect("re-emitted reading decodes"))
        .collect();
    assert_eq!(reparsed, readings);
});
