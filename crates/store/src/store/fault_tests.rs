//! A failed system call in the store, made to fail by the unit-test fault
//! injector ([`crate::faults`]): a real msync or mmap failure cannot be
//! provoked portably. The full-disk case, which can, is an integration test
//! on a real tmpfs (`tests/disk_full.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use rmq_model::record::NewMessage;
use rmq_model::{FlushDiskType, PhysicalOffset, QueueOffset};

use crate::faults::{self, Op};
use crate::{AcceptAll, MessageStore, StoreConfig, StoreError, StoreHooks, Unavailable};

fn config(root: &Path, mode: FlushDiskType) -> StoreConfig {
    let mut c = StoreConfig::new(root);
    c.mapped_file_size_commit_log = 64 * 1024;
    c.mapped_file_size_consume_queue = 20 * 100;
    c.flush_disk_type = mode;
    c.flush_interval_commit_log = 20;
    c.flush_interval_consume_queue = 50;
    // Far beyond any wait below: an answer in time is not a timeout.
    c.sync_flush_timeout = 60_000;
    c
}

fn msg(body: &[u8]) -> NewMessage<'_> {
    NewMessage {
        topic: "F",
        queue_id: 0,
        flag: 0,
        body,
        properties: b"",
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "10.0.0.1:5000".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    }
}

fn bodies(store: &MessageStore) -> Vec<Vec<u8>> {
    assert!(store.wait_dispatched(store.max_physical_offset(), Duration::from_secs(10)));
    let got = store.get_messages("F", 0, QueueOffset(0), 32, &AcceptAll);
    got.messages.iter().map(|b| rmq_model::record::decode_message(b, true).unwrap().body.to_vec()).collect()
}

#[test]
fn a_failed_msync_answers_sync_flush_waiters_and_refuses_later_puts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FlushDiskType::SyncFlush);
    let store = MessageStore::open(cfg.clone(), StoreHooks::default()).unwrap();
    let first = store.put_and_wait(&msg(b"flushed")).unwrap();

    faults::arm(&cfg.store_path_commit_log, Op::Msync, 1);
    let started = Instant::now();
    let second = store.put(&msg(b"written, flush failed")).unwrap();
    let waited = store.wait_flushed(second.end_offset, Duration::from_secs(60));
    assert!(matches!(waited, Err(StoreError::FlushFailed { .. })), "{waited:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "answered at once, not after the timeout");
    assert_eq!(store.flushed_offset(), first.end_offset, "never published past the failed flush");
    assert!(store.flush_failure().is_some_and(|why| why.contains("msync")));

    // An async waiter (the broker's SYNC_FLUSH acknowledgement) learns it too.
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let waiter = store.flushed_waiter();
    assert!(runtime.block_on(waiter.reached(first.end_offset)).is_ok(), "flushed before the failure");
    assert!(runtime.block_on(waiter.reached(second.end_offset)).is_err());

    let refused = store.put(&msg(b"after the failure"));
    assert!(matches!(refused, Err(StoreError::ServiceNotAvailable(Unavailable::FlushFailed))), "{refused:?}");
    assert!(store.shutdown().is_err(), "shutdown reports the failed flush and keeps abort");
    let abort = std::fs::read(cfg.store_path_root_dir.join("abort")).unwrap();
    assert!(abort.is_empty(), "the next start recovers from the checkpoint, as after a machine crash");
    drop(store);

    // A restart recovers from the disk and takes puts again.
    let store = MessageStore::open(cfg, StoreHooks::default()).unwrap();
    let third = store.put_and_wait(&msg(b"after the restart")).unwrap();
    assert!(third.end_offset > second.end_offset);
    assert_eq!(bodies(&store), [&b"flushed"[..], b"written, flush failed", b"after the restart"]);
}

#[test]
fn a_failed_msync_under_async_flush_refuses_puts_too() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), FlushDiskType::AsyncFlush);
    let store = MessageStore::open(cfg.clone(), StoreHooks::default()).unwrap();
    faults::arm(&cfg.store_path_commit_log, Op::Msync, 1);
    let put = store.put(&msg(b"written")).unwrap();
    let waited = store.wait_flushed(put.end_offset, Duration::from_secs(60));
    assert!(matches!(waited, Err(StoreError::FlushFailed { .. })), "{waited:?}");
    assert_eq!(store.flushed_offset(), PhysicalOffset(0));
    let refused = store.put(&msg(b"refused"));
    assert!(matches!(refused, Err(StoreError::ServiceNotAvailable(Unavailable::FlushFailed))), "{refused:?}");
}

#[test]
fn a_put_whose_file_creation_failed_is_retried_by_the_next() {
    for op in [Op::Mmap, Op::SyncDir] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), FlushDiskType::SyncFlush);
        let store = MessageStore::open(cfg.clone(), StoreHooks::default()).unwrap();
        // No file exists before the first put: the put itself creates it.
        faults::arm(&cfg.store_path_commit_log, op, 1);
        let failed = store.put_and_wait(&msg(b"refused"));
        assert!(matches!(failed, Err(StoreError::CreateMappedFileFailed { .. })), "{op:?}: {failed:?}");
        let left: Vec<_> = std::fs::read_dir(&cfg.store_path_commit_log).unwrap().collect();
        assert!(left.is_empty(), "{op:?}: no half-made file left: {left:?}");
        store.put_and_wait(&msg(b"stored")).unwrap();
        assert_eq!(bodies(&store), [b"stored"], "{op:?}");
    }
}
