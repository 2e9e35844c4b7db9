//! BATCH_ACK_MESSAGE's body (Java's `BatchAckMessageRequestBody` and
//! `BatchAck`): many acks in one request, one entry per checkpoint, the
//! acked messages as a bit set over offsets from `startOffset`.

use base64::Engine;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// BATCH_ACK_MESSAGE (200151) request body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchAckMessageRequestBody {
    pub broker_name: String,
    pub acks: Vec<BatchAck>,
}

/// The acks of one pop's checkpoint. Java writes the short keys; the long
/// ones are its alternate names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchAck {
    #[serde(rename = "c", alias = "consumerGroup")]
    pub consumer_group: String,
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
    /// The retry flag of the receipt handle: "0", "1" or "2".
    #[serde(rename = "r", alias = "retry")]
    pub retry: String,
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    #[serde(rename = "rq", alias = "reviveQueueId")]
    pub revive_queue_id: i32,
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    #[serde(rename = "it", alias = "invisibleTime")]
    pub invisible_time: i64,
    /// Bit i set: the message at `startOffset + i` is acked.
    #[serde(rename = "b", alias = "bitSet", serialize_with = "write_bits", deserialize_with = "read_bits")]
    pub bit_set: Vec<u8>,
}

impl BatchAck {
    /// The offsets whose bits are set (none past `i64::MAX`).
    pub fn acked_offsets(&self) -> impl Iterator<Item = i64> + '_ {
        self.bit_set.iter().enumerate().flat_map(move |(byte, bits)| {
            (0..8)
                .filter(move |b| bits & (1 << b) != 0)
                .filter_map(move |b| self.start_offset.checked_add((byte * 8 + b) as i64))
        })
    }

    /// Sets the bit of `offset` (at or after `start_offset`).
    pub fn set(&mut self, offset: i64) {
        let Ok(i) = usize::try_from(offset - self.start_offset) else { return };
        if self.bit_set.len() <= i / 8 {
            self.bit_set.resize(i / 8 + 1, 0);
        }
        self.bit_set[i / 8] |= 1 << (i % 8);
    }
}

/// Java's `BitSet.toByteArray()` (little-endian), written by fastjson as base64.
fn write_bits<S: Serializer>(bits: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bits))
}

/// Reads the bit set as fastjson accepts a `byte[]`: base64 text or an array of numbers.
fn read_bits<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    struct Bits;
    impl<'de> Visitor<'de> for Bits {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a base64 string or an array of bytes")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            base64::engine::general_purpose::STANDARD.decode(v.trim()).map_err(E::custom)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Vec<u8>, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::new();
            while let Some(b) = seq.next_element::<i64>()? {
                out.push(b as u8);
            }
            Ok(out)
        }
    }
    d.deserialize_any(Bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_java_shaped_batches() {
        // Offsets 10 and 12 of a checkpoint starting at 10: bits 0 and 2, byte 0x05 ("BQ==").
        let json = r#"{"acks":[{"b":"BQ==","c":"G","it":30000,"pt":1700000000000,"q":1,"r":"0","rq":2,"so":10,"t":"T"}],"brokerName":"broker-a"}"#;
        let body: BatchAckMessageRequestBody = rmq_model::fastjson::from_slice(json.as_bytes()).unwrap();
        assert_eq!(body.broker_name, "broker-a");
        let ack = &body.acks[0];
        assert_eq!(ack.acked_offsets().collect::<Vec<_>>(), vec![10, 12]);
        let long = r#"{"acks":[{"bitSet":[5],"consumerGroup":"G","startOffset":10,"topic":"T"}]}"#;
        let body: BatchAckMessageRequestBody = rmq_model::fastjson::from_slice(long.as_bytes()).unwrap();
        assert_eq!(body.acks[0].acked_offsets().collect::<Vec<_>>(), vec![10, 12]);
        let mut built = BatchAck { start_offset: 10, ..BatchAck::default() };
        built.set(10);
        built.set(12);
        assert_eq!(built.bit_set, vec![5]);
        assert!(serde_json::to_string(&built).unwrap().contains(r#""b":"BQ==""#));
    }
}
