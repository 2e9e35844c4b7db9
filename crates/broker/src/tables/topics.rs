//! The broker's topic table: system topics made at boot, topics created by
//! admins, by the first send to an unknown topic (from the `TBW102`
//! template), and retry/DLQ topics made on demand. Persisted as
//! `config/topics.json`; every change bumps the table's DataVersion so the
//! NameServer learns of it.

use rmq_model::tables::TopicConfigSerializeWrapper;
use rmq_model::topic::{self, TopicNameError};
use rmq_model::{DataVersion, TopicConfig, perm};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

use super::{FullWarning, TableFile};

/// What the topic table needs to know of the broker to make its system topics.
#[derive(Clone, Debug)]
pub struct TopicDefaults {
    pub cluster_name: String,
    pub broker_name: String,
    pub auto_create_topic_enable: bool,
    pub default_topic_queue_nums: u32,
    pub cluster_topic_enable: bool,
    pub broker_topic_enable: bool,
    pub trace_topic_enable: bool,
    pub trace_topic_name: String,
}

/// Why a topic could not be created on a send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateTopicError {
    #[error("{0}")]
    IllegalName(#[from] TopicNameError),
    #[error("the default topic {0} does not exist or may not be inherited")]
    NoTemplate(String),
    /// The table holds `autoCreateTopicMaxCount` topics (rmq's bound: every
    /// topic costs memory, consume-queue files and registration bytes).
    #[error(
        "not created on first use: the broker holds {0} topics, its autoCreateTopicMaxCount \
         (create the topic with mqadmin updateTopic)"
    )]
    Full(usize),
}

#[derive(Debug)]
struct Inner {
    table: HashMap<String, Arc<TopicConfig>>,
    data_version: DataVersion,
    /// Topics the broker made for itself; admins may neither change nor delete them.
    system: HashSet<String>,
}

/// The topic table; cheap to share behind an `Arc`, short critical sections.
#[derive(Debug)]
pub struct TopicTable {
    inner: RwLock<Inner>,
    file: TableFile,
    /// Signalled by [`TopicTable::changed`]; the NameServer registration
    /// waits on it to re-register at once.
    changes: Notify,
    full: FullWarning,
}

impl TopicTable {
    /// A table holding the system topics every broker makes at boot.
    pub fn new(defaults: &TopicDefaults, now_ms: i64) -> TopicTable {
        let mut table = TopicTable {
            inner: RwLock::new(Inner {
                table: HashMap::new(),
                data_version: DataVersion::new(now_ms),
                system: HashSet::new(),
            }),
            file: TableFile::none(),
            changes: Notify::new(),
            full: FullWarning::default(),
        };
        for config in system_topics(defaults) {
            let inner = table.inner.get_mut().unwrap_or_else(|e| e.into_inner());
            inner.system.insert(config.topic_name.clone());
            inner.table.insert(config.topic_name.clone(), Arc::new(config));
        }
        table
    }

    /// The system topics with what `file` holds loaded over them; changes
    /// are saved there.
    pub fn open(defaults: &TopicDefaults, file: TableFile, now_ms: i64) -> Result<TopicTable, rmq_store::StoreError> {
        let mut table = TopicTable::new(defaults, now_ms);
        if let Some(stored) = file.load()? {
            table.load(stored);
        }
        table.file = file;
        Ok(table)
    }

    /// Writes `topics.json`.
    pub fn persist(&self) {
        self.file.save(&self.snapshot());
    }

    /// After a change clients must learn of: saves the table and wakes the
    /// NameServer registration, which re-registers without holding up the
    /// request that made the change.
    pub fn changed(&self) {
        self.persist();
        self.changes.notify_one();
    }

    /// Resolves after the next [`TopicTable::changed`] (or at once if one
    /// happened since the last call).
    pub async fn next_change(&self) {
        self.changes.notified().await;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads `topics.json` over the system topics: stored values win, as in Java.
    pub fn load(&self, stored: TopicConfigSerializeWrapper) {
        let mut inner = self.write();
        for (name, config) in stored.topic_config_table {
            inner.table.insert(name, Arc::new(config));
        }
        if stored.data_version.timestamp != 0 || stored.data_version.counter != 0 {
            inner.data_version = stored.data_version;
        }
    }

    pub fn get(&self, topic: &str) -> Option<Arc<TopicConfig>> {
        self.read().table.get(topic).cloned()
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.read().table.contains_key(topic)
    }

    /// A system topic: one of the fixed names, the 5.x prefix, or one this
    /// broker made at boot (its cluster and broker names among them).
    pub fn is_system_topic(&self, topic: &str) -> bool {
        topic::is_fixed_system_topic(topic) || self.read().system.contains(topic)
    }

    /// Creates or replaces a topic; returns whether anything changed.
    pub fn upsert(&self, config: TopicConfig, now_ms: i64) -> bool {
        let mut inner = self.write();
        if inner.table.get(&config.topic_name).is_some_and(|old| **old == config) {
            return false;
        }
        inner.table.insert(config.topic_name.clone(), Arc::new(config));
        inner.data_version.bump(now_ms);
        true
    }

    /// Removes a topic; returns its config if it existed.
    pub fn remove(&self, topic: &str, now_ms: i64) -> Option<Arc<TopicConfig>> {
        let mut inner = self.write();
        let removed = inner.table.remove(topic)?;
        inner.data_version.bump(now_ms);
        Some(removed)
    }

    /// Java's `createTopicInSendMessageMethod`: an unknown topic named by a
    /// send is created from its default topic when that topic may be
    /// inherited and the table holds fewer than `max_count` topics.
    /// Returns the (possibly already existing) topic and whether it is new.
    pub fn create_on_send(
        &self,
        topic: &str,
        default_topic: &str,
        (client_queue_nums, topic_sys_flag): (u32, i32),
        max_count: usize,
        now_ms: i64,
    ) -> Result<(Arc<TopicConfig>, bool), CreateTopicError> {
        if let Some(existing) = self.get(topic) {
            return Ok((existing, false));
        }
        topic::validate_topic_name(topic)?;
        let mut inner = self.write();
        if let Some(existing) = inner.table.get(topic) {
            return Ok((existing.clone(), false));
        }
        self.check_room(&inner, max_count)?;
        let template = inner
            .table
            .get(default_topic)
            .filter(|t| perm::is_inherited(t.perm))
            .cloned()
            .ok_or_else(|| CreateTopicError::NoTemplate(default_topic.to_owned()))?;
        let queues = client_queue_nums.min(template.write_queue_nums).max(1);
        let config = TopicConfig {
            topic_name: topic.to_owned(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: template.perm & !perm::INHERIT,
            topic_sys_flag,
            ..TopicConfig::default()
        };
        let config = Arc::new(config);
        inner.table.insert(topic.to_owned(), config.clone());
        inner.data_version.bump(now_ms);
        self.full.created();
        Ok((config, true))
    }

    /// A retry topic a client sends to: created, like [`TopicTable::get_or_create`],
    /// only while the table holds fewer than `max_count` topics.
    pub fn create_retry_on_send(
        &self,
        topic: &str,
        max_count: usize,
        now_ms: i64,
    ) -> Result<(Arc<TopicConfig>, bool), CreateTopicError> {
        if let Some(existing) = self.get(topic) {
            return Ok((existing, false));
        }
        let mut inner = self.write();
        if let Some(existing) = inner.table.get(topic) {
            return Ok((existing.clone(), false));
        }
        self.check_room(&inner, max_count)?;
        let config = Arc::new(TopicConfig::new(topic, 1).with_perm(perm::READ_WRITE));
        inner.table.insert(topic.to_owned(), config.clone());
        inner.data_version.bump(now_ms);
        self.full.created();
        Ok((config, true))
    }

    fn check_room(&self, inner: &Inner, max_count: usize) -> Result<(), CreateTopicError> {
        if inner.table.len() < max_count {
            return Ok(());
        }
        self.full.refused("topics", inner.table.len(), "autoCreateTopicMaxCount");
        Err(CreateTopicError::Full(max_count))
    }

    /// Returns the topic, creating it with `queues` queues and `perm` if it is
    /// missing (retry and DLQ topics, internal topics). The bool says whether it is new.
    pub fn get_or_create(&self, topic: &str, queues: u32, perm: u32, now_ms: i64) -> (Arc<TopicConfig>, bool) {
        if let Some(existing) = self.get(topic) {
            return (existing, false);
        }
        let mut inner = self.write();
        if let Some(existing) = inner.table.get(topic) {
            return (existing.clone(), false);
        }
        let config = Arc::new(TopicConfig::new(topic, queues).with_perm(perm));
        inner.table.insert(topic.to_owned(), config.clone());
        inner.data_version.bump(now_ms);
        (config, true)
    }

    /// Marks topics as ordered from the NameServer's ORDER_TOPIC_CONFIG table
    /// (topic → `broker:queues;…`): listed topics are ordered, the rest not.
    pub fn apply_order_topics(&self, order_conf: &BTreeMap<String, String>) {
        let mut inner = self.write();
        let mut changed = Vec::new();
        for (name, config) in inner.table.iter() {
            let ordered = order_conf.contains_key(name);
            if config.order != ordered {
                changed.push((name.clone(), TopicConfig { order: ordered, ..(**config).clone() }));
            }
        }
        for (name, config) in changed {
            inner.table.insert(name, Arc::new(config));
        }
    }

    pub fn data_version(&self) -> DataVersion {
        self.read().data_version.clone()
    }

    /// Replaces the whole table with a master's (a slave's metadata sync);
    /// the master's data version comes along.
    pub fn replace_all(&self, from_master: TopicConfigSerializeWrapper) {
        let mut inner = self.write();
        inner.table = from_master.topic_config_table.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        inner.data_version = from_master.data_version;
    }

    /// The table as `topics.json` and GET_ALL_TOPIC_CONFIG carry it.
    pub fn snapshot(&self) -> TopicConfigSerializeWrapper {
        let inner = self.read();
        TopicConfigSerializeWrapper {
            topic_config_table: inner.table.iter().map(|(k, v)| (k.clone(), (**v).clone())).collect(),
            data_version: inner.data_version.clone(),
        }
    }

    pub fn system_topic_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.read().system.iter().cloned().collect();
        names.sort();
        names
    }
}

/// The topics every broker makes at boot (Java's `TopicConfigManager`
/// constructor: TBW102, SELF_TEST_TOPIC, the cluster and broker topics,
/// OFFSET_MOVED_EVENT, the schedule, trace and transaction topics).
fn system_topics(d: &TopicDefaults) -> Vec<TopicConfig> {
    let rw = perm::READ_WRITE;
    let mut topics = vec![TopicConfig::new(topic::SELF_TEST_TOPIC, 1)];
    if d.auto_create_topic_enable {
        topics.push(
            TopicConfig::new(topic::AUTO_CREATE_TOPIC_KEY_TOPIC, d.default_topic_queue_nums)
                .with_perm(rw | perm::INHERIT),
        );
    }
    topics.push(TopicConfig::new(topic::BENCHMARK_TOPIC, 1024));
    let cluster_perm = if d.cluster_topic_enable { perm::INHERIT | rw } else { perm::INHERIT };
    topics.push(TopicConfig::new(d.cluster_name.clone(), 16).with_perm(cluster_perm));
    let broker_perm = if d.broker_topic_enable { perm::INHERIT | rw } else { perm::INHERIT };
    topics.push(TopicConfig::new(d.broker_name.clone(), 1).with_perm(broker_perm));
    topics.push(TopicConfig::new(topic::OFFSET_MOVED_EVENT, 1));
    topics.push(TopicConfig::new(topic::SCHEDULE_TOPIC, 18));
    if d.trace_topic_enable {
        topics.push(TopicConfig::new(d.trace_topic_name.clone(), 1));
    }
    topics.push(TopicConfig::new(format!("{}{}", d.cluster_name, topic::REPLY_TOPIC_SUFFIX), 1));
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> TopicDefaults {
        TopicDefaults {
            cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic_enable: false,
            trace_topic_name: topic::TRACE_TOPIC.into(),
        }
    }

    #[test]
    fn boot_topics() {
        let t = TopicTable::new(&defaults(), 1);
        assert_eq!(t.get("TBW102").unwrap().perm, 7);
        assert_eq!(t.get("TBW102").unwrap().write_queue_nums, 8);
        assert_eq!(t.get("SCHEDULE_TOPIC_XXXX").unwrap().read_queue_nums, 18);
        assert_eq!(t.get("DefaultCluster").unwrap().perm, 7);
        assert!(t.is_system_topic("broker-a"));
        assert!(t.is_system_topic("DefaultCluster_REPLY_TOPIC"));
        assert!(!t.is_system_topic("TopicTest"));
        let no_auto = TopicTable::new(&TopicDefaults { auto_create_topic_enable: false, ..defaults() }, 1);
        assert!(!no_auto.contains("TBW102"));
    }

    #[test]
    fn create_on_send_inherits_from_template() {
        let t = TopicTable::new(&defaults(), 1);
        let before = t.data_version();
        let (created, new) = t.create_on_send("TopicTest", "TBW102", (4, 0), usize::MAX, 2).unwrap();
        assert!(new);
        assert_eq!((created.read_queue_nums, created.write_queue_nums, created.perm), (4, 4, 6));
        assert_ne!(t.data_version(), before);
        let (_, again) = t.create_on_send("TopicTest", "TBW102", (4, 0), usize::MAX, 3).unwrap();
        assert!(!again);
        let (big, _) = t.create_on_send("Big", "TBW102", (64, 0), usize::MAX, 3).unwrap();
        assert_eq!(big.write_queue_nums, 8);
        assert_eq!(
            t.create_on_send("X", "TopicTest", (4, 0), usize::MAX, 4).unwrap_err(),
            CreateTopicError::NoTemplate("TopicTest".into())
        );
        assert!(matches!(
            t.create_on_send("bad topic", "TBW102", (4, 0), usize::MAX, 4),
            Err(CreateTopicError::IllegalName(_))
        ));
    }

    #[test]
    fn first_use_creation_stops_at_the_bound() {
        let t = TopicTable::new(&defaults(), 1);
        let max = t.snapshot().topic_config_table.len() + 1;
        assert!(t.create_on_send("First", "TBW102", (4, 0), max, 2).unwrap().1);
        assert_eq!(t.create_on_send("Second", "TBW102", (4, 0), max, 3).unwrap_err(), CreateTopicError::Full(max));
        assert_eq!(t.create_retry_on_send("%RETRY%g", max, 3).unwrap_err(), CreateTopicError::Full(max));
        assert!(!t.create_on_send("First", "TBW102", (4, 0), max, 4).unwrap().1, "existing topics are still found");
        assert!(t.upsert(TopicConfig::new("ByAdmin", 4), 5), "admins are not bounded");
        assert!(t.remove("First", 6).is_some());
        assert!(t.remove("ByAdmin", 6).is_some());
        assert!(t.create_retry_on_send("%RETRY%g", max, 7).unwrap().1, "room again");
    }

    #[test]
    fn snapshot_and_load_round_trip() {
        let t = TopicTable::new(&defaults(), 1);
        t.upsert(TopicConfig::new("A", 2), 5);
        assert!(!t.upsert(TopicConfig::new("A", 2), 6), "unchanged upsert keeps the version");
        let snap = t.snapshot();
        let u = TopicTable::new(&defaults(), 9);
        u.load(snap.clone());
        assert_eq!(u.snapshot(), snap);
        assert!(t.remove("A", 7).is_some());
        assert!(t.remove("A", 8).is_none());
    }

    #[test]
    fn order_topics_follow_namesrv() {
        let t = TopicTable::new(&defaults(), 1);
        t.upsert(TopicConfig::new("Ordered", 4), 2);
        t.apply_order_topics(&BTreeMap::from([("Ordered".to_owned(), "broker-a:4".to_owned())]));
        assert!(t.get("Ordered").unwrap().order);
        t.apply_order_topics(&BTreeMap::new());
        assert!(!t.get("Ordered").unwrap().order);
    }
}
