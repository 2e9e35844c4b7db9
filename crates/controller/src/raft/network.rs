//! Raft RPCs over rmq's own remoting port: vote, append-entries and
//! install-snapshot travel as the rmq-only request codes
//! `RMQ_CONTROLLER_RAFT_*` (1101-1103) with the openraft request as a JSON
//! body, and come back as SUCCESS with the JSON of what the receiving
//! `Raft` returned (`Result<response, RaftError>`). The ext field `group`
//! carries `controllerDLegerGroup`, so that a controller of another group
//! on a reused address is refused rather than joined.

use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{Client, RemotingError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{NodeId, Raft, TypeConfig};
use crate::config::Peer;

/// The ext field naming the controller group of a Raft RPC.
const GROUP_EXT: &str = "group";

/// Opens a [`PeerLink`] per peer over one shared remoting client.
#[derive(Clone)]
pub(crate) struct Network {
    pub(crate) client: Client,
    pub(crate) group: String,
}

/// The link to one peer; connects lazily, at the first RPC.
pub(crate) struct PeerLink {
    client: Client,
    group: String,
    target: NodeId,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerLink;

    async fn new_client(&mut self, target: NodeId, node: &Peer) -> PeerLink {
        PeerLink { client: self.client.clone(), group: self.group.clone(), target, addr: node.addr.clone() }
    }
}

impl PeerLink {
    async fn call<Req, Resp, E>(
        &self,
        code: RequestCode,
        rpc: &Req,
        ttl: Duration,
    ) -> Result<Resp, RPCError<NodeId, Peer, E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let network = |e: &dyn std::error::Error| RPCError::Network(NetworkError::new(&AnyErr(e.to_string())));
        let body = serde_json::to_vec(rpc).map_err(|e| network(&e))?;
        let request = RemotingCommand::bare_request(code).with_ext(GROUP_EXT, self.group.clone()).with_body(body);
        let response = match self.client.invoke(&self.addr, request, ttl).await {
            Ok(response) => response,
            Err(e @ RemotingError::Connect { .. }) => return Err(RPCError::Unreachable(Unreachable::new(&e))),
            Err(e) => return Err(network(&e)),
        };
        if response.response_code() != ResponseCode::Success {
            let remark = response.remark.unwrap_or_default();
            return Err(network(&AnyErr(format!("{code} refused by {}: {remark}", self.addr))));
        }
        let answer: Result<Resp, E> = serde_json::from_slice(&response.body.to_bytes()).map_err(|e| network(&e))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

/// A plain error carrying a message, for `NetworkError::new`.
#[derive(Debug)]
struct AnyErr(String);

impl std::fmt::Display for AnyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AnyErr {}

impl RaftNetwork<TypeConfig> for PeerLink {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        self.call(RequestCode::RmqControllerRaftAppend, &rpc, option.hard_ttl()).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId, InstallSnapshotError>>> {
        self.call(RequestCode::RmqControllerRaftSnapshot, &rpc, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Peer, RaftError<NodeId>>> {
        self.call(RequestCode::RmqControllerRaftVote, &rpc, option.hard_ttl()).await
    }
}

/// Whether `code` is one of the Raft RPCs [`serve`] answers.
pub fn is_raft_rpc(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::RmqControllerRaftVote
            | RequestCode::RmqControllerRaftAppend
            | RequestCode::RmqControllerRaftSnapshot
    )
}

/// Answers one Raft RPC received on the controller port.
pub async fn serve(raft: &Raft, group: &str, request: &RemotingCommand) -> RemotingCommand {
    if request.ext(GROUP_EXT) != Some(group) {
        let remark =
            format!("a Raft RPC for group {:?}; this controller is in group {group:?}", request.ext(GROUP_EXT));
        return RemotingCommand::response(ResponseCode::ControllerInvalidRequest, Some(remark));
    }
    let body = request.body.to_bytes();
    let answer = match request.request_code() {
        RequestCode::RmqControllerRaftVote => match serde_json::from_slice(&body) {
            Ok(rpc) => serde_json::to_vec(&raft.vote(rpc).await),
            Err(e) => Err(e),
        },
        RequestCode::RmqControllerRaftAppend => match serde_json::from_slice(&body) {
            Ok(rpc) => serde_json::to_vec(&raft.append_entries(rpc).await),
            Err(e) => Err(e),
        },
        RequestCode::RmqControllerRaftSnapshot => match serde_json::from_slice(&body) {
            Ok(rpc) => serde_json::to_vec(&raft.install_snapshot(rpc).await),
            Err(e) => Err(e),
        },
        other => return RemotingCommand::response(ResponseCode::RequestCodeNotSupported, Some(format!("{other}"))),
    };
    match answer {
        Ok(bytes) => RemotingCommand::success().with_body(bytes),
        Err(e) => {
            RemotingCommand::response(ResponseCode::ControllerInvalidRequest, Some(format!("bad Raft RPC body: {e}")))
        }
    }
}
