//! Puts, pulls, lookups and reopen on a real store directory.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use rmq_model::record::{self, Decoded};
use rmq_model::sysflag::message as sysflag;
use rmq_model::{PhysicalOffset, QueueOffset};
use rmq_store::{
    AcceptAll, DispatchListener, Dispatched, GetMessageStatus, MessageFilter, MessageStore, PutMessageStatus,
    StoreError, StoreHooks,
};

#[test]
fn put_then_pull_with_offsets_and_msg_ids() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    let a = store.put(&msg("T", 0, b"first", b"TAGS\x01a\x02")).unwrap();
    let b = store.put(&msg("T", 0, b"second", b"")).unwrap();
    let c = store.put(&msg("T", 1, b"other queue", b"")).unwrap();
    assert_eq!((a.offset, a.queue_offset, a.count), (PhysicalOffset(0), QueueOffset(0), 1));
    assert_eq!(a.bytes, 91 + 5 + 1 + 7);
    assert_eq!(b.offset.0, a.bytes);
    assert_eq!(b.queue_offset, QueueOffset(1));
    assert_eq!(c.queue_offset, QueueOffset(0));
    assert_eq!(a.msg_id(), "C0A8000A00002A9F0000000000000000");
    assert!(b.store_timestamp >= a.store_timestamp);
    settle(&store);
    let got = store.get_messages("T", 0, QueueOffset(0), 32, &AcceptAll);
    assert_eq!(got.status, GetMessageStatus::Found);
    assert_eq!(got.next_begin_offset, QueueOffset(2));
    assert_eq!((got.min_offset, got.max_offset), (QueueOffset(0), QueueOffset(2)));
    let bodies: Vec<_> = got.messages.iter().map(|m| decode(m).body.to_vec()).collect();
    assert_eq!(bodies, vec![b"first".to_vec(), b"second".to_vec()]);
    let first = decode(&got.messages[0]);
    assert_eq!((first.physical_offset, first.queue_offset, first.store_host), (0, 0, cfg.store_host));
    assert_eq!(first.offset_msg_id(), a.msg_id());
    // Lookups by physical offset and by queue offset.
    assert_eq!(store.message_at(b.offset).unwrap(), got.messages[1]);
    assert_eq!(store.commitlog_offset_in_queue("T", 0, QueueOffset(1)), Some(b.offset));
    assert_eq!(store.message_store_time("T", 0, QueueOffset(1)), Some(b.store_timestamp));
    assert_eq!(store.earliest_message_time(), Some(a.store_timestamp));
    assert_eq!(store.earliest_message_time_in_queue("T", 1), Some(c.store_timestamp));
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(2));
    assert!(store.message_at(PhysicalOffset(3)).is_none());
    let stats = store.stats();
    assert_eq!((stats.puts, stats.put_messages), (3, 3));
    store.shutdown().unwrap();
    assert!(!dir.path().join("abort").exists(), "clean shutdown removes abort");
}

#[test]
fn pull_statuses_follow_the_protocol_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&small_config(dir.path()));
    let st = |t: &str, q: i32, off: u64| {
        let r = store.get_messages(t, q, QueueOffset(off), 32, &AcceptAll);
        (r.status, r.next_begin_offset.0)
    };
    assert_eq!(st("none", 0, 5), (GetMessageStatus::NoMatchedLogicQueue, 0));
    for i in 0..3 {
        store.put(&msg("T", 0, format!("m{i}").as_bytes(), b"")).unwrap();
    }
    settle(&store);
    assert_eq!(st("T", 0, 3), (GetMessageStatus::OffsetOverflowOne, 3));
    assert_eq!(st("T", 0, 9), (GetMessageStatus::OffsetOverflowBadly, 3));
    assert_eq!(st("T", 0, 2), (GetMessageStatus::Found, 3));
    assert_eq!(st("T", 0, 1), (GetMessageStatus::Found, 3));
    // A filter that rejects everything scans the entries anyway.
    struct None_;
    impl MessageFilter for None_ {
        fn matches_tags_code(&self, _: i64) -> bool {
            false
        }
    }
    let r = store.get_messages("T", 0, QueueOffset(0), 32, &None_);
    assert_eq!((r.status, r.next_begin_offset.0), (GetMessageStatus::NoMatchedMessage, 3));
    // max_count and the transfer caps.
    let r = store.get_messages("T", 0, QueueOffset(0), 2, &AcceptAll);
    assert_eq!((r.messages.len(), r.next_begin_offset.0), (2, 2));
    assert_eq!(GetMessageStatus::OffsetOverflowOne.as_str(), "OFFSET_OVERFLOW_ONE");
}

#[test]
fn tag_filter_and_record_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&small_config(dir.path()));
    store.put(&msg("T", 0, b"a", b"TAGS\x01TagA\x02")).unwrap();
    store.put(&msg("T", 0, b"b", b"TAGS\x01TagB\x02")).unwrap();
    store.put(&msg("T", 0, b"c", b"")).unwrap();
    settle(&store);
    struct Tag(i64);
    impl MessageFilter for Tag {
        fn matches_tags_code(&self, code: i64) -> bool {
            code == self.0
        }
    }
    let tag_b = i64::from(rmq_model::java::string_hash_code("TagB"));
    let r = store.get_messages("T", 0, QueueOffset(0), 32, &Tag(tag_b));
    assert_eq!(r.queue_offsets, vec![QueueOffset(1)]);
    assert_eq!(r.next_begin_offset, QueueOffset(3));
    struct BodyC;
    impl MessageFilter for BodyC {
        fn matches_tags_code(&self, _: i64) -> bool {
            true
        }
        fn matches_record(&self, rec: &[u8]) -> bool {
            record::decode_message(rec, false).is_ok_and(|v| v.body == b"c")
        }
    }
    assert_eq!(store.get_messages("T", 0, QueueOffset(0), 32, &BodyC).queue_offsets, vec![QueueOffset(2)]);
}

#[test]
fn batch_is_one_file_with_consecutive_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    let body = vec![7u8; 1000];
    let mut last_end = 0;
    for round in 0..20 {
        let batch: Vec<_> = (0..16).map(|_| msg("B", 3, &body, b"K\x01v\x02")).collect();
        let put = store.put_batch(&batch).unwrap();
        assert_eq!(put.queue_offset.0, round * 16);
        assert_eq!(put.count, 16);
        let offsets = put.record_offsets();
        assert_eq!(offsets.len(), 16);
        // Never split across files.
        let file = cfg.mapped_file_size_commit_log;
        assert_eq!(offsets[0].0 / file, (put.end_offset.0 - 1) / file);
        assert_eq!(put.msg_ids().split(',').count(), 16);
        assert!(put.offset.0 >= last_end);
        last_end = put.end_offset.0;
    }
    settle(&store);
    let r = store.get_messages("B", 3, QueueOffset(0), 1000, &AcceptAll);
    // Capped by maxTransferCountOnMessageInMemory (32).
    assert_eq!(r.messages.len(), 32);
    assert_eq!(store.max_offset_in_queue("B", 3), QueueOffset(320));
    assert!(std::fs::read_dir(&cfg.store_path_commit_log).unwrap().count() > 4, "rolled over several files");
    // Mixed targets are refused.
    let mixed = [msg("B", 3, b"x", b""), msg("B", 4, b"x", b"")];
    assert_eq!(store.put_batch(&mixed).unwrap_err().put_status(), PutMessageStatus::MessageIllegal);
}

#[test]
fn file_end_gets_a_blank_and_readers_skip_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    let body = vec![1u8; 3000];
    let mut puts = Vec::new();
    for _ in 0..50 {
        puts.push(store.put(&msg("R", 0, &body, b"")).unwrap());
    }
    settle(&store);
    let file = cfg.mapped_file_size_commit_log;
    let rolled = puts.windows(2).find(|w| w[1].offset.0 / file != w[0].offset.0 / file).unwrap();
    let blank_at = rolled[0].end_offset;
    let raw = store.read_raw(blank_at, 8).unwrap();
    let Ok(Decoded::EndOfFile { len }) = record::decode(&raw, true) else { panic!("no blank marker") };
    assert_eq!(blank_at.0 + u64::from(len), rolled[1].offset.0);
    assert_eq!(rolled[1].offset.0 % file, 0);
    let mut seen = 0;
    let mut q = 0;
    while seen < 50 {
        let r = store.get_messages("R", 0, QueueOffset(q), 32, &AcceptAll);
        assert_eq!(r.status, GetMessageStatus::Found);
        seen += r.messages.len();
        q = r.next_begin_offset.0;
    }
}

#[test]
fn limits_map_to_put_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    let big = vec![0u8; cfg.max_message_size + 1];
    assert_eq!(store.put(&msg("T", 0, &big, b"")).unwrap_err().put_status(), PutMessageStatus::MessageIllegal);
    let long_topic = "t".repeat(128);
    assert_eq!(store.put(&msg(&long_topic, 0, b"x", b"")).unwrap_err().put_status(), PutMessageStatus::MessageIllegal);
    let props = vec![b'a'; 40_000];
    let err = store.put(&msg("T", 0, b"x", &props)).unwrap_err();
    assert_eq!(err.put_status(), PutMessageStatus::PropertiesSizeExceeded);
    store.set_read_only(true);
    let err = store.put(&msg("T", 0, b"x", b"")).unwrap_err();
    assert_eq!(err.put_status(), PutMessageStatus::ServiceNotAvailable);
    assert!(err.to_string().contains("read-only"), "{err}");
    store.set_read_only(false);
    store.shutdown().unwrap();
    let err = store.put(&msg("T", 0, b"x", b"")).unwrap_err();
    assert_eq!(err.put_status().as_str(), "SERVICE_NOT_AVAILABLE");
}

#[test]
fn transactions_prepared_and_rollback_stay_out_of_queues() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&small_config(dir.path()));
    let mut half = msg("T", 0, b"half", b"UNIQ_KEY\x01U1\x02");
    half.sys_flag = sysflag::TRANSACTION_PREPARED_TYPE;
    let p = store.put(&half).unwrap();
    assert_eq!(p.queue_offset, QueueOffset(0));
    let mut rollback = msg("T", 0, b"rb", b"");
    rollback.sys_flag = sysflag::TRANSACTION_ROLLBACK_TYPE;
    store.put(&rollback).unwrap();
    let mut commit = msg("T", 0, b"commit", b"");
    commit.sys_flag = sysflag::TRANSACTION_COMMIT_TYPE;
    commit.prepared_transaction_offset = p.offset.as_i64();
    assert_eq!(store.put(&commit).unwrap().queue_offset, QueueOffset(0));
    assert_eq!(store.put(&msg("T", 0, b"normal", b"")).unwrap().queue_offset, QueueOffset(1));
    settle(&store);
    let r = store.get_messages("T", 0, QueueOffset(0), 32, &AcceptAll);
    let bodies: Vec<_> = r.messages.iter().map(|m| decode(m).body.to_vec()).collect();
    assert_eq!(bodies, vec![b"commit".to_vec(), b"normal".to_vec()]);
    // The half message is still found by its key and by offset.
    assert_eq!(store.query_by_key("T", "U1", 10, 0, i64::MAX).messages.len(), 1);
    assert!(store.message_at(p.offset).is_some());
}

#[test]
fn query_by_keys_and_unique_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&small_config(dir.path()));
    for i in 0..5 {
        let props = format!("KEYS\x01order-{i} common\x02UNIQ_KEY\x01ID{i}\x02");
        store.put(&msg("Q", 0, b"x", props.as_bytes())).unwrap();
    }
    settle(&store);
    let r = store.query_by_key("Q", "common", 32, 0, i64::MAX);
    assert_eq!(r.messages.len(), 5);
    assert_eq!(decode(&r.messages[0]).property("UNIQ_KEY"), Some(&b"ID4"[..]), "newest first");
    assert!(r.index_last_update_phy_offset > 0 && r.index_last_update_timestamp > 0);
    let r = store.query_by_key("Q", "ID2", 32, 0, i64::MAX);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(store.query_by_key("Q", "order-3", 1, 0, i64::MAX).messages.len(), 1);
    assert!(store.query_by_key("Other", "common", 32, 0, i64::MAX).messages.is_empty());
}

#[test]
fn offset_by_time_is_a_lower_bound() {
    let dir = tempfile::tempdir().unwrap();
    let clock = rmq_store::ManualClock::new();
    let hooks = StoreHooks { clock: clock.clone(), ..StoreHooks::default() };
    let store = MessageStore::open(small_config(dir.path()), hooks).unwrap();
    let mut times = Vec::new();
    for _ in 0..10 {
        times.push(store.put(&msg("T", 0, b"x", b"")).unwrap().store_timestamp);
        clock.advance(1000);
    }
    settle(&store);
    assert_eq!(store.offset_by_time("T", 0, 0), QueueOffset(0));
    assert_eq!(store.offset_by_time("T", 0, times[4]), QueueOffset(4));
    assert_eq!(store.offset_by_time("T", 0, times[4] + 1), QueueOffset(5));
    assert_eq!(store.offset_by_time("T", 0, i64::MAX), QueueOffset(10));
}

#[test]
fn schedule_topic_tag_code_is_delivery_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&small_config(dir.path()));
    let put = store.put(&msg(rmq_store::SCHEDULE_TOPIC, 2, b"later", b"DELAY\x013\x02")).unwrap();
    settle(&store);
    struct Capture(AtomicU64);
    impl MessageFilter for Capture {
        fn matches_tags_code(&self, code: i64) -> bool {
            self.0.store(code as u64, Ordering::SeqCst);
            true
        }
    }
    let cap = Capture(AtomicU64::new(0));
    store.get_messages(rmq_store::SCHEDULE_TOPIC, 2, QueueOffset(0), 1, &cap);
    assert_eq!(cap.0.load(Ordering::SeqCst) as i64, put.store_timestamp + 10_000, "level 3 = 10s");
}

#[test]
fn listener_hears_every_dispatched_message() {
    #[derive(Default)]
    struct Seen(Mutex<Vec<(String, i32, u64)>>);
    impl DispatchListener for Seen {
        fn on_dispatch(&self, m: &Dispatched<'_>) {
            self.0.lock().unwrap().push((m.topic.to_owned(), m.queue_id, m.next_queue_offset));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Seen::default());
    let hooks = StoreHooks { listener: Some(seen.clone()), ..StoreHooks::default() };
    let store = MessageStore::open(small_config(dir.path()), hooks).unwrap();
    store.put(&msg("L", 1, b"a", b"")).unwrap();
    store.put(&msg("L", 1, b"b", b"")).unwrap();
    settle(&store);
    assert_eq!(*seen.0.lock().unwrap(), vec![("L".into(), 1, 1), ("L".into(), 1, 2)]);
}

#[test]
fn second_open_is_locked_and_reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    let err = MessageStore::open(cfg.clone(), StoreHooks::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("Lock failed,MQ already started"));
    for i in 0..300 {
        store.put(&msg("T", i % 3, format!("m{i}").as_bytes(), b"KEYS\x01k\x02")).unwrap();
    }
    store.shutdown().unwrap();
    drop(store);
    let store = open(&cfg);
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(100));
    assert_eq!(body_of(&store, "T", 1, 99).unwrap(), b"m298");
    // Queue counters continue where they were.
    assert_eq!(store.put(&msg("T", 0, b"next", b"")).unwrap().queue_offset, QueueOffset(100));
    settle(&store);
    store.delete_topic("T").unwrap();
    assert_eq!(store.get_messages("T", 0, QueueOffset(0), 1, &AcceptAll).status, GetMessageStatus::NoMatchedLogicQueue);
    assert!(!dir.path().join("consumequeue/T").exists());
}

/// Consume queues deleted (to have them rebuilt) or a CommitLog copied in:
/// the store dispatches everything before it takes puts, so a new message
/// gets the next queue offset, not one an old record already holds.
#[test]
fn consume_queues_deleted_are_rebuilt_before_puts_are_taken() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    for i in 0..300 {
        store.put(&msg("T", i % 3, format!("m{i}").as_bytes(), b"")).unwrap();
    }
    settle(&store);
    store.shutdown().unwrap();
    drop(store);
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();

    let store = open(&cfg);
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(100), "rebuilt at open");
    let put = store.put(&msg("T", 0, b"next", b"")).unwrap();
    assert_eq!(put.queue_offset, QueueOffset(100));
    settle(&store);
    assert_eq!(body_of(&store, "T", 0, 0).unwrap(), b"m0");
    assert_eq!(body_of(&store, "T", 0, 100).unwrap(), b"next");
}

#[test]
fn replication_appends_bytes_verbatim_and_dispatches_them() {
    let master_dir = tempfile::tempdir().unwrap();
    let slave_dir = tempfile::tempdir().unwrap();
    let master = open(&small_config(master_dir.path()));
    let mut slave_cfg = small_config(slave_dir.path());
    slave_cfg.broker_role = rmq_model::BrokerRole::Slave;
    let slave = open(&slave_cfg);
    let body = vec![3u8; 2500];
    for i in 0..60 {
        master.put(&msg("H", i % 2, &body, b"")).unwrap();
    }
    assert!(slave.put(&msg("H", 0, b"x", b"")).is_err(), "slaves refuse puts");
    // Ship in odd-sized chunks that split records.
    let mut at = PhysicalOffset(0);
    while at < master.max_physical_offset() {
        let chunk = master.read_raw(at, 777).unwrap();
        at = slave.append_replicated(at, &chunk).unwrap();
    }
    assert!(slave.append_replicated(PhysicalOffset(5), b"x").is_err(), "offsets must line up");
    settle(&master);
    settle(&slave);
    assert_eq!(slave.max_offset_in_queue("H", 1), QueueOffset(30));
    slave.set_read_only(false);
    assert_eq!(slave.put(&msg("H", 1, b"promoted", b"")).unwrap().queue_offset, QueueOffset(30));
    let a = master.get_messages("H", 1, QueueOffset(7), 3, &AcceptAll);
    let b = slave.get_messages("H", 1, QueueOffset(7), 3, &AcceptAll);
    assert_eq!(b.status, GetMessageStatus::Found, "{:?}", (b.status, b.next_begin_offset, b.min_offset));
    assert!(a.messages == b.messages, "slave serves the master's bytes");
}

#[test]
fn flushed_watch_serves_async_waiters() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&sync_config(dir.path()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let mut rx = store.flushed_watch();
    let put = store.put(&msg("T", 0, b"durable", b"")).unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|f| *f >= put.end_offset)).await.unwrap().unwrap();
    });
    assert!(store.flushed_offset() >= put.end_offset);
    assert!(store.put_and_wait(&msg("T", 0, b"x", b"")).is_ok());
}

/// ASYNC_FLUSH flushes as soon as `flushCommitLogLeastPages` pages are dirty
/// (puts wake the flusher, as in Java), not only at the interval.
#[test]
fn async_flush_is_woken_by_enough_dirty_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.flush_interval_commit_log = 60_000;
    cfg.flush_commit_log_thorough_interval = 600_000;
    let store = open(&cfg);
    store.put(&msg("F", 0, b"small", b"")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(store.flushed_offset(), PhysicalOffset(0), "fewer pages wait for the interval");
    let body = vec![b'f'; 4096];
    for _ in 0..5 {
        store.put(&msg("F", 0, &body, b"")).unwrap();
    }
    // The flush runs once 4 pages are dirty, up to what is written then; what
    // comes after it (less than 4 pages) may wait for the interval.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.flushed_offset() < PhysicalOffset(4 * 4096) {
        assert!(std::time::Instant::now() < deadline, "4 dirty pages were not flushed long before the 60 s interval");
        std::thread::sleep(Duration::from_millis(10));
    }
}
