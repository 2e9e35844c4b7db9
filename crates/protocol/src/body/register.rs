//! The REGISTER_BROKER body (Java's `RegisterBrokerBody`): the broker's topic table with its
//! DataVersion and its filter servers, as JSON or zlib-compressed
//! (`compressedRegister=true`); and the DataVersion JSON that
//! QUERY_DATA_VERSION carries both ways.
//!
//! Compressed layout (big-endian, inside one zlib stream):
//!
//! ```text
//! i32 len | DataVersion JSON
//! i32 topic count | per topic: i32 len | "name read write perm filterType[ attrsJson]"
//! i32 len | filter server list JSON array
//! 5.x (request version >= 413): i32 count | per entry: i32 len | TopicQueueMappingInfo JSON
//! ```
//!
//! The compact topic form drops `topicSysFlag` and `order`, as Java's does.

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

use rmq_model::tables::TopicConfigSerializeWrapper;
use rmq_model::{DataVersion, TopicConfig, TopicFilterType, fastjson};

/// `V3_0_11`: from this request version on the body is a `RegisterBrokerBody`;
/// before it, a bare `TopicConfigSerializeWrapper`.
pub const VERSION_REGISTER_BODY: i32 = 37;
/// `V5_0_0`: compressed bodies of this version end with the static-topic
/// mapping entries.
pub const VERSION_5_0_0: i32 = 413;
/// Largest inflated body accepted: far above any real topic table (a broker
/// with 100,000 topics inflates to a few MiB), low enough that a small
/// compressed frame cannot make us allocate without bound.
pub const MAX_INFLATED: u64 = 128 * 1024 * 1024;

/// Why a REGISTER_BROKER body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RegisterBodyError {
    #[error("invalid register body JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid compressed register body: {0}")]
    Inflate(#[from] std::io::Error),
    #[error("compressed register body inflates past {MAX_INFLATED} bytes")]
    TooLarge,
    #[error("compressed register body ends inside its {0}")]
    Truncated(&'static str),
    #[error("compressed register body has an unreadable topic config '{0}'")]
    TopicConfig(String),
}

/// What a broker tells the NameServer each time it registers.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    pub filter_server_list: Vec<String>,
}

impl RegisterBrokerBody {
    /// The JSON form, keys in fastjson's alphabetical order.
    pub fn encode(&self) -> Vec<u8> {
        fastjson::to_vec(&BodyOut {
            filter_server_list: &self.filter_server_list,
            topic_config_serialize_wrapper: WrapperOut {
                data_version: DataVersionOut::from(&self.topic_config_serialize_wrapper.data_version),
                topic_config_table: self
                    .topic_config_serialize_wrapper
                    .topic_config_table
                    .iter()
                    .map(|(name, config)| (name.as_str(), TopicConfigOut::from(config)))
                    .collect(),
            },
        })
    }

    /// The compressed form (4.x layout: no static-topic mapping section).
    pub fn encode_compressed(&self) -> Vec<u8> {
        let mut plain = Vec::with_capacity(1024);
        let wrapper = &self.topic_config_serialize_wrapper;
        put_chunk(&mut plain, &data_version_json(&wrapper.data_version));
        plain.extend_from_slice(&(wrapper.topic_config_table.len() as i32).to_be_bytes());
        for config in wrapper.topic_config_table.values() {
            put_chunk(&mut plain, config.encode_compact().as_bytes());
        }
        put_chunk(&mut plain, &fastjson::to_vec(&self.filter_server_list));
        let mut encoder = ZlibEncoder::new(Vec::with_capacity(plain.len() / 4 + 64), Compression::best());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(&plain);
        encoder.finish().unwrap_or_default()
    }

    /// Reads a body as Java's `DefaultRequestProcessor.registerBroker` does for
    /// a request of `version` with header `compressed`. An empty body is an
    /// empty registration with DataVersion 0/0.
    pub fn decode(body: &[u8], compressed: bool, version: i32) -> Result<RegisterBrokerBody, RegisterBodyError> {
        if body.is_empty() {
            return Ok(RegisterBrokerBody::default());
        }
        if version < VERSION_REGISTER_BODY {
            let wrapper = fastjson::from_slice(body)?;
            return Ok(RegisterBrokerBody { topic_config_serialize_wrapper: wrapper, filter_server_list: Vec::new() });
        }
        if compressed { decode_compressed(body, version) } else { Ok(fastjson::from_slice(body)?) }
    }
}

fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn decode_compressed(body: &[u8], version: i32) -> Result<RegisterBrokerBody, RegisterBodyError> {
    let mut plain = Vec::with_capacity(body.len() * 4);
    ZlibDecoder::new(body).take(MAX_INFLATED + 1).read_to_end(&mut plain)?;
    if plain.len() as u64 > MAX_INFLATED {
        return Err(RegisterBodyError::TooLarge);
    }
    let mut cur = Cursor { bytes: &plain };
    let data_version = fastjson::from_slice(cur.chunk("data version")?)?;
    let count = cur.int("topic count")?;
    let mut table = BTreeMap::new();
    for _ in 0..count.max(0) {
        let text = String::from_utf8_lossy(cur.chunk("topic config")?);
        let config = TopicConfig::decode_compact(&text).ok_or_else(|| RegisterBodyError::TopicConfig(text.into()))?;
        table.insert(config.topic_name.clone(), config);
    }
    let filter_server_list = fastjson::from_slice(cur.chunk("filter server list")?)?;
    if version >= VERSION_5_0_0 && !cur.bytes.is_empty() {
        // Static-topic mapping entries: the NameServer has no use for them, but
        // they must be well-formed for the body to be.
        for _ in 0..cur.int("mapping count")?.max(0) {
            cur.chunk("mapping entry")?;
        }
    }
    Ok(RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper { topic_config_table: table, data_version },
        filter_server_list,
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn int(&mut self, what: &'static str) -> Result<i32, RegisterBodyError> {
        let (head, rest) = self.bytes.split_first_chunk::<4>().ok_or(RegisterBodyError::Truncated(what))?;
        self.bytes = rest;
        Ok(i32::from_be_bytes(*head))
    }

    fn chunk(&mut self, what: &'static str) -> Result<&'a [u8], RegisterBodyError> {
        let len = usize::try_from(self.int(what)?).map_err(|_| RegisterBodyError::Truncated(what))?;
        if len > self.bytes.len() {
            return Err(RegisterBodyError::Truncated(what));
        }
        let (chunk, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(chunk)
    }
}

/// A DataVersion as fastjson writes it (keys alphabetical): the body of
/// QUERY_DATA_VERSION requests and responses and part of register bodies.
pub fn data_version_json(version: &DataVersion) -> Vec<u8> {
    fastjson::to_vec(&DataVersionOut::from(version))
}

/// Parses a DataVersion body; unknown keys are ignored.
pub fn decode_data_version(body: &[u8]) -> Result<DataVersion, serde_json::Error> {
    fastjson::from_slice(body)
}

// Borrowed views that put keys in fastjson's alphabetical order; the model
// types declare their fields in Java's source order.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BodyOut<'a> {
    filter_server_list: &'a [String],
    topic_config_serialize_wrapper: WrapperOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrapperOut<'a> {
    data_version: DataVersionOut,
    topic_config_table: BTreeMap<&'a str, TopicConfigOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DataVersionOut {
    counter: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_version: Option<i64>,
    timestamp: i64,
}

impl From<&DataVersion> for DataVersionOut {
    fn from(v: &DataVersion) -> DataVersionOut {
        DataVersionOut { counter: v.counter, state_version: v.state_version, timestamp: v.timestamp }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicConfigOut<'a> {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: &'a BTreeMap<String, String>,
    order: bool,
    perm: u32,
    read_queue_nums: u32,
    topic_filter_type: TopicFilterType,
    topic_name: &'a str,
    topic_sys_flag: i32,
    write_queue_nums: u32,
}

impl<'a> From<&'a TopicConfig> for TopicConfigOut<'a> {
    fn from(t: &'a TopicConfig) -> TopicConfigOut<'a> {
        TopicConfigOut {
            attributes: &t.attributes,
            order: t.order,
            perm: t.perm,
            read_queue_nums: t.read_queue_nums,
            topic_filter_type: t.topic_filter_type,
            topic_name: &t.topic_name,
            topic_sys_flag: t.topic_sys_flag,
            write_queue_nums: t.write_queue_nums,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-topic body, as a 4.9.8 broker's `RegisterBrokerBody.encode()` writes it.
    const JAVA: &str = concat!(
        r#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":2,"timestamp":1700000000000},"#,
        r#""topicConfigTable":{"TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","#,
        r#""topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}}"#
    );

    fn sample() -> RegisterBrokerBody {
        let mut body = RegisterBrokerBody::default();
        let wrapper = &mut body.topic_config_serialize_wrapper;
        wrapper.data_version = DataVersion { timestamp: 1_700_000_000_000, counter: 2, state_version: None };
        wrapper.topic_config_table.insert("TopicTest".into(), TopicConfig::new("TopicTest", 4));
        body
    }

    #[test]
    fn json_form_matches_java_bytes() {
        assert_eq!(String::from_utf8(sample().encode()).unwrap(), JAVA);
        assert_eq!(RegisterBrokerBody::decode(JAVA.as_bytes(), false, 409).unwrap(), sample());
    }

    #[test]
    fn compressed_form_round_trips() {
        let mut body = sample();
        body.filter_server_list.push("10.0.0.1:30000".into());
        let mut attrs = TopicConfig::new("T2", 8).with_perm(4);
        attrs.attributes.insert("+message.type".into(), "NORMAL".into());
        body.topic_config_serialize_wrapper.topic_config_table.insert("T2".into(), attrs);

        let bytes = body.encode_compressed();
        assert_eq!(&bytes[..2], &[0x78, 0xDA], "zlib header of BEST_COMPRESSION");
        assert_eq!(RegisterBrokerBody::decode(&bytes, true, 409).unwrap(), body);
        // A 5.x broker appends the mapping section (here: no entries).
        let mut plain = Vec::new();
        ZlibDecoder::new(&bytes[..]).read_to_end(&mut plain).unwrap();
        plain.extend_from_slice(&0i32.to_be_bytes());
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&plain).unwrap();
        assert_eq!(RegisterBrokerBody::decode(&enc.finish().unwrap(), true, 479).unwrap(), body);
    }

    #[test]
    fn compact_topic_form_drops_sys_flag_and_order() {
        let mut body = sample();
        let t = body.topic_config_serialize_wrapper.topic_config_table.get_mut("TopicTest").unwrap();
        t.topic_sys_flag = 1;
        t.order = true;
        let decoded = RegisterBrokerBody::decode(&body.encode_compressed(), true, 409).unwrap();
        assert_eq!(decoded, sample());
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        assert!(matches!(RegisterBrokerBody::decode(b"{not json", false, 409), Err(RegisterBodyError::Json(_))));
        assert!(matches!(
            RegisterBrokerBody::decode(b"\x78\xDAgarbage", true, 409),
            Err(RegisterBodyError::Inflate(_))
        ));
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&[0, 0, 0, 50, b'{']).unwrap();
        let truncated = enc.finish().unwrap();
        assert!(matches!(
            RegisterBrokerBody::decode(&truncated, true, 409),
            Err(RegisterBodyError::Truncated("data version"))
        ));
        assert_eq!(RegisterBrokerBody::decode(b"", true, 409).unwrap(), RegisterBrokerBody::default());
    }

    #[test]
    fn old_brokers_send_a_bare_wrapper() {
        let wrapper = &JAVA[r#"{"filterServerList":[],"topicConfigSerializeWrapper":"#.len()..JAVA.len() - 1];
        assert_eq!(RegisterBrokerBody::decode(wrapper.as_bytes(), false, 36).unwrap(), sample());
    }

    #[test]
    fn data_version_keys_are_alphabetical() {
        let v = DataVersion { timestamp: 5, counter: 1, state_version: Some(3) };
        assert_eq!(data_version_json(&v), br#"{"counter":1,"stateVersion":3,"timestamp":5}"#);
        assert_eq!(decode_data_version(br#"{"counter":1,"stateVersion":3,"timestamp":5}"#).unwrap(), v);
    }
}
