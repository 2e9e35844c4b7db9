//! The files a store leaves on disk, byte for byte as Java 4.9.8 lays them out
//! (CommitLog, consume queues, index, checkpoint, abort and lock under the
//! root), and recovery of what a crash can take from them.

mod common;

use std::time::Duration;

use common::*;
use rmq_model::java::string_hash_code;
use rmq_model::record::{self, Decoded};
use rmq_model::{PhysicalOffset, QueueOffset};
use rmq_store::index::key_hash;
use rmq_store::{AcceptAll, GetMessageStatus, MessageStore, PutMessageStatus, StoreError, StoreHooks};

fn be_u64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().unwrap())
}

#[test]
fn directory_tree_and_file_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    assert!(dir.path().join("abort").exists() && dir.path().join("lock").exists());
    let a = store.put(&msg("TopicA", 2, b"hello", b"TAGS\x01TagA\x02KEYS\x01k1\x02")).unwrap();
    let b = store.put(&msg("TopicA", 2, b"world", b"")).unwrap();
    settle(&store);
    store.shutdown().unwrap();
    drop(store);

    // CommitLog: 20-digit name, the record at offset 0 as the codec wrote it.
    let log = std::fs::read(dir.path().join("commitlog/00000000000000000000")).unwrap();
    assert_eq!(log.len() as u64, cfg.mapped_file_size_commit_log);
    let Ok(Decoded::Message(view)) = record::decode(&log, true) else { panic!("no record at 0") };
    assert_eq!((view.topic, view.queue_id, view.body), ("TopicA", 2, &b"hello"[..]));
    assert_eq!(view.total_size as u64, a.bytes);

    // Consume queue: 20-byte entries = offset i64, size i32, tag hash i64.
    let cq = std::fs::read(dir.path().join("consumequeue/TopicA/2/00000000000000000000")).unwrap();
    assert_eq!(cq.len() as u64, cfg.mapped_file_size_consume_queue);
    assert_eq!(be_u64(&cq[0..8]), a.offset.0);
    assert_eq!(u32::from_be_bytes(cq[8..12].try_into().unwrap()) as u64, a.bytes);
    assert_eq!(be_u64(&cq[12..20]) as i64, i64::from(string_hash_code("TagA")));
    assert_eq!(be_u64(&cq[20..28]), b.offset.0);
    assert_eq!(be_u64(&cq[32..40]), 0, "no tag: tag code 0");
    assert!(cq[40..60].iter().all(|x| *x == 0));

    // Index: one file named yyyyMMddHHmmssSSS, header then slots then entries.
    let index: Vec<_> = std::fs::read_dir(dir.path().join("index")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(index.len(), 1);
    let name = index[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.len() == 17 && name.bytes().all(|c| c.is_ascii_digit()), "{name}");
    let idx = std::fs::read(&index[0]).unwrap();
    assert_eq!(idx.len() as u64, 40 + 64 * 4 + 256 * 20);
    assert_eq!(be_u64(&idx[24..32]), a.offset.0, "endPhyOffset");
    assert_eq!(u32::from_be_bytes(idx[36..40].try_into().unwrap()), 2, "indexCount starts at 1");
    let entry = 40 + 64 * 4 + 20;
    assert_eq!(i32::from_be_bytes(idx[entry..entry + 4].try_into().unwrap()), key_hash("TopicA#k1"));
    assert_eq!(be_u64(&idx[entry + 4..entry + 12]), a.offset.0);

    // Checkpoint: one page, physic and logics timestamps of the last message.
    let cp = std::fs::read(dir.path().join("checkpoint")).unwrap();
    assert_eq!(cp.len(), 4096);
    assert_eq!(be_u64(&cp[0..8]) as i64, b.store_timestamp);
    assert_eq!(be_u64(&cp[8..16]) as i64, b.store_timestamp);
    assert!(!dir.path().join("abort").exists());
}

#[test]
fn ipv6_store_host_and_msg_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.store_host = "[fe80::1]:10911".parse().unwrap();
    let store = open(&cfg);
    let put = store.put(&msg("T", 0, b"v6", b"")).unwrap();
    assert_eq!(put.msg_id().len(), 56);
    settle(&store);
    assert_eq!(store.message_store_time("T", 0, QueueOffset(0)), Some(put.store_timestamp));
    let rec = store.message_at(put.offset).unwrap();
    let view = record::decode_message(&rec, true).unwrap();
    assert_eq!(view.store_host, cfg.store_host);
    assert_eq!(view.sys_flag & rmq_model::sysflag::message::STOREHOST_V6, 0x20);
}

#[test]
fn flush_wait_past_the_end_reports_flush_disk_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&sync_config(dir.path()));
    let put = store.put(&msg("T", 0, b"x", b"")).unwrap();
    store.wait_flushed(put.end_offset, Duration::from_secs(5)).unwrap();
    let err = store.wait_flushed(PhysicalOffset(put.end_offset.0 + 1), Duration::from_millis(50)).unwrap_err();
    assert_eq!(err.put_status(), PutMessageStatus::FlushDiskTimeout);
    assert!(matches!(err, StoreError::FlushDiskTimeout { timeout_ms: 50 }));
}

#[test]
fn abnormal_recovery_rebuilds_lost_consume_queues_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    for i in 0..200 {
        let props = format!("KEYS\x01key-{i}\x02");
        store.put(&msg("R", i % 2, format!("body-{i}").as_bytes(), props.as_bytes())).unwrap();
    }
    store.shutdown().unwrap();
    drop(store);
    // A crash that lost every consume queue and index file.
    std::fs::write(dir.path().join("abort"), b"").unwrap();
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let store = MessageStore::open(cfg.clone(), StoreHooks::default()).unwrap();
    assert_eq!(store.max_offset_in_queue("R", 0), QueueOffset(100));
    assert_eq!(store.max_offset_in_queue("R", 1), QueueOffset(100));
    assert_eq!(body_of(&store, "R", 1, 49).unwrap(), b"body-99");
    assert_eq!(store.query_by_key("R", "key-150", 10, 0, i64::MAX).messages.len(), 1);
    assert_eq!(store.put(&msg("R", 0, b"next", b"")).unwrap().queue_offset, QueueOffset(100));
    let r = store.get_messages("R", 0, QueueOffset(100), 1, &AcceptAll);
    assert_ne!(r.status, GetMessageStatus::NoMatchedLogicQueue);
}

#[test]
fn normal_recovery_after_a_lost_consume_queue_tail_redispatches_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    for i in 0..50 {
        store.put(&msg("S", 0, format!("m{i}").as_bytes(), b"")).unwrap();
    }
    store.shutdown().unwrap();
    drop(store);
    // Zero the last ten entries as an unflushed queue tail would look.
    let path = dir.path().join("consumequeue/S/0/00000000000000000000");
    let mut cq = std::fs::read(&path).unwrap();
    cq[40 * 20..50 * 20].fill(0);
    std::fs::write(&path, &cq).unwrap();
    std::fs::write(dir.path().join("abort"), b"").unwrap();
    let store = open(&cfg);
    settle(&store);
    assert_eq!(store.max_offset_in_queue("S", 0), QueueOffset(50));
    assert_eq!(body_of(&store, "S", 0, 45).unwrap(), b"m45");
}
