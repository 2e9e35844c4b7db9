//! The replica state of every broker group (Java's `ReplicasInfoManager`)
//! as a state machine: `decide_*` methods read the state and return the
//! response together with the [`Event`]s that would make it true; only
//! [`ReplicaState::apply`] changes the state. Deciding never mutates, so the
//! controller can make events durable (or, next, agree on them through Raft)
//! before any of them takes effect, and replaying the same events rebuilds
//! the same state.

use std::collections::{BTreeMap, BTreeSet};

use rmq_protocol::body::controller::{
    BrokerMemberGroup, BrokerReplicasInfo, ElectMasterResponseBody, ReplicaIdentity, ReplicasInfo, SyncStateSet,
};
use rmq_protocol::header::{
    AlterSyncStateSetRequestHeader, AlterSyncStateSetResponseHeader, ApplyBrokerIdRequestHeader,
    ApplyBrokerIdResponseHeader, CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader,
    ElectMasterResponseHeader, GetNextBrokerIdResponseHeader, GetReplicaInfoResponseHeader,
    RegisterBrokerToControllerRequestHeader, RegisterBrokerToControllerResponseHeader,
};
use rmq_protocol::{RemotingCommand, ResponseCode};
use serde::{Deserialize, Serialize};

use crate::elect::{Candidates, elect};
use crate::event::Event;
use crate::heartbeat::Liveness;

/// The first id the controller gives a broker of a group
/// (`MixAll.FIRST_BROKER_CONTROLLER_ID`).
pub const FIRST_BROKER_CONTROLLER_ID: i64 = 1;

/// A response and the events that must be applied for it to hold.
#[derive(Debug)]
pub struct Decision {
    pub response: RemotingCommand,
    pub events: Vec<Event>,
}

impl Decision {
    fn answer(response: RemotingCommand) -> Decision {
        Decision { response, events: Vec::new() }
    }

    fn refuse(code: ResponseCode, remark: impl Into<String>) -> Decision {
        Decision::answer(RemotingCommand::response(code, Some(remark.into())))
    }
}

/// One broker of a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub address: String,
    /// `address;timestamp` as the broker applied for its id: a restarted
    /// broker presenting the same code may take its id again.
    pub register_check_code: String,
}

/// The master, its epoch and the in-sync set of a group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub master_broker_id: Option<i64>,
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

/// One broker group (`brokerName`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerGroup {
    pub cluster_name: String,
    pub broker_name: String,
    pub next_assign_broker_id: i64,
    pub members: BTreeMap<i64, Member>,
    /// `None` once cleaning emptied the in-sync set while members remain
    /// (Java drops the group's sync info then; the group counts as unregistered).
    pub sync: Option<SyncState>,
}

impl BrokerGroup {
    fn address(&self, id: Option<i64>) -> Option<String> {
        id.and_then(|id| self.members.get(&id)).map(|m| m.address.clone())
    }

    fn member_group(&self) -> BrokerMemberGroup {
        BrokerMemberGroup {
            broker_addrs: self.members.iter().map(|(id, m)| (*id, m.address.clone())).collect(),
            broker_name: Some(self.broker_name.clone()),
            cluster: Some(self.cluster_name.clone()),
        }
    }

    fn ids(&self) -> BTreeSet<i64> {
        self.members.keys().copied().collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaState {
    groups: BTreeMap<String, BrokerGroup>,
}

impl ReplicaState {
    /// A registered group with its sync state (Java's `isContainsBroker`).
    fn group(&self, broker_name: &str) -> Option<(&BrokerGroup, &SyncState)> {
        let group = self.groups.get(broker_name)?;
        Some((group, group.sync.as_ref()?))
    }

    pub fn groups(&self) -> impl Iterator<Item = &BrokerGroup> {
        self.groups.values()
    }

    /// CONTROLLER_ALTER_SYNC_STATE_SET: the master reports its new in-sync set.
    pub fn decide_alter_sync_state_set(
        &self,
        request: &AlterSyncStateSetRequestHeader,
        proposed: &SyncStateSet,
        live: &dyn Liveness,
    ) -> Decision {
        let Some((group, sync)) = self.group(&request.broker_name) else {
            return Decision::refuse(ResponseCode::ControllerAlterSyncStateSetFailed, "Broker metadata is not existed");
        };
        let new_set = &proposed.sync_state_set;
        if *new_set == sync.sync_state_set {
            return Decision::refuse(
                ResponseCode::ControllerAlterSyncStateSetFailed,
                "The newSyncStateSet is equal with oldSyncStateSet, no needed to update syncStateSet",
            );
        }
        if sync.master_broker_id.is_none() || sync.master_broker_id != request.master_broker_id {
            return Decision::refuse(
                ResponseCode::ControllerInvalidMaster,
                format!(
                    "Rejecting alter syncStateSet request because the current leader is:{{{}}}, not {{{}}}",
                    show(sync.master_broker_id),
                    show(request.master_broker_id)
                ),
            );
        }
        if request.master_epoch != Some(sync.master_epoch) {
            return Decision::refuse(
                ResponseCode::ControllerFencedMasterEpoch,
                format!(
                    "Rejecting alter syncStateSet request because the current master epoch is:{{{}}}, not {{{}}}",
                    sync.master_epoch,
                    show(request.master_epoch)
                ),
            );
        }
        if proposed.sync_state_set_epoch != sync.sync_state_set_epoch {
            return Decision::refuse(
                ResponseCode::ControllerFencedSyncStateSetEpoch,
                format!(
                    "Rejecting alter syncStateSet request because the current syncStateSet epoch is:{{{}}}, not {{{}}}",
                    sync.sync_state_set_epoch, proposed.sync_state_set_epoch
                ),
            );
        }
        for replica in new_set {
            if !group.members.contains_key(replica) {
                return Decision::refuse(
                    ResponseCode::ControllerInvalidReplicas,
                    format!("Rejecting alter syncStateSet request because the replicas {{{replica}}} don't exist"),
                );
            }
            if !live.is_alive(&group.cluster_name, &group.broker_name, *replica) {
                return Decision::refuse(
                    ResponseCode::ControllerBrokerNotAlive,
                    format!("Rejecting alter syncStateSet request because the replicas {{{replica}}} don't alive"),
                );
            }
        }
        if sync.master_broker_id.is_some_and(|m| !new_set.contains(&m)) {
            return Decision::refuse(
                ResponseCode::ControllerAlterSyncStateSetFailed,
                format!(
                    "Rejecting alter syncStateSet request because the newSyncStateSet don't contains origin leader {{{}}}",
                    show(sync.master_broker_id)
                ),
            );
        }
        let epoch = sync.sync_state_set_epoch + 1;
        let body = SyncStateSet { sync_state_set: new_set.clone(), sync_state_set_epoch: epoch };
        let header = AlterSyncStateSetResponseHeader { new_sync_state_set_epoch: Some(epoch) };
        Decision {
            response: RemotingCommand::success().with_header(&header).with_body(body.encode()),
            events: vec![Event::AlterSyncStateSet {
                broker_name: request.broker_name.clone(),
                new_sync_state_set: new_set.clone(),
            }],
        }
    }

    /// CONTROLLER_ELECT_MASTER: by a broker (its own id), by an
    /// administrator (`designateElect`) or by the controller itself (no id).
    pub fn decide_elect_master(
        &self,
        request: &ElectMasterRequestHeader,
        unclean: bool,
        live: &dyn Liveness,
    ) -> Decision {
        let Some((group, sync)) = self.group(&request.broker_name) else {
            return Decision::refuse(ResponseCode::ControllerBrokerNeedToBeRegistered, "Broker hasn't been registered");
        };
        let asked = request.broker_id.filter(|id| *id != -1);
        let old_master = sync.master_broker_id;
        // The first election of a group takes the broker that asks (Java);
        // rmq also wants it to be a member.
        let mut new_master = asked.filter(|id| sync.master_epoch == 0 && group.members.contains_key(id));
        if new_master.is_none() {
            let all = group.ids();
            new_master = elect(
                Candidates {
                    cluster_name: &group.cluster_name,
                    broker_name: &group.broker_name,
                    sync_state_set: &sync.sync_state_set,
                    all_replicas: unclean.then_some(&all),
                    old_master,
                    preferred: asked.filter(|_| request.designate_elect == Some(true)),
                },
                live,
            );
        }
        match new_master {
            Some(id) if Some(id) == old_master => {
                let header = ElectMasterResponseHeader {
                    master_broker_id: Some(id),
                    master_address: group.address(Some(id)),
                    master_epoch: Some(sync.master_epoch),
                    sync_state_set_epoch: Some(sync.sync_state_set_epoch),
                };
                let body =
                    ElectMasterResponseBody { broker_member_group: None, sync_state_set: sync.sync_state_set.clone() };
                let remark = format!(
                    "The old master {id} is still alive, not need to elect new master for broker {}",
                    group.broker_name
                );
                let response = RemotingCommand::response(ResponseCode::ControllerMasterStillExist, Some(remark))
                    .with_header(&header)
                    .with_body(body.encode());
                Decision::answer(response)
            }
            Some(id) => {
                let header = ElectMasterResponseHeader {
                    master_broker_id: Some(id),
                    master_address: group.address(Some(id)),
                    master_epoch: Some(sync.master_epoch + 1),
                    sync_state_set_epoch: Some(sync.sync_state_set_epoch + 1),
                };
                let body = ElectMasterResponseBody {
                    broker_member_group: Some(group.member_group()),
                    sync_state_set: BTreeSet::from([id]),
                };
                Decision {
                    response: RemotingCommand::success().with_header(&header).with_body(body.encode()),
                    events: vec![Event::ElectMaster {
                        broker_name: group.broker_name.clone(),
                        new_master_broker_id: Some(id),
                    }],
                }
            }
            None if asked.is_none() => Decision {
                response: RemotingCommand::response(
                    ResponseCode::ControllerMasterNotAvailable,
                    Some("Old master has down and failed to elect a new broker master".into()),
                ),
                events: vec![Event::ElectMaster { broker_name: group.broker_name.clone(), new_master_broker_id: None }],
            },
            None => Decision::refuse(ResponseCode::ControllerElectMasterFailed, "Failed to elect a new master"),
        }
    }

    /// CONTROLLER_GET_NEXT_BROKER_ID.
    pub fn next_broker_id(&self, cluster_name: Option<String>, broker_name: &str) -> RemotingCommand {
        let next = self.groups.get(broker_name).map_or(FIRST_BROKER_CONTROLLER_ID, |g| g.next_assign_broker_id);
        let header = GetNextBrokerIdResponseHeader {
            cluster_name,
            broker_name: Some(broker_name.to_owned()),
            next_broker_id: Some(next),
        };
        RemotingCommand::success().with_header(&header)
    }

    /// CONTROLLER_APPLY_BROKER_ID: a broker takes an id not yet taken, or
    /// its own again (same register check code).
    pub fn decide_apply_broker_id(&self, request: &ApplyBrokerIdRequestHeader) -> Decision {
        let id = request.applied_broker_id;
        let address = request.register_check_code.split(';').next().unwrap_or_default().to_owned();
        let cluster_name = request.cluster_name.clone().unwrap_or_default();
        let header = ApplyBrokerIdResponseHeader {
            cluster_name: request.cluster_name.clone(),
            broker_name: Some(request.broker_name.clone()),
        };
        let event = Event::ApplyBrokerId {
            cluster_name,
            broker_name: request.broker_name.clone(),
            broker_address: address,
            new_broker_id: id,
            register_check_code: request.register_check_code.clone(),
        };
        let accepted =
            || Decision { response: RemotingCommand::success().with_header(&header), events: vec![event.clone()] };
        let Some(group) = self.groups.get(&request.broker_name) else {
            if id == FIRST_BROKER_CONTROLLER_ID {
                return accepted();
            }
            return Decision::refuse(
                ResponseCode::ControllerBrokerIdInvalid,
                format!(
                    "Broker-set: {} hasn't been registered in controller, but broker try to apply brokerId: {id}",
                    request.broker_name
                ),
            );
        };
        match group.members.get(&id) {
            None => accepted(),
            Some(m) if m.register_check_code == request.register_check_code => accepted(),
            Some(_) => Decision::refuse(
                ResponseCode::ControllerBrokerIdInvalid,
                format!("Fail to apply brokerId: {id} in broker-set: {}", request.broker_name),
            ),
        }
    }

    /// CONTROLLER_REGISTER_BROKER: a broker with an id says where it is and
    /// learns the master, if the group has a live one.
    pub fn decide_register_broker(
        &self,
        request: &RegisterBrokerToControllerRequestHeader,
        live: &dyn Liveness,
    ) -> Decision {
        let cluster_name = request.cluster_name.clone().unwrap_or_default();
        let Some((group, sync)) = self.group(&request.broker_name) else {
            return Decision::refuse(
                ResponseCode::ControllerBrokerNeedToBeRegistered,
                format!("Broker-set: {} hasn't been registered in controller", request.broker_name),
            );
        };
        let Some(id) = request.broker_id.filter(|id| group.members.contains_key(id)) else {
            return Decision::refuse(
                ResponseCode::ControllerBrokerNeedToBeRegistered,
                format!(
                    "BrokerId: {} hasn't been registered in broker-set: {}",
                    show(request.broker_id),
                    request.broker_name
                ),
            );
        };
        let mut header = RegisterBrokerToControllerResponseHeader {
            cluster_name: request.cluster_name.clone(),
            broker_name: Some(request.broker_name.clone()),
            ..Default::default()
        };
        if let Some(master) = sync.master_broker_id.filter(|m| live.is_alive(&cluster_name, &request.broker_name, *m)) {
            header.master_broker_id = Some(master);
            header.master_address = group.address(Some(master));
            header.master_epoch = Some(sync.master_epoch);
            header.sync_state_set_epoch = Some(sync.sync_state_set_epoch);
        }
        let body = SyncStateSet {
            sync_state_set: sync.sync_state_set.clone(),
            sync_state_set_epoch: sync.sync_state_set_epoch,
        };
        let mut events = Vec::new();
        if group.address(Some(id)).as_deref() != Some(request.broker_address.as_str()) {
            events.push(Event::UpdateBrokerAddress {
                cluster_name,
                broker_name: request.broker_name.clone(),
                broker_address: request.broker_address.clone(),
                broker_id: id,
            });
        }
        Decision { response: RemotingCommand::success().with_header(&header).with_body(body.encode()), events }
    }

    /// CONTROLLER_GET_REPLICA_INFO.
    pub fn replica_info(&self, broker_name: &str) -> RemotingCommand {
        let Some((group, sync)) = self.group(broker_name) else {
            return RemotingCommand::response(
                ResponseCode::ControllerBrokerMetadataNotExist,
                Some("Broker metadata is not existed".into()),
            );
        };
        let header = GetReplicaInfoResponseHeader {
            master_broker_id: sync.master_broker_id,
            master_address: group.address(sync.master_broker_id),
            master_epoch: Some(sync.master_epoch),
        };
        let body = SyncStateSet {
            sync_state_set: sync.sync_state_set.clone(),
            sync_state_set_epoch: sync.sync_state_set_epoch,
        };
        RemotingCommand::success().with_header(&header).with_body(body.encode())
    }

    /// CONTROLLER_GET_SYNC_STATE_DATA: the replicas of the named groups,
    /// in-sync or not, alive or not.
    pub fn sync_state_data(&self, broker_names: &[String], live: &dyn Liveness) -> BrokerReplicasInfo {
        let mut info = BrokerReplicasInfo::default();
        for name in broker_names {
            let Some((group, sync)) = self.group(name) else { continue };
            let mut in_sync = Vec::new();
            let mut not_in_sync = Vec::new();
            for (id, member) in &group.members {
                let replica = ReplicaIdentity {
                    alive: Some(live.is_alive(&group.cluster_name, name, *id)),
                    broker_address: Some(member.address.clone()),
                    broker_id: Some(*id),
                    broker_name: Some(name.clone()),
                };
                if sync.sync_state_set.contains(id) { in_sync.push(replica) } else { not_in_sync.push(replica) }
            }
            info.replicas_info_table.insert(
                name.clone(),
                ReplicasInfo {
                    in_sync_replicas: in_sync,
                    master_address: group.address(sync.master_broker_id),
                    master_broker_id: sync.master_broker_id,
                    master_epoch: Some(sync.master_epoch),
                    not_in_sync_replicas: not_in_sync,
                    sync_state_set_epoch: Some(sync.sync_state_set_epoch),
                },
            );
        }
        info
    }

    /// CLEAN_BROKER_DATA: forget brokers that are gone for good.
    pub fn decide_clean_broker_data(
        &self,
        request: &CleanControllerBrokerDataRequestHeader,
        live: &dyn Liveness,
    ) -> Decision {
        let cluster_name = request.cluster_name.clone().unwrap_or_default();
        let ids_text = request.broker_controller_ids_to_clean.clone().unwrap_or_default();
        let mut ids = None;
        if request.is_clean_living_broker != Some(true) {
            let has_master = self.group(&request.broker_name).is_some_and(|(_, s)| s.master_broker_id.is_some());
            if ids_text.trim().is_empty() && has_master {
                return Decision::refuse(
                    ResponseCode::ControllerInvalidCleanBrokerMetadata,
                    format!("Broker {} is still alive, clean up failure", request.broker_name),
                );
            }
        }
        if !ids_text.trim().is_empty() {
            let parsed: Result<BTreeSet<i64>, _> = ids_text.split(';').map(|t| t.trim().parse::<i64>()).collect();
            let Ok(parsed) = parsed else {
                return Decision::refuse(
                    ResponseCode::ControllerInvalidCleanBrokerMetadata,
                    format!(
                        "Please set the option <brokerControllerIdsToClean> according to the format, exception: {ids_text}"
                    ),
                );
            };
            let still_alive = parsed.iter().find(|id| live.is_alive(&cluster_name, &request.broker_name, **id));
            if let Some(id) = still_alive.filter(|_| request.is_clean_living_broker != Some(true)) {
                return Decision::refuse(
                    ResponseCode::ControllerInvalidCleanBrokerMetadata,
                    format!("Broker [{},  {id}] is still alive, clean up failure", request.broker_name),
                );
            }
            ids = Some(parsed);
        }
        if self.group(&request.broker_name).is_none() {
            return Decision::refuse(
                ResponseCode::ControllerInvalidCleanBrokerMetadata,
                format!("Broker {} is not existed,clean broker data failure.", request.broker_name),
            );
        }
        Decision {
            response: RemotingCommand::success(),
            events: vec![Event::CleanBrokerData {
                broker_name: request.broker_name.clone(),
                broker_id_set_to_clean: ids,
            }],
        }
    }

    /// Groups whose master is not alive while some member is: they need an
    /// election (Java's `scanNeedReelectBrokerSets`).
    pub fn groups_needing_election(&self, live: &dyn Liveness) -> Vec<String> {
        self.groups
            .values()
            .filter(|g| {
                let Some(master) = g.sync.as_ref().and_then(|s| s.master_broker_id) else { return false };
                !live.is_alive(&g.cluster_name, &g.broker_name, master)
                    && g.members.keys().any(|id| live.is_alive(&g.cluster_name, &g.broker_name, *id))
            })
            .map(|g| g.broker_name.clone())
            .collect()
    }

    /// The group's current master, if it has one.
    pub fn master_of(&self, broker_name: &str) -> Option<i64> {
        self.group(broker_name).and_then(|(_, s)| s.master_broker_id)
    }

    /// The group's current master and its master epoch, if it has one.
    pub fn master_with_epoch(&self, broker_name: &str) -> Option<(i64, i32)> {
        self.group(broker_name).and_then(|(_, s)| Some((s.master_broker_id?, s.master_epoch)))
    }

    /// The members of a group, for role-change notices.
    pub fn members_of(&self, broker_name: &str) -> Option<BrokerMemberGroup> {
        self.groups.get(broker_name).map(BrokerGroup::member_group)
    }

    /// Applies one event; events about groups that do not exist are ignored
    /// (with a log line), as Java's state machine does.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::AlterSyncStateSet { broker_name, new_sync_state_set } => {
                if let Some(sync) = self.sync_mut(broker_name) {
                    sync.sync_state_set = new_sync_state_set.clone();
                    sync.sync_state_set_epoch += 1;
                }
            }
            Event::ApplyBrokerId { cluster_name, broker_name, broker_address, new_broker_id, register_check_code } => {
                let member =
                    Member { address: broker_address.clone(), register_check_code: register_check_code.clone() };
                match self.groups.get_mut(broker_name).filter(|g| g.sync.is_some()) {
                    Some(group) => {
                        if !group.members.contains_key(new_broker_id) {
                            group.members.insert(*new_broker_id, member);
                            group.next_assign_broker_id += 1;
                        }
                    }
                    None => {
                        let group = BrokerGroup {
                            cluster_name: cluster_name.clone(),
                            broker_name: broker_name.clone(),
                            next_assign_broker_id: FIRST_BROKER_CONTROLLER_ID + 1,
                            members: BTreeMap::from([(*new_broker_id, member)]),
                            sync: Some(SyncState::default()),
                        };
                        self.groups.insert(broker_name.clone(), group);
                    }
                }
            }
            Event::ElectMaster { broker_name, new_master_broker_id } => match self.sync_mut(broker_name) {
                Some(sync) => {
                    sync.master_broker_id = *new_master_broker_id;
                    sync.master_epoch += 1;
                    if let Some(id) = new_master_broker_id {
                        sync.sync_state_set = BTreeSet::from([*id]);
                        sync.sync_state_set_epoch += 1;
                    }
                }
                None => tracing::error!("an ElectMasterEvent for the unregistered broker group {broker_name} ignored"),
            },
            Event::CleanBrokerData { broker_name, broker_id_set_to_clean } => {
                let Some(ids) = broker_id_set_to_clean.as_ref().filter(|ids| !ids.is_empty()) else {
                    self.groups.remove(broker_name);
                    return;
                };
                let Some(group) = self.groups.get_mut(broker_name) else { return };
                for id in ids {
                    group.members.remove(id);
                    if let Some(sync) = group.sync.as_mut() {
                        sync.sync_state_set.remove(id);
                    }
                }
                if group.sync.as_ref().is_some_and(|s| s.sync_state_set.is_empty()) {
                    group.sync = None;
                }
                if group.members.is_empty() {
                    self.groups.remove(broker_name);
                }
            }
            Event::UpdateBrokerAddress { broker_name, broker_address, broker_id, .. } => {
                if let Some(member) = self.groups.get_mut(broker_name).and_then(|g| g.members.get_mut(broker_id)) {
                    member.address = broker_address.clone();
                }
            }
        }
    }

    fn sync_mut(&mut self, broker_name: &str) -> Option<&mut SyncState> {
        self.groups.get_mut(broker_name).and_then(|g| g.sync.as_mut())
    }
}

fn show<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests;
