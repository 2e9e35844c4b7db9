//! The proxy's remoting port (`remotingListenPort`, Java's 8080) for clients
//! of RocketMQ's remoting protocol: a client takes the proxy for its
//! NameServer (`namesrvAddr=proxy:8080`), and routes name the proxy as every
//! broker, so all its requests come here. Each request names its broker group
//! (`bname`, or `n` in SEND_MESSAGE_V2's short header, as 5.x remoting clients
//! write them) and is forwarded unchanged to that group's master, with the
//! client's own signature, so brokers check ACL as if the client were
//! connected to them. Heartbeats stay here ([`clients`]): the proxy answers
//! consumer lists and fills the subscription of pulls that do not carry
//! one, as Java's proxy does.
//!
//! What Java's proxy refuses, this does too: a request without `bname`
//! (4.x clients do not send it) gets VERSION_NOT_SUPPORTED, except in local
//! mode, where there is one broker to send it to.

mod clients;
mod directory;
mod relay;

pub(crate) use clients::RemotingClients;
pub(crate) use directory::Directory;

use rmq_protocol::body::heartbeat::{ConsumerIdList, HeartbeatData};
use rmq_protocol::body::route::{RouteJson, TopicRouteData};
use rmq_protocol::header::{ConsumerGroupRequestHeader, GetRouteInfoRequestHeader, UnregisterClientRequestHeader};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{CancellationToken, Connection, Server, ServerConfig, Service};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::Proxy;
use crate::server::ProxyError;

/// The remoting port's service: one per proxy.
pub(crate) struct Front {
    proxy: Arc<Proxy>,
    /// The port clients reach it on (what routes name).
    port: u16,
}

/// Binds the remoting port and serves it until `shutdown`; returns the bound
/// address and the serving task.
pub(crate) async fn serve(
    proxy: Arc<Proxy>,
    listen: SocketAddr,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ProxyError> {
    let config = ServerConfig { tls: proxy.config.remoting_server_tls.clone(), ..ServerConfig::new(listen) };
    let server = Server::bind(config).await.map_err(|source| ProxyError::Listen { addr: listen, source })?;
    let addr = server.local_addr();
    let front = Arc::new(Front { proxy, port: addr.port() });
    Ok((addr, tokio::spawn(server.run(front, shutdown))))
}

/// An answer with `code` and `remark`.
pub(super) fn answer(code: ResponseCode, remark: impl Into<String>) -> Option<RemotingCommand> {
    Some(RemotingCommand::response(code, Some(remark.into())))
}

impl Service for Front {
    async fn handle(&self, conn: &Connection, request: RemotingCommand) -> Option<RemotingCommand> {
        use RequestCode::*;
        match request.request_code() {
            GetRouteinfoByTopic => self.route(conn, &request).await,
            HeartBeat => self.heartbeat(conn, &request),
            UnregisterClient => self.unregister(conn, &request),
            CheckClientConfig => Some(RemotingCommand::success()),
            GetConsumerListByGroup => self.consumer_list(&request),
            SendMessage | SendMessageV2 | SendBatchMessage => self.proxy.relay_send(request).await,
            PullMessage | LitePullMessage => self.proxy.relay_pull(request).await,
            PopMessage => self.proxy.relay_pop(request).await,
            LockBatchMq | UnlockBatchMq => self.proxy.relay_lock(request).await,
            RecallMessage => self.proxy.relay_recall(request).await,
            ConsumerSendMsgBack
            | EndTransaction
            | UpdateConsumerOffset
            | AckMessage
            | BatchAckMessage
            | ChangeMessageInvisibletime => self.proxy.relay(request, false, None).await,
            QueryConsumerOffset | SearchOffsetByTimestamp | GetMinOffset | GetMaxOffset | GetEarliestMsgStoretime => {
                self.proxy.relay(request, true, None).await
            }
            other => {
                answer(ResponseCode::RequestCodeNotSupported, format!(" request type {} not supported", other.to_i32()))
            }
        }
    }

    fn on_disconnected(&self, conn: &Connection) {
        self.leave_brokers(conn, None);
        let left = self.proxy.remoting_clients.disconnected(conn);
        self.notify(&left);
    }
}

impl Front {
    /// GET_ROUTEINFO_BY_TOPIC: the NameServers' route with every broker's
    /// address replaced by the proxy's remoting address, in the JSON the
    /// client asked for (as the NameServer picks it).
    async fn route(&self, conn: &Connection, request: &RemotingCommand) -> Option<RemotingCommand> {
        let header: GetRouteInfoRequestHeader = match request.header() {
            Ok(h) => h,
            Err(e) => return answer(ResponseCode::SystemError, e.to_string()),
        };
        let route = match self.proxy.brokers.client.route(&header.topic).await {
            Ok(route) => route,
            Err(rmq_client::ClientError::NoRoute(_)) => {
                return answer(
                    ResponseCode::TopicNotExist,
                    format!("No topic route info in name server for the topic: {}", header.topic),
                );
            }
            Err(e) => return answer(ResponseCode::SystemError, e.to_string()),
        };
        let host = match &self.proxy.config.remoting_access_addr {
            Some(host) => host.clone(),
            None => conn.local_addr().ip().to_string(),
        };
        let me = format!("{host}:{}", self.port);
        let served = |name: &str| self.proxy.brokers.serves(name);
        let mut data = TopicRouteData {
            queue_datas: route.data.queue_datas.iter().filter(|q| served(&q.broker_name)).cloned().collect(),
            order_topic_conf: route.data.order_topic_conf.clone(),
            ..TopicRouteData::default()
        };
        for broker in route.data.broker_datas.iter().filter(|b| served(&b.broker_name)) {
            let mut broker = broker.clone();
            broker.broker_addrs.values_mut().for_each(|addr| addr.clone_from(&me));
            data.broker_datas.push(broker);
        }
        let flavour = RouteJson::for_request(request.version, header.accept_standard_json_only.unwrap_or(false));
        Some(RemotingCommand::success().with_body(data.encode(flavour)))
    }

    fn heartbeat(&self, conn: &Connection, request: &RemotingCommand) -> Option<RemotingCommand> {
        let data: HeartbeatData = match rmq_model::fastjson::from_slice(&request.body.to_bytes()) {
            Ok(data) => data,
            Err(e) => return answer(ResponseCode::SystemError, format!("bad heartbeat body: {e}")),
        };
        let changed = self.proxy.remoting_clients.heartbeat(conn, data);
        self.notify(&changed.consumer_groups);
        self.join_brokers(conn, request.language, !changed.consumer_groups.is_empty());
        if changed.producers_changed {
            // A new producer group: registered at the brokers now, so that
            // their transaction checks find the proxy.
            self.proxy.transactions.wake_heartbeat();
        }
        answer(ResponseCode::Success, "")
    }

    fn unregister(&self, conn: &Connection, request: &RemotingCommand) -> Option<RemotingCommand> {
        let header: UnregisterClientRequestHeader = match request.header() {
            Ok(h) => h,
            Err(e) => return answer(ResponseCode::SystemError, e.to_string()),
        };
        if let Some(group) = header.consumer_group.as_deref() {
            self.leave_brokers(conn, Some(group));
        }
        let left = self.proxy.remoting_clients.unregister(
            conn,
            header.producer_group.as_deref(),
            header.consumer_group.as_deref(),
        );
        self.notify(&left);
        answer(ResponseCode::Success, "")
    }

    fn consumer_list(&self, request: &RemotingCommand) -> Option<RemotingCommand> {
        let header: ConsumerGroupRequestHeader = match request.header() {
            Ok(h) => h,
            Err(e) => return answer(ResponseCode::SystemError, e.to_string()),
        };
        let ids = self.proxy.remoting_clients.consumer_ids(&header.consumer_group);
        if ids.is_empty() {
            return answer(ResponseCode::SystemError, format!("no consumer for this group, {}", header.consumer_group));
        }
        let body = rmq_model::fastjson::to_vec(&ConsumerIdList { consumer_id_list: ids });
        Some(RemotingCommand::success().with_body(body))
    }

    /// Registers the connection's consumer groups at the brokers (at its
    /// heartbeats, at most every 10 s unless they changed, so the brokers
    /// keep them as long as the client beats).
    fn join_brokers(&self, conn: &Connection, language: rmq_protocol::LanguageCode, changed: bool) {
        let Some((client_id, groups)) = self.proxy.remoting_clients.groups_to_register(conn, changed) else { return };
        let proxy = self.proxy.clone();
        tokio::spawn(async move {
            for data in groups {
                proxy.register_at_masters(&client_id, data, language).await;
            }
        });
    }

    /// Takes the connection's consumer groups (or `only` that one) off the brokers.
    fn leave_brokers(&self, conn: &Connection, only: Option<&str>) {
        let Some((client_id, mut groups)) = self.proxy.remoting_clients.consumer_groups_of(conn) else { return };
        groups.retain(|g| only.is_none_or(|only| g.group_name == only));
        let proxy = self.proxy.clone();
        tokio::spawn(async move {
            for data in &groups {
                proxy.unregister_at_masters(&client_id, data).await;
            }
        });
    }

    /// Tells the members of each group that its membership changed, as a
    /// broker does (oneway; a member whose queue is full hears it at its
    /// next rebalance round).
    fn notify(&self, groups: &[String]) {
        for group in groups {
            let header = ConsumerGroupRequestHeader { consumer_group: group.clone() };
            for conn in self.proxy.remoting_clients.consumer_connections(group) {
                let _ = conn.try_oneway(RemotingCommand::request(RequestCode::NotifyConsumerIdsChanged, &header));
            }
        }
    }
}
