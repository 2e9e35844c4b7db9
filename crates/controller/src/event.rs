//! The events that change the replica state. They are what a consensus log
//! will carry: a request is decided against the current state, its events
//! are made durable (today the local [`crate::store::EventLog`], next a Raft
//! log), and only then applied, on every controller in the same order.
//!
//! Serialized as JSON objects tagged with Java's `EventType` names.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "eventType", rename_all_fields = "camelCase")]
pub enum Event {
    /// The master's new in-sync set (its epoch goes up by one).
    #[serde(rename = "ALTER_SYNC_STATE_SET_EVENT")]
    AlterSyncStateSet { broker_name: String, new_sync_state_set: BTreeSet<i64> },
    /// A broker takes an id in its group; the first one creates the group.
    #[serde(rename = "APPLY_BROKER_ID_EVENT")]
    ApplyBrokerId {
        cluster_name: String,
        broker_name: String,
        broker_address: String,
        new_broker_id: i64,
        register_check_code: String,
    },
    /// A new master (the in-sync set becomes just it), or, with `None`, the
    /// master is gone and no replica could take over. Both raise the master epoch.
    #[serde(rename = "ELECT_MASTER_EVENT")]
    ElectMaster { broker_name: String, new_master_broker_id: Option<i64> },
    /// Forget some brokers of a group, or the whole group when `None`.
    #[serde(rename = "CLEAN_BROKER_DATA_EVENT")]
    CleanBrokerData { broker_name: String, broker_id_set_to_clean: Option<BTreeSet<i64>> },
    /// A registered broker came back on another address.
    #[serde(rename = "UPDATE_BROKER_ADDRESS")]
    UpdateBrokerAddress { cluster_name: String, broker_name: String, broker_address: String, broker_id: i64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_with_java_event_type_names() {
        let e = Event::ElectMaster { broker_name: "broker-a".into(), new_master_broker_id: Some(2) };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"eventType":"ELECT_MASTER_EVENT","brokerName":"broker-a","newMasterBrokerId":2}"#);
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
    }
}
