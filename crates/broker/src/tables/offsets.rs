//! Committed consumer offsets: `topic@group` → queue id → next offset to
//! consume. Persisted as `config/consumerOffset.json` every
//! `flushConsumerOffsetInterval` and at shutdown.

use rmq_model::tables::ConsumerOffsetSerializeWrapper;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::TableFile;

const SEPARATOR: char = '@';

fn key(topic: &str, group: &str) -> String {
    format!("{topic}{SEPARATOR}{group}")
}

/// Splits a `topic@group` key; topics cannot contain `@`, groups may.
fn split_key(key: &str) -> Option<(&str, &str)> {
    key.split_once(SEPARATOR)
}

#[derive(Debug, Default)]
pub struct ConsumerOffsets {
    table: Mutex<HashMap<String, HashMap<i32, i64>>>,
    /// Bumped by every change, so persisting can skip unchanged tables.
    changes: AtomicU64,
    /// The change count at the last successful write.
    persisted: AtomicU64,
    file: TableFile,
}

impl ConsumerOffsets {
    /// The offsets `file` holds; changes are saved there.
    pub fn open(file: TableFile) -> Result<ConsumerOffsets, rmq_store::StoreError> {
        let offsets = ConsumerOffsets { file, ..ConsumerOffsets::default() };
        if let Some(stored) = offsets.file.load()? {
            offsets.put_all(stored);
        }
        Ok(offsets)
    }

    /// Writes `consumerOffset.json`.
    pub fn persist(&self) {
        let version = self.change_count();
        if self.file.save(&self.snapshot()) {
            self.persisted.store(version, Ordering::Release);
        }
    }

    /// Writes `consumerOffset.json` if an offset changed since the last write.
    pub fn persist_if_changed(&self) {
        if self.change_count() != self.persisted.load(Ordering::Acquire) {
            self.persist();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<i32, i64>>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A counter that moves whenever the table changes.
    pub fn change_count(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.changed();
        let mut table = self.lock();
        match table.get_mut(&key(topic, group)) {
            Some(queues) => {
                queues.insert(queue_id, offset);
            }
            None => {
                table.insert(key(topic, group), HashMap::from([(queue_id, offset)]));
            }
        }
    }

    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        self.lock().get(&key(topic, group))?.get(&queue_id).copied()
    }

    /// Every queue's offset of one group on one topic.
    pub fn queues(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.lock().get(&key(topic, group)).map(|q| q.iter().map(|(k, v)| (*k, *v)).collect()).unwrap_or_default()
    }

    /// Topics a group has offsets for.
    pub fn topics_of_group(&self, group: &str) -> Vec<String> {
        let mut topics: Vec<String> = self
            .lock()
            .keys()
            .filter_map(|k| split_key(k).filter(|(_, g)| *g == group).map(|(t, _)| t.to_owned()))
            .collect();
        topics.sort();
        topics
    }

    /// Groups that have offsets on a topic.
    pub fn groups_of_topic(&self, topic: &str) -> Vec<String> {
        let mut groups: Vec<String> = self
            .lock()
            .keys()
            .filter_map(|k| split_key(k).filter(|(t, _)| *t == topic).map(|(_, g)| g.to_owned()))
            .collect();
        groups.sort();
        groups
    }

    /// Forgets a group's offsets on every topic.
    pub fn remove_group(&self, group: &str) {
        self.changed();
        self.lock().retain(|k, _| split_key(k).is_none_or(|(_, g)| g != group));
    }

    /// Forgets every group's offsets on a topic.
    pub fn remove_topic(&self, topic: &str) {
        self.changed();
        self.lock().retain(|k, _| split_key(k).is_none_or(|(t, _)| t != topic));
    }

    /// Copies `src`'s offsets to `dest` (CLONE_GROUP_OFFSET); one topic or all.
    pub fn clone_group(&self, src: &str, dest: &str, topic: Option<&str>) {
        self.changed();
        let mut table = self.lock();
        let copies: Vec<(String, HashMap<i32, i64>)> = table
            .iter()
            .filter_map(|(k, q)| {
                let (t, g) = split_key(k)?;
                (g == src && topic.is_none_or(|only| only == t)).then(|| (key(t, dest), q.clone()))
            })
            .collect();
        table.extend(copies);
    }

    /// Loads `consumerOffset.json` (or a master's table) over what is there.
    pub fn put_all(&self, stored: ConsumerOffsetSerializeWrapper) {
        self.changed();
        let mut table = self.lock();
        for (k, queues) in stored.offset_table {
            table.insert(k, queues.into_iter().collect());
        }
    }

    pub fn snapshot(&self) -> ConsumerOffsetSerializeWrapper {
        let table = self.lock();
        ConsumerOffsetSerializeWrapper {
            offset_table: table
                .iter()
                .map(|(k, q)| (k.clone(), q.iter().map(|(id, off)| (*id, *off)).collect()))
                .collect(),
            data_version: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_query_and_lists() {
        let o = ConsumerOffsets::default();
        o.commit("g1", "T", 0, 10);
        o.commit("g1", "T", 1, 11);
        o.commit("g1", "U", 0, 5);
        o.commit("g@2", "T", 0, 7);
        assert_eq!(o.query("g1", "T", 1), Some(11));
        assert_eq!(o.query("g1", "T", 9), None);
        assert_eq!(o.topics_of_group("g1"), vec!["T", "U"]);
        assert_eq!(o.groups_of_topic("T"), vec!["g1", "g@2"]);
        o.clone_group("g1", "g3", Some("T"));
        assert_eq!(o.queues("g3", "T"), BTreeMap::from([(0, 10), (1, 11)]));
        assert!(o.queues("g3", "U").is_empty());
        o.remove_group("g1");
        assert_eq!(o.query("g1", "T", 0), None);
        let snap = o.snapshot();
        let p = ConsumerOffsets::default();
        p.put_all(snap.clone());
        assert_eq!(p.snapshot(), snap);
    }
}
