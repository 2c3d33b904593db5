//! Request heads through `api::http::head::parse`, the framing every HTTP request passes
//! before a handler sees it. Nothing may panic; an accepted head lies within the input and the
//! header limit, declares a body within the body limit and has an origin-form target; and the
//! result does not depend on how the bytes arrived: every prefix that holds the whole head
//! parses to the same head, and shorter prefixes are incomplete (never refused differently).
#![no_main]

use acs_edge::api::http::head::parse;
use libfuzzer_sys::fuzz_target;

const HEAD: usize = 2048;
const BODY: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let whole = parse(data, HEAD, BODY);
    if let Ok(Some(head)) = &whole {
        assert!(head.len <= data.len() && head.len <= HEAD);
        assert!(head.content_length <= BODY);
        assert!(head.url.starts_with('/') || head.url == "*", "{:?}", head.url);
        assert!(head.url.bytes().all(|b| b.is_ascii_graphic()));
    }
    if let Err(refusal) = &whole {
        assert!([400, 411, 413, 431, 505].contains(&refusal.status), "{refusal:?}");
        assert!(!refusal.message.is_empty());
    }
    // Split points: the first byte's value picks one, so the fuzzer explores them.
    let Some(&pick) = data.first() else {
        return;
    };
    let cut = usize::from(pick) * data.len() / 256;
    let prefix = parse(&data[..cut], HEAD, BODY);
    match (&whole, &prefix) {
        (Ok(Some(head)), Ok(Some(early))) => assert_eq!(head, early),
        (Ok(Some(head)), Ok(None)) => assert!(cut < head.len),
        (Ok(Some(head)), Err(_)) => assert!(cut < head.len),
        (Ok(None), Ok(Some(_))) => panic!("a prefix is complete but the whole is not"),
        _ => {}
    }
});
