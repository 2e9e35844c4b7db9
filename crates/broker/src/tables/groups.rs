//! Subscription groups: how each consumer group may consume. Built-in groups
//! exist from boot; others are created by admins or, with
//! `autoCreateSubscriptionGroup`, on first use. Persisted as
//! `config/subscriptionGroup.json`.

use rmq_model::subscription::{BUILT_IN_GROUPS, SYSTEM_GROUP_PREFIX};
use rmq_model::tables::SubscriptionGroupWrapper;
use rmq_model::{DataVersion, SubscriptionGroupConfig};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{FullWarning, TableFile};

/// Whether first use creates a group (`autoCreateSubscriptionGroup`) and up
/// to how many groups in the table (`autoCreateSubscriptionGroupMaxCount`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoCreate {
    pub enabled: bool,
    pub max_count: usize,
}

/// Why [`SubscriptionGroups::find_or_create`] made no group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotCreated {
    /// `autoCreateSubscriptionGroup` is off (Java's only case).
    Off,
    /// The table holds `autoCreateSubscriptionGroupMaxCount` groups (rmq's
    /// bound: every group costs memory and a line of `subscriptionGroup.json`).
    Full(usize),
}

impl NotCreated {
    /// The refusal's remark: Java's `java` text, with the reason when it is
    /// rmq's bound, so that the client's error says what to change.
    pub fn remark(self, java: String) -> String {
        match self {
            NotCreated::Off => java,
            NotCreated::Full(max) => format!(
                "{java}; not created on first use: the broker holds {max} subscription groups, \
                 its autoCreateSubscriptionGroupMaxCount (create the group with mqadmin updateSubGroup)"
            ),
        }
    }
}

#[derive(Debug)]
struct Inner {
    table: HashMap<String, Arc<SubscriptionGroupConfig>>,
    data_version: DataVersion,
}

#[derive(Debug)]
pub struct SubscriptionGroups {
    inner: RwLock<Inner>,
    file: TableFile,
    full: FullWarning,
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
            full: FullWarning::default(),
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

    /// The group's config, created with defaults when auto-creation is on
    /// and the table holds fewer than `auto.max_count` groups, or when the group
    /// is a system group (`CID_RMQ_SYS_…`). The bool says whether it was
    /// created now (the caller then persists).
    pub fn find_or_create(
        &self,
        group: &str,
        auto: AutoCreate,
        now_ms: i64,
    ) -> Result<(Arc<SubscriptionGroupConfig>, bool), NotCreated> {
        if let Some(existing) = self.get(group) {
            return Ok((existing, false));
        }
        let system = group.starts_with(SYSTEM_GROUP_PREFIX);
        if !auto.enabled && !system {
            return Err(NotCreated::Off);
        }
        let mut inner = self.write();
        if let Some(existing) = inner.table.get(group) {
            return Ok((existing.clone(), false));
        }
        if !system && inner.table.len() >= auto.max_count {
            self.full.refused("subscription groups", inner.table.len(), "autoCreateSubscriptionGroupMaxCount");
            return Err(NotCreated::Full(auto.max_count));
        }
        let config = Arc::new(SubscriptionGroupConfig::new(group));
        inner.table.insert(group.to_owned(), config.clone());
        inner.data_version.bump(now_ms);
        self.full.created();
        Ok((config, true))
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

    const ON: AutoCreate = AutoCreate { enabled: true, max_count: usize::MAX };
    const OFF: AutoCreate = AutoCreate { enabled: false, max_count: usize::MAX };

    #[test]
    fn built_ins_and_auto_creation() {
        let g = SubscriptionGroups::new(1);
        assert!(g.get("TOOLS_CONSUMER").is_some());
        assert_eq!(g.find_or_create("app", OFF, 2).unwrap_err(), NotCreated::Off);
        let (sys, created) = g.find_or_create("CID_RMQ_SYS_TRANS", OFF, 2).unwrap();
        assert!(created);
        assert_eq!(sys.retry_max_times, 16);
        let (_, created) = g.find_or_create("app", ON, 3).unwrap();
        assert!(created);
        let (_, again) = g.find_or_create("app", ON, 4).unwrap();
        assert!(!again);
        let snap = g.snapshot();
        let h = SubscriptionGroups::new(5);
        h.load(snap.clone());
        assert_eq!(h.snapshot(), snap);
    }

    #[test]
    fn first_use_creation_stops_at_the_bound() {
        let g = SubscriptionGroups::new(1);
        let max = g.snapshot().subscription_group_table.len() + 1;
        let auto = AutoCreate { enabled: true, max_count: max };
        assert!(g.find_or_create("first", auto, 2).unwrap().1);
        assert_eq!(g.find_or_create("second", auto, 3).unwrap_err(), NotCreated::Full(max));
        assert!(!g.find_or_create("first", auto, 4).unwrap().1, "existing groups are still found");
        assert!(g.find_or_create("CID_RMQ_SYS_X", auto, 5).is_ok(), "system groups are not bounded");
        g.upsert(SubscriptionGroupConfig::new("by-admin"), 6);
        assert!(g.get("by-admin").is_some(), "admins are not bounded");
    }
}
