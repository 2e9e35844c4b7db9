//! Truncation at open (`StoreConfig::truncate_to`): what a broker in
//! controller mode asks for when it rejoins a new master whose log diverged
//! from its own. The records past the point are gone from the CommitLog and
//! the consume queues, new puts continue from the point, and a point inside
//! a record is refused rather than leaving a torn record behind.

mod common;

use common::*;
use rmq_model::QueueOffset;

#[test]
fn reopening_with_a_truncation_point_drops_the_tail_and_continues_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    let mut starts = Vec::new();
    for seq in 0..20u64 {
        let put = store.put(&msg("T", 0, format!("m{seq}").as_bytes(), b"")).unwrap();
        starts.push(put.offset.0);
    }
    settle(&store);
    store.shutdown().unwrap();
    drop(store);

    let mut cut = cfg.clone();
    cut.truncate_to = Some(starts[12]);
    let store = open(&cut);
    assert_eq!(end(&store).0, starts[12]);
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(12));
    assert_eq!(body_of(&store, "T", 0, 11).unwrap(), b"m11");
    assert!(body_of(&store, "T", 0, 12).is_none());
    let put = store.put(&msg("T", 0, b"after", b"")).unwrap();
    assert_eq!((put.offset.0, put.queue_offset), (starts[12], QueueOffset(12)));
    settle(&store);
    assert_eq!(body_of(&store, "T", 0, 12).unwrap(), b"after");
    store.shutdown().unwrap();
    drop(store);

    // The cut survives a plain reopen, and a point past the end changes nothing.
    let mut beyond = cfg.clone();
    beyond.truncate_to = Some(starts[19] + 1_000_000);
    let store = open(&beyond);
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(13));
    assert_eq!(body_of(&store, "T", 0, 12).unwrap(), b"after");
}

#[test]
fn a_truncation_point_inside_a_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let store = open(&cfg);
    let first = store.put(&msg("T", 0, b"one", b"")).unwrap();
    store.put(&msg("T", 0, b"two", b"")).unwrap();
    settle(&store);
    store.shutdown().unwrap();
    drop(store);

    let mut cut = cfg.clone();
    cut.truncate_to = Some(first.offset.0 + 7);
    let err = rmq_store::MessageStore::open(cut, rmq_store::StoreHooks::default()).unwrap_err();
    assert!(err.to_string().contains("not the start of a record"), "{err}");
    // Nothing was cut.
    let store = open(&cfg);
    assert_eq!(store.max_offset_in_queue("T", 0), QueueOffset(2));
}
