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
//!   turn inline object keys into strings holding the object's JSON), parse it
//!   with serde_json, then bind it to the target type converting values as
//!   fastjson's bean binding does (numbers in strings, enums by ordinal,
//!   booleans as `1`/`0`, `null` for defaults, keys in any case: the
//!   `lenient` module), so every body rmq reads is as lenient as Java's.
//!   [`object_key`] deserializes stringified object keys.
//! * [`scalar`] holds the text-to-number and text-to-boolean rules that header
//!   fields share with bodies.
//! * [`write_object_key_map`] writes an object-keyed map the way fastjson does,
//!   for the few bodies (`ConsumeStats`, `TopicStatsTable`, `ResetOffsetBody`)
//!   that need it.

mod dialect;
mod lenient;
pub mod object_key;
pub mod scalar;
mod write;

pub use dialect::normalize;
pub use write::write_object_key_map;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::ser::{CompactFormatter, PrettyFormatter};
use write::UnquotedIntKeys;

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

/// Parses fastjson text (or standard JSON) into `T`, converting values as
/// fastjson does ([`lenient`](self::lenient) has the rules). Errors name the
/// field's path and the value: `consumerDataSet[0].subVersion: invalid value: …`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(&normalize(text))?;
    from_value(&value)
}

/// Reads an already parsed JSON value into `T` with fastjson's conversions.
pub fn from_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, serde_json::Error> {
    T::deserialize(lenient::Lenient(value)).map_err(lenient::LenientError::into_json)
}

/// Parses fastjson bytes (or standard JSON) into `T`. Invalid UTF-8 is an error.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => from_str(text),
        // Let serde_json produce its own error message for the bad bytes.
        Err(_) => serde_json::from_slice(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct BrokerData {
        broker_addrs: BTreeMap<i64, String>,
        broker_name: String,
    }

    #[test]
    fn errors_name_the_path_to_the_bad_value() {
        #[derive(Deserialize, Debug)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)]
        struct Consumer {
            sub_version: i64,
        }
        #[derive(Deserialize, Debug)]
        #[serde(rename_all = "camelCase")]
        #[allow(dead_code)]
        struct Heartbeat {
            consumer_data_set: Vec<Consumer>,
            offsets: BTreeMap<i64, Vec<i32>>,
        }
        let bad_field = r#"{"consumerDataSet":[{"subVersion":1},{"subVersion":"abc"}],"offsets":{}}"#;
        let e = from_str::<Heartbeat>(bad_field).unwrap_err().to_string();
        assert!(e.starts_with("consumerDataSet[1].subVersion: invalid value: string \"abc\""), "{e}");
        let bad_key = r#"{"consumerDataSet":[],"offsets":{"x":[]}}"#;
        let e = from_str::<Heartbeat>(bad_key).unwrap_err().to_string();
        assert!(e.starts_with("offsets.x: invalid value"), "{e}");
        let bad_item = r#"{"consumerDataSet":[],"offsets":{"7":[1,"b"]}}"#;
        let e = from_str::<Heartbeat>(bad_item).unwrap_err().to_string();
        assert!(e.starts_with("offsets.7[1]: invalid value"), "{e}");
        let e = from_str::<i32>(r#""abc""#).unwrap_err().to_string();
        assert!(e.starts_with("invalid value"), "no path at the top: {e}");
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
