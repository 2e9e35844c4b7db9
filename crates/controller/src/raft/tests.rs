use openraft::storage::RaftStateMachine;
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, EntryPayload, LogId, Membership, RaftSnapshotBuilder, StorageError};

use super::*;

/// Fresh stores in a temporary directory, removed when the guard drops.
struct OnDisk;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for OnDisk {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().unwrap();
        let log = LogStore::open(dir.path()).unwrap();
        let machine = StateMachine::open(dir.path(), Arc::default()).unwrap();
        Ok((dir, log, machine))
    }
}

/// openraft's own contract tests for a log store and a state machine.
#[test]
fn the_stores_pass_openraft_storage_suite() {
    Suite::test_all(OnDisk).unwrap();
}

fn peers() -> Vec<Peer> {
    ["n2", "n0", "n1"].iter().map(|id| Peer { id: (*id).into(), addr: format!("127.0.0.1:98{id}") }).collect()
}

#[test]
fn raft_ids_follow_the_sorted_dledger_ids_whatever_the_list_order() {
    let ids: Vec<(NodeId, String)> = members(&peers()).into_iter().map(|(i, p)| (i, p.id)).collect();
    assert_eq!(ids, [(0, "n0".to_owned()), (1, "n1".to_owned()), (2, "n2".to_owned())]);
}

fn entry(index: u64, payload: EntryPayload<TypeConfig>) -> Entry {
    Entry { log_id: LogId::new(CommittedLeaderId::new(1, 0), index), payload }
}

fn apply_id(id: i64) -> Event {
    Event::ApplyBrokerId {
        cluster_name: "c".into(),
        broker_name: "broker-a".into(),
        broker_address: format!("127.0.0.1:3091{id}"),
        new_broker_id: id,
        register_check_code: format!("127.0.0.1:3091{id};1"),
    }
}

#[tokio::test]
async fn a_snapshot_restores_the_applied_state_on_another_member_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::default();
    let mut machine = StateMachine::open(dir.path(), Arc::clone(&state)).unwrap();
    let membership = Membership::new(vec![members(&peers()).keys().copied().collect()], members(&peers()));
    machine
        .apply(vec![
            entry(1, EntryPayload::Membership(membership)),
            entry(2, EntryPayload::Normal(vec![apply_id(1), apply_id(2)])),
            entry(3, EntryPayload::Blank),
        ])
        .await
        .unwrap();
    let expected = state.lock().unwrap().clone();
    assert_ne!(expected, ReplicaState::default());
    let snapshot = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();
    assert_eq!(snapshot.meta.last_log_id.map(|l| l.index), Some(3));

    // Another member installs it.
    let other_dir = tempfile::tempdir().unwrap();
    let other_state: Arc<Mutex<ReplicaState>> = Arc::default();
    let mut other = StateMachine::open(other_dir.path(), Arc::clone(&other_state)).unwrap();
    other.install_snapshot(&snapshot.meta, snapshot.snapshot).await.unwrap();
    assert_eq!(*other_state.lock().unwrap(), expected);
    let (applied, stored) = other.applied_state().await.unwrap();
    assert_eq!(applied.map(|l| l.index), Some(3));
    assert_eq!(stored.membership().nodes().count(), 3);

    // Both start again from snapshot.json.
    for dir in [dir.path(), other_dir.path()] {
        let restored: Arc<Mutex<ReplicaState>> = Arc::default();
        let mut reopened = StateMachine::open(dir, Arc::clone(&restored)).unwrap();
        assert_eq!(*restored.lock().unwrap(), expected);
        assert_eq!(reopened.applied_state().await.unwrap().0.map(|l| l.index), Some(3));
        assert!(reopened.get_current_snapshot().await.unwrap().is_some());
    }
}
