//! [`NameServer`]: the state every request works on, the dispatch of request
//! codes to handlers, and the transport's [`Service`] hooks that tie brokers
//! to the connections they registered over.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Connection, ConnectionId, Service, not_supported};

use rmq_model::allow_list::AllowList;

use crate::config::NamesrvConfig;
use crate::error::NamesrvError;
use crate::handlers;
use crate::kv::KvStore;
use crate::route::RouteTable;

/// Who sent a request: for logs and for tying registrations to connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub id: ConnectionId,
    pub addr: SocketAddr,
}

/// The NameServer's state. Each table sits behind its own lock, held only for
/// the few map operations of one request (never across an `.await`), so
/// requests on all connections proceed in parallel.
#[derive(Debug)]
pub struct NameServer {
    config: RwLock<NamesrvConfig>,
    /// `writeAllowedAddresses`, parsed; `None`: everyone may write.
    write_allowed: RwLock<Option<AllowList>>,
    routes: Mutex<RouteTable>,
    kv: Mutex<KvStore>,
    /// Connections brokers registered over, so that expiry can close them.
    broker_connections: Mutex<HashMap<ConnectionId, Connection>>,
}

/// Locks ignoring poisoning: a panic in one handler must not take the whole
/// NameServer down, and every table operation leaves the maps consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NameServer {
    pub fn new(config: NamesrvConfig, kv: KvStore) -> NameServer {
        if config.cluster_test {
            tracing::warn!("clusterTest=true: Java's cluster-test mode is not implemented, routes are served as usual");
        }
        // Checked at bind and at every update: an unparsable list never gets here.
        let write_allowed = config.write_allow_list().unwrap_or_default();
        NameServer {
            write_allowed: RwLock::new(write_allowed),
            routes: Mutex::new(RouteTable::new(config.broker_timeout())),
            config: RwLock::new(config),
            kv: Mutex::new(kv),
            broker_connections: Mutex::new(HashMap::new()),
        }
    }

    /// The current time on tokio's clock, so that paused-time tests drive expiry.
    pub fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    pub(crate) fn routes(&self) -> MutexGuard<'_, RouteTable> {
        lock(&self.routes)
    }

    pub(crate) fn kv(&self) -> MutexGuard<'_, KvStore> {
        lock(&self.kv)
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> NamesrvConfig {
        self.config.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn replace_config(&self, config: NamesrvConfig) {
        *self.write_allowed.write().unwrap_or_else(PoisonError::into_inner) =
            config.write_allow_list().unwrap_or_default();
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// Whether `peer` may send a request that changes state: always from this
    /// host's 127.0.0.1 or ::1 (or in-process, with no peer), else as
    /// `writeAllowedAddresses` says.
    fn may_write(&self, peer: Option<Peer>) -> bool {
        let Some(peer) = peer else { return true };
        let ip = peer.addr.ip().to_canonical();
        ip == IpAddr::from(Ipv4Addr::LOCALHOST)
            || ip == IpAddr::from(Ipv6Addr::LOCALHOST)
            || self.write_allowed.read().unwrap_or_else(PoisonError::into_inner).as_ref().is_none_or(|l| l.contains(ip))
    }

    /// Handles one request and returns its response (oneway requests get one
    /// too; the transport drops it). Failures become Java's response codes
    /// and remarks, with a log line; unknown codes answer
    /// REQUEST_CODE_NOT_SUPPORTED.
    pub fn process(&self, peer: Option<Peer>, request: &RemotingCommand) -> RemotingCommand {
        let code = request.request_code();
        let conn = peer.map(|p| p.id);
        if changes_state(code) && !self.may_write(peer) {
            let refused = NamesrvError::WriteNotAllowed { code: code.to_string(), peer: describe(peer) };
            tracing::warn!("{refused}");
            return refused.to_response();
        }
        let result = match code {
            RequestCode::PutKvConfig => handlers::kv::put(self, request),
            RequestCode::GetKvConfig => handlers::kv::get(self, request),
            RequestCode::DeleteKvConfig => handlers::kv::delete(self, request),
            RequestCode::GetKvlistByNamespace => handlers::kv::list(self, request),
            RequestCode::RegisterBroker => handlers::broker::register(self, conn, request),
            RequestCode::UnregisterBroker => handlers::broker::unregister(self, request),
            RequestCode::QueryDataVersion => handlers::broker::query_data_version(self, request),
            RequestCode::BrokerHeartbeat => handlers::broker::heartbeat(self, request),
            RequestCode::GetRouteinfoByTopic => handlers::route::route_of_topic(self, request),
            RequestCode::GetBrokerClusterInfo => handlers::route::cluster_info(self),
            RequestCode::WipeWritePermOfBroker => handlers::route::wipe_write_perm(self, request),
            RequestCode::AddWritePermOfBroker => handlers::route::add_write_perm(self, request),
            RequestCode::GetAllTopicListFromNameserver => handlers::route::all_topics(self),
            RequestCode::GetTopicsByCluster => handlers::route::topics_of_cluster(self, request),
            RequestCode::GetSystemTopicListFromNs => handlers::route::system_topics(self),
            RequestCode::GetUnitTopicList
            | RequestCode::GetHasUnitSubTopicList
            | RequestCode::GetHasUnitSubUnunitTopicList => handlers::route::unit_topics(self, code),
            RequestCode::DeleteTopicInNamesrv => handlers::route::delete_topic(self, request),
            RequestCode::RegisterTopicInNamesrv => handlers::route::register_topic(self, request),
            RequestCode::GetNamesrvConfig => handlers::config::get(self),
            RequestCode::UpdateNamesrvConfig => handlers::config::update(self, request),
            _ => {
                tracing::warn!("{} from {}: request type {} not supported", code, describe(peer), request.code);
                return not_supported(request);
            }
        };
        result.unwrap_or_else(|e| {
            tracing::warn!("{} from {} failed: {}", code, describe(peer), e);
            e.to_response()
        })
    }

    /// Removes every broker that silently went away (expiry scan, Java's
    /// `RouteInfoManager.scanNotActiveBroker`) and
    /// closes the connections no live broker uses any more.
    pub fn scan_not_active_brokers(&self) {
        let now = NameServer::now();
        let mut routes = self.routes();
        let expired = routes.expire(now);
        if expired.is_empty() {
            return;
        }
        let idle: Vec<ConnectionId> =
            expired.iter().filter_map(|e| e.connection).filter(|c| !routes.connection_in_use(*c)).collect();
        drop(routes);
        for gone in &expired {
            tracing::warn!("The broker channel expired, {} {}ms", gone.broker_addr, gone.silent_for.as_millis());
        }
        let mut connections = lock(&self.broker_connections);
        for id in idle {
            if let Some(conn) = connections.remove(&id) {
                conn.close();
            }
        }
    }

    /// A connection closed: the brokers that registered over it leave.
    pub fn connection_closed(&self, id: ConnectionId) {
        let gone = self.routes().remove_connection(id);
        lock(&self.broker_connections).remove(&id);
        for addr in gone {
            tracing::info!("the broker's channel destroyed, {addr}, clean it's data structure at once");
        }
    }
}

/// The requests `writeAllowedAddresses` guards.
fn changes_state(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::PutKvConfig
            | RequestCode::DeleteKvConfig
            | RequestCode::RegisterBroker
            | RequestCode::UnregisterBroker
            | RequestCode::BrokerHeartbeat
            | RequestCode::WipeWritePermOfBroker
            | RequestCode::AddWritePermOfBroker
            | RequestCode::DeleteTopicInNamesrv
            | RequestCode::RegisterTopicInNamesrv
            | RequestCode::UpdateNamesrvConfig
    )
}

fn describe(peer: Option<Peer>) -> String {
    peer.map_or_else(|| "local".to_owned(), |p| p.addr.to_string())
}

impl Service for NameServer {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        if request.request_code() == RequestCode::RegisterBroker {
            lock(&self.broker_connections).entry(conn.id()).or_insert_with(|| conn.clone());
        }
        Some(self.process(Some(Peer { id: conn.id(), addr: conn.remote_addr() }), &request))
    }

    fn on_disconnected(&self, conn: &Connection) {
        self.connection_closed(conn.id());
    }
}
