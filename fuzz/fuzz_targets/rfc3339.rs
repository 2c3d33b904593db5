//! RFC 3339 timestamps (`timestamp::parse_rfc3339`) against the UTC formatter the daemon
//! writes them with (`logging::format_utc`). Nothing may panic, and for every accepted text:
//! - the result is a whole-millisecond instant inside what 4-digit years and +-23:59 offsets
//!   can express;
//! - `format_utc(ms)` parses back to the same `ms` whenever it stays in years 0000..=9999
//!   (outside, it prints a 5-digit or negative year, which RFC 3339 cannot carry);
//! - fraction digits past the third are truncated, never rounded: dropping them changes nothing;
//! - a `Z` text with at most millisecond precision and no leap second is reproduced exactly
//!   by `format_utc` once its fraction is padded to 3 digits and `t`/space become `T`.
#![no_main]

use acs_edge::logging::format_utc;
use acs_edge::timestamp::parse_rfc3339;
use libfuzzer_sys::fuzz_target;

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;
/// The widest offset, plus a leap second.
const SLACK_MS: i64 = (23 * 60 + 59) * 60_000 + 1000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(ms) = parse_rfc3339(text) else {
        return;
    };
    assert!(text.is_ascii(), "accepted non-ASCII {text:?}");
    assert!((MIN_MS - SLACK_MS..=MAX_MS + SLACK_MS).contains(&ms), "{text:?} -> {ms}");

    let formatted = format_utc(ms);
    if (MIN_MS..=MAX_MS).contains(&ms) {
        assert_eq!(parse_rfc3339(&formatted), Some(ms), "{text:?} -> {ms} -> {formatted:?}");
    }

    // The fraction, if any: bytes 19.. up to the offset.
    let b = text.as_bytes();
    let digits = if b[19] == b'.' {
        b[20..].iter().take_while(|c| c.is_ascii_digit()).count()
    } else {
        0
    };
    if digits > 3 {
        let truncated = format!("{}{}", &text[..23], &text[20 + digits..]);
        assert_eq!(parse_rfc3339(&truncated), Some(ms), "{text:?} vs {truncated:?}");
    }
    let offset = &text[if digits > 0 { 20 + digits } else { 19 }..];
    if digits <= 3 && offset.eq_ignore_ascii_case("z") && &text[17..19] != "60" {
        let mut canonical = text[..19].to_owned();
        canonical.replace_range(10..11, "T");
        let fraction = if digits > 0 { &text[20..20 + digits] } else { "" };
        canonical.push_str(&format!(".{fraction:0<3}Z"));
        assert_eq!(formatted, canonical, "{text:?} -> {ms}");
    }
});
