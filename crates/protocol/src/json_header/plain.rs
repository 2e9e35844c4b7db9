//! The fast path for the JSON header every client library writes: one flat
//! object of the known keys, integer or string scalars, and a flat
//! `extFields` object.
//!
//! Decoding a send's header through serde's generic machinery cost about a
//! fifth of the broker's CPU per message. This reader scans the bytes once and
//! builds [`In`] directly. It gives up (`None`) on anything it does not fully
//! understand (an unknown or repeated key, an escaped key, a float, a nested
//! value, invalid UTF-8, trailing bytes), and the caller then reads the header
//! through serde and the fastjson layer as before. So it never answers
//! differently from them: it only answers sooner. The tests check that
//! against the slow path on generated headers.

use super::{In, Scalar};
use crate::command::ExtFields;
use rmq_model::fastjson::scalar::{self, Integer};
use std::borrow::Cow;

/// Reads `header`, or `None` when the general path must.
pub(super) fn read(header: &[u8]) -> Option<In> {
    // Validated once here, so every slice between ASCII delimiters is text.
    let text = std::str::from_utf8(header).ok()?;
    let mut cur = Cursor { text, src: header, pos: 0 };
    let mut seen = Seen::default();
    let mut h = In {
        code: 0,
        language: Scalar(None),
        version: 0,
        opaque: 0,
        flag: 0,
        remark: None,
        ext_fields: ExtFields::new(),
    };
    cur.expect(b'{')?;
    if !cur.eat(b'}') {
        loop {
            let key = cur.key()?;
            cur.expect(b':')?;
            let bit = KEYS.iter().position(|k| k.as_bytes() == key)?;
            seen.first(bit)?;
            match key {
                b"code" => h.code = int_field(cur.scalar()?)?,
                b"version" => h.version = int_field(cur.scalar()?)?,
                b"opaque" => h.opaque = int_field(cur.scalar()?)?,
                b"flag" => h.flag = int_field(cur.scalar()?)?,
                b"language" => h.language = Scalar(cur.scalar()?.into_text().map(Cow::into_owned)),
                b"remark" => {
                    h.remark = match cur.scalar()? {
                        Value::Str(s) => Some(s.into_owned()),
                        Value::Null => None,
                        _ => return None,
                    }
                }
                b"extFields" => h.ext_fields = cur.ext_fields()?,
                // Written by Java's fastjson and ignored by serde: a string.
                _ => match cur.scalar()? {
                    Value::Str(_) => {}
                    _ => return None,
                },
            }
            if cur.eat(b'}') {
                break;
            }
            cur.expect(b',')?;
        }
    }
    cur.skip_ws();
    if cur.pos != header.len() {
        return None;
    }
    // `code` is the one key serde requires.
    seen.has(0).then_some(h)
}

/// The keys the fast path knows; `code` first.
const KEYS: [&str; 8] =
    ["code", "version", "opaque", "flag", "language", "remark", "extFields", "serializeTypeCurrentRPC"];

/// An `int` header field as the serde path reads it: null is 0, a number or a
/// string holding one is wrapped to 32 bits.
fn int_field(value: Value<'_>) -> Option<i32> {
    match value {
        Value::Null => Some(0),
        Value::Int(v) => Some(v as i32),
        Value::Str(text) => match scalar::integer(&text)? {
            Integer::Signed(v) => Some(v as i32),
            Integer::Unsigned(v) => Some(v as i32),
        },
        Value::Bool(_) => None,
    }
}

/// Where the run of plain string bytes at the start of `bytes` ends: at a
/// quote, a backslash or a raw control character (which JSON forbids).
fn special(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

/// The top-level keys already read; a repeat is the general path's to judge.
#[derive(Default)]
struct Seen(u8);

impl Seen {
    fn has(&self, bit: usize) -> bool {
        self.0 & (1 << bit) != 0
    }

    fn first(&mut self, bit: usize) -> Option<()> {
        if self.has(bit) {
            return None;
        }
        self.0 |= 1 << bit;
        Some(())
    }
}

/// A scalar value; what the fast path does not take (floats, big numbers,
/// arrays, objects) is not represented.
enum Value<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Bool(bool),
    Null,
}

impl<'a> Value<'a> {
    /// Java's string form, as [`Scalar`] keeps it; `null` is absent.
    fn into_text(self) -> Option<Cow<'a, str>> {
        match self {
            Value::Str(s) => Some(s),
            Value::Int(v) => Some(Cow::Owned(v.to_string())),
            Value::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Value::Null => None,
        }
    }
}

struct Cursor<'a> {
    text: &'a str,
    /// `text`'s bytes.
    src: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Skips whitespace and takes `byte` if it comes next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_ws();
        if self.src.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// A key: a string without escapes (the known keys have none).
    fn key(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        let len = special(&self.src[start..])?;
        self.pos = start + len;
        if self.src[self.pos] != b'"' {
            return None;
        }
        self.pos += 1;
        Some(&self.src[start..start + len])
    }

    fn scalar(&mut self) -> Option<Value<'a>> {
        self.skip_ws();
        match *self.src.get(self.pos)? {
            b'"' => {
                self.pos += 1;
                self.string().map(Value::Str)
            }
            b't' => self.word(b"true").map(|_| Value::Bool(true)),
            b'f' => self.word(b"false").map(|_| Value::Bool(false)),
            b'n' => self.word(b"null").map(|_| Value::Null),
            b'-' | b'0'..=b'9' => self.integer().map(Value::Int),
            _ => None,
        }
    }

    fn word(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.src.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// A JSON integer that fits an `i64`, in its one canonical spelling (no
    /// leading zero, no `-0`), so its text and its value's text agree.
    fn integer(&mut self) -> Option<i64> {
        let start = self.pos;
        let negative = self.src[start] == b'-';
        let digits_start = start + usize::from(negative);
        let digits = self.src[digits_start..].iter().take_while(|b| b.is_ascii_digit()).count();
        let end = digits_start + digits;
        let canonical = match digits {
            0 => false,
            1 => !(negative && self.src[digits_start] == b'0'),
            _ => self.src[digits_start] != b'0',
        };
        if !canonical || matches!(self.src.get(end), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let value = self.text[start..end].parse().ok()?;
        self.pos = end;
        Some(value)
    }

    /// The rest of a string whose opening quote was taken; borrowed unless it
    /// has escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos;
        let plain = special(&self.src[start..])?;
        self.pos = start + plain;
        if self.src[self.pos] == b'"' {
            self.pos += 1;
            return Some(Cow::Borrowed(&self.text[start..self.pos - 1]));
        }
        // Escapes only shorten: what is left of the header is room enough.
        let mut owned = String::with_capacity(self.src.len() - start);
        owned.push_str(&self.text[start..self.pos]);
        loop {
            match self.src[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    self.pos += 1;
                    owned.push(self.escape()?);
                }
                _ => return None, // a raw control character
            }
            let run = special(&self.src[self.pos..])?;
            owned.push_str(&self.text[self.pos..self.pos + run]);
            self.pos += run;
        }
    }

    /// One escape after its backslash; lone surrogates are left to the general path.
    fn escape(&mut self) -> Option<char> {
        let c = *self.src.get(self.pos)?;
        self.pos += 1;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        self.word(b"\\u")?;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00))?
                    }
                    _ => char::from_u32(u32::from(unit))?,
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u16> {
        let text = self.text.get(self.pos..self.pos + 4)?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u16::from_str_radix(text, 16).ok()
    }

    /// `extFields`: `null` (no fields) or an object of scalars; a `null`
    /// value leaves its key out, a repeated key keeps the last value.
    fn ext_fields(&mut self) -> Option<ExtFields> {
        self.skip_ws();
        if self.src.get(self.pos) == Some(&b'n') {
            self.word(b"null")?;
            return Some(ExtFields::new());
        }
        self.expect(b'{')?;
        if self.eat(b'}') {
            return Some(ExtFields::new());
        }
        // Sized from what is left of the header, so filling it never grows it.
        let mut ext = ExtFields::with_capacity(16, self.src.len() - self.pos);
        loop {
            self.expect(b'"')?;
            let key = self.string()?;
            self.expect(b':')?;
            if let Some(value) = self.scalar()?.into_text() {
                ext.insert(key, value);
            }
            if self.eat(b'}') {
                return Some(ext);
            }
            self.expect(b',')?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{encode, general};
    use super::*;
    use crate::command::RemotingCommand;
    use bytes::BytesMut;
    use proptest::prelude::*;

    fn fast(header: &str) -> Option<RemotingCommand> {
        read(header.as_bytes()).map(In::into_command)
    }

    #[test]
    fn the_headers_clients_write_take_the_fast_path() {
        let mut ours = BytesMut::new();
        let sent = RemotingCommand { code: 310, version: 409, opaque: -7, ..RemotingCommand::default() }
            .with_ext("i", "KEYS\u{1}k\u{2}TAGS\u{1}TagA")
            .with_ext("b", "Topic");
        encode(&sent, &mut ours).unwrap();
        let ours = std::str::from_utf8(&ours).unwrap();
        assert!(ours.contains("\\u0001"), "{ours}");
        for header in [
            ours,
            // Go: its own key order, an empty remark, numbers as strings in ext fields.
            r#"{"code":10,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"queueId":"1","sysFlag":"0"}}"#,
            // Node and Python: numbers as strings, an enum as an ordinal, a trailing newline.
            "{\"code\":\"11\",\"language\":9,\"opaque\":\"4294967295\",\"extFields\":{\"x\":1,\"y\":true,\"z\":null}}\n",
            r#"{"code":34,"extFields":null}"#,
        ] {
            let fast = fast(header).unwrap_or_else(|| panic!("not on the fast path: {header}"));
            let slow = general(header.as_bytes()).unwrap().into_command();
            assert_eq!(fast, slow, "{header}");
        }
        let node =
            fast("{\"code\":\"11\",\"language\":9,\"opaque\":\"4294967295\",\"extFields\":{\"x\":1,\"y\":true}}")
                .unwrap();
        assert_eq!((node.code, node.opaque), (11, -1));
        assert_eq!(node.ext("x"), Some("1"));
        assert_eq!(node.ext("y"), Some("true"));
    }

    #[test]
    fn what_the_fast_path_does_not_fully_understand_is_left_to_the_general_one() {
        for header in [
            r#"{"Code":10}"#,                      // keys in another case: fastjson's
            r#"{code:10}"#,                        // bare keys
            r#"{"code":10,"code":11}"#,            // a repeated key
            r#"{"code":1.0}"#,                     // a float
            r#"{"code":10,"extFields":{"a":[]}}"#, // a nested value
            r#"{"code":10,"x":1}"#,                // an unknown key
            r#"{"code":10} x"#,                    // trailing bytes
            r#"{"code":10,"remark":"\ud800"}"#,    // a lone surrogate
            r#"{"code":-0}"#,
            r#"{"code":010}"#,
            r#"{"code":10,"extFields":{"a":99999999999999999999}}"#,
            "{\"code\":10,\"remark\":\"a\u{1}\"}", // a raw control character
        ] {
            assert!(read(header.as_bytes()).is_none(), "{header}");
        }
    }

    /// Scalars that every path reads.
    fn good_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            string(),
        ]
    }

    /// Pieces of JSON, mostly well formed, some not, that headers are built from.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            12 => good_value(),
            1 => any::<u64>().prop_map(|v| v.to_string()),
            1 => prop::sample::select(vec![
                "-0", "007", "1.5", "2e3", "123456789012345678901234", "false", "nul", "[]", "{}",
                r#"{"a":"b"}"#, "\" 12 \"", "\"12.00\"", "\"+5\"", "\"x\"",
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            20 => "[a-zA-Z0-9 _.-]{0,6}",
            2 => Just("\\u0001".to_owned()),
            2 => Just("\\u0002".to_owned()),
            1 => Just("\\\"".to_owned()),
            1 => Just("\\\\".to_owned()),
            1 => Just("\\/".to_owned()),
            1 => Just("\\n".to_owned()),
            1 => Just("\\ud83d\\ude00".to_owned()),
            1 => Just("é😀".to_owned()),
            1 => prop::sample::select(vec!["\\ud83d", "\\ude00", "\\uZZZZ", "\\x", "\u{1}"]).prop_map(str::to_owned),
        ];
        prop::collection::vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()))
    }

    fn ext_fields() -> impl Strategy<Value = String> {
        let entry = (prop_oneof![6 => "\"[a-zA-Z]{1,8}\"", 1 => string()], value());
        prop_oneof![
            12 => prop::collection::vec(entry, 0..6).prop_map(|entries| {
                let body: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
            1 => Just("null".to_owned()),
            1 => value(),
        ]
    }

    /// An odd key: another case, bare, escaped, unknown, or a repeat of a known one.
    fn odd_key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"Code\"".to_owned()),
            Just("code".to_owned()),
            Just("\"co\\u0064e\"".to_owned()),
            Just("\"flag\"".to_owned()),
            string(),
        ]
    }

    /// A value a header of that key would hold, mostly well formed.
    fn value_for(key: &str) -> BoxedStrategy<String> {
        let int = prop_oneof![
            any::<i32>().prop_map(|v| v.to_string()),
            any::<i64>().prop_map(|v| format!("\"{v}\"")),
            Just("null".to_owned()),
        ];
        match key {
            "extFields" => ext_fields().boxed(),
            "language" | "remark" | "serializeTypeCurrentRPC" => {
                prop_oneof![8 => string(), 1 => Just("null".to_owned()), 1 => value()].boxed()
            }
            _ => prop_oneof![8 => int, 1 => value()].boxed(),
        }
    }

    fn header() -> impl Strategy<Value = String> {
        let ws = || prop::sample::select(vec!["", "", "", " ", "\n", "\t ", "\r\n"]);
        let entry = move |key: &'static str| {
            (value_for(key), ws()).prop_map(move |(v, ws)| format!("{ws}\"{key}\"{ws}:{ws}{v}{ws}"))
        };
        let others = prop::sample::subsequence(KEYS[1..].to_vec(), 0..KEYS.len());
        let entries = (prop::option::weighted(0.95, entry(KEYS[0])), others)
            .prop_flat_map(move |(code, keys)| {
                let rest: Vec<_> = keys.into_iter().map(entry).collect();
                (Just(code), rest)
            })
            .prop_map(|(code, rest)| code.into_iter().chain(rest).collect::<Vec<_>>())
            .prop_shuffle();
        let odd = prop::option::weighted(0.2, (odd_key(), value(), any::<prop::sample::Index>()));
        let tail = prop::sample::select(vec!["", "", "", "", "\n", " x", ",", "}"]);
        (entries, odd, ws(), tail).prop_map(|(mut entries, odd, space, tail)| {
            if let Some((k, v, at)) = odd {
                let at = at.index(entries.len() + 1);
                entries.insert(at, format!("{k}:{v}"));
            }
            format!("{space}{{{}}}{tail}", entries.join(","))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whatever the fast path accepts, the general path reads the same.
        #[test]
        fn the_fast_path_agrees_with_the_general_one(header in header()) {
            if let Some(fast) = fast(&header) {
                let slow = general(header.as_bytes());
                prop_assert!(slow.is_ok(), "only the fast path accepts {header}");
                prop_assert_eq!(fast, slow.unwrap().into_command(), "{}", header);
            }
        }

        /// The generator reaches the fast path often enough for the property to mean something.
        #[test]
        fn headers_with_the_known_keys_and_plain_values_take_the_fast_path(
            code in any::<i32>(), opaque in any::<i32>(), ext in prop::collection::btree_map("[a-z]{1,4}", "[ -~]{0,12}", 0..6),
        ) {
            let mut cmd = RemotingCommand { code, opaque, ..RemotingCommand::default() };
            cmd.ext_fields = ext.into_iter().collect();
            let mut out = BytesMut::new();
            encode(&cmd, &mut out).unwrap();
            let decoded = read(&out).map(In::into_command);
            prop_assert_eq!(decoded.map(|d| (d.code, d.opaque, d.ext_fields)), Some((cmd.code, cmd.opaque, cmd.ext_fields)));
        }
    }
}
