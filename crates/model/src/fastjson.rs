//! The JSON dialect of Java's fastjson 1.x, which RocketMQ writes and reads.
//!
//! fastjson writes maps whose keys are numbers *unquoted* (`{0:"10.0.0.1:10911"}`)
//! and maps keyed by objects with the key object inline
//! (`{{"brokerName":"b","queueId":0,"topic":"t"}:{…}}`). Neither is valid JSON,
//! yet Java clients, `mqadmin` and the Go client depend on them, and Java parses
//! both forms. This module gives serde both directions:
//!
//! * [`to_string`] / [`to_vec`] serialize with serde_json, but map keys of
//!   integer type (`BTreeMap<i64, _>`, mirroring Java's `Map<Long, _>`) come out
//!   unquoted; string keys stay quoted. [`to_string_pretty`] does the same with
//!   indentation, for config files operators read.
//! * [`from_slice`] / [`from_str`] first [`normalize`] the text (quote bare keys,
//!   turn inline object keys into strings holding the object's JSON) and then
//!   parse with serde_json, so `{0:…}` and `{"0":…}` both fill a `BTreeMap<i64, _>`.
//!   [`object_key`] deserializes such stringified object keys.
//! * [`write_object_key_map`] writes an object-keyed map the way fastjson does,
//!   for the few bodies (`ConsumeStats`, `TopicStatsTable`, `ResetOffsetBody`)
//!   that need it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter};
use std::borrow::Cow;
use std::io;

/// Serializes in fastjson's default form: integer map keys unquoted.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    String::from_utf8(to_vec(value)).unwrap_or_default()
}

/// Like [`to_string`], into bytes.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, UnquotedIntKeys::new(CompactFormatter));
    // Serializing plain data into a Vec cannot fail; a failing custom Serialize
    // impl would leave partial output, which callers would see as a parse error.
    let _ = value.serialize(&mut ser);
    out
}

/// Like [`to_string`], indented with tabs as fastjson's pretty form, for files
/// such as `consumerOffset.json` that operators open.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, UnquotedIntKeys::new(PrettyFormatter::with_indent(b"\t")));
    let _ = value.serialize(&mut ser);
    String::from_utf8(out).unwrap_or_default()
}

/// Parses fastjson text (or standard JSON) into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(&normalize(text))
}

/// Parses fastjson bytes (or standard JSON) into `T`. Invalid UTF-8 is an error.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => from_str(text),
        // Let serde_json produce its own error message for the bad bytes.
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Rewrites fastjson text into standard JSON: bare object keys get quotes and
/// inline object keys become strings containing the key object's JSON. Text that
/// is already standard JSON is returned unchanged and unallocated.
pub fn normalize(text: &str) -> Cow<'_, str> {
    normalize_at(text, 0)
}

/// Object keys nested deeper than this stay as they are, which serde_json
/// then refuses. RocketMQ's bodies nest object keys one level deep; a hostile
/// body of `{{{{…` must not recurse through the stack (a stack overflow
/// aborts the process) nor rescan its text once per level.
const MAX_KEY_DEPTH: usize = 16;

fn normalize_at(text: &str, depth: usize) -> Cow<'_, str> {
    if !needs_normalizing(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    normalize_into(text, &mut out, depth);
    Cow::Owned(out)
}

/// Scans for a key position holding something other than a string.
fn needs_normalizing(text: &str) -> bool {
    let mut scan = Scanner::new(text);
    while let Some(event) = scan.next_token() {
        if let Token::BareKeyStart(_) = event {
            return true;
        }
    }
    false
}

fn normalize_into(text: &str, out: &mut String, depth: usize) {
    let mut scan = Scanner::new(text);
    let mut copied = 0;
    while let Some(event) = scan.next_token() {
        let Token::BareKeyStart(start) = event else { continue };
        out.push_str(&text[copied..start]);
        let end = scan.skip_bare_key(start);
        let key = &text[start..end];
        if key.starts_with('{') && depth >= MAX_KEY_DEPTH {
            out.push_str(key);
        } else if key.starts_with('{') {
            let inner = normalize_at(key, depth + 1);
            out.push_str(&serde_json::to_string(inner.as_ref()).unwrap_or_default());
        } else {
            out.push('"');
            out.push_str(key.trim_end());
            out.push('"');
        }
        copied = end;
    }
    out.push_str(&text[copied..]);
}

enum Token {
    /// A key position whose key is not a string starts at this byte index.
    BareKeyStart(usize),
    Other,
}

/// A minimal JSON scanner that knows where object keys are expected.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Open containers: `true` for objects, `false` for arrays.
    stack: Vec<bool>,
    expect_key: bool,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner { bytes: text.as_bytes(), pos: 0, stack: Vec::new(), expect_key: false }
    }

    fn next_token(&mut self) -> Option<Token> {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        let c = *self.bytes.get(self.pos)?;
        if self.expect_key && c != b'"' && c != b'}' {
            self.expect_key = false;
            return Some(Token::BareKeyStart(self.pos));
        }
        match c {
            b'"' => {
                self.pos = self.skip_string(self.pos);
                self.expect_key = false;
            }
            b'{' => {
                self.stack.push(true);
                self.expect_key = true;
                self.pos += 1;
            }
            b'[' => {
                self.stack.push(false);
                self.pos += 1;
            }
            b'}' | b']' => {
                self.stack.pop();
                self.expect_key = false;
                self.pos += 1;
            }
            b',' => {
                self.expect_key = self.stack.last() == Some(&true);
                self.pos += 1;
            }
            _ => self.pos += 1,
        }
        Some(Token::Other)
    }

    /// Index just past the string literal starting at `start`.
    fn skip_string(&self, start: usize) -> usize {
        let mut i = start + 1;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        self.bytes.len()
    }

    /// Moves past a bare key (a token up to `:`, or a balanced object) and
    /// returns the index where it ends.
    fn skip_bare_key(&mut self, start: usize) -> usize {
        let mut i = start;
        if self.bytes[start] == b'{' {
            let mut depth = 0usize;
            while i < self.bytes.len() {
                match self.bytes[i] {
                    b'"' => {
                        i = self.skip_string(i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            while i < self.bytes.len() && self.bytes[i] != b':' {
                i += 1;
            }
        }
        self.pos = i;
        i
    }
}

/// Deserializes a map key that [`normalize`] turned from an inline object into
/// a string: use with `#[serde(deserialize_with = "...")]` on a
/// `BTreeMap<K, V>` via [`object_key::map`].
pub mod object_key {
    use serde::de::{DeserializeOwned, Deserializer, MapAccess, Visitor};
    use std::collections::BTreeMap;
    use std::fmt;
    use std::marker::PhantomData;

    /// Deserializes `{"<json of K>": V, …}` into a `BTreeMap<K, V>`.
    pub fn map<'de, D, K, V>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        D: Deserializer<'de>,
        K: DeserializeOwned + Ord,
        V: DeserializeOwned,
    {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: DeserializeOwned + Ord, V: DeserializeOwned> Visitor<'de> for MapVisitor<K, V> {
            type Value = BTreeMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map keyed by JSON objects")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, value)) = access.next_entry::<String, V>()? {
                    let key: K = serde_json::from_str(&key).map_err(serde::de::Error::custom)?;
                    out.insert(key, value);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// Writes `{<key object>:<value>,…}` exactly as fastjson writes a map with
/// object keys.
pub fn write_object_key_map<'a, K, V, I>(entries: I) -> String
where
    K: Serialize + 'a,
    V: Serialize + 'a,
    I: IntoIterator<Item = (&'a K, &'a V)>,
{
    let mut out = String::from("{");
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&to_string(key));
        out.push(':');
        out.push_str(&to_string(value));
    }
    out.push('}');
    out
}

/// A serde_json formatter that leaves integer map keys unquoted and delegates
/// everything else to `F`.
///
/// serde_json writes an integer key as `begin_string`, `write_i64`, `end_string`
/// and a string key as `begin_string`, fragments, `end_string`; the opening
/// quote of a key is therefore held back until we know which it is.
struct UnquotedIntKeys<F> {
    inner: F,
    in_key: bool,
    quote_pending: bool,
    unquoted: bool,
}

impl<F> UnquotedIntKeys<F> {
    fn new(inner: F) -> UnquotedIntKeys<F> {
        UnquotedIntKeys { inner, in_key: false, quote_pending: false, unquoted: false }
    }

    fn flush_quote<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.quote_pending {
            self.quote_pending = false;
            w.write_all(b"\"")?;
        }
        Ok(())
    }

    fn number<W: ?Sized + io::Write>(&mut self, w: &mut W, text: &str) -> io::Result<()> {
        if self.quote_pending {
            self.quote_pending = false;
            self.unquoted = true;
        }
        w.write_all(text.as_bytes())
    }
}

macro_rules! int_writers {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W, value: $t) -> io::Result<()> {
            self.number(w, &value.to_string())
        })*
    };
}

impl<F: Formatter> Formatter for UnquotedIntKeys<F> {
    int_writers!(write_i8: i8, write_i16: i16, write_i32: i32, write_i64: i64, write_i128: i128,
                 write_u8: u8, write_u16: u16, write_u32: u32, write_u64: u64, write_u128: u128);

    fn begin_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.in_key {
            self.quote_pending = true;
            Ok(())
        } else {
            w.write_all(b"\"")
        }
    }

    fn end_string<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.unquoted {
            self.unquoted = false;
            Ok(())
        } else {
            self.flush_quote(w)?;
            w.write_all(b"\"")
        }
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        self.flush_quote(w)?;
        w.write_all(fragment.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        self.flush_quote(w)?;
        self.inner.write_char_escape(w, escape)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.in_key = true;
        self.inner.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.in_key = false;
        self.inner.end_object_key(w)
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object(w)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.inner.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct BrokerData {
        broker_addrs: BTreeMap<i64, String>,
        broker_name: String,
    }

    #[test]
    fn deeply_nested_object_keys_are_an_error_not_a_crash() {
        // 200,000 levels would overflow any thread's stack if each recursed.
        let hostile = format!("{}{}", "{".repeat(200_000), "}".repeat(200_000));
        let started = std::time::Instant::now();
        assert!(from_str::<serde_json::Value>(&hostile).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "linear, not quadratic");
        // Keys nested within the limit still parse.
        let nested = r#"{{"a":{{"b":1}:2}}:3}"#;
        let value: BTreeMap<String, i32> = from_str(nested).unwrap();
        assert_eq!(value.values().copied().collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn integer_keys_are_unquoted_string_keys_are_not() {
        let data = BrokerData {
            broker_addrs: BTreeMap::from([(0, "10.0.0.1:10911".to_owned()), (1, "10.0.0.2:10911".to_owned())]),
            broker_name: "broker-a".to_owned(),
        };
        let text = to_string(&data);
        assert_eq!(text, r#"{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a"}"#);
        assert_eq!(from_str::<BrokerData>(&text).unwrap(), data);
        // The standard form parses too.
        assert_eq!(from_str::<BrokerData>(&serde_json::to_string(&data).unwrap()).unwrap(), data);
        let strings: BTreeMap<String, i64> = BTreeMap::from([("".to_owned(), 1), ("a\"b".to_owned(), 2)]);
        assert_eq!(to_string(&strings), r#"{"":1,"a\"b":2}"#);
    }

    #[test]
    fn pretty_form_keeps_keys_unquoted() {
        let offsets: BTreeMap<String, BTreeMap<i32, i64>> =
            BTreeMap::from([("t@g".to_owned(), BTreeMap::from([(0, 12), (1, 3)]))]);
        let text = to_string_pretty(&offsets);
        assert!(text.contains("\t\t0: 12"), "{text}");
        assert_eq!(from_str::<BTreeMap<String, BTreeMap<i32, i64>>>(&text).unwrap(), offsets);
    }

    #[test]
    fn normalize_leaves_standard_json_alone() {
        let text = r#"{"a":[1,{"b":"{0:1}"}],"c":{}}"#;
        assert!(matches!(normalize(text), Cow::Borrowed(_)));
        assert_eq!(normalize(r#"{ 0 :1, -2:3}"#), r#"{ "0":1, "-2":3}"#);
    }

    #[derive(Deserialize, Serialize, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
    #[serde(rename_all = "camelCase")]
    struct Mq {
        broker_name: String,
        queue_id: i32,
        topic: String,
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Stats {
        #[serde(deserialize_with = "object_key::map")]
        offset_table: BTreeMap<Mq, i64>,
        consume_tps: f64,
    }

    #[test]
    fn object_keys_round_trip() {
        let mq = Mq { broker_name: "b".into(), queue_id: 0, topic: "t".into() };
        let table = BTreeMap::from([(mq.clone(), 10i64)]);
        let map = write_object_key_map(&table);
        assert_eq!(map, r#"{{"brokerName":"b","queueId":0,"topic":"t"}:10}"#);
        let body = format!(r#"{{"consumeTps":1.5,"offsetTable":{map}}}"#);
        let stats: Stats = from_str(&body).unwrap();
        assert_eq!(stats.offset_table, table);
        assert_eq!(stats.consume_tps, 1.5);
    }
}
