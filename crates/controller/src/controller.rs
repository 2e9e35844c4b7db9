//! [`Controller`]: the replica state, its event log and the broker
//! heartbeats behind locks, the dispatch of request codes (Java's
//! `ControllerRequestProcessor`), and the elections the controller starts
//! itself when a master stops heart-beating.
//!
//! Every change goes the same way: decide against the current state
//! ([`ReplicaState`]'s `decide_*`), make the events durable, apply them,
//! answer. A store that cannot be written refuses the change (SYSTEM_ERROR)
//! and leaves the state untouched.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
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
use crate::state::{Decision, ReplicaState};
use crate::store::EventLog;

/// A NOTIFY_BROKER_ROLE_CHANGED to send after a new master was elected.
#[derive(Debug, Clone)]
pub struct RoleChange {
    pub targets: Vec<String>,
    pub request: RemotingCommand,
}

#[derive(Debug)]
struct Core {
    state: ReplicaState,
    log: EventLog,
}

#[derive(Debug)]
pub struct Controller {
    config: RwLock<ControllerConfig>,
    me: Peer,
    core: Mutex<Core>,
    live: Mutex<LiveTable>,
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
            core: Mutex::new(Core { state, log }),
            live: Mutex::new(LiveTable::default()),
        }
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
        lock(&self.core).state.clone()
    }

    /// Handles one request. `conn` ties heartbeats to the connection they
    /// came over; role-change notices to send are added to `notices`.
    pub fn process(
        &self,
        conn: Option<ConnectionId>,
        request: &RemotingCommand,
        notices: &mut Vec<RoleChange>,
    ) -> RemotingCommand {
        let code = request.request_code();
        let result = match code {
            RequestCode::ControllerAlterSyncStateSet => self.alter_sync_state_set(request),
            RequestCode::ControllerElectMaster => self.elect_master(request, notices),
            RequestCode::ControllerRegisterBroker => self.register_broker(request),
            RequestCode::ControllerGetReplicaInfo => self.replica_info(request),
            RequestCode::ControllerGetMetadataInfo => Ok(self.metadata()),
            RequestCode::ControllerGetSyncStateData => self.sync_state_data(request),
            RequestCode::BrokerHeartbeat => self.heartbeat(conn, request),
            RequestCode::UpdateControllerConfig => Ok(self.update_config(request)),
            RequestCode::GetControllerConfig => Ok(self.config_text()),
            RequestCode::CleanBrokerData => self.clean_broker_data(request),
            RequestCode::ControllerGetNextBrokerId => self.next_broker_id(request),
            RequestCode::ControllerApplyBrokerId => self.apply_broker_id(request),
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

    /// Makes the decision's events durable, applies them, returns the answer.
    fn commit(core: &mut Core, decision: Decision) -> Result<RemotingCommand> {
        core.log.append(&decision.events)?;
        for event in &decision.events {
            core.state.apply(event);
        }
        Ok(decision.response)
    }

    fn alter_sync_state_set(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: AlterSyncStateSetRequestHeader = request.header()?;
        let proposed = SyncStateSet::decode(&request.body.to_bytes())
            .map_err(|e| ControllerError::BadBody(format!("the SyncStateSet body does not parse: {e}")))?;
        let mut core = lock(&self.core);
        let decision = {
            let live = lock(&self.live);
            core.state.decide_alter_sync_state_set(&header, &proposed, &LiveView { table: &live, now: Self::now() })
        };
        Self::commit(&mut core, decision)
    }

    fn elect_master(&self, request: &RemotingCommand, notices: &mut Vec<RoleChange>) -> Result<RemotingCommand> {
        let header: ElectMasterRequestHeader = request.header()?;
        let response = self.elect(&header)?;
        if response.response_code() == ResponseCode::Success {
            notices.extend(self.role_change(&header.broker_name, &response));
        }
        Ok(response)
    }

    fn elect(&self, header: &ElectMasterRequestHeader) -> Result<RemotingCommand> {
        let unclean = self.config().enable_elect_unclean_master;
        let mut core = lock(&self.core);
        let decision = {
            let live = lock(&self.live);
            core.state.decide_elect_master(header, unclean, &LiveView { table: &live, now: Self::now() })
        };
        let response = Self::commit(&mut core, decision)?;
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
    pub fn elect_on_master_loss(&self, broker_name: &str) -> Vec<RoleChange> {
        let header = ElectMasterRequestHeader { broker_name: broker_name.to_owned(), ..Default::default() };
        let tries = self.config().elect_master_max_retry_count.max(1);
        for attempt in 1..=tries {
            match self.elect(&header) {
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
        let members = lock(&self.core).state.members_of(broker_name)?;
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

    fn register_broker(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: RegisterBrokerToControllerRequestHeader = request.header()?;
        let mut core = lock(&self.core);
        let decision = {
            let live = lock(&self.live);
            core.state.decide_register_broker(&header, &LiveView { table: &live, now: Self::now() })
        };
        Self::commit(&mut core, decision)
    }

    fn replica_info(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: GetReplicaInfoRequestHeader = request.header()?;
        Ok(lock(&self.core).state.replica_info(&header.broker_name))
    }

    /// This controller is its group's leader: there is no other member yet.
    fn metadata(&self) -> RemotingCommand {
        let header = GetMetaDataResponseHeader {
            group: Some(self.config().controller_d_leger_group),
            controller_leader_id: Some(self.me.id.clone()),
            controller_leader_address: Some(self.me.addr.clone()),
            is_leader: Some(true),
            peers: Some(format!("{}:{};", self.me.id, self.me.addr)),
        };
        RemotingCommand::success().with_header(&header)
    }

    fn sync_state_data(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let body = request.body.to_bytes();
        let names = if body.is_empty() { Vec::new() } else { decode_broker_names(&body).unwrap_or_default() };
        if names.is_empty() {
            // Java answers `createResponseCommand(null)`, a SYSTEM_ERROR.
            return Ok(RemotingCommand::response(ResponseCode::SystemError, Some("not set any response code".into())));
        }
        let core = lock(&self.core);
        let live = lock(&self.live);
        let info = core.state.sync_state_data(&names, &LiveView { table: &live, now: Self::now() });
        Ok(RemotingCommand::success().with_body(info.encode()))
    }

    fn heartbeat(&self, conn: Option<ConnectionId>, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: BrokerHeartbeatRequestHeader = request.header()?;
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
        };
        lock(&self.live).on_heartbeat(who, beat, conn, Self::now());
        Ok(RemotingCommand::response(ResponseCode::Success, Some("Heart beat success".into())))
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

    fn clean_broker_data(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: CleanControllerBrokerDataRequestHeader = request.header()?;
        let mut core = lock(&self.core);
        let decision = {
            let live = lock(&self.live);
            core.state.decide_clean_broker_data(&header, &LiveView { table: &live, now: Self::now() })
        };
        Self::commit(&mut core, decision)
    }

    fn next_broker_id(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: GetNextBrokerIdRequestHeader = request.header()?;
        Ok(lock(&self.core).state.next_broker_id(header.cluster_name, &header.broker_name))
    }

    fn apply_broker_id(&self, request: &RemotingCommand) -> Result<RemotingCommand> {
        let header: ApplyBrokerIdRequestHeader = request.header()?;
        let mut core = lock(&self.core);
        let decision = core.state.decide_apply_broker_id(&header);
        Self::commit(&mut core, decision)
    }

    /// Forgets brokers silent past their timeout; elects where a master was
    /// among them (Java's `scanNotActiveBroker` and `onBrokerInactive`).
    pub fn scan_not_active_brokers(&self) -> Vec<RoleChange> {
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
            notices.extend(self.on_broker_inactive(&who));
        }
        notices
    }

    /// A connection closed: the brokers that heart-beat over it are inactive.
    pub fn connection_closed(&self, id: ConnectionId) -> Vec<RoleChange> {
        let gone = lock(&self.live).remove_connection(id);
        gone.iter().flat_map(|who| self.on_broker_inactive(who)).collect()
    }

    fn on_broker_inactive(&self, who: &BrokerIdentity) -> Vec<RoleChange> {
        if lock(&self.core).state.master_of(&who.broker_name) != Some(who.broker_id) {
            tracing::info!(
                "The broker with brokerId: {} in broker-set: {} has been inactive",
                who.broker_id,
                who.broker_name
            );
            return Vec::new();
        }
        tracing::warn!("the master {} of broker-set {} is inactive: electing", who.broker_id, who.broker_name);
        self.elect_on_master_loss(&who.broker_name)
    }

    /// Elects in every group whose master is not alive while a member is
    /// (Java's `scanInactiveMasterAndTriggerReelect`).
    pub fn scan_inactive_masters(&self) -> Vec<RoleChange> {
        let groups = {
            let core = lock(&self.core);
            let live = lock(&self.live);
            core.state.groups_needing_election(&LiveView { table: &live, now: Self::now() })
        };
        groups.iter().flat_map(|g| self.elect_on_master_loss(g)).collect()
    }
}

/// The remoting service: requests, plus heartbeats tied to connections.
#[derive(Debug)]
pub struct ControllerService {
    pub controller: std::sync::Arc<Controller>,
    pub notifier: crate::notify::Notifier,
}

impl Service for ControllerService {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        let mut notices = Vec::new();
        let response = self.controller.process(Some(conn.id()), &request, &mut notices);
        self.notifier.send(notices);
        Some(response)
    }

    fn on_disconnected(&self, conn: &Connection) {
        let notices = self.controller.connection_closed(conn.id());
        self.notifier.send(notices);
    }
}

#[cfg(test)]
mod tests;
