//! Reading a JSON value into a Rust type as leniently as fastjson binds a Java
//! bean, for every body rmq reads.
//!
//! Java's broker and NameServer decode bodies with fastjson, which converts
//! rather than refuses: a number written as a string (`"subVersion":"17…"`), an
//! enum written as its ordinal (`"messageModel":1`), a boolean written as `1` or
//! `"true"`, `null` for any field, a key in another case or in snake_case. The
//! C++ client (and the Python, Node and PHP wrappers built on it) writes such
//! bodies. [`Lenient`] is a serde `Deserializer` over a parsed
//! [`serde_json::Value`] that does those conversions for whatever type asks,
//! so every `#[derive(Deserialize)]` body is lenient without per-field code.
//!
//! The rules, by what the target type asks for:
//! * integers: JSON integers; strings holding one ([`scalar::integer`]);
//!   decimals truncated toward zero (fastjson's `intValue()`); `true`/`false` as
//!   1/0; `null`, `""` and `"null"` as 0. A value outside the type's range is
//!   refused, never wrapped.
//! * floats: numbers, numeric strings, booleans; `null` as 0.
//! * booleans: `true`/`false`, `1`/`0`, and the strings of [`scalar::boolean`].
//! * strings: strings; numbers and booleans as their text; `null` as empty;
//!   an object or array as its JSON text (fastjson's `toString()`).
//! * enums: the variant's name (exact, then in any case) or its ordinal, as a
//!   number or a string. The Rust enum must list its variants in Java's order.
//! * structs: keys matched exactly, then ignoring case, then ignoring `_` and
//!   `-` too, then without an `is` prefix (fastjson's `smartMatch`); a key whose
//!   value is `null` is skipped so the field keeps its default; unknown keys
//!   are ignored. `null` or `""` for a whole struct reads as `{}`.
//! * lists and maps: `null` or `""` read as empty. Map keys are text, converted
//!   by the same rules (`{"0":…}` fills a `BTreeMap<i64, _>`).
//!
//! What cannot mean anything (`"abc"` for a number, `2` for a boolean, an
//! ordinal past the last variant) is an error naming the value and the path
//! to it (`consumerDataSet[0].subVersion`). The path is added as the error
//! travels out of each array element and object entry, rather than by
//! wrapping every visitor (as `serde_path_to_error` does), which would
//! instantiate a second copy of every body's deserializing code.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde_json::{Map, Value};
use std::fmt;

use super::scalar::{self, Integer};

type Error = LenientError;

/// Why a value could not be read, and where it is.
#[derive(Debug)]
pub(crate) struct LenientError {
    message: String,
    /// From the value outwards: the innermost segment first.
    path: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl LenientError {
    fn in_key(mut self, key: &str) -> LenientError {
        self.path.push(Segment::Key(key.to_owned()));
        self
    }

    fn in_index(mut self, index: usize) -> LenientError {
        self.path.push(Segment::Index(index));
        self
    }

    /// As serde_json's error, the path first: `a.b[0].c: invalid value: …`.
    pub(crate) fn into_json(self) -> serde_json::Error {
        if self.path.is_empty() {
            return de::Error::custom(self.message);
        }
        let mut path = String::new();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Key(key) if path.is_empty() => path.push_str(key),
                Segment::Key(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        de::Error::custom(format_args!("{path}: {}", self.message))
    }
}

impl de::Error for LenientError {
    fn custom<T: fmt::Display>(message: T) -> LenientError {
        LenientError { message: message.to_string(), path: Vec::new() }
    }
}

impl fmt::Display for LenientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LenientError {}

/// A serde `Deserializer` over a borrowed JSON value, converting as fastjson does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lenient<'a>(pub(crate) &'a Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (_, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A string a container type reads as empty: fastjson binds `""` to null.
fn is_blank(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.trim().is_empty())
}

impl<'de> Lenient<'de> {
    fn invalid<T>(self, expected: &dyn de::Expected) -> Result<T, Error> {
        Err(de::Error::invalid_value(unexpected(self.0), expected))
    }

    /// The integer the value stands for, if any.
    fn integer(self) -> Option<Integer> {
        match self.0 {
            Value::Null => Some(Integer::Signed(0)),
            Value::Bool(b) => Some(Integer::Signed(i64::from(*b))),
            Value::Number(n) => {
                n.as_i64().map(Integer::Signed).or_else(|| n.as_u64().map(Integer::Unsigned)).or_else(|| {
                    let f = n.as_f64()?.trunc();
                    (f >= i64::MIN as f64 && f < i64::MAX as f64).then_some(Integer::Signed(f as i64))
                })
            }
            Value::String(s) if scalar::is_null_text(s) => Some(Integer::Signed(0)),
            Value::String(s) => scalar::integer(s),
            _ => None,
        }
    }

    fn float(self) -> Option<f64> {
        match self.0 {
            Value::Null => Some(0.0),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Number(n) => n.as_f64(),
            Value::String(s) if scalar::is_null_text(s) => Some(0.0),
            Value::String(s) => scalar::float(s),
            _ => None,
        }
    }

    fn boolean(self) -> Option<bool> {
        match self.0 {
            Value::Null => Some(false),
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
            Value::String(s) if scalar::is_null_text(s) => Some(false),
            Value::String(s) => scalar::boolean(s),
            _ => None,
        }
    }

    fn visit_integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.integer() {
            Some(Integer::Signed(v)) => visitor.visit_i64(v),
            Some(Integer::Unsigned(v)) => visitor.visit_u64(v),
            None => self.invalid(&visitor),
        }
    }
}

macro_rules! integer_methods {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.visit_integer(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Lenient<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (_, Some(i)) => visitor.visit_i64(i),
                _ => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items::new(items)),
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
        }
    }

    integer_methods!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.boolean() {
            Some(b) => visitor.visit_bool(b),
            None => self.invalid(&visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.float() {
            Some(f) => visitor.visit_f64(f),
            None => self.invalid(&visitor),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Null => visitor.visit_borrowed_str(""),
            Value::Bool(b) => visitor.visit_borrowed_str(if *b { "true" } else { "false" }),
            other => visitor.visit_string(other.to_string()),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_borrowed_bytes(s.as_bytes()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Items::new(items)),
            Value::Null => visitor.visit_seq(Items::new(&[])),
            v if is_blank(v) => visitor.visit_seq(Items::new(&[])),
            _ => Err(de::Error::invalid_type(unexpected(self.0), &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        match self.0 {
            Value::Object(map) => visitor.visit_map(Entries::new(map)),
            Value::Null => visitor.visit_map(Entries::new(&EMPTY)),
            v if is_blank(v) => visitor.visit_map(Entries::new(&EMPTY)),
            _ => Err(de::Error::invalid_type(unexpected(self.0), &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map, fields)),
            Value::Array(items) => visitor.visit_seq(Items::new(items)),
            _ => self.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(Variant { name: variant_by_text(s, variants), content: None }),
            Value::Number(n) => match n.as_u64().and_then(|i| variants.get(usize::try_from(i).ok()?)) {
                Some(name) => visitor.visit_enum(Variant { name, content: None }),
                None => Err(de::Error::invalid_value(unexpected(self.0), &"an ordinal of the enum")),
            },
            Value::Object(map) if map.len() == 1 => {
                let (name, content) = map.iter().next().expect("one entry");
                visitor.visit_enum(Variant { name: variant_by_text(name, variants), content: Some(content) })
            }
            _ => Err(de::Error::invalid_type(unexpected(self.0), &visitor)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The variant `text` names: exactly, in another case, or by its ordinal.
/// Unmatched text is passed on for serde to refuse with the list of names.
fn variant_by_text<'a>(text: &'a str, variants: &'static [&'static str]) -> &'a str {
    let trimmed = text.trim();
    if let Some(name) = variants.iter().find(|v| **v == trimmed) {
        return name;
    }
    if let Some(name) = variants.iter().find(|v| v.eq_ignore_ascii_case(trimmed)) {
        return name;
    }
    match scalar::integer_as::<usize>(trimmed).and_then(|i| variants.get(i)) {
        Some(name) => name,
        None => text,
    }
}

struct Variant<'de> {
    name: &'de str,
    content: Option<&'de Value>,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let key = seed.deserialize(BorrowedStrDeserializer::<Error>::new(self.name))?;
        Ok((key, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(Lenient(self.content.unwrap_or(&Value::Null)))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        Lenient(self.content.unwrap_or(&Value::Null)).deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        Lenient(self.content.unwrap_or(&Value::Null)).deserialize_struct("", fields, visitor)
    }
}

/// The elements of an array.
struct Items<'de>(std::iter::Enumerate<std::slice::Iter<'de, Value>>);

impl<'de> Items<'de> {
    fn new(items: &'de [Value]) -> Items<'de> {
        Items(items.iter().enumerate())
    }
}

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        self.0.next().map(|(i, v)| seed.deserialize(Lenient(v)).map_err(|e| e.in_index(i))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// The entries of an object read as a map: keys converted like scalars.
struct Entries<'de> {
    iter: serde_json::map::Iter<'de>,
    entry: Option<(&'de str, &'de Value)>,
}

impl<'de> Entries<'de> {
    fn new(map: &'de Map<String, Value>) -> Entries<'de> {
        Entries { iter: map.iter(), entry: None }
    }
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.iter.next() else { return Ok(None) };
        self.entry = Some((key, value));
        seed.deserialize(Key(key)).map(Some).map_err(|e| e.in_key(key))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let (key, value) = self.entry.take().unwrap_or(("", &Value::Null));
        seed.deserialize(Lenient(value)).map_err(|e| e.in_key(key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The entries of an object read as a struct with the given field names:
/// keys smart-matched to fields, `null` values skipped.
struct Fields<'de> {
    map: &'de Map<String, Value>,
    iter: serde_json::map::Iter<'de>,
    fields: &'static [&'static str],
    /// Fields already filled through a loosely matched key.
    matched: Vec<&'static str>,
    /// The field being read and its value.
    entry: Option<(&'de str, &'de Value)>,
}

impl<'de> Fields<'de> {
    fn new(map: &'de Map<String, Value>, fields: &'static [&'static str]) -> Fields<'de> {
        Fields { map, iter: map.iter(), fields, matched: Vec::new(), entry: None }
    }

    /// The field a key fills, as fastjson's `smartMatch` finds it. A loose
    /// match never takes a field the object also names exactly, nor one an
    /// earlier key took.
    fn field_for(&mut self, key: &'de str) -> &'de str {
        if self.fields.contains(&key) {
            return key;
        }
        let loose = |a: &str, b: &str| {
            let a = a.bytes().filter(|c| *c != b'_' && *c != b'-');
            let b = b.bytes().filter(|c| *c != b'_' && *c != b'-');
            a.map(|c| c.to_ascii_lowercase()).eq(b.map(|c| c.to_ascii_lowercase()))
        };
        let without_is = key.strip_prefix("is").filter(|rest| !rest.is_empty());
        let found = self
            .fields
            .iter()
            .find(|f| f.eq_ignore_ascii_case(key))
            .or_else(|| self.fields.iter().find(|f| loose(f, key)))
            .or_else(|| without_is.and_then(|rest| self.fields.iter().find(|f| loose(f, rest))));
        match found {
            Some(field) if !self.map.contains_key(*field) && !self.matched.contains(field) => {
                self.matched.push(field);
                field
            }
            _ => key,
        }
    }
}

impl<'de> MapAccess<'de> for Fields<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        for (key, value) in self.iter.by_ref() {
            if value.is_null() {
                continue;
            }
            let field = self.field_for(key);
            self.entry = Some((field, value));
            return seed.deserialize(BorrowedStrDeserializer::<Error>::new(field)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let (field, value) = self.entry.take().unwrap_or(("", &Value::Null));
        seed.deserialize(Lenient(value)).map_err(|e| e.in_key(field))
    }
}

/// A map key: always text in JSON, converted to what the key type asks for.
struct Key<'de>(&'de str);

macro_rules! integer_key_methods {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match scalar::integer(self.0) {
                Some(Integer::Signed(v)) => visitor.visit_i64(v),
                Some(Integer::Unsigned(v)) => visitor.visit_u64(v),
                None => Err(de::Error::invalid_value(Unexpected::Str(self.0), &visitor)),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match scalar::boolean(self.0) {
            Some(b) => visitor.visit_bool(b),
            None => Err(de::Error::invalid_value(Unexpected::Str(self.0), &visitor)),
        }
    }

    integer_key_methods!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64);

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match scalar::float(self.0) {
            Some(f) => visitor.visit_f64(f),
            None => Err(de::Error::invalid_value(Unexpected::Str(self.0), &visitor)),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(Variant { name: variant_by_text(self.0, variants), content: None })
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use crate::fastjson::from_str;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
    enum Model {
        #[serde(rename = "BROADCASTING")]
        Broadcasting,
        #[default]
        #[serde(rename = "CLUSTERING")]
        Clustering,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    struct Sample {
        #[serde(rename = "clientID")]
        client_id: String,
        queue_id: i32,
        sub_version: i64,
        read_queue_nums: u32,
        order: bool,
        consume_tps: f64,
        model: Model,
        topic: Option<String>,
        offset: Option<i64>,
        tags: Vec<String>,
        addrs: BTreeMap<i64, String>,
        inner: Option<Box<Sample>>,
    }

    impl Default for Sample {
        fn default() -> Sample {
            Sample {
                client_id: String::new(),
                queue_id: -1,
                sub_version: 0,
                read_queue_nums: 16,
                order: false,
                consume_tps: 0.0,
                model: Model::Clustering,
                topic: None,
                offset: None,
                tags: Vec::new(),
                addrs: BTreeMap::new(),
                inner: None,
            }
        }
    }

    fn sample(text: &str) -> Sample {
        from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn numbers_written_as_strings_and_strings_as_numbers() {
        let s = sample(
            r#"{"queueId":"3","subVersion":" 1796488531996 ","readQueueNums":"8.0","consumeTps":"1.5","clientID":42}"#,
        );
        assert_eq!((s.queue_id, s.sub_version, s.read_queue_nums, s.consume_tps), (3, 1796488531996, 8, 1.5));
        assert_eq!(s.client_id, "42");
        let s = sample(r#"{"queueId":2.9,"subVersion":true,"consumeTps":2}"#);
        assert_eq!((s.queue_id, s.sub_version, s.consume_tps), (2, 1, 2.0));
    }

    #[test]
    fn enums_by_name_any_case_or_ordinal() {
        for text in [r#""BROADCASTING""#, r#""broadcasting""#, "0", r#""0""#] {
            assert_eq!(sample(&format!(r#"{{"model":{text}}}"#)).model, Model::Broadcasting, "{text}");
        }
        assert_eq!(sample(r#"{"model":1}"#).model, Model::Clustering);
        for bad in [r#""SOMEHOW""#, "2", "-1", "true"] {
            assert!(from_str::<Sample>(&format!(r#"{{"model":{bad}}}"#)).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans_in_every_spelling() {
        for text in ["true", "1", r#""true""#, r#""TRUE""#, r#""1""#, r#""Y""#] {
            assert!(sample(&format!(r#"{{"order":{text}}}"#)).order, "{text}");
        }
        for text in ["false", "0", r#""false""#, r#""0""#, r#""""#, "null"] {
            assert!(!sample(&format!(r#"{{"order":{text}}}"#)).order, "{text}");
        }
        assert!(from_str::<Sample>(r#"{"order":2}"#).is_err());
        assert!(from_str::<Sample>(r#"{"order":"maybe"}"#).is_err());
    }

    #[test]
    fn null_and_missing_fields_keep_the_default() {
        let s = sample(r#"{"queueId":null,"readQueueNums":null,"topic":null,"tags":null,"addrs":null,"model":null}"#);
        assert_eq!(s, Sample::default());
        assert_eq!(sample("{}"), Sample::default());
        assert_eq!(sample(r#"{"inner":null}"#).inner, None);
        assert_eq!(sample(r#"{"inner":""}"#).inner, Some(Box::default()));
    }

    #[test]
    fn keys_matched_as_fastjson_smart_match() {
        let s = sample(r#"{"clientId":"c","QUEUEID":4,"sub_version":5,"read-queue-nums":6,"isOrder":true}"#);
        assert_eq!((s.client_id.as_str(), s.queue_id, s.sub_version, s.read_queue_nums, s.order), ("c", 4, 5, 6, true));
        // The exact key wins over a loose one, whatever the order.
        assert_eq!(sample(r#"{"queue_id":1,"queueId":2}"#).queue_id, 2);
        assert_eq!(sample(r#"{"queueId":2,"queue_id":1,"QueueId":3}"#).queue_id, 2);
    }

    #[test]
    fn unknown_fields_trailing_whitespace_and_map_keys() {
        let s = sample("{\"future\":{\"x\":[1,2]},\"addrs\":{\"0\":\"a\",1:\"b\"},\"tags\":[\"A\",7]}\n\r\n ");
        assert_eq!(s.addrs, BTreeMap::from([(0, "a".to_owned()), (1, "b".to_owned())]));
        assert_eq!(s.tags, vec!["A", "7"]);
        assert!(from_str::<Sample>(r#"{"addrs":{"x":"a"}}"#).is_err());
        assert!(from_str::<Sample>("{} trailing").is_err());
    }

    #[test]
    fn refusals_name_the_field_path_and_the_value() {
        let err = from_str::<Sample>(r#"{"inner":{"queueId":"abc"}}"#).unwrap_err().to_string();
        assert!(err.contains("inner.queueId") && err.contains("abc"), "{err}");
        let err = from_str::<Sample>(r#"{"queueId":3000000000}"#).unwrap_err().to_string();
        assert!(err.contains("queueId") && err.contains("3000000000"), "{err}");
        let err = from_str::<Sample>(r#"{"readQueueNums":-1}"#).unwrap_err().to_string();
        assert!(err.contains("readQueueNums") && err.contains("-1"), "{err}");
        let err = from_str::<Sample>(r#"{"tags":{"a":1}}"#).unwrap_err().to_string();
        assert!(err.contains("tags"), "{err}");
    }

    #[test]
    fn huge_or_odd_numbers_are_errors_not_panics() {
        for text in ["1e300", "-1e300", "18446744073709551616", "1.7976931348623157e308", r#""NaN""#] {
            let _ = from_str::<Sample>(&format!(r#"{{"queueId":{text},"subVersion":{text},"readQueueNums":{text}}}"#));
        }
        assert!(from_str::<Sample>(r#"{"subVersion":1e300}"#).is_err());
        assert_eq!(sample(r#"{"subVersion":18446744073709551615}"#.replace("18446744073709551615", "9223372036854775807").as_str()).sub_version, i64::MAX);
    }
}
