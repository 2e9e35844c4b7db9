//! Bodies of RocketMQ 5's controller requests and responses: `SyncStateSet`,
//! `BrokerMemberGroup`, `ElectMasterResponseBody`, `BrokerReplicasInfo` and
//! `EpochEntryCache`,
//! in fastjson's shapes (fields in alphabetical order, nulls left out,
//! `Map<Long, _>` keys unquoted).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use rmq_model::fastjson;

/// The in-sync replicas of one broker group, by broker id, with the epoch
/// of that set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncStateSet {
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

/// The members of one broker group: broker id to address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerMemberGroup {
    pub broker_addrs: BTreeMap<i64, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// The body of CONTROLLER_ELECT_MASTER's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ElectMasterResponseBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_member_group: Option<BrokerMemberGroup>,
    pub sync_state_set: BTreeSet<i64>,
}

/// One replica as CONTROLLER_GET_SYNC_STATE_DATA reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplicaIdentity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
}

impl ReplicaIdentity {
    /// Java's `ReplicaIdentity.toString`, which `mqadmin getSyncStateSet` prints.
    pub fn java_string(&self) -> String {
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".to_owned());
        format!(
            "ReplicaIdentity{{brokerName='{}', brokerId={}, brokerAddress='{}', alive={}}}",
            text(&self.broker_name),
            self.broker_id.map_or_else(|| "null".to_owned(), |v| v.to_string()),
            text(&self.broker_address),
            self.alive.map_or_else(|| "null".to_owned(), |v| v.to_string()),
        )
    }
}

/// The replica state of one broker group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReplicasInfo {
    pub in_sync_replicas: Vec<ReplicaIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_broker_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_epoch: Option<i32>,
    pub not_in_sync_replicas: Vec<ReplicaIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_state_set_epoch: Option<i32>,
}

/// The body of CONTROLLER_GET_SYNC_STATE_DATA's answer, by broker name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BrokerReplicasInfo {
    pub replicas_info_table: BTreeMap<String, ReplicasInfo>,
}

/// One epoch of a broker group's log: from `startOffset`, the master of
/// `epoch` wrote it; `endOffset` is where the next epoch began (Java's
/// `Long.MAX_VALUE` while it is the last).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EpochEntry {
    pub end_offset: i64,
    pub epoch: i32,
    pub start_offset: i64,
}

/// The body of GET_BROKER_EPOCH_CACHE's answer (`mqadmin getBrokerEpoch`,
/// and what a rejoining replica compares its own epochs with).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EpochEntryCache {
    pub broker_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    pub epoch_list: Vec<EpochEntry>,
    pub max_offset: i64,
}

json_codec!(SyncStateSet, BrokerMemberGroup, ElectMasterResponseBody, BrokerReplicasInfo, EpochEntryCache);

/// The body of CONTROLLER_GET_SYNC_STATE_DATA's request: a JSON list of
/// broker names.
pub fn encode_broker_names(names: &[String]) -> Vec<u8> {
    fastjson::to_vec(names)
}

/// Reads CONTROLLER_GET_SYNC_STATE_DATA's request body.
pub fn decode_broker_names(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    fastjson::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_shapes() {
        let set = SyncStateSet { sync_state_set: BTreeSet::from([1, 2]), sync_state_set_epoch: 3 };
        let java = r#"{"syncStateSet":[1,2],"syncStateSetEpoch":3}"#;
        assert_eq!(String::from_utf8(set.encode()).unwrap(), java);
        assert_eq!(SyncStateSet::decode(java.as_bytes()).unwrap(), set);

        let group = BrokerMemberGroup {
            broker_addrs: BTreeMap::from([(1, "127.0.0.1:30911".to_owned())]),
            broker_name: Some("broker-a".into()),
            cluster: Some("DefaultCluster".into()),
        };
        let body = ElectMasterResponseBody { broker_member_group: Some(group), sync_state_set: BTreeSet::from([1]) };
        let java = r#"{"brokerMemberGroup":{"brokerAddrs":{1:"127.0.0.1:30911"},"brokerName":"broker-a","cluster":"DefaultCluster"},"syncStateSet":[1]}"#;
        assert_eq!(String::from_utf8(body.encode()).unwrap(), java);
        assert_eq!(ElectMasterResponseBody::decode(java.as_bytes()).unwrap(), body);
    }

    #[test]
    fn replica_identity_prints_as_java() {
        let r = ReplicaIdentity {
            alive: Some(true),
            broker_address: Some("127.0.0.1:30911".into()),
            broker_id: Some(1),
            broker_name: Some("broker-a".into()),
        };
        assert_eq!(
            r.java_string(),
            "ReplicaIdentity{brokerName='broker-a', brokerId=1, brokerAddress='127.0.0.1:30911', alive=true}"
        );
        assert_eq!(decode_broker_names(br#"["broker-a","broker-b"]"#).unwrap(), ["broker-a", "broker-b"]);
    }
}
