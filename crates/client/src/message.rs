//! Messages: [`Message`] as a producer hands it over, [`MessageExt`] as pulls
//! and queries return it, decoded from stored CommitLog records (as Java's
//! `MessageDecoder.decode` does).

use bytes::Bytes;
use rmq_model::properties::keys;
use rmq_model::record::{self, RecordError};
use rmq_model::sysflag::message::COMPRESSED;
use rmq_model::{Properties, msg_id};
use std::io::Read;
use std::net::SocketAddr;

/// A message to send. Properties hold tags, keys and anything else
/// (`DELAY`, user properties); the producer adds `UNIQ_KEY` and `WAIT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    pub flag: i32,
    pub properties: Properties,
}

impl Message {
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Message {
        Message { topic: topic.into(), body: body.into(), ..Message::default() }
    }

    pub fn with_tags(mut self, tags: impl Into<String>) -> Message {
        self.properties.insert(keys::TAGS, tags);
        self
    }

    /// Space-separated business keys (`KEYS`), indexed for `queryMsgByKey`.
    pub fn with_keys(mut self, keys_: impl Into<String>) -> Message {
        self.properties.insert(keys::KEYS, keys_);
        self
    }

    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Message {
        self.properties.insert(name, value);
        self
    }
}

/// A stored message as read back: every record field, the properties
/// decoded, and the body (decompressed if the producer compressed it; else a
/// zero-copy slice of the response body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageExt {
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub store_size: u32,
    pub body_crc: i32,
    pub flag: i32,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub properties: Properties,
    pub body: Bytes,
    /// The offset msgId: store host and CommitLog offset.
    pub offset_msg_id: String,
}

impl MessageExt {
    /// The id applications see: `UNIQ_KEY` when the producer set one, else
    /// the offset msgId (Java's `MessageClientExt.getMsgId`).
    pub fn msg_id(&self) -> &str {
        self.properties.unique_key().unwrap_or(&self.offset_msg_id)
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.tags()
    }

    pub fn keys(&self) -> Option<&str> {
        self.properties.get(keys::KEYS)
    }

    /// Decodes the records laid back to back in a pull, query or view body.
    /// Bodies are slices of `buf`, not copies (unless compressed).
    pub fn decode_all(buf: &Bytes) -> Result<Vec<MessageExt>, RecordError> {
        let mut out = Vec::new();
        for view in record::records(buf, false) {
            let view = view?;
            let body = if view.sys_flag & COMPRESSED != 0 {
                inflate(view.body).map_or_else(|| buf.slice_ref(view.body), Bytes::from)
            } else {
                buf.slice_ref(view.body)
            };
            let offset = rmq_model::PhysicalOffset(view.physical_offset.max(0) as u64);
            out.push(MessageExt {
                topic: view.topic.to_owned(),
                queue_id: view.queue_id,
                queue_offset: view.queue_offset,
                commit_log_offset: view.physical_offset,
                store_size: view.total_size,
                body_crc: view.body_crc,
                flag: view.flag,
                sys_flag: view.sys_flag,
                born_timestamp: view.born_timestamp,
                born_host: view.born_host,
                store_timestamp: view.store_timestamp,
                store_host: view.store_host,
                reconsume_times: view.reconsume_times,
                prepared_transaction_offset: view.prepared_transaction_offset,
                properties: view.decode_properties(),
                body,
                offset_msg_id: msg_id::encode_offset_msg_id(view.store_host, offset),
            });
        }
        Ok(out)
    }
}

/// zlib-inflates a compressed body; `None` if it does not inflate.
fn inflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 4);
    flate2::read::ZlibDecoder::new(data).read_to_end(&mut out).ok()?;
    Some(out)
}

/// zlib-deflates a body at Java's default level 5.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2), flate2::Compression::new(5));
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_model::record::{NewMessage, Placement};

    #[test]
    fn decodes_records_and_compressed_bodies() {
        let props = "TAGS\u{1}A\u{2}UNIQ_KEY\u{1}ABC\u{2}";
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let plain = NewMessage {
            topic: "T",
            queue_id: 1,
            flag: 0,
            body: b"hello",
            properties: props.as_bytes(),
            sys_flag: 0,
            born_timestamp: 5,
            born_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        let packed = deflate(b"world world world");
        let zipped = NewMessage { body: &packed, sys_flag: COMPRESSED, properties: b"", ..plain };
        let at =
            |offset: i64| Placement { queue_offset: 3, physical_offset: offset, store_timestamp: 6, store_host: host };
        let mut buf = record::encode(&plain, &at(0)).unwrap();
        let second = buf.len() as i64;
        buf.extend(record::encode(&zipped, &at(second)).unwrap());
        let msgs = MessageExt::decode_all(&Bytes::from(buf)).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(&msgs[0].body[..], b"hello");
        assert_eq!(msgs[0].tags(), Some("A"));
        assert_eq!(msgs[0].msg_id(), "ABC");
        assert_eq!(msgs[1].msg_id(), msgs[1].offset_msg_id);
        assert_eq!(&msgs[1].body[..], b"world world world");
        assert_eq!(msgs[1].commit_log_offset, second);
    }
}
