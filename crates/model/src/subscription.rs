//! Subscription group configuration (`SubscriptionGroupConfig`).

use serde::{Deserialize, Serialize};

/// How a consumer group may consume; persisted in `subscriptionGroup.json` and
/// created on first use when `autoCreateSubscriptionGroup` is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_broadcast_enable: bool,
    /// Queues of the group's `%RETRY%` topic.
    pub retry_queue_nums: u32,
    /// Deliveries before a message goes to the group's `%DLQ%` topic.
    pub retry_max_times: i32,
    /// The broker id consumers are sent back to once they have caught up.
    pub broker_id: u64,
    /// The broker id suggested to consumers that lag too far behind.
    pub which_broker_when_consume_slowly: u64,
    pub notify_consumer_ids_changed_enable: bool,
    /// 5.x: POP consumers of the group get each queue's messages in order (FIFO).
    pub consume_message_orderly: bool,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> SubscriptionGroupConfig {
        SubscriptionGroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            consume_message_orderly: false,
        }
    }
}

impl SubscriptionGroupConfig {
    pub fn new(group: impl Into<String>) -> SubscriptionGroupConfig {
        SubscriptionGroupConfig { group_name: group.into(), ..SubscriptionGroupConfig::default() }
    }
}

/// Groups every broker creates at startup.
pub const BUILT_IN_GROUPS: [&str; 7] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
];

/// Prefix of system groups, which are always auto-created.
pub const SYSTEM_GROUP_PREFIX: &str = "CID_RMQ_SYS_";
/// The broker's own consumer of the transaction half and op topics.
pub const TRANSACTION_CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";
/// The producer group `mqadmin` and other tools heartbeat with.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_java() {
        let g: SubscriptionGroupConfig = serde_json::from_str(r#"{"groupName":"g"}"#).unwrap();
        assert_eq!(g, SubscriptionGroupConfig::new("g"));
        assert_eq!(g.retry_max_times, 16);
        assert_eq!(g.which_broker_when_consume_slowly, 1);
    }
}
