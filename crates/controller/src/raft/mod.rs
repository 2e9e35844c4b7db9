//! Consensus among controllers (openraft): the events of one decision are
//! one Raft entry, proposed by the leader and applied to the
//! [`ReplicaState`] on every controller once committed.
//!
//! Members are the entries of `controllerDLegerPeers`; each gets a numeric
//! Raft id, its position in the list sorted by DLedger id, so the order of
//! the list in each file does not matter. The membership is formed at the
//! first start (every member initializes with the same list; the ones that
//! already heard from another are told it is formed) and is fixed: changing
//! `controllerDLegerPeers` later is not supported.

mod log_store;
pub mod network;
mod state_machine;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{ClientWriteError, InitializeError, RaftError};
use openraft::{ServerState, SnapshotPolicy};
use rmq_remoting::{Client, ClientConfig, RejectAll};

use crate::config::{ControllerConfig, Peer};
use crate::error::{ControllerError, Result};
use crate::event::Event;
use crate::state::ReplicaState;

pub use log_store::LogStore;
pub use state_machine::StateMachine;

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// One entry is the events of one decision, applied together.
    pub TypeConfig:
        D = Vec<Event>,
        R = (),
        NodeId = NodeId,
        Node = Peer,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type Entry = openraft::Entry<TypeConfig>;

/// Leader heartbeats; a follower calls an election after 1-2 s without one.
const HEARTBEAT_MS: u64 = 300;
const ELECTION_TIMEOUT_MIN_MS: u64 = 1_000;
const ELECTION_TIMEOUT_MAX_MS: u64 = 2_000;
/// Snapshot chunks stay far below the 16 MiB frame limit once in JSON
/// (a byte array is up to 4 characters per byte).
const SNAPSHOT_CHUNK_BYTES: u64 = 1 << 20;
/// How long a write may wait for its commit before the request fails.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where this controller stands in the group, read from Raft's metrics.
#[derive(Clone, Debug)]
pub struct Role {
    pub is_leader: bool,
    /// The current leader's peer entry, when one is known.
    pub leader: Option<Peer>,
}

/// A running Raft member and the peer list it was formed with.
#[derive(Clone)]
pub struct RaftNode {
    pub raft: Raft,
    pub group: String,
    pub peers: Vec<Peer>,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode").field("group", &self.group).field("peers", &self.peers).finish()
    }
}

/// The Raft ids of the peers: positions in the list sorted by DLedger id.
pub fn members(peers: &[Peer]) -> BTreeMap<NodeId, Peer> {
    let mut sorted = peers.to_vec();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    (0..).zip(sorted).collect()
}

fn raft_error(e: impl std::fmt::Display) -> ControllerError {
    ControllerError::Raft(e.to_string())
}

impl RaftNode {
    /// Opens the log and snapshot under `dir`, starts the member, and forms
    /// the group from `peers` if this store has never been part of it.
    pub async fn start(
        config: &ControllerConfig,
        me: &Peer,
        dir: &Path,
        state: Arc<Mutex<ReplicaState>>,
    ) -> Result<RaftNode> {
        let peers = config.peers()?;
        let members = members(&peers);
        let id = members.iter().find(|(_, p)| *p == me).map(|(id, _)| *id).ok_or_else(|| {
            ControllerError::Config(format!("controllerDLegerSelfId {} is not in controllerDLegerPeers", me.id))
        })?;
        let persist = |source| ControllerError::Persist { path: dir.to_owned(), source };
        let log = LogStore::open(dir).map_err(persist)?;
        let machine = StateMachine::open(dir, state).map_err(persist)?;
        let raft_config = openraft::Config {
            cluster_name: config.controller_d_leger_group.clone(),
            heartbeat_interval: HEARTBEAT_MS,
            election_timeout_min: ELECTION_TIMEOUT_MIN_MS,
            election_timeout_max: ELECTION_TIMEOUT_MAX_MS,
            snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(5_000),
            ..openraft::Config::default()
        }
        .validate()
        .map_err(raft_error)?;
        let client_config = ClientConfig { connect_timeout: Duration::from_secs(1), ..ClientConfig::default() };
        let network = network::Network {
            client: Client::new(client_config, Arc::new(RejectAll)),
            group: config.controller_d_leger_group.clone(),
        };
        let raft = Raft::new(id, Arc::new(raft_config), network, log, machine).await.map_err(raft_error)?;
        if !raft.is_initialized().await.map_err(raft_error)? {
            match raft.initialize(members.clone()).await {
                Ok(()) => tracing::info!("controller group formed with {} members", members.len()),
                Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(raft_error(e)),
            }
        } else {
            let stored = raft
                .metrics()
                .borrow()
                .membership_config
                .membership()
                .nodes()
                .map(|(i, p)| (*i, p.clone()))
                .collect::<BTreeMap<_, _>>();
            if stored != members {
                tracing::warn!(
                    "controllerDLegerPeers differs from the membership stored in {}: keeping the stored one \
                     (membership changes are not supported)",
                    dir.display()
                );
            }
        }
        Ok(RaftNode { raft, group: config.controller_d_leger_group.clone(), peers })
    }

    pub fn role(&self) -> Role {
        let metrics = self.raft.metrics().borrow().clone();
        let leader =
            metrics.current_leader.and_then(|id| metrics.membership_config.membership().get_node(&id).cloned());
        Role { is_leader: metrics.state == ServerState::Leader, leader }
    }

    /// The term this member leads, if it leads.
    pub fn leading_term(&self) -> Option<u64> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        (m.state == ServerState::Leader).then_some(m.current_term)
    }

    /// Refuses unless this member leads: CONTROLLER_NOT_LEADER naming the leader.
    pub fn ensure_leader(&self) -> Result<()> {
        let role = self.role();
        if role.is_leader { Ok(()) } else { Err(ControllerError::NotLeader { leader: role.leader }) }
    }

    /// Confirms leadership with a quorum and waits until everything
    /// committed before is applied, so a new leader never decides against
    /// a state that lags.
    pub async fn ensure_up_to_date(&self) -> Result<()> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.raft.ensure_linearizable()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => match e.forward_to_leader() {
                Some(f) => Err(ControllerError::NotLeader { leader: f.leader_node.clone() }),
                None => Err(raft_error(e)),
            },
            Err(_) => Err(ControllerError::Raft("leadership not confirmed by a quorum in time".into())),
        }
    }

    /// Proposes `events` as one entry and returns once it is committed and applied here.
    pub async fn write(&self, events: Vec<Event>) -> Result<()> {
        match tokio::time::timeout(WRITE_TIMEOUT, self.raft.client_write(events)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Err(ControllerError::NotLeader { leader: f.leader_node })
            }
            Ok(Err(e)) => Err(raft_error(e)),
            Err(_) => Err(ControllerError::Raft("the entry was not committed in time".into())),
        }
    }

    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!("raft shutdown: {e}");
        }
    }
}

#[cfg(test)]
mod tests;
