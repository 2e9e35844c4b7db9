//! `KVTable` (`{"table":{…}}`): a flat string map. The NameServer answers
//! GET_KVLIST_BY_NAMESPACE with it and returns the `ORDER_TOPIC_CONFIG`
//! namespace as one to every registering broker; brokers answer
//! GET_BROKER_RUNTIME_INFO with one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use rmq_model::fastjson;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

impl KvTable {
    pub fn encode(&self) -> Vec<u8> {
        fastjson::to_vec(self)
    }

    pub fn decode(body: &[u8]) -> Result<KvTable, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

impl From<BTreeMap<String, String>> for KvTable {
    fn from(table: BTreeMap<String, String>) -> KvTable {
        KvTable { table }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_bytes() {
        let kv = KvTable::from(BTreeMap::from([
            ("TopicOrder".to_owned(), "broker-a:4;broker-b:4".to_owned()),
            ("TopicX".to_owned(), "broker-a:8".to_owned()),
        ]));
        let java = r#"{"table":{"TopicOrder":"broker-a:4;broker-b:4","TopicX":"broker-a:8"}}"#;
        assert_eq!(String::from_utf8(kv.encode()).unwrap(), java);
        assert_eq!(KvTable::decode(java.as_bytes()).unwrap(), kv);
        assert_eq!(KvTable::decode(b"{}").unwrap(), KvTable::default());
    }
}
