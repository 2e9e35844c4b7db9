//! Headers of client management: heartbeats' companions, consumer lists, and
//! the requests the broker sends to clients (Java's `ClientManageProcessor`,
//! `ConsumerManageProcessor`, `Broker2Client`).

use crate::command_header;

command_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        client_id: String => "clientID",
        producer_group: Option<String> => "producerGroup",
        consumer_group: Option<String> => "consumerGroup",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38), NOTIFY_CONSUMER_IDS_CHANGED (40),
    /// GET_CONSUMER_CONNECTION_LIST (203).
    pub struct ConsumerGroupRequestHeader {
        consumer_group: String => "consumerGroup",
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307), relayed to the client.
    pub struct GetConsumerRunningInfoRequestHeader {
        consumer_group: String => "consumerGroup",
        client_id: String => "clientId",
        jstack_enable: Option<bool> => "jstackEnable",
    }
}

command_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309), relayed to the client.
    pub struct ConsumeMessageDirectlyRequestHeader {
        consumer_group: String => "consumerGroup",
        client_id: Option<String> => "clientId",
        msg_id: Option<String> => "msgId",
        broker_name: Option<String> => "brokerName",
        topic: Option<String> => "topic",
    }
}

command_header! {
    /// RESET_CONSUMER_CLIENT_OFFSET (220), broker to consumer.
    pub struct ResetClientOffsetRequestHeader {
        topic: String => "topic",
        group: String => "group",
        timestamp: i64 => "timestamp",
        is_force: bool => "isForce",
    }
}
