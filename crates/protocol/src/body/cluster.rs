//! `ClusterInfo`, the body of GET_BROKER_CLUSTER_INFO (`brokerAddrTable`,
//! `clusterAddrTable`): every broker group and which cluster each belongs to. Java always writes it in
//! fastjson's default flavour, broker ids unquoted, whatever the client.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use rmq_model::fastjson;

use super::route::BrokerData;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    /// Broker name → the group's addresses.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → names of its broker groups.
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl ClusterInfo {
    pub fn encode(&self) -> Vec<u8> {
        fastjson::to_vec(self)
    }

    pub fn decode(body: &[u8]) -> Result<ClusterInfo, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-broker `ClusterInfo` as Java's fastjson writes it, plus the 5.x
    /// `enableActingMaster` we always write.
    const JAVA: &str = concat!(
        r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"192.168.0.10:10911"},"brokerName":"broker-a","#,
        r#""cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#
    );

    fn sample() -> ClusterInfo {
        let mut broker = BrokerData::new("DefaultCluster", "broker-a");
        broker.broker_addrs.insert(0, "192.168.0.10:10911".into());
        ClusterInfo {
            broker_addr_table: BTreeMap::from([("broker-a".to_owned(), broker)]),
            cluster_addr_table: BTreeMap::from([(
                "DefaultCluster".to_owned(),
                BTreeSet::from(["broker-a".to_owned()]),
            )]),
        }
    }

    #[test]
    fn unquoted_broker_ids_both_ways() {
        assert_eq!(String::from_utf8(sample().encode()).unwrap(), JAVA);
        assert_eq!(ClusterInfo::decode(JAVA.as_bytes()).unwrap(), sample());
        let four_x = JAVA.replace(r#","enableActingMaster":false"#, "");
        assert_eq!(ClusterInfo::decode(four_x.as_bytes()).unwrap(), sample());
    }
}
