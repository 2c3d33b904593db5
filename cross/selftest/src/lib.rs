//! Proves that cross tests really run on the emulated target: the endianness and pointer
//! width that cross/test-cross.sh expects for the triple (baked in at compile time from
//! CROSS_EXPECT_ENDIAN / CROSS_EXPECT_POINTER_WIDTH) must match what the running code sees.

#[cfg(test)]
mod tests {
    #[test]
    fn runs_with_the_expected_byte_order() {
        let seen = if 1u32.to_ne_bytes()[0] == 1 { "little" } else { "big" };
        assert_eq!(seen, if cfg!(target_endian = "big") { "big" } else { "little" });
        if let Some(want) = option_env!("CROSS_EXPECT_ENDIAN") {
            assert_eq!(seen, want, "test binary is not running on the expected target");
        }
        // the wire formats are little-endian: the bytes must not depend on the host
        assert_eq!(0x0102_0304u32.to_le_bytes(), [4, 3, 2, 1]);
        assert_eq!(0x0102_0304u32.to_be_bytes(), [1, 2, 3, 4]);
    }

    #[test]
    fn runs_with_the_expected_pointer_width() {
        if let Some(want) = option_env!("CROSS_EXPECT_POINTER_WIDTH") {
            assert_eq!((usize::BITS).to_string(), want);
        }
    }
}
