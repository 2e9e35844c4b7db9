//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use rmq_model::record::{self, NewMessage, RecordView};
use rmq_model::{FlushDiskType, PhysicalOffset};
use rmq_store::{MessageStore, StoreConfig, StoreHooks};

/// Small files so tests roll over often.
pub fn small_config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = 64 * 1024;
    c.mapped_file_size_consume_queue = 20 * 100;
    c.max_message_size = 16 * 1024;
    c.max_hash_slot_num = 64;
    c.max_index_num = 256;
    c.flush_interval_consume_queue = 50;
    c.flush_interval_commit_log = 20;
    c.store_host = "192.168.0.10:10911".parse().unwrap();
    c
}

pub fn sync_config(root: &Path) -> StoreConfig {
    let mut c = small_config(root);
    c.flush_disk_type = FlushDiskType::SyncFlush;
    c
}

pub fn open(cfg: &StoreConfig) -> MessageStore {
    MessageStore::open(cfg.clone(), StoreHooks::default()).unwrap()
}

pub fn msg<'a>(topic: &'a str, queue_id: i32, body: &'a [u8], props: &'a [u8]) -> NewMessage<'a> {
    NewMessage {
        topic,
        queue_id,
        flag: 0,
        body,
        properties: props,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:5000".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

/// Waits until the dispatcher caught up with everything written.
pub fn settle(store: &MessageStore) {
    let end = store.max_physical_offset();
    assert!(store.wait_dispatched(end, Duration::from_secs(10)), "dispatch did not catch up");
}

pub fn decode(bytes: &[u8]) -> RecordView<'_> {
    record::decode_message(bytes, true).unwrap()
}

pub fn body_of(store: &MessageStore, topic: &str, queue: i32, offset: u64) -> Option<Vec<u8>> {
    let got = store.get_messages(topic, queue, rmq_model::QueueOffset(offset), 1, &rmq_store::AcceptAll);
    got.messages.first().map(|b| decode(b).body.to_vec())
}

pub fn end(store: &MessageStore) -> PhysicalOffset {
    store.max_physical_offset()
}
