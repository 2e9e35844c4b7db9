//! Java behaviours the formats depend on.

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code
/// units with wrapping 32-bit arithmetic.
///
/// RocketMQ stores it as a message's tag code in the consume queue and uses it
/// for index keys, so it must match Java bit for bit, including for characters
/// outside the BMP (two code units each).
pub fn string_hash_code(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

#[cfg(test)]
mod tests {
    use super::string_hash_code;

    #[test]
    fn matches_java_values() {
        // Values computed by java.lang.String#hashCode.
        assert_eq!(string_hash_code(""), 0);
        assert_eq!(string_hash_code("TagA"), 2598919);
        assert_eq!(string_hash_code("hello"), 99162322);
        assert_eq!(string_hash_code("TopicTest#key-1"), 204089217);
        // U+1F600 is a surrogate pair in UTF-16.
        assert_eq!(string_hash_code("\u{1F600}"), 1772899);
    }
}
