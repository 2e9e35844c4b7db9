use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use rmq_protocol::ResponseCode;
use rmq_protocol::body::controller::SyncStateSet;
use rmq_protocol::header::{
    AlterSyncStateSetRequestHeader, ApplyBrokerIdRequestHeader, ElectMasterRequestHeader,
    RegisterBrokerToControllerRequestHeader,
};

use super::*;
use crate::heartbeat::LiveInfo;

/// Alive brokers by id, the rest dead.
struct Alive(HashSet<i64>);

impl Liveness for Alive {
    fn is_alive(&self, _: &str, _: &str, id: i64) -> bool {
        self.0.contains(&id)
    }
    fn live_info(&self, _: &str, _: &str, id: i64) -> Option<LiveInfo> {
        self.0.contains(&id).then(|| LiveInfo {
            broker_addr: String::new(),
            last_update: Instant::now(),
            timeout: std::time::Duration::from_secs(1),
            connection: None,
            epoch: 0,
            max_offset: 0,
            confirm_offset: 0,
            election_priority: 0,
            leased: false,
        })
    }
}

fn alive(ids: &[i64]) -> Alive {
    Alive(ids.iter().copied().collect())
}

fn run(state: &mut ReplicaState, decision: Decision) -> rmq_protocol::RemotingCommand {
    for e in &decision.events {
        state.apply(e);
    }
    decision.response
}

fn join(state: &mut ReplicaState, id: i64) {
    let apply = ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: "broker-a".into(),
        applied_broker_id: id,
        register_check_code: format!("127.0.0.1:{};1", 30910 + id),
    };
    let r = run(state, state.decide_apply_broker_id(&apply));
    assert_eq!(r.response_code(), ResponseCode::Success);
}

fn elect(state: &mut ReplicaState, id: Option<i64>, live: &Alive) -> rmq_protocol::RemotingCommand {
    let req = ElectMasterRequestHeader { broker_name: "broker-a".into(), broker_id: id, ..Default::default() };
    run(state, state.decide_elect_master(&req, false, live))
}

fn sync(state: &ReplicaState) -> SyncState {
    state.groups.get("broker-a").unwrap().sync.clone().unwrap()
}

#[test]
fn first_election_then_failover_within_the_sync_set() {
    let mut state = ReplicaState::default();
    for id in 1..=3 {
        join(&mut state, id);
    }
    assert_eq!(state.groups.get("broker-a").unwrap().next_assign_broker_id, 4);
    let live = alive(&[1, 2, 3]);
    assert_eq!(elect(&mut state, Some(1), &live).response_code(), ResponseCode::Success);
    assert_eq!((sync(&state).master_broker_id, sync(&state).master_epoch), (Some(1), 1));
    // Another broker asking while the master lives: the master stays.
    assert_eq!(elect(&mut state, Some(2), &live).response_code(), ResponseCode::ControllerMasterStillExist);

    // The master grows its in-sync set to {1, 2}.
    let header = AlterSyncStateSetRequestHeader {
        broker_name: "broker-a".into(),
        master_broker_id: Some(1),
        master_epoch: Some(1),
        invoke_time: None,
    };
    let proposed = SyncStateSet { sync_state_set: BTreeSet::from([1, 2]), sync_state_set_epoch: 1 };
    let d = state.decide_alter_sync_state_set(&header, &proposed, &live);
    let r = run(&mut state, d);
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    assert_eq!(sync(&state).sync_state_set_epoch, 2);
    // A stale master epoch is fenced.
    let stale = AlterSyncStateSetRequestHeader { master_epoch: Some(0), ..header.clone() };
    let proposed = SyncStateSet { sync_state_set: BTreeSet::from([1]), sync_state_set_epoch: 2 };
    assert_eq!(
        state.decide_alter_sync_state_set(&stale, &proposed, &live).response.response_code(),
        ResponseCode::ControllerFencedMasterEpoch
    );

    // Master 1 dies: the controller elects 2 (in sync), never 3 (not in sync).
    let live = alive(&[2, 3]);
    assert_eq!(state.groups_needing_election(&live), ["broker-a"]);
    let r = elect(&mut state, None, &live);
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(r.ext("masterBrokerId"), Some("2"));
    assert_eq!(r.ext("masterEpoch"), Some("2"));
    assert_eq!((sync(&state).master_broker_id, sync(&state).sync_state_set), (Some(2), BTreeSet::from([2])));
}

#[test]
fn no_in_sync_replica_alive_leaves_the_group_without_master() {
    let mut state = ReplicaState::default();
    join(&mut state, 1);
    join(&mut state, 2);
    assert_eq!(elect(&mut state, Some(1), &alive(&[1, 2])).response_code(), ResponseCode::Success);
    let live = alive(&[2]);
    let r = elect(&mut state, None, &live);
    assert_eq!(r.response_code(), ResponseCode::ControllerMasterNotAvailable);
    assert_eq!((sync(&state).master_broker_id, sync(&state).master_epoch), (None, 2));
    assert!(state.groups_needing_election(&live).is_empty());
    // Unclean election allowed: 2 takes over.
    let req = ElectMasterRequestHeader { broker_name: "broker-a".into(), ..Default::default() };
    let d = state.decide_elect_master(&req, true, &live);
    let r = run(&mut state, d);
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert_eq!(sync(&state).master_broker_id, Some(2));
}

#[test]
fn ids_are_not_stolen_and_addresses_follow_registrations() {
    let mut state = ReplicaState::default();
    join(&mut state, 1);
    let thief = ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: "broker-a".into(),
        applied_broker_id: 1,
        register_check_code: "10.0.0.9:30911;2".into(),
    };
    assert_eq!(state.decide_apply_broker_id(&thief).response.response_code(), ResponseCode::ControllerBrokerIdInvalid);
    let unknown_group = ApplyBrokerIdRequestHeader { broker_name: "broker-z".into(), applied_broker_id: 2, ..thief };
    assert_eq!(
        state.decide_apply_broker_id(&unknown_group).response.response_code(),
        ResponseCode::ControllerBrokerIdInvalid
    );

    let register = RegisterBrokerToControllerRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: "broker-a".into(),
        broker_id: Some(1),
        broker_address: "10.0.0.1:30911".into(),
        invoke_time: None,
    };
    let d = state.decide_register_broker(&register, &alive(&[1]));
    assert_eq!(d.events.len(), 1);
    run(&mut state, d);
    assert_eq!(state.members_of("broker-a").unwrap().broker_addrs[&1], "10.0.0.1:30911");
    let stranger = RegisterBrokerToControllerRequestHeader { broker_id: Some(7), ..register };
    assert_eq!(
        state.decide_register_broker(&stranger, &alive(&[1])).response.response_code(),
        ResponseCode::ControllerBrokerNeedToBeRegistered
    );
}

#[test]
fn replaying_the_events_rebuilds_the_state() {
    let mut state = ReplicaState::default();
    let mut log = Vec::new();
    let mut record = |state: &mut ReplicaState, d: Decision| {
        log.extend(d.events.clone());
        run(state, d);
    };
    for id in 1..=2 {
        let apply = ApplyBrokerIdRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: "broker-a".into(),
            applied_broker_id: id,
            register_check_code: format!("a{id};1"),
        };
        let d = state.decide_apply_broker_id(&apply);
        record(&mut state, d);
    }
    let req = ElectMasterRequestHeader { broker_name: "broker-a".into(), broker_id: Some(2), ..Default::default() };
    let d = state.decide_elect_master(&req, false, &alive(&[1, 2]));
    record(&mut state, d);
    let mut replayed = ReplicaState::default();
    for e in &log {
        replayed.apply(e);
    }
    assert_eq!(replayed, state);
}
