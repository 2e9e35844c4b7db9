//! How Java turns a scalar's text into a number or a boolean, in one place for
//! both JSON bodies (fastjson's casts) and header fields (Java's
//! `decodeCommandCustomHeader`), so every request reads them alike.
//!
//! Accepted, beyond the plain forms: surrounding whitespace (`" 12 "`), a `+`
//! sign, a fraction of zeros on an integer (`"12.0"`, fastjson strips it), and
//! for booleans fastjson's spellings (`true`/`false` in any case, `1`/`0`,
//! `Y`/`N`, `T`/`F`). Java's own header decoding is stricter on whitespace and
//! reads every boolean other than `true` as false; rmq reads `1`, `Y` and `T`
//! as true there too, since a client that writes them means it.

/// An integer as written, before it is narrowed to its field's type (where a
/// value out of the type's range is refused, never wrapped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integer {
    Signed(i64),
    Unsigned(u64),
}

impl Integer {
    /// Narrows to `T`; `None` when the value is out of `T`'s range.
    pub fn narrow<T: TryFrom<i64> + TryFrom<u64>>(self) -> Option<T> {
        match self {
            Integer::Signed(v) => T::try_from(v).ok(),
            Integer::Unsigned(v) => T::try_from(v).ok(),
        }
    }
}

/// Whether `text` stands for no value: empty or blank, or `null` (fastjson's
/// casts read both as null, so a primitive field keeps its default).
pub fn is_null_text(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text == "null" || text == "NULL"
}

/// Reads an integer: `12`, `" 12 "`, `+12`, `-12`, `12.000`.
pub fn integer(text: &str) -> Option<Integer> {
    let text = text.trim();
    let text = match text.split_once('.') {
        Some((whole, zeros)) if !whole.is_empty() && zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => text,
    };
    let digits = text.strip_prefix('+').unwrap_or(text);
    if let Ok(v) = digits.parse::<i64>() {
        return Some(Integer::Signed(v));
    }
    digits.parse::<u64>().ok().map(Integer::Unsigned)
}

/// Reads an integer and narrows it to `T`: what a header field of type `T` accepts.
pub fn integer_as<T: TryFrom<i64> + TryFrom<u64>>(text: &str) -> Option<T> {
    integer(text)?.narrow()
}

/// Reads a decimal number as Java's `Double.parseDouble` (whitespace ignored).
pub fn float(text: &str) -> Option<f64> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    match text {
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Reads a boolean with fastjson's spellings; `None` for anything else.
pub fn boolean(text: &str) -> Option<bool> {
    let text = text.trim();
    const TRUE: [&str; 4] = ["true", "1", "y", "t"];
    const FALSE: [&str; 4] = ["false", "0", "n", "f"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_in_every_spelling_java_clients_use() {
        for text in ["12", " 12 ", "+12", "12.0", "12.", "\t12\n"] {
            assert_eq!(integer_as::<i32>(text), Some(12), "{text:?}");
        }
        assert_eq!(integer_as::<i64>("-7"), Some(-7));
        assert_eq!(integer_as::<u64>("18446744073709551615"), Some(u64::MAX));
        for text in ["", "abc", "1.5", ".0", "1e3", "0x10", "12 3", "--1"] {
            assert_eq!(integer_as::<i32>(text), None, "{text:?}");
        }
    }

    #[test]
    fn out_of_range_is_refused_not_wrapped() {
        assert_eq!(integer_as::<i32>("3000000000"), None);
        assert_eq!(integer_as::<u32>("-1"), None);
        assert_eq!(integer_as::<i64>("18446744073709551615"), None);
        assert_eq!(integer_as::<i32>("2147483647"), Some(i32::MAX));
    }

    #[test]
    fn booleans_in_fastjson_spellings() {
        for text in ["true", "TRUE", " True ", "1", "Y", "t"] {
            assert_eq!(boolean(text), Some(true), "{text:?}");
        }
        for text in ["false", "False", "0", "n", "F"] {
            assert_eq!(boolean(text), Some(false), "{text:?}");
        }
        for text in ["", "yes", "2", "on"] {
            assert_eq!(boolean(text), None, "{text:?}");
        }
    }

    #[test]
    fn floats_and_null_text() {
        assert_eq!(float(" 1.5 "), Some(1.5));
        assert_eq!(float("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(float("x"), None);
        assert!(is_null_text(" ") && is_null_text("null") && !is_null_text("0"));
    }
}
