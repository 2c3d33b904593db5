//! Request targets through `api::respond::parse_query`. Nothing may panic; the path is the
//! text before any `?` or `#`, and there are no more pairs than `&`-separated parts, none of
//! them longer than its raw text (percent-decoding only shrinks, lossy UTF-8 aside).
#![no_main]

use acs_edge::api::respond::parse_query;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else {
        return;
    };
    let (path, pairs) = parse_query(url);
    assert!(url.starts_with(path), "{url:?} -> {path:?}");
    assert!(!path.contains(['?', '#']), "{url:?} -> {path:?}");
    let query = url.split('#').next().unwrap_or(url).split_once('?').map_or("", |(_, q)| q);
    assert!(pairs.len() <= query.split('&').count(), "{url:?}");
    for (k, v) in &pairs {
        // U+FFFD (3 bytes) replaces at least one byte of an invalid sequence.
        assert!(k.len() + v.len() <= 3 * query.len(), "{url:?}");
        assert!(!k.is_empty() || !v.is_empty() || query.contains('='), "{url:?}");
    }
});
