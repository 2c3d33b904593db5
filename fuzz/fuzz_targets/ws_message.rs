//! WebSocket client messages through `api::ws::filter::Filter::apply`. Nothing may panic;
//! every reply is one JSON object, `subscribed` or `error`; an error reply is short whatever
//! the input (it quotes at most 200 characters of it), a `subscribed` one at most about twice
//! the input; a refused message leaves the filter as it was.
#![no_main]

use acs_edge::api::ws::filter::Filter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut filter = Filter::default();
    filter.apply(r#"{"subscribe":{"devices":["a"],"metrics":["t"]}}"#);
    let before = filter.clone();
    let reply = filter.apply(text);
    let value: serde_json::Value = serde_json::from_str(&reply).expect("a JSON reply");
    match value["event"].as_str() {
        Some("subscribed") => assert!(reply.len() <= 2 * text.len() + 256, "{}", reply.len()),
        Some("error") => {
            assert_eq!(filter, before, "a refused message changed the filter");
            assert!(reply.len() <= 2048, "{}", reply.len());
        }
        other => panic!("unexpected reply event {other:?}: {reply}"),
    }
});
