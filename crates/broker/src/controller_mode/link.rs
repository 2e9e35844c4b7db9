//! The requests a broker in controller mode sends (Java's `BrokerOuterAPI`
//! controller calls): find the leader, get and apply a broker id, register,
//! ask for an election, heartbeat, read the group's replica info, alter the
//! in-sync set, and read another broker's epochs.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmq_protocol::body::controller::{BrokerReplicasInfo, ElectMasterResponseBody, EpochEntryCache, SyncStateSet};
use rmq_protocol::header::{
    AlterSyncStateSetRequestHeader, ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader, ElectMasterRequestHeader,
    ElectMasterResponseHeader, GetMetaDataResponseHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
    GetReplicaInfoRequestHeader, GetReplicaInfoResponseHeader, RegisterBrokerToControllerRequestHeader,
    RegisterBrokerToControllerResponseHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{Client, ClientConfig, ClientTls, RejectAll};

use crate::now_ms;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Why a controller call failed: one log line each.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    #[error("no controller of {0:?} answers")]
    NoController(Vec<String>),
    #[error("{addr}: {source}")]
    Transport { addr: String, source: rmq_remoting::RemotingError },
    #[error("{addr} answered {code:?}: {remark}")]
    Refused { addr: String, code: ResponseCode, remark: String },
    #[error("{addr} answered something unreadable: {reason}")]
    Garbled { addr: String, reason: String },
}

/// Who the controller says is master of this group, and the in-sync set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MasterInfo {
    pub master_id: Option<i64>,
    pub master_addr: Option<String>,
    pub master_epoch: i32,
    pub sync_state_set: BTreeSet<i64>,
    pub sync_state_set_epoch: i32,
}

impl MasterInfo {
    /// From a controller answer's header fields and its in-sync set.
    fn named(
        master_id: Option<i64>,
        master_addr: Option<String>,
        master_epoch: Option<i32>,
        set: SyncStateSet,
    ) -> Self {
        MasterInfo {
            master_id,
            master_addr,
            master_epoch: master_epoch.unwrap_or(0),
            sync_state_set: set.sync_state_set,
            sync_state_set_epoch: set.sync_state_set_epoch,
        }
    }

    /// A master is named (an empty address counts as none, as in Java).
    pub fn has_master(&self) -> bool {
        self.master_id.is_some() && self.master_addr.as_deref().is_some_and(|a| !a.is_empty())
    }
}

/// Identity of this broker towards the controllers.
#[derive(Clone, Debug)]
pub(crate) struct Me {
    pub cluster: String,
    pub broker_name: String,
    /// `brokerIP1:listenPort`, the address the controller notifies.
    pub addr: String,
}

#[derive(Debug)]
pub(crate) struct ControllerLink {
    client: Client,
    controllers: Vec<String>,
    /// The controller that answered last as leader.
    leader: Mutex<Option<String>>,
    pub me: Me,
}

impl ControllerLink {
    pub fn new(controllers: Vec<String>, me: Me, tls: Option<ClientTls>) -> ControllerLink {
        let config =
            ClientConfig { connect_timeout: Duration::from_secs(3), max_frame: rmq_protocol::DEFAULT_MAX_FRAME, tls };
        ControllerLink { client: Client::new(config, Arc::new(RejectAll)), controllers, leader: Mutex::new(None), me }
    }

    /// The leader's address: asked of each controller in turn
    /// (CONTROLLER_GET_METADATA_INFO), remembered until a call to it fails.
    async fn leader(&self) -> Result<String, LinkError> {
        if let Some(leader) = self.leader.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(leader);
        }
        for addr in &self.controllers {
            let request = RemotingCommand::bare_request(RequestCode::ControllerGetMetadataInfo);
            let Ok(response) = self.client.invoke(addr, request, TIMEOUT).await else { continue };
            let Ok(header) = response.header::<GetMetaDataResponseHeader>() else { continue };
            if let Some(leader) = header.controller_leader_address.filter(|a| !a.is_empty()) {
                *self.leader.lock().unwrap_or_else(|p| p.into_inner()) = Some(leader.clone());
                return Ok(leader);
            }
        }
        Err(LinkError::NoController(self.controllers.clone()))
    }

    /// Sends `request` to the leader and checks for SUCCESS.
    async fn call(&self, request: RemotingCommand) -> Result<RemotingCommand, LinkError> {
        self.call_accepting(request, ResponseCode::Success).await
    }

    /// As [`Self::call`], also taking `also` as an answer.
    async fn call_accepting(&self, request: RemotingCommand, also: ResponseCode) -> Result<RemotingCommand, LinkError> {
        let addr = self.leader().await?;
        let response = match self.client.invoke(&addr, request, TIMEOUT).await {
            Ok(response) => response,
            Err(source) => {
                self.forget_leader();
                return Err(LinkError::Transport { addr, source });
            }
        };
        let code = response.response_code();
        if code == ResponseCode::Success || code == also {
            return Ok(response);
        }
        if code == ResponseCode::ControllerNotLeader {
            self.forget_leader();
        }
        Err(LinkError::Refused { addr, code, remark: response.remark.clone().unwrap_or_default() })
    }

    fn forget_leader(&self) {
        *self.leader.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub async fn next_broker_id(&self) -> Result<i64, LinkError> {
        let header = GetNextBrokerIdRequestHeader {
            cluster_name: Some(self.me.cluster.clone()),
            broker_name: self.me.broker_name.clone(),
        };
        let response = self.call(RemotingCommand::request(RequestCode::ControllerGetNextBrokerId, &header)).await?;
        let header: GetNextBrokerIdResponseHeader = read_header(&response)?;
        header.next_broker_id.ok_or_else(|| garbled(&response, "no nextBrokerId"))
    }

    pub async fn apply_broker_id(&self, id: i64, check_code: &str) -> Result<(), LinkError> {
        let header = ApplyBrokerIdRequestHeader {
            cluster_name: Some(self.me.cluster.clone()),
            broker_name: self.me.broker_name.clone(),
            applied_broker_id: id,
            register_check_code: check_code.to_owned(),
        };
        self.call(RemotingCommand::request(RequestCode::ControllerApplyBrokerId, &header)).await.map(drop)
    }

    /// CONTROLLER_REGISTER_BROKER: the group's master, if it has one.
    pub async fn register(&self, id: i64) -> Result<MasterInfo, LinkError> {
        let header = RegisterBrokerToControllerRequestHeader {
            cluster_name: Some(self.me.cluster.clone()),
            broker_name: self.me.broker_name.clone(),
            broker_id: Some(id),
            broker_address: self.me.addr.clone(),
            invoke_time: Some(now_ms() as i64),
        };
        let response = self.call(RemotingCommand::request(RequestCode::ControllerRegisterBroker, &header)).await?;
        let h: RegisterBrokerToControllerResponseHeader = read_header(&response)?;
        let mut set = sync_state_set(&response)?;
        set.sync_state_set_epoch = h.sync_state_set_epoch.unwrap_or(set.sync_state_set_epoch);
        Ok(MasterInfo::named(h.master_broker_id, h.master_address, h.master_epoch, set))
    }

    /// CONTROLLER_ELECT_MASTER with this broker's id: the controller elects
    /// (this broker, if it qualifies and nobody else is master).
    pub async fn elect(&self, id: i64) -> Result<MasterInfo, LinkError> {
        let header = ElectMasterRequestHeader {
            cluster_name: Some(self.me.cluster.clone()),
            broker_name: self.me.broker_name.clone(),
            broker_id: Some(id),
            designate_elect: Some(false),
            invoke_time: Some(now_ms() as i64),
        };
        // "The old master is still alive" comes with that master's details.
        let request = RemotingCommand::request(RequestCode::ControllerElectMaster, &header);
        let response = self.call_accepting(request, ResponseCode::ControllerMasterStillExist).await?;
        let h: ElectMasterResponseHeader = read_header(&response)?;
        let body = if response.body.is_empty() {
            ElectMasterResponseBody::default()
        } else {
            ElectMasterResponseBody::decode(&response.body.to_bytes())
                .map_err(|e| garbled(&response, &e.to_string()))?
        };
        let set = SyncStateSet {
            sync_state_set: body.sync_state_set,
            sync_state_set_epoch: h.sync_state_set_epoch.unwrap_or(0),
        };
        Ok(MasterInfo::named(h.master_broker_id, h.master_address, h.master_epoch, set))
    }

    /// CONTROLLER_GET_REPLICA_INFO for this group.
    pub async fn replica_info(&self) -> Result<MasterInfo, LinkError> {
        let header = GetReplicaInfoRequestHeader { broker_name: self.me.broker_name.clone() };
        let response = self.call(RemotingCommand::request(RequestCode::ControllerGetReplicaInfo, &header)).await?;
        let h: GetReplicaInfoResponseHeader = read_header(&response)?;
        Ok(MasterInfo::named(h.master_broker_id, h.master_address, h.master_epoch, sync_state_set(&response)?))
    }

    /// CONTROLLER_ALTER_SYNC_STATE_SET, as master of `master_epoch`: the
    /// set the controller now holds.
    pub async fn alter_sync_state_set(
        &self,
        id: i64,
        master_epoch: i32,
        proposed: SyncStateSet,
    ) -> Result<SyncStateSet, LinkError> {
        let header = AlterSyncStateSetRequestHeader {
            broker_name: self.me.broker_name.clone(),
            master_broker_id: Some(id),
            master_epoch: Some(master_epoch),
            invoke_time: Some(now_ms() as i64),
        };
        let request =
            RemotingCommand::request(RequestCode::ControllerAlterSyncStateSet, &header).with_body(proposed.encode());
        let response = self.call(request).await?;
        let epoch = response
            .header::<rmq_protocol::header::AlterSyncStateSetResponseHeader>()
            .ok()
            .and_then(|h| h.new_sync_state_set_epoch)
            .unwrap_or(proposed.sync_state_set_epoch + 1);
        Ok(SyncStateSet { sync_state_set: proposed.sync_state_set, sync_state_set_epoch: epoch })
    }

    /// The group's brokers as the controller knows them: `(id, address)`.
    pub async fn group_replicas(&self) -> Result<Vec<(i64, String)>, LinkError> {
        let names = rmq_protocol::body::controller::encode_broker_names(std::slice::from_ref(&self.me.broker_name));
        let request = RemotingCommand::bare_request(RequestCode::ControllerGetSyncStateData).with_body(names);
        let response = self.call(request).await?;
        let info =
            BrokerReplicasInfo::decode(&response.body.to_bytes()).map_err(|e| garbled(&response, &e.to_string()))?;
        let Some(group) = info.replicas_info_table.get(&self.me.broker_name) else { return Ok(Vec::new()) };
        Ok(group
            .in_sync_replicas
            .iter()
            .chain(&group.not_in_sync_replicas)
            .filter_map(|r| Some((r.broker_id?, r.broker_address.clone()?)))
            .collect())
    }

    /// BROKER_HEARTBEAT to every controller, oneway (each keeps its own
    /// view of who is alive). `leased`: this broker runs with
    /// `enableMasterLease`, which the heartbeat tells every controller.
    pub async fn heartbeat(&self, beat: BrokerHeartbeatRequestHeader, leased: bool) {
        let mut request = RemotingCommand::request(RequestCode::BrokerHeartbeat, &beat).into_oneway();
        if leased {
            request = request.with_ext(rmq_protocol::header::MASTER_LEASE_EXT, "true");
        }
        for addr in &self.controllers {
            if let Err(e) = self.client.invoke_oneway(addr, request.clone()).await {
                tracing::debug!("heartbeat to controller {addr}: {e}");
            }
        }
    }

    /// BROKER_HEARTBEAT to the leader as a request marked as a lease
    /// renewal: the leader answers SUCCESS only once a quorum has confirmed
    /// its leadership and only to the group's current master, so the answer
    /// renews this master's lease (`enableMasterLease`).
    pub async fn renew_lease(&self, beat: BrokerHeartbeatRequestHeader) -> Result<(), LinkError> {
        let request = RemotingCommand::request(RequestCode::BrokerHeartbeat, &beat)
            .with_ext(rmq_protocol::header::MASTER_LEASE_EXT, "true");
        self.call(request).await.map(drop)
    }

    /// GET_BROKER_EPOCH_CACHE of the broker at `addr` (the master a replica
    /// is about to follow).
    pub async fn epoch_cache(&self, addr: &str) -> Result<EpochEntryCache, LinkError> {
        let request = RemotingCommand::bare_request(RequestCode::GetBrokerEpochCache);
        let response = self
            .client
            .invoke(addr, request, TIMEOUT)
            .await
            .map_err(|source| LinkError::Transport { addr: addr.to_owned(), source })?;
        if response.response_code() != ResponseCode::Success {
            return Err(LinkError::Refused {
                addr: addr.to_owned(),
                code: response.response_code(),
                remark: response.remark.clone().unwrap_or_default(),
            });
        }
        EpochEntryCache::decode(&response.body.to_bytes())
            .map_err(|e| LinkError::Garbled { addr: addr.to_owned(), reason: e.to_string() })
    }

    pub fn close(&self) {
        self.client.close_all();
    }
}

fn read_header<H: rmq_protocol::CommandHeader>(response: &RemotingCommand) -> Result<H, LinkError> {
    response.header::<H>().map_err(|e| garbled(response, &e.to_string()))
}

fn sync_state_set(response: &RemotingCommand) -> Result<SyncStateSet, LinkError> {
    if response.body.is_empty() {
        return Ok(SyncStateSet::default());
    }
    SyncStateSet::decode(&response.body.to_bytes()).map_err(|e| garbled(response, &e.to_string()))
}

fn garbled(_response: &RemotingCommand, reason: &str) -> LinkError {
    LinkError::Garbled { addr: "the controller".to_owned(), reason: reason.to_owned() }
}
