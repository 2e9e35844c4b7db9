//! Retention with an injected clock and disk usage: expired files go at
//! `deleteWhen` or on demand, consume queues and index follow, a full disk
//! refuses puts while reads keep working.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Timelike};
use common::*;
use rmq_model::{PhysicalOffset, QueueOffset};
use rmq_store::{
    AcceptAll, Clock, FixedDiskUsage, GetMessageStatus, ManualClock, MessageStore, PutMessageStatus, StoreConfig,
    StoreHooks,
};

fn config(root: &std::path::Path) -> StoreConfig {
    let mut c = small_config(root);
    c.file_reserved_time = 1;
    c.delete_commit_log_files_interval = 0;
    c
}

fn fill(store: &MessageStore, n: usize) {
    let body = vec![b'r'; 3000];
    for i in 0..n {
        store.put(&msg("T", 0, &body, format!("KEYS\x01k{i}\x02").as_bytes())).unwrap();
    }
    settle(store);
}

/// Files in the CommitLog chain (a file prepared ahead of the writer is not).
fn files(store: &MessageStore) -> usize {
    let size = store.config().mapped_file_size_commit_log;
    let (min, max) = (store.min_physical_offset().0, store.max_physical_offset().0);
    ((max - 1) / size - min / size + 1) as usize
}

#[test]
fn expired_files_are_deleted_and_queues_follow() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let disk = FixedDiskUsage::new(0.10);
    let hooks = StoreHooks { clock: clock.clone(), disk: disk.clone(), ..StoreHooks::default() };
    let store = MessageStore::open(config(dir.path()), hooks).unwrap();
    fill(&store, 100);
    let before = files(&store);
    assert!(before >= 4);
    let held = store.get_messages("T", 0, QueueOffset(0), 1, &AcceptAll).messages.remove(0);
    // Young files stay, whatever is asked.
    assert_eq!(store.run_retention_now().unwrap(), 0);
    clock.advance(2 * 3_600_000);
    let deleted = store.run_retention_now().unwrap();
    assert_eq!(deleted, (before - 1).min(10), "all but the newest file expire, ten per round");
    store.request_retention();
    let deadline = Instant::now() + Duration::from_secs(5);
    while files(&store) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(files(&store), 1);
    // Zero-copy bytes taken before the deletion stay readable.
    assert!(decode(&held).body.starts_with(b"rrr"));
    let min = store.min_physical_offset();
    assert!(min > PhysicalOffset(0));
    let cq_min = store.min_offset_in_queue("T", 0);
    assert!(cq_min > QueueOffset(0));
    let r = store.get_messages("T", 0, QueueOffset(0), 32, &AcceptAll);
    assert_eq!((r.status, r.next_begin_offset), (GetMessageStatus::OffsetTooSmall, cq_min));
    let r = store.get_messages("T", 0, cq_min, 32, &AcceptAll);
    assert_eq!(r.status, GetMessageStatus::Found);
    assert!(store.commitlog_offset_in_queue("T", 0, cq_min).unwrap() >= min);
    assert!(store.query_by_key("T", "k0", 10, 0, i64::MAX).messages.is_empty());
    assert_eq!(store.query_by_key("T", "k99", 10, 0, i64::MAX).messages.len(), 1);
    // Old consume-queue files went with the CommitLog.
    let cq_files = std::fs::read_dir(dir.path().join("consumequeue/T/0")).unwrap().count();
    assert!(cq_files <= 2, "{cq_files} consume-queue files left");
    store.shutdown().unwrap();
    drop(store);
    let store = open(&config(dir.path()));
    assert_eq!(store.min_offset_in_queue("T", 0), cq_min);
}

#[test]
fn delete_when_hour_triggers_the_background_cleaner() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let mut cfg = config(dir.path());
    cfg.clean_resource_interval = 20;
    let later = clock.now_millis() + 2 * 3_600_000;
    let hour = chrono::Local.timestamp_millis_opt(later).unwrap().hour();
    cfg.delete_when = format!("{hour:02}");
    let hooks = StoreHooks { clock: clock.clone(), disk: FixedDiskUsage::new(0.1), ..StoreHooks::default() };
    let store = MessageStore::open(cfg, hooks).unwrap();
    fill(&store, 60);
    let before = files(&store);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(files(&store), before, "not the hour yet");
    clock.advance(2 * 3_600_000);
    let deadline = Instant::now() + Duration::from_secs(5);
    while files(&store) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(files(&store), 1);
}

#[test]
fn full_disk_refuses_puts_and_keeps_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.clean_file_forcibly_enable = false;
    let disk = FixedDiskUsage::new(0.10);
    let hooks = StoreHooks { disk: disk.clone(), clock: Arc::new(rmq_store::SystemClock), ..StoreHooks::default() };
    let store = MessageStore::open(cfg, hooks).unwrap();
    fill(&store, 50);
    let before = files(&store);
    disk.set(0.95);
    store.run_retention_now().unwrap();
    assert!(store.is_disk_full());
    let err = store.put(&msg("T", 0, b"x", b"")).unwrap_err();
    assert_eq!(err.put_status(), PutMessageStatus::ServiceNotAvailable);
    assert!(err.to_string().contains("disk is full"), "{err}");
    let r = store.get_messages("T", 0, QueueOffset(0), 32, &AcceptAll);
    assert_eq!((r.status, r.messages.len()), (GetMessageStatus::Found, 32));
    assert_eq!(files(&store), before, "nothing young deleted without cleanFileForciblyEnable");
    disk.set(0.50);
    store.run_retention_now().unwrap();
    assert!(store.put(&msg("T", 0, b"x", b"")).is_ok());
    assert!((store.stats().disk_ratio - 0.5).abs() < 0.01);
}

#[test]
fn a_store_opened_on_a_full_disk_refuses_puts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let hooks = StoreHooks { disk: FixedDiskUsage::new(0.95), ..StoreHooks::default() };
    let store = MessageStore::open(config(dir.path()), hooks).unwrap();
    assert!(store.is_disk_full(), "measured at open, not at the first retention round");
    assert!((store.stats().disk_ratio - 0.95).abs() < 0.01);
    let err = store.put(&msg("T", 0, b"x", b"")).unwrap_err();
    assert_eq!(err.put_status(), PutMessageStatus::ServiceNotAvailable);
}

#[test]
fn above_the_force_ratio_young_files_go_too() {
    let dir = tempfile::tempdir().unwrap();
    let disk = FixedDiskUsage::new(0.10);
    let hooks = StoreHooks { disk: disk.clone(), ..StoreHooks::default() };
    let store = MessageStore::open(config(dir.path()), hooks).unwrap();
    fill(&store, 100);
    disk.set(0.87);
    assert!(store.run_retention_now().unwrap() > 0);
    assert!(!store.is_disk_full(), "0.87 is below the warning level");
    assert!(store.put(&msg("T", 0, b"x", b"")).is_ok());
}
