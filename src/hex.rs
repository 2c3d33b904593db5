//! Hex text to bytes, as users type keys and payloads on the command line:
//! spaces and colons between bytes are ignored.

/// Hex digits to bytes; spaces and colons between bytes are ignored.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).map_err(|_| "not hex".to_string())?;
            u8::from_str_radix(s, 16).map_err(|_| format!("{s:?} is not a hex byte"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_accepts_spaces_and_colons_and_refuses_odd_lengths() {
        assert_eq!(super::decode("01 ab:FF"), Ok(vec![1, 0xab, 0xff]));
        assert!(super::decode("abc").is_err());
        assert!(super::decode("zz").is_err());
    }
}
