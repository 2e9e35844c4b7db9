//! Server-side rebalancing (5.x): QUERY_ASSIGNMENT (400) asks the broker
//! which queues a client consumes and how (PULL or POP);
//! SET_MESSAGE_REQUEST_MODE (401) is `mqadmin setConsumeMode`;
//! GET_ALL_MESSAGE_REQUEST_MODE (402) lets slaves copy the table.

use crate::body::heartbeat::MessageModel;
use rmq_model::MessageQueue;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a group consumes a topic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageRequestMode {
    #[default]
    #[serde(rename = "PULL")]
    Pull,
    #[serde(rename = "POP")]
    Pop,
}

/// QUERY_ASSIGNMENT's body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentRequestBody {
    pub topic: String,
    pub consumer_group: String,
    pub client_id: String,
    pub strategy_name: String,
    pub message_model: MessageModel,
}

/// One queue a client is given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueueAssignment {
    pub message_queue: MessageQueue,
    pub mode: MessageRequestMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<BTreeMap<String, String>>,
}

/// QUERY_ASSIGNMENT's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentResponseBody {
    pub message_queue_assignments: Vec<MessageQueueAssignment>,
}

/// SET_MESSAGE_REQUEST_MODE's body, and one entry of the persisted table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetMessageRequestModeRequestBody {
    pub topic: String,
    pub consumer_group: String,
    pub mode: MessageRequestMode,
    /// POP: how many other clients' queues each client also pops; ≤ 0: all queues.
    pub pop_share_queue_num: i32,
}

/// `config/messageRequestMode.json`, and GET_ALL_MESSAGE_REQUEST_MODE's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageRequestModeSerializeWrapper {
    /// topic → group → mode.
    pub message_request_mode_map: BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_shapes() {
        let req = r#"{"clientId":"127.0.0.1@1","consumerGroup":"G","messageModel":"CLUSTERING","strategyName":"AVG","topic":"T"}"#;
        let req: QueryAssignmentRequestBody = rmq_model::fastjson::from_slice(req.as_bytes()).unwrap();
        assert_eq!((req.topic.as_str(), req.message_model), ("T", MessageModel::Clustering));
        let mode = r#"{"consumerGroup":"G","mode":"POP","popShareQueueNum":0,"topic":"T"}"#;
        let mode: SetMessageRequestModeRequestBody = rmq_model::fastjson::from_slice(mode.as_bytes()).unwrap();
        assert_eq!(mode.mode, MessageRequestMode::Pop);
        let answer = QueryAssignmentResponseBody {
            message_queue_assignments: vec![MessageQueueAssignment {
                message_queue: MessageQueue::new("T", "broker-a", -1),
                mode: MessageRequestMode::Pop,
                attachments: None,
            }],
        };
        let written: serde_json::Value = serde_json::from_str(&rmq_model::fastjson::to_string(&answer)).unwrap();
        let java: serde_json::Value = serde_json::from_str(
            r#"{"messageQueueAssignments":[{"messageQueue":{"brokerName":"broker-a","queueId":-1,"topic":"T"},"mode":"POP"}]}"#,
        )
        .unwrap();
        assert_eq!(written, java);
    }
}
