//! The KV config (Java's `KVConfigManager`): namespaced string pairs that
//! admin tools put, kept in `kvConfigPath` as
//! `{"configTable":{"<namespace>":{"<key>":"<value>"}}}`.
//! Namespace `ORDER_TOPIC_CONFIG` maps ordered topics to
//! `brokerName:queueNum;...`, which routes and registering brokers receive.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

use rmq_model::fastjson;

use crate::error::{NamesrvError, Result};
use crate::file;

/// `NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG`.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

/// The file's shape (`KVConfigSerializeWrapper`).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KvFile {
    config_table: BTreeMap<String, BTreeMap<String, String>>,
}

/// The table and its file. Every change is written through before it is
/// acknowledged.
#[derive(Debug)]
pub struct KvStore {
    path: PathBuf,
    table: BTreeMap<String, BTreeMap<String, String>>,
}

impl KvStore {
    /// Loads `path` (or its `.bak`); a missing file is an empty table, an
    /// unreadable one an error, so a typo never silently drops the config.
    pub fn load(path: PathBuf) -> Result<KvStore> {
        let parsed =
            file::read_with_backup(&path, |text| fastjson::from_str::<KvFile>(text).map_err(|e| e.to_string()))
                .map_err(|reason| NamesrvError::Load { path: path.clone(), reason })?;
        let table = parsed.map(|f| f.config_table).unwrap_or_default();
        tracing::info!("load KV config table, {} namespaces from {}", table.len(), path.display());
        Ok(KvStore { path, table })
    }

    /// A table with no file behind it, for tests.
    pub fn in_memory() -> KvStore {
        KvStore { path: PathBuf::new(), table: BTreeMap::new() }
    }

    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.table.get(namespace)?.get(key).map(String::as_str)
    }

    pub fn namespace(&self, namespace: &str) -> Option<&BTreeMap<String, String>> {
        self.table.get(namespace)
    }

    /// Sets a key. A change whose file cannot be written is undone, so that
    /// the error the caller reports is the whole truth.
    pub fn put(&mut self, namespace: &str, key: &str, value: &str) -> Result<()> {
        let before = self.table.get(namespace).cloned();
        let previous = self.table.entry(namespace.to_owned()).or_default().insert(key.to_owned(), value.to_owned());
        match &previous {
            Some(old) => tracing::info!(
                "putKVConfig update config item, Namespace: {namespace} Key: {key} Value: {value} (was {old})"
            ),
            None => {
                tracing::info!("putKVConfig create new config item, Namespace: {namespace} Key: {key} Value: {value}")
            }
        }
        self.persist().inspect_err(|_| self.restore(namespace, before))
    }

    /// Removes a key; the namespace stays even when emptied, as in Java. Undone
    /// like [`KvStore::put`] when the file cannot be written.
    pub fn delete(&mut self, namespace: &str, key: &str) -> Result<()> {
        let before = self.table.get(namespace).cloned();
        let Some(keys) = self.table.get_mut(namespace) else { return Ok(()) };
        if let Some(value) = keys.remove(key) {
            tracing::info!("deleteKVConfig delete a config item, Namespace: {namespace} Key: {key} Value: {value}");
        }
        self.persist().inspect_err(|_| self.restore(namespace, before))
    }

    fn restore(&mut self, namespace: &str, before: Option<BTreeMap<String, String>>) {
        match before {
            Some(keys) => self.table.insert(namespace.to_owned(), keys),
            None => self.table.remove(namespace),
        };
    }

    fn persist(&self) -> Result<()> {
        if self.path.as_os_str().is_empty() {
            return Ok(());
        }
        let text = fastjson::to_string(&KvFileRef { config_table: &self.table });
        file::write_atomically(&self.path, &text).map_err(|source| {
            tracing::error!("persist kvConfig {} failed: {source}", self.path.display());
            NamesrvError::Persist { path: self.path.clone(), source }
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KvFileRef<'a> {
    config_table: &'a BTreeMap<String, BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_every_change_and_loads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv/kvConfig.json");
        let mut kv = KvStore::load(path.clone()).unwrap();
        kv.put(ORDER_TOPIC_CONFIG, "TopicOrder", "broker-a:4").unwrap();
        kv.put("ns", "k", "v").unwrap();
        kv.delete("ns", "k").unwrap();
        kv.delete("none", "k").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"TopicOrder":"broker-a:4"},"ns":{}}}"#
        );
        let again = KvStore::load(path.clone()).unwrap();
        assert_eq!(again.get(ORDER_TOPIC_CONFIG, "TopicOrder"), Some("broker-a:4"));
        assert_eq!(again.namespace("ns").map(BTreeMap::len), Some(0));
        assert_eq!(again.get("ns", "k"), None);
    }

    #[test]
    fn a_change_that_cannot_be_written_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        let mut kv = KvStore::load(path).unwrap();
        kv.put("ns", "k", "v").unwrap();
        // The file's directory becomes a plain file: every write now fails.
        let blocked = dir.path().join("blocked");
        std::fs::write(&blocked, "").unwrap();
        kv.path = blocked.join("kvConfig.json");
        assert!(kv.put("ns", "k", "changed").is_err());
        assert!(kv.put("other", "k", "v").is_err());
        assert!(kv.delete("ns", "k").is_err());
        assert_eq!(kv.get("ns", "k"), Some("v"), "the value in force is the one on disk");
        assert!(kv.namespace("other").is_none());
    }

    #[test]
    fn reads_javas_pretty_file_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, "{\n\t\"configTable\":{\n\t\t\"ns\":{\n\t\t\t\"k\":\"v\"\n\t\t}\n\t}\n}").unwrap();
        assert_eq!(KvStore::load(path.clone()).unwrap().get("ns", "k"), Some("v"));
        std::fs::write(&path, "{oops").unwrap();
        assert!(matches!(KvStore::load(path), Err(NamesrvError::Load { .. })));
    }
}
