use openraft::{CommittedLeaderId, EntryPayload};

use super::*;
use crate::event::Event;

fn log_id(term: u64, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, 0), index)
}

fn entry(term: u64, index: u64) -> Entry {
    let event = Event::ElectMaster { broker_name: format!("broker-{index}"), new_master_broker_id: Some(1) };
    Entry { log_id: log_id(term, index), payload: EntryPayload::Normal(vec![event]) }
}

fn indexes(store: &LogStore) -> Vec<u64> {
    store.disk().entries.keys().copied().collect()
}

/// Appends as openraft's `append` does, minus the flush callback (which
/// only openraft can build).
fn append(store: &LogStore, range: std::ops::RangeInclusive<u64>, term: u64) {
    store.disk().append(range.map(|i| entry(term, i)).collect()).unwrap();
}

#[tokio::test]
async fn appended_entries_are_read_back_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(dir.path()).unwrap();
    assert_eq!(store.get_log_state().await.unwrap().last_log_id, None);
    append(&store, 1..=3, 1);
    let read = store.try_get_log_entries(2..).await.unwrap();
    assert_eq!(read, vec![entry(1, 2), entry(1, 3)]);
    drop(store);

    let mut store = LogStore::open(dir.path()).unwrap();
    assert_eq!(indexes(&store), [1, 2, 3]);
    assert_eq!(store.get_log_state().await.unwrap().last_log_id, Some(log_id(1, 3)));
}

#[tokio::test]
async fn truncate_drops_the_tail_from_the_given_index_on_disk_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(dir.path()).unwrap();
    append(&store, 1..=5, 1);
    store.truncate(log_id(1, 3)).await.unwrap();
    assert_eq!(indexes(&store), [1, 2]);
    append(&store, 3..=3, 2);
    drop(store);
    let store = LogStore::open(dir.path()).unwrap();
    assert_eq!(indexes(&store), [1, 2, 3]);
    assert_eq!(store.disk().entries[&3], entry(2, 3));
}

#[tokio::test]
async fn purge_drops_the_head_and_remembers_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(dir.path()).unwrap();
    append(&store, 1..=5, 1);
    store.purge(log_id(1, 3)).await.unwrap();
    assert_eq!(indexes(&store), [4, 5]);
    drop(store);

    let mut store = LogStore::open(dir.path()).unwrap();
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 3)));
    assert_eq!(state.last_log_id, Some(log_id(1, 5)));
    store.purge(log_id(1, 5)).await.unwrap();
    let state = store.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id(1, 5)), "an empty log ends where it was purged");
}

#[tokio::test]
async fn vote_and_committed_are_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(dir.path()).unwrap();
    assert_eq!(store.read_vote().await.unwrap(), None);
    store.save_vote(&Vote::new(4, 2)).await.unwrap();
    store.save_committed(Some(log_id(4, 7))).await.unwrap();
    drop(store);

    let mut store = LogStore::open(dir.path()).unwrap();
    assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(4, 2)));
    assert_eq!(store.read_committed().await.unwrap(), Some(log_id(4, 7)));
}

#[tokio::test]
async fn a_torn_last_line_is_dropped_and_a_bad_middle_line_stops_the_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path()).unwrap();
    append(&store, 1..=2, 1);
    drop(store);
    let path = dir.path().join(LOG_FILE);
    let mut text = fs::read(&path).unwrap();
    text.extend_from_slice(br#"{"log_id":{"leader_id":{"te"#);
    fs::write(&path, &text).unwrap();
    let store = LogStore::open(dir.path()).unwrap();
    assert_eq!(indexes(&store), [1, 2]);
    append(&store, 3..=3, 1);
    drop(store);
    assert_eq!(indexes(&LogStore::open(dir.path()).unwrap()), [1, 2, 3]);

    fs::write(&path, format!("garbage\n{}\n", serde_json::to_string(&entry(1, 1)).unwrap())).unwrap();
    let err = LogStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}
