//! LOCK_BATCH_MQ / UNLOCK_BATCH_MQ bodies (Java's `LockBatchRequestBody`,
//! `LockBatchResponseBody`, `UnlockBatchRequestBody`): orderly consumers lock
//! the queues they consume so that only one client consumes each at a time.

use rmq_model::MessageQueue;
use serde::{Deserialize, Serialize};

/// LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) request bodies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    pub consumer_group: String,
    pub client_id: String,
    pub only_this_broker: bool,
    pub mq_set: Vec<MessageQueue>,
}

/// The answer to LOCK_BATCH_MQ: the queues this client now holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet")]
    pub lock_ok_mq_set: Vec<MessageQueue>,
}
