//! The records of the revive log (`rmq_sys_REVIVE_LOG_<cluster>`), in the
//! JSON Java 5 writes there: a checkpoint (`ck`) per pop of a queue, an ack
//! (`ack`) or batch ack (`bAck`) per acknowledgement. rmq also writes a
//! batch ack for the messages it revives, so that after a restart the replay
//! knows the checkpoint is done, and an `oAck` for a FIFO queue's new offset.

use rmq_model::fastjson;
use rmq_model::properties::keys;
use rmq_model::{Properties, record};
use serde::{Deserialize, Serialize};

pub(crate) const CK_TAG: &str = "ck";
pub(crate) const ACK_TAG: &str = "ack";
pub(crate) const BATCH_ACK_TAG: &str = "bAck";
/// rmq's own: a FIFO queue's committed offset moved.
pub(crate) const ORDER_ACK_TAG: &str = "oAck";

/// Java's `PopCheckPoint`: the messages one pop took from one queue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CkRecord {
    #[serde(rename = "so")]
    pub start_offset: i64,
    #[serde(rename = "pt")]
    pub pop_time: i64,
    #[serde(rename = "it")]
    pub invisible_time: i64,
    #[serde(rename = "bm")]
    pub bit_map: i32,
    #[serde(rename = "n")]
    pub num: i32,
    #[serde(rename = "q")]
    pub queue_id: i32,
    #[serde(rename = "t")]
    pub topic: String,
    #[serde(rename = "c")]
    pub cid: String,
    #[serde(rename = "ro")]
    pub revive_offset: i64,
    /// Offsets of the messages, as differences from `so`.
    #[serde(rename = "d")]
    pub queue_offset_diff: Vec<i64>,
    #[serde(rename = "bn")]
    pub broker_name: String,
}

/// Java's `AckMsg` and `BatchAckMsg` in one: `ao` for one offset, `aol` for many.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct AckRecord {
    #[serde(rename = "ao", alias = "ackOffset")]
    pub ack_offset: i64,
    #[serde(rename = "aol", alias = "ackOffsetList", skip_serializing_if = "Vec::is_empty")]
    pub ack_offset_list: Vec<i64>,
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    #[serde(rename = "c", alias = "consumerGroup")]
    pub consumer_group: String,
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    #[serde(rename = "bn", alias = "brokerName")]
    pub broker_name: String,
}

impl AckRecord {
    /// Every offset this record acknowledges.
    pub fn offsets(&self) -> Vec<i64> {
        if self.ack_offset_list.is_empty() { vec![self.ack_offset] } else { self.ack_offset_list.clone() }
    }
}

/// rmq's FIFO record, written after each FIFO pop, ack and change of
/// invisible time: the group's committed offset in a queue (`next`) and the
/// queue's state above it, so that a restart keeps what is in flight
/// invisible, what was acked out of order acked, and the delivery counts.
/// The last record of a queue is its state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OrderAckRecord {
    #[serde(rename = "c")]
    pub consumer_group: String,
    #[serde(rename = "t")]
    pub topic: String,
    #[serde(rename = "q")]
    pub queue_id: i32,
    #[serde(rename = "next")]
    pub next: i64,
    /// The current pop's time and the end of its invisibility.
    #[serde(rename = "pt")]
    pub pop_time: i64,
    #[serde(rename = "until")]
    pub invisible_until: i64,
    /// Offsets handed out by the current pop.
    #[serde(rename = "o", skip_serializing_if = "Vec::is_empty")]
    pub offsets: Vec<i64>,
    /// Offsets acked above `next`.
    #[serde(rename = "a", skip_serializing_if = "Vec::is_empty")]
    pub acked: Vec<i64>,
    /// Delivery counts: `dk[i]` was handed out `dn[i]` times.
    #[serde(rename = "dk", skip_serializing_if = "Vec::is_empty")]
    pub delivered_offsets: Vec<i64>,
    #[serde(rename = "dn", skip_serializing_if = "Vec::is_empty")]
    pub delivered_counts: Vec<u32>,
}

/// One record read back from the revive log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReviveRecord {
    Checkpoint(CkRecord),
    Ack(AckRecord),
    OrderAck(OrderAckRecord),
}

impl ReviveRecord {
    /// The tag, the body and the unique key it is stored with.
    pub fn encode(&self) -> (&'static str, Vec<u8>, String) {
        match self {
            ReviveRecord::Checkpoint(ck) => {
                let key = format!(
                    "{}@{}@{}@{}@{}@{}@{CK_TAG}",
                    ck.topic, ck.queue_id, ck.start_offset, ck.cid, ck.pop_time, ck.broker_name
                );
                (CK_TAG, fastjson::to_vec(ck), key)
            }
            ReviveRecord::Ack(ack) => {
                let tag = if ack.ack_offset_list.is_empty() { ACK_TAG } else { BATCH_ACK_TAG };
                let key = format!(
                    "{}@{}@{}@{}@{}@{}@{tag}",
                    ack.topic, ack.queue_id, ack.ack_offset, ack.consumer_group, ack.pop_time, ack.broker_name
                );
                (tag, fastjson::to_vec(ack), key)
            }
            ReviveRecord::OrderAck(o) => {
                let key = format!("{}@{}@{}@{}@{ORDER_ACK_TAG}", o.topic, o.queue_id, o.next, o.consumer_group);
                (ORDER_ACK_TAG, fastjson::to_vec(o), key)
            }
        }
    }

    /// Reads a stored revive-log message; `None` for what is not one of ours.
    pub fn decode(stored: &[u8]) -> Option<ReviveRecord> {
        let view = record::decode_message(stored, false).ok()?;
        let tag = record::property_value(view.properties, keys::TAGS)?;
        match tag {
            b"ck" => fastjson::from_slice(view.body).ok().map(ReviveRecord::Checkpoint),
            b"ack" | b"bAck" => fastjson::from_slice(view.body).ok().map(ReviveRecord::Ack),
            b"oAck" => fastjson::from_slice(view.body).ok().map(ReviveRecord::OrderAck),
            _ => None,
        }
    }
}

/// The properties a revive-log message carries: its tag and unique key.
pub(crate) fn properties(tag: &str, key: &str) -> String {
    let mut p = Properties::new();
    p.insert(keys::TAGS, tag);
    p.insert(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX, key);
    p.insert(keys::WAIT_STORE_MSG_OK, "false");
    p.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_java_writes() {
        let ck = r#"{"bm":0,"c":"G","d":[0,2],"it":30000,"n":2,"pt":1700000000000,"q":1,"ro":0,"so":10,"t":"T","bn":"broker-a"}"#;
        let ck: CkRecord = fastjson::from_slice(ck.as_bytes()).unwrap();
        assert_eq!((ck.start_offset, ck.queue_offset_diff.clone(), ck.cid.as_str()), (10, vec![0, 2], "G"));
        let ack = r#"{"ao":12,"bn":"broker-a","c":"G","pt":1700000000000,"q":1,"so":10,"t":"T"}"#;
        let ack: AckRecord = fastjson::from_slice(ack.as_bytes()).unwrap();
        assert_eq!(ack.offsets(), vec![12]);
        let batch = r#"{"aol":[10,12],"c":"G","pt":1,"q":1,"so":10,"t":"T"}"#;
        let batch: AckRecord = fastjson::from_slice(batch.as_bytes()).unwrap();
        assert_eq!(batch.offsets(), vec![10, 12]);
    }
}
