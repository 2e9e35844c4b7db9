//! [`Controller`]: the replica state, its event log and the broker
//! heartbeats behind locks, the dispatch of request codes (Java's
//! `ControllerRequestProcessor`), and the elections the controller starts
//! itself when a master stops heart-beating.
//!
//! Every change goes the same way: decide against the current state
//! ([`ReplicaState`]'s `decide_*`), make the events durable, apply them,
//! answer. A store that cannot be written refuses the change (SYSTEM_ERROR)
//! and leaves the state untouched.
//!
//! Durable means one of two things. A single controller appends to its
//! local [`EventLog`] and applies. In a group of several (Raft), only the
//! leader decides; the events are proposed as one entry and applied by the
//! state machine on every member once committed, and the answer waits for
//! that. Followers answer changes and the reads Java schedules through
//! DLedger with CONTROLLER_NOT_LEADER naming the leader; heartbeats and
//! metadata are answered by everyone.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rmq_protocol::body::controller::{ElectMasterResponseBody, SyncStateSet, decode_broker_names};
use rmq_protocol::header::{
    AlterSyncStateSetRequestHeader, ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader,
    CleanControllerBrokerDataRequestHeader, ElectMasterRequestHeader, GetMetaDataResponseHeader,
    GetNextBrokerIdRequestHeader, GetReplicaInfoRequestHeader, NotifyBrokerRoleChangedRequestHeader,
    RegisterBrokerToControllerRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{Connection, ConnectionId, Service, not_supported};

use crate::config::{ControllerConfig, Peer};
use crate::error::{ControllerError, Result};
use crate::event::Event;
use crate::heartbeat::{BrokerIdentity, Heartbeat, LiveTable, LiveView};
use crate::raft::RaftNode;
use crate::state::{Decision, ReplicaState};
use crate::store::EventLog;

/// A NOTIFY_BROKER_ROLE_CHANGED to send after a new master was elected.
#[derive(Debug, Clone)]
pub struct RoleChange {
    pub targets: Vec<String>,
    pub request: RemotingCommand,
}

/// Where decided events go before they are applied.
#[derive(Debug)]
enum Durability {
    /// A single controller: its own event log.
    Local(Mutex<EventLog>),
    /// A group of controllers: the Raft log, applied by its state machine.
    Raft(RaftNode),
}

#[derive(Debug)]
pub struct Controller {
    config: RwLock<ControllerConfig>,
    me: Peer,
    /// Shared with the Raft state machine, which alone changes it in a group.
    state: Arc<Mutex<ReplicaState>>,
    durability: Durability,
    /// One decision at a time, from decide to applied: each is decided
    /// against the state all earlier ones left.
    propose: tokio::sync::Mutex<()>,
    live: Mutex<LiveTable>,
    /// The Raft term this controller leads and since when it knows (see
    /// [`Controller::elections_held_back`]).
    leading: Mutex<Option<(u64, Instant)>>,
}

/// Locks ignoring poisoning: a panic in one request must not stop the
/// controller, and every operation leaves the tables consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Controller {
    /// Replays the event log and returns the controller with its state.
    pub fn open(config: ControllerConfig, me: Peer, log: EventLog, events: Vec<Event>) -> Controller {
        let mut state = ReplicaState::default();
        for event in &events {
            state.apply(event);
        }
        tracing::info!("replayed {} controller events from {}", events.len(), log.path().display());
        Controller {
            config: RwLock::new(config),
            me,
            state: Arc::new(Mutex::new(state)),
            durability: Durability::Local(Mutex::new(log)),
            propose: tokio::sync::Mutex::new(()),
            live: Mutex::new(LiveTable::default()),
            leading: Mutex::new(None),
        }
    }

    /// A member of a Raft group whose state machine changes `state`.
    pub fn in_group(config: ControllerConfig, me: Peer, state: Arc<Mutex<ReplicaState>>, node: RaftNode) -> Controller {
        Controller {
            config: RwLock::new(config),
            me,
            state,
            durability: Durability::Raft(node),
            propose: tokio::sync::Mutex::new(()),
            live: Mutex::new(LiveTable::default()),
            leading: Mutex::new(None),
        }
    }

    /// The Raft member, in a group.
    pub fn raft(&self) -> Option<&RaftNode> {
        match &self.durability {
            Durability::Local(_) => None,
            Durability::Raft(node) => Some(node),
        }
    }

    /// Whether this controller decides: always alone, the leader in a group.
    pub fn is_leader(&self) -> bool {
        self.raft().is_none_or(|node| node.role().is_leader)
    }

    /// Since when this controller leads its Raft group (`None`: it does not,
    /// or it decides alone). Noted the first time it is asked in a term, so
    /// it is asked on every scan and lease renewal.
    pub fn leading_since(&self) -> Option<Instant> {
        let node = self.raft()?;
        let mut leading = lock(&self.leading);
        let Some(term) = node.leading_term() else {
            *leading = None;
            return None;
        };
        Some(match *leading {
            Some((known, since)) if known == term => since,
            _ => {
                let now = Self::now();
                *leading = Some((term, now));
                now
            }
        })
    }

    /// How long a controller that became leader still holds back elections in
    /// `broker_name` (`None`: it does not). Only groups whose brokers run with
    /// `enableMasterLease`: their master may take sends for up to one heartbeat
    /// timeout after its last renewal with the previous leader, so the new one
    /// waits that long (the longest timeout it knows) before electing. Other
    /// groups are elected at once, as Java does. An operator's designated
    /// election (`mqadmin electMaster`) is not held back.
    pub fn elections_held_back(&self, broker_name: &str) -> Option<Duration> {
        let since = self.leading_since()?;
        let grace = {
            let live = lock(&self.live);
            if !live.group_uses_leases(broker_name) {
                return None;
            }
            live.longest_timeout()
        };
        (since + grace).checked_duration_since(Self::now()).filter(|left| !left.is_zero())
    }

    /// Refuses, in a group, unless this controller leads it and has applied
    /// everything committed before (a new leader's state may lag for a moment).
    async fn ensure_leading(&self) -> Result<()> {
        if let Some(node) = self.raft() {
            node.ensure_leader()?;
            node.ensure_up_to_date().await?;
        }
        Ok(())
    }

    pub fn config(&self) -> ControllerConfig {
        self.config.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The current time on tokio's clock.
    pub fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    /// A copy of the replica state, for in-process inspection.
    pub fn state(&self) -> ReplicaState {
        lock(&self.state).clone()
    }

    /// Handles one request. `conn` ties heartbeats to the connection they
    /// came over; role-change notices to send are added to `notices`.
    pub async fn process(
        &self,
        conn: Option<ConnectionId>,
        request: &RemotingCommand,
        notices: &mut Vec<RoleChange>,
    ) -> RemotingCommand {
        let code = request.request_code();
        let result = match code {
            RequestCode::ControllerAlterSyncStateSet => self.alter_sync_state_set(request).await,
            RequestCode::ControllerElectMaster => self.elect_master(request, notices).await,
            RequestCode::ControllerRegisterBroker => self.register_broker(request).await,
            RequestCode::ControllerGetReplicaInfo => self.replica_info(request).await,
            RequestCode::ControllerGetMetadataInfo => Ok(self.metadata()),
            RequestCode::ControllerGetSyncStateData => self.sync_state_data(request).await,
            RequestCode::BrokerHeartbeat => self.heartbeat(conn, request).await,
            RequestCode::UpdateControllerConfig => Ok(self.update_config(request)),
            RequestCode::GetControllerConfig => Ok(self.config_text()),
            RequestCode::CleanBrokerData => self.clean_broker_data(request).await,
            RequestCode::ControllerGetNextBrokerId => self.next_broker_id(request).await,
            RequestCode::ControllerApplyBrokerId => self.apply_broker_id(request).await,
            _ => {
                tracing::warn!("{code}: request type {} not supported by the controller", request.code);
                return not_supported(request);
            }
        };
        result.unwrap_or_else(|e| {
            tracing::warn!("{code} failed: {e}");
            e.to_response()
        })
    }

    /// Decides with `decide` against the current state and liveness, makes
    /// the events durable, has them applied, and returns the answer.
    async fn decide_and_commit(
        &self,
        decide: impl FnOnce(&ReplicaState, &LiveView<'_>) -> Decision,
    ) -> Result<RemotingCommand> {
        let _turn = self.propose.lock().await;
        self.ensure_leading().await?;
        let decision = {
            let state = lock(&self.state);
            let live = lock(&self.live);
            decide(&state, &LiveView { table: &live, now: Self::now() })
        };
        if decision.events.is_empty() {
            return Ok(decision.response);
        }
        match &self.durability {
            Durability::Local(log) => {
                lock(log).append(&decision.events)?;
                let mut state = lock(&self.state);
                decision.events.iter().for_each(|event| state.apply(event));
            }
            Durability::Raft(node) => node.write(decision.events).await?,
        }
        Ok(decision.response)
    }

    async fn alter_sync_state_set(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: AlterSyncStateSetRequestHeader = request.header()?;
        let proposed = SyncStateSet::decode(&request.body.to_bytes())
            .map_err(|e| ControllerError::BadBody(format!("the SyncStateSet body does not parse: {e}")))?;
        self.decide_and_commit(|state, live| state.decide_alter_sync_state_set(&header, &proposed, live)).await
    }

    async fn elect_master(&self, request: &RemotingCommand, notices: &mut Vec<RoleChange>) -> Result<RemotingCommand> {
        let header: ElectMasterRequestHeader = request.header()?;
        let response = self.elect(&header).await?;
        if response.response_code() == ResponseCode::Success {
            notices.extend(self.role_change(&header.broker_name, &response));
        }
        Ok(response)
    }

    async fn elect(&self, header: &ElectMasterRequestHeader) -> Result<RemotingCommand> {
        if header.designate_elect != Some(true)
            && let Some(left) = self.elections_held_back(&header.broker_name)
        {
            return Ok(RemotingCommand::response(
                ResponseCode::ControllerElectMasterFailed,
                Some(format!("a new controller leader elects no master for {} ms yet", left.as_millis())),
            ));
        }
        let unclean = self.config().enable_elect_unclean_master;
        let response = self.decide_and_commit(|state, live| state.decide_elect_master(header, unclean, live)).await?;
        if response.response_code() == ResponseCode::Success {
            tracing::info!(
                "Elect new master {} for broker {}, masterEpoch {}",
                response.ext("masterBrokerId").unwrap_or("?"),
                header.broker_name,
                response.ext("masterEpoch").unwrap_or("?")
            );
        }
        Ok(response)
    }

    /// The controller's own election for a group whose master is gone,
    /// tried up to `electMasterMaxRetryCount` times while the store fails.
    /// Only the leader of a group elects.
    pub async fn elect_on_master_loss(&self, broker_name: &str) -> Vec<RoleChange> {
        if !self.is_leader() {
            return Vec::new();
        }
        let header = ElectMasterRequestHeader { broker_name: broker_name.to_owned(), ..Default::default() };
        let tries = self.config().elect_master_max_retry_count.max(1);
        for attempt in 1..=tries {
            match self.elect(&header).await {
                Ok(response) if response.response_code() == ResponseCode::Success => {
                    return self.role_change(broker_name, &response).into_iter().collect();
                }
                Ok(response) => {
                    tracing::warn!(
                        "no new master for broker-set {broker_name}: {}",
                        response.remark.as_deref().unwrap_or_default()
                    );
                    return Vec::new();
                }
                Err(e) => tracing::warn!("elect-master in broker-set {broker_name} failed (try {attempt}): {e}"),
            }
        }
        Vec::new()
    }

    /// NOTIFY_BROKER_ROLE_CHANGED for the alive members of the group, when
    /// `notifyBrokerRoleChanged` is on.
    fn role_change(&self, broker_name: &str, elected: &RemotingCommand) -> Option<RoleChange> {
        if !self.config().notify_broker_role_changed {
            return None;
        }
        let members = lock(&self.state).members_of(broker_name)?;
        let cluster = members.cluster.clone().unwrap_or_default();
        let targets: Vec<String> = {
            let live = lock(&self.live);
            let now = Self::now();
            members
                .broker_addrs
                .iter()
                .filter(|(id, _)| {
                    let who = BrokerIdentity {
                        cluster_name: cluster.clone(),
                        broker_name: broker_name.to_owned(),
                        broker_id: **id,
                    };
                    live.is_alive(&who, now)
                })
                .map(|(_, addr)| addr.clone())
                .collect()
        };
        let number = |key| elected.ext(key).and_then(|v| v.parse::<i64>().ok());
        let header = NotifyBrokerRoleChangedRequestHeader {
            master_address: elected.ext("masterAddress").map(str::to_owned),
            master_epoch: number("masterEpoch").and_then(|v| i32::try_from(v).ok()),
            sync_state_set_epoch: number("syncStateSetEpoch").and_then(|v| i32::try_from(v).ok()),
            master_broker_id: number("masterBrokerId"),
        };
        let sync_state_set =
            ElectMasterResponseBody::decode(&elected.body.to_bytes()).map(|b| b.sync_state_set).unwrap_or_default();
        let body =
            SyncStateSet { sync_state_set, sync_state_set_epoch: header.sync_state_set_epoch.unwrap_or_default() };
        let request = RemotingCommand::request(RequestCode::NotifyBrokerRoleChanged, &header).with_body(body.encode());
        Some(RoleChange { targets, request })
    }

    async fn register_broker(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: RegisterBrokerToControllerRequestHeader = request.header()?;
        self.decide_and_commit(|state, live| state.decide_register_broker(&header, live)).await
    }

    async fn replica_info(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: GetReplicaInfoRequestHeader = request.header()?;
        self.ensure_leading().await?;
        Ok(lock(&self.state).replica_info(&header.broker_name))
    }

    /// The group's leader as this controller knows it (itself when alone;
    /// none while a group elects: the broker then asks another controller).
    fn metadata(&self) -> RemotingCommand {
        let (is_leader, leader, peers) = match self.raft() {
            None => (true, Some(self.me.clone()), vec![self.me.clone()]),
            Some(node) => {
                let role = node.role();
                (role.is_leader, role.leader, node.peers.clone())
            }
        };
        let header = GetMetaDataResponseHeader {
            group: Some(self.config().controller_d_leger_group),
            controller_leader_id: leader.as_ref().map(|p| p.id.clone()),
            controller_leader_address: leader.map(|p| p.addr),
            is_leader: Some(is_leader),
            peers: Some(peers.iter().map(|p| format!("{}:{};", p.id, p.addr)).collect()),
        };
        RemotingCommand::success().with_header(&header)
    }

    async fn sync_state_data(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let body = request.body.to_bytes();
        let names = if body.is_empty() { Vec::new() } else { decode_broker_names(&body).unwrap_or_default() };
        if names.is_empty() {
            // Java answers `createResponseCommand(null)`, a SYSTEM_ERROR.
            return Ok(RemotingCommand::response(ResponseCode::SystemError, Some("not set any response code".into())));
        }
        self.ensure_leading().await?;
        let state = lock(&self.state);
        let live = lock(&self.live);
        let info = state.sync_state_data(&names, &LiveView { table: &live, now: Self::now() });
        Ok(RemotingCommand::success().with_body(info.encode()))
    }

    /// BROKER_HEARTBEAT: recorded (Java's brokers send it oneway; rmq's to
    /// every controller). With the rmq lease field the broker runs with
    /// `enableMasterLease` and is marked so; as a request it is a master's
    /// lease renewal, answered SUCCESS only by the leader once a quorum
    /// confirmed it leads, and only to the group's master in its current epoch.
    async fn heartbeat(&self, conn: Option<ConnectionId>, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: BrokerHeartbeatRequestHeader = request.header()?;
        // The field on a oneway heartbeat: the broker runs with leases; on a
        // request: it renews its lease.
        let leased = request.ext(rmq_protocol::header::MASTER_LEASE_EXT) == Some("true");
        let renewal = leased && !request.is_oneway();
        // A renewal is taken in turn with decisions: an election decided
        // before it is seen by it (and refuses it); one decided after it sees
        // the master alive.
        let _turn = if renewal { Some(self.propose.lock().await) } else { None };
        if renewal {
            self.ensure_leading().await?;
            self.leading_since();
        }
        let Some(broker_id) = header.broker_id else {
            return Ok(RemotingCommand::response(
                ResponseCode::ControllerInvalidRequest,
                Some("Heart beat with empty brokerId".into()),
            ));
        };
        let who = BrokerIdentity { cluster_name: header.cluster_name, broker_name: header.broker_name, broker_id };
        let beat = Heartbeat {
            broker_addr: header.broker_addr,
            timeout: header.heartbeat_timeout_mills.and_then(|ms| u64::try_from(ms).ok()).map(Duration::from_millis),
            epoch: header.epoch,
            max_offset: header.max_offset,
            confirm_offset: header.confirm_offset,
            election_priority: header.election_priority,
            leased,
        };
        let mut answer = RemotingCommand::response(ResponseCode::Success, Some("Heart beat success".into()));
        if renewal {
            let epoch = header.epoch.unwrap_or(-1);
            let serving = lock(&self.state).master_with_epoch(&who.broker_name);
            if serving != Some((broker_id, epoch)) {
                let remark = format!(
                    "no lease: broker {broker_id} is not the master of {} in epoch {epoch} (the master is {serving:?})",
                    who.broker_name
                );
                answer = RemotingCommand::response(ResponseCode::ControllerFencedMasterEpoch, Some(remark));
            }
        }
        lock(&self.live).on_heartbeat(who, beat, conn, Self::now());
        Ok(answer)
    }

    fn config_text(&self) -> RemotingCommand {
        RemotingCommand::success().with_body(self.config().to_properties_text())
    }

    fn update_config(&self, request: &RemotingCommand) -> RemotingCommand {
        let body = request.body.to_bytes();
        let text = String::from_utf8_lossy(&body);
        let pairs: Vec<(String, String)> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
            .collect();
        let mut config = self.config();
        let black_list: Vec<String> = config.black_list().into_iter().map(str::to_owned).collect();
        if pairs.iter().any(|(k, _)| black_list.contains(k)) {
            return RemotingCommand::response(
                ResponseCode::NoPermission,
                Some("Can not update config in black list.".into()),
            );
        }
        for (key, value) in &pairs {
            if let Err(bad) = config.apply(key, value) {
                return RemotingCommand::response(ResponseCode::SystemError, Some(bad.to_string()));
            }
        }
        tracing::info!("controller config updated: {pairs:?}");
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
        RemotingCommand::success()
    }

    async fn clean_broker_data(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: CleanControllerBrokerDataRequestHeader = request.header()?;
        self.decide_and_commit(|state, live| state.decide_clean_broker_data(&header, live)).await
    }

    async fn next_broker_id(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: GetNextBrokerIdRequestHeader = request.header()?;
        self.ensure_leading().await?;
        Ok(lock(&self.state).next_broker_id(header.cluster_name, &header.broker_name))
    }

    async fn apply_broker_id(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: ApplyBrokerIdRequestHeader = request.header()?;
        self.decide_and_commit(|state, _| state.decide_apply_broker_id(&header)).await
    }

    /// Forgets brokers silent past their timeout; elects where a master was
    /// among them (Java's `scanNotActiveBroker` and `onBrokerInactive`).
    pub async fn scan_not_active_brokers(&self) -> Vec<RoleChange> {
        // Notes a new term early, so its hold-back starts near the election.
        self.leading_since();
        let expired = lock(&self.live).expire(Self::now());
        let mut notices = Vec::new();
        for (who, info) in expired {
            tracing::warn!(
                "The broker channel expired, brokerInfo {}/{}/{} at {}, expired {}ms",
                who.cluster_name,
                who.broker_name,
                who.broker_id,
                info.broker_addr,
                info.timeout.as_millis()
            );
            notices.extend(self.on_broker_inactive(&who).await);
        }
        notices
    }

    /// A connection closed: the brokers that heart-beat over it are inactive.
    pub async fn connection_closed(&self, id: ConnectionId) -> Vec<RoleChange> {
        let gone = lock(&self.live).remove_connection(id);
        let mut notices = Vec::new();
        for who in &gone {
            notices.extend(self.on_broker_inactive(who).await);
        }
        notices
    }

    async fn on_broker_inactive(&self, who: &BrokerIdentity) -> Vec<RoleChange> {
        let master = lock(&self.state).master_of(&who.broker_name);
        if master != Some(who.broker_id) {
            tracing::info!(
                "The broker with brokerId: {} in broker-set: {} has been inactive",
                who.broker_id,
                who.broker_name
            );
            return Vec::new();
        }
        if !self.is_leader() {
            return Vec::new();
        }
        tracing::warn!("the master {} of broker-set {} is inactive: electing", who.broker_id, who.broker_name);
        self.elect_on_master_loss(&who.broker_name).await
    }

    /// Elects in every group whose master is not alive while a member is
    /// (Java's `scanInactiveMasterAndTriggerReelect`).
    pub async fn scan_inactive_masters(&self) -> Vec<RoleChange> {
        if !self.is_leader() {
            return Vec::new();
        }
        let groups = {
            let state = lock(&self.state);
            let live = lock(&self.live);
            state.groups_needing_election(&LiveView { table: &live, now: Self::now() })
        };
        let mut notices = Vec::new();
        for group in &groups {
            notices.extend(self.elect_on_master_loss(group).await);
        }
        notices
    }
}

/// The remoting service: requests, plus heartbeats tied to connections.
#[derive(Debug)]
pub struct ControllerService {
    pub controller: Arc<Controller>,
    pub notifier: crate::notify::Notifier,
}

impl Service for ControllerService {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        if let Some(node) = self.controller.raft()
            && crate::raft::network::is_raft_rpc(request.request_code())
        {
            return Some(crate::raft::network::serve(&node.raft, &node.group, &request).await);
        }
        let mut notices = Vec::new();
        let response = self.controller.process(Some(conn.id()), &request, &mut notices).await;
        self.notifier.send(notices);
        Some(response)
    }

    /// The brokers that heart-beat over `conn` are inactive; an election it
    /// causes runs in the background (it may wait for a Raft commit).
    fn on_disconnected(&self, conn: &Connection) {
        let controller = Arc::clone(&self.controller);
        let notifier = self.notifier.clone();
        let id = conn.id();
        tokio::spawn(async move { notifier.send(controller.connection_closed(id).await) });
    }
}

#[cfg(test)]
mod tests;
