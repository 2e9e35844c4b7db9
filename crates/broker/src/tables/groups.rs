//! Subscription groups: how each consumer group may consume. Built-in groups
//! exist from boot; others are created by admins or, with
//! `autoCreateSubscriptionGroup`, on first use. Persisted as
//! `config/subscriptionGroup.json`.

use rmq_model::subscription::{BUILT_IN_GROUPS, SYSTEM_GROUP_PREFIX};
use rmq_model::tables::SubscriptionGroupWrapper;
use rmq_model::{DataVersion, SubscriptionGroupConfig};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::TableFile;

#[derive(Debug)]
struct Inner {
    table: HashMap<String, Arc<SubscriptionGroupConfig>>,
    data_version: DataVersion,
}

#[derive(Debug)]
pub struct SubscriptionGroups {
    inner: RwLock<Inner>,
    file: TableFile,
}

impl SubscriptionGroups {
    /// The table with the built-in groups (the ONS ones may consume broadcast).
    pub fn new(now_ms: i64) -> SubscriptionGroups {
        let table = BUILT_IN_GROUPS
            .iter()
            .map(|name| (name.to_string(), Arc::new(SubscriptionGroupConfig::new(*name))))
            .collect();
        SubscriptionGroups {
            inner: RwLock::new(Inner { table, data_version: DataVersion::new(now_ms) }),
            file: TableFile::none(),
        }
    }

    /// The built-in groups with what `file` holds loaded over them; changes
    /// are saved there.
    pub fn open(file: TableFile, now_ms: i64) -> Result<SubscriptionGroups, rmq_store::StoreError> {
        let mut groups = SubscriptionGroups::new(now_ms);
        if let Some(stored) = file.load()? {
            groups.load(stored);
        }
        groups.file = file;
        Ok(groups)
    }

    /// Writes `subscriptionGroup.json`.
    pub fn persist(&self) {
        self.file.save(&self.snapshot());
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads `subscriptionGroup.json` over the built-in groups.
    pub fn load(&self, stored: SubscriptionGroupWrapper) {
        let mut inner = self.write();
        for (name, config) in stored.subscription_group_table {
            inner.table.insert(name, Arc::new(config));
        }
        if stored.data_version.timestamp != 0 || stored.data_version.counter != 0 {
            inner.data_version = stored.data_version;
        }
    }

    pub fn get(&self, group: &str) -> Option<Arc<SubscriptionGroupConfig>> {
        self.read().table.get(group).cloned()
    }

    /// The group's config, created with defaults when auto-creation is on or
    /// the group is a system group (`CID_RMQ_SYS_…`). The bool says whether it
    /// was created now (the caller then persists).
    pub fn find_or_create(
        &self,
        group: &str,
        auto_create: bool,
        now_ms: i64,
    ) -> Option<(Arc<SubscriptionGroupConfig>, bool)> {
        if let Some(existing) = self.get(group) {
            return Some((existing, false));
        }
        if !auto_create && !group.starts_with(SYSTEM_GROUP_PREFIX) {
            return None;
        }
        let mut inner = self.write();
        if let Some(existing) = inner.table.get(group) {
            return Some((existing.clone(), false));
        }
        let config = Arc::new(SubscriptionGroupConfig::new(group));
        inner.table.insert(group.to_owned(), config.clone());
        inner.data_version.bump(now_ms);
        Some((config, true))
    }

    pub fn upsert(&self, config: SubscriptionGroupConfig, now_ms: i64) {
        let mut inner = self.write();
        inner.table.insert(config.group_name.clone(), Arc::new(config));
        inner.data_version.bump(now_ms);
    }

    pub fn remove(&self, group: &str, now_ms: i64) -> Option<Arc<SubscriptionGroupConfig>> {
        let mut inner = self.write();
        let removed = inner.table.remove(group)?;
        inner.data_version.bump(now_ms);
        Some(removed)
    }

    pub fn data_version(&self) -> DataVersion {
        self.read().data_version.clone()
    }

    /// Replaces the table with a master's (slave metadata sync).
    pub fn replace_all(&self, from_master: SubscriptionGroupWrapper) {
        let mut inner = self.write();
        inner.table = from_master.subscription_group_table.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        inner.data_version = from_master.data_version;
    }

    pub fn snapshot(&self) -> SubscriptionGroupWrapper {
        let inner = self.read();
        SubscriptionGroupWrapper {
            subscription_group_table: inner.table.iter().map(|(k, v)| (k.clone(), (**v).clone())).collect(),
            data_version: inner.data_version.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_and_auto_creation() {
        let g = SubscriptionGroups::new(1);
        assert!(g.get("TOOLS_CONSUMER").is_some());
        assert!(g.find_or_create("app", false, 2).is_none());
        let (sys, created) = g.find_or_create("CID_RMQ_SYS_TRANS", false, 2).unwrap();
        assert!(created);
        assert_eq!(sys.retry_max_times, 16);
        let (_, created) = g.find_or_create("app", true, 3).unwrap();
        assert!(created);
        let (_, again) = g.find_or_create("app", true, 4).unwrap();
        assert!(!again);
        let snap = g.snapshot();
        let h = SubscriptionGroups::new(5);
        h.load(snap.clone());
        assert_eq!(h.snapshot(), snap);
    }
}
