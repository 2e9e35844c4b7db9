//! [`Client`]: connections to the NameServers and brokers, the route cache,
//! and the answers to requests brokers send us.

use bytes::Bytes;
use rmq_acl::sign;
use rmq_protocol::body::admin::{GetConsumerStatusBody, ResetOffsetBody};
use rmq_protocol::body::heartbeat::HeartbeatData;
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::header::{
    CheckTransactionStateRequestHeader, GetRouteInfoRequestHeader, ResetClientOffsetRequestHeader,
};
use rmq_protocol::{LanguageCode, RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{ClientConfig, ClientTls, Connection, Service, not_supported};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{ClientError, Result};
use crate::route::{Cached, RouteCache, TopicRoute};
use crate::uniq_id::UniqIdGenerator;

/// How a [`Client`] is set up.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// NameServer addresses, `host:port` each.
    pub namesrv: Vec<String>,
    /// Timeout of every request that has no timeout of its own (Java admin: 5 s).
    pub timeout: Duration,
    /// Part of the client id after `@`; the process id by default.
    pub instance_name: Option<String>,
    /// Language reported in every request header.
    pub language: LanguageCode,
    /// Where CHECK_TRANSACTION_STATE requests from brokers go; `None`
    /// declines them (a tool has no transactions to answer for). The proxy
    /// relays them to its 5.x producers.
    pub transaction_checks: Option<tokio::sync::mpsc::UnboundedSender<TransactionCheck>>,
    /// Where GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY go when
    /// this client registered consumers for others: the proxy answers them
    /// for its 5.x consumers. `None`: this client answers them itself.
    pub client_calls: Option<tokio::sync::mpsc::UnboundedSender<ClientCall>>,
    /// An ACL 1.0 account: when set, every request carries `AccessKey` and
    /// `Signature`, as Java's `AclClientRPCHook` adds them, so brokers with
    /// `aclEnable=true` accept it.
    pub credentials: Option<Credentials>,
    /// Connect with TLS (`tls.enable`); `None`: plaintext.
    pub tls: Option<ClientTls>,
}

/// An account of a broker's `plain_acl.yml`. Its `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl Credentials {
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Credentials {
        Credentials { access_key: access_key.into(), secret_key: secret_key.into() }
    }

    /// Adds `AccessKey`, then `Signature` over the ext fields and body
    /// (Java's `AclClientRPCHook.doBeforeRequest`). A request signed before
    /// (a retry) is signed anew.
    pub fn sign(&self, cmd: &mut RemotingCommand) {
        cmd.ext_fields.remove(sign::SIGNATURE);
        cmd.ext_fields.insert(sign::ACCESS_KEY, &self.access_key);
        let signature = sign::sign(&sign::content(&cmd.ext_fields, &cmd.body.to_bytes()), &self.secret_key);
        cmd.ext_fields.insert(sign::SIGNATURE, signature);
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Options for the NameServers of a Java-style list (`"a:9876;b:9876"`).
    pub fn new(namesrv: &str) -> ClientOptions {
        ClientOptions {
            namesrv: parse_namesrv_list(namesrv),
            timeout: Duration::from_secs(5),
            instance_name: None,
            language: LanguageCode::Java,
            transaction_checks: None,
            client_calls: None,
            credentials: None,
            tls: None,
        }
    }
}

/// A broker's request for one of the clients this client acts for (the
/// header's `clientId` says which), and where its answer goes. A dropped
/// `answer` is answered SYSTEM_ERROR.
#[derive(Debug)]
pub struct ClientCall {
    pub request: RemotingCommand,
    pub answer: tokio::sync::oneshot::Sender<RemotingCommand>,
}

/// A broker asking whether a half message's transaction is committed
/// (CHECK_TRANSACTION_STATE): who asked, the request and the half message.
#[derive(Clone, Debug)]
pub struct TransactionCheck {
    pub broker_addr: String,
    pub header: CheckTransactionStateRequestHeader,
    pub message: crate::MessageExt,
    /// The request's body as the broker wrote it (the message's stored
    /// form), for a proxy passing the check on to a remoting producer.
    pub body: Bytes,
}

/// Splits `"a:9876;b:9876"` into addresses, blanks dropped.
pub fn parse_namesrv_list(list: &str) -> Vec<String> {
    list.split(';').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

/// A RESET_CONSUMER_CLIENT_OFFSET a broker pushed to this client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetReset {
    pub group: String,
    pub topic: String,
    pub timestamp: i64,
    pub offsets: ResetOffsetBody,
}

/// Connections to NameServers and brokers, shared by every producer,
/// consumer and admin call made through it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) transport: rmq_remoting::Client,
    pub(crate) namesrv: Vec<String>,
    /// The NameServer tried first (the last one that answered).
    namesrv_index: AtomicUsize,
    pub(crate) routes: RouteCache,
    pub(crate) timeout: Duration,
    pub(crate) client_id: String,
    pub(crate) language: LanguageCode,
    pub(crate) ids: UniqIdGenerator,
    credentials: Option<Credentials>,
    requests: Arc<BrokerRequests>,
}

impl Client {
    pub fn new(options: ClientOptions) -> Client {
        let requests = Arc::new(BrokerRequests {
            transaction_checks: options.transaction_checks,
            client_calls: options.client_calls,
            ..Default::default()
        });
        let transport =
            rmq_remoting::Client::new(ClientConfig { tls: options.tls, ..ClientConfig::default() }, requests.clone());
        let ip = local_ipv4();
        let instance = options.instance_name.unwrap_or_else(|| std::process::id().to_string());
        let inner = Inner {
            transport,
            namesrv: options.namesrv,
            namesrv_index: AtomicUsize::new(0),
            routes: RouteCache::default(),
            timeout: options.timeout,
            client_id: format!("{}@{instance}", IpAddr::from(ip)),
            language: options.language,
            ids: UniqIdGenerator::new(ip),
            credentials: options.credentials,
            requests,
        };
        Client { inner: Arc::new(inner) }
    }

    /// `ip@instance`, as brokers list this client.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    pub fn namesrv_addrs(&self) -> &[String] {
        &self.inner.namesrv
    }

    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// A fresh `UNIQ_KEY`.
    pub fn new_message_id(&self) -> String {
        self.inner.ids.next_id()
    }

    /// What every outgoing request gets: the language, and the signature
    /// when the client has credentials.
    fn stamp(&self, mut cmd: RemotingCommand) -> RemotingCommand {
        cmd.language = self.inner.language;
        if let Some(credentials) = &self.inner.credentials {
            credentials.sign(&mut cmd);
        }
        cmd
    }

    /// Sends `cmd` to a NameServer, trying the others when one cannot be
    /// reached. Answers are returned whatever their code.
    pub async fn invoke_namesrv(&self, cmd: RemotingCommand) -> Result<(String, RemotingCommand)> {
        let addrs = &self.inner.namesrv;
        if addrs.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let first = self.inner.namesrv_index.load(Ordering::Relaxed);
        let mut last_error = None;
        for i in 0..addrs.len() {
            let index = (first + i) % addrs.len();
            let addr = &addrs[index];
            match self.inner.transport.invoke(addr, self.stamp(cmd.clone()), self.inner.timeout).await {
                Ok(resp) => {
                    self.inner.namesrv_index.store(index, Ordering::Relaxed);
                    return Ok((addr.clone(), resp));
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.map_or(ClientError::NoNameServer, ClientError::from))
    }

    /// Sends `cmd` to every NameServer; one result per address.
    pub async fn invoke_each_namesrv(&self, cmd: &RemotingCommand) -> Vec<(String, Result<RemotingCommand>)> {
        let mut out = Vec::with_capacity(self.inner.namesrv.len());
        for addr in &self.inner.namesrv {
            let resp = self.inner.transport.invoke(addr, self.stamp(cmd.clone()), self.inner.timeout).await;
            out.push((addr.clone(), resp.map_err(ClientError::from)));
        }
        out
    }

    /// Sends `cmd` to `addr` and waits up to `timeout` (the client's default
    /// if `None`). Answers are returned whatever their code.
    pub async fn invoke(&self, addr: &str, cmd: RemotingCommand, timeout: Option<Duration>) -> Result<RemotingCommand> {
        let timeout = timeout.unwrap_or(self.inner.timeout);
        Ok(self.inner.transport.invoke(addr, self.stamp(cmd), timeout).await?)
    }

    /// Like [`Client::invoke`], but an answer with a code other than SUCCESS
    /// is an error.
    pub async fn call(&self, addr: &str, cmd: RemotingCommand) -> Result<RemotingCommand> {
        let resp = self.invoke(addr, cmd, None).await?;
        expect_success(addr, resp)
    }

    /// Sends someone else's request to `addr` as it is: its language,
    /// version and signature stay the sender's (a proxy relaying a client's
    /// request, which the broker then checks as if the client had sent it).
    pub async fn forward(&self, addr: &str, cmd: RemotingCommand, timeout: Duration) -> Result<RemotingCommand> {
        Ok(self.inner.transport.invoke(addr, cmd, timeout).await?)
    }

    /// [`Client::forward`] of a oneway request.
    pub async fn forward_oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<()> {
        Ok(self.inner.transport.invoke_oneway(addr, cmd).await?)
    }

    pub async fn invoke_oneway(&self, addr: &str, cmd: RemotingCommand) -> Result<()> {
        Ok(self.inner.transport.invoke_oneway(addr, self.stamp(cmd)).await?)
    }

    /// A NameServer call whose answer must be SUCCESS.
    pub async fn call_namesrv(&self, cmd: RemotingCommand) -> Result<RemotingCommand> {
        let (addr, resp) = self.invoke_namesrv(cmd).await?;
        expect_success(&addr, resp)
    }

    /// The topic's route, straight from a NameServer (not cached).
    pub async fn fetch_route(&self, topic: &str) -> Result<TopicRouteData> {
        let header = GetRouteInfoRequestHeader { topic: topic.to_owned(), accept_standard_json_only: None };
        let (addr, resp) =
            self.invoke_namesrv(RemotingCommand::request(RequestCode::GetRouteinfoByTopic, &header)).await?;
        match resp.response_code() {
            ResponseCode::Success => TopicRouteData::decode(&resp.body.to_bytes()).map_err(|e| ClientError::Decode {
                what: "topic route",
                addr,
                reason: e.to_string(),
            }),
            ResponseCode::TopicNotExist => Err(ClientError::NoRoute(topic.to_owned())),
            _ => Err(refused(&addr, resp)),
        }
    }

    /// The topic's route from the cache, fetched when missing and refreshed
    /// in the background once stale.
    pub async fn route(&self, topic: &str) -> Result<Arc<TopicRoute>> {
        match self.inner.routes.lookup(topic) {
            Cached::Fresh(route) => Ok(route),
            Cached::Stale(route, flag) => {
                let client = self.clone();
                let topic = topic.to_owned();
                tokio::spawn(async move {
                    match client.fetch_route(&topic).await {
                        Ok(data) => client.inner.routes.insert(Arc::new(TopicRoute::new(&topic, data))),
                        Err(e) => tracing::debug!("refreshing the route of {topic} failed: {e}"),
                    }
                    flag.store(false, Ordering::Release);
                });
                Ok(route)
            }
            Cached::Missing => {
                let route = Arc::new(TopicRoute::new(topic, self.fetch_route(topic).await?));
                self.inner.routes.insert(route.clone());
                Ok(route)
            }
        }
    }

    /// Makes the next use of `topic`'s route fetch it again.
    pub fn invalidate_route(&self, topic: &str) {
        self.inner.routes.invalidate(topic);
    }

    /// Sends a heartbeat to one broker (HEART_BEAT, 34).
    pub async fn heartbeat(&self, addr: &str, data: &HeartbeatData) -> Result<()> {
        let body = rmq_model::fastjson::to_vec(data);
        self.call(addr, RemotingCommand::bare_request(RequestCode::HeartBeat).with_body(body)).await.map(drop)
    }

    /// A heartbeat for another client (a proxy registering a 5.x consumer):
    /// `data` names that client, and the command carries its language so
    /// the broker lists it as what it is. Signed as this client's calls are.
    pub async fn heartbeat_for(&self, addr: &str, data: &HeartbeatData, language: LanguageCode) -> Result<()> {
        let body = rmq_model::fastjson::to_vec(data);
        let mut cmd = self.stamp(RemotingCommand::bare_request(RequestCode::HeartBeat).with_body(body));
        // The signature covers the fields and the body, not the language.
        cmd.language = language;
        let resp = self.inner.transport.invoke(addr, cmd, self.inner.timeout).await?;
        expect_success(addr, resp).map(drop)
    }

    /// Offset resets brokers pushed to this client since the last call.
    pub fn take_offset_resets(&self) -> Vec<OffsetReset> {
        std::mem::take(&mut *self.inner.requests.resets.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Closes every connection; the client stays usable.
    pub fn close(&self) {
        self.inner.transport.close_all();
    }

    /// Closes every connection at the end of a tool's run (same as [`Client::close`]).
    pub fn shutdown(&self) {
        self.close();
    }
}

/// The answer if it is SUCCESS, else the refusal as an error.
pub(crate) fn expect_success(addr: &str, resp: RemotingCommand) -> Result<RemotingCommand> {
    if resp.code == ResponseCode::Success.to_i32() { Ok(resp) } else { Err(refused(addr, resp)) }
}

pub(crate) fn refused(addr: &str, resp: RemotingCommand) -> ClientError {
    ClientError::Refused { addr: addr.to_owned(), code: resp.code, remark: resp.remark.unwrap_or_default() }
}

/// The first non-loopback IPv4 address of this host, else 127.0.0.1.
fn local_ipv4() -> [u8; 4] {
    if_addrs::get_if_addrs()
        .ok()
        .and_then(|ifs| {
            ifs.into_iter().find_map(|i| match i.ip() {
                IpAddr::V4(v4) if !v4.is_loopback() => Some(v4.octets()),
                _ => None,
            })
        })
        .unwrap_or([127, 0, 0, 1])
}

/// What this client answers when a broker asks it something: it records
/// offset resets, reports a minimal running info and an empty status, and
/// declines to consume messages directly (it runs no listener).
#[derive(Debug, Default)]
struct BrokerRequests {
    resets: Mutex<Vec<OffsetReset>>,
    transaction_checks: Option<tokio::sync::mpsc::UnboundedSender<TransactionCheck>>,
    client_calls: Option<tokio::sync::mpsc::UnboundedSender<ClientCall>>,
}

impl BrokerRequests {
    /// Hands a request for a client this one acts for to whoever answers it.
    async fn pass_on(
        calls: &tokio::sync::mpsc::UnboundedSender<ClientCall>,
        request: RemotingCommand,
    ) -> RemotingCommand {
        let (answer, answered) = tokio::sync::oneshot::channel();
        if calls.send(ClientCall { request, answer }).is_err() {
            return RemotingCommand::response(ResponseCode::SystemError, Some("the client is shutting down".into()));
        }
        answered.await.unwrap_or_else(|_| {
            RemotingCommand::response(ResponseCode::SystemError, Some("the client did not answer".into()))
        })
    }
}

impl Service for BrokerRequests {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        match req.request_code() {
            RequestCode::NotifyConsumerIdsChanged => None,
            RequestCode::CheckTransactionState => {
                let checks = self.transaction_checks.as_ref()?;
                let header = req.header::<CheckTransactionStateRequestHeader>().ok()?;
                let body = req.body.to_bytes();
                let message = crate::MessageExt::decode_all(&body).ok()?.into_iter().next()?;
                let broker_addr = conn.remote_addr().to_string();
                let _ = checks.send(TransactionCheck { broker_addr, header, message, body });
                None
            }
            RequestCode::ResetConsumerClientOffset => {
                let h = req.header::<ResetClientOffsetRequestHeader>().ok()?;
                let offsets = ResetOffsetBody::decode(&req.body.to_bytes()).unwrap_or_default();
                let reset = OffsetReset { group: h.group, topic: h.topic, timestamp: h.timestamp, offsets };
                self.resets.lock().unwrap_or_else(|e| e.into_inner()).push(reset);
                Some(RemotingCommand::success())
            }
            RequestCode::GetConsumerRunningInfo | RequestCode::ConsumeMessageDirectly
                if let Some(calls) = &self.client_calls =>
            {
                Some(Self::pass_on(calls, req).await)
            }
            RequestCode::GetConsumerRunningInfo => {
                let info = concat!(
                    r#"{"jstack":"","mqTable":{},"properties":{"PROP_CLIENT_VERSION":"V4_9_8","#,
                    r#""PROP_CONSUME_TYPE":"CONSUME_ACTIVELY"},"statusTable":{},"subscriptionSet":[]}"#
                );
                Some(RemotingCommand::success().with_body(Bytes::from_static(info.as_bytes())))
            }
            RequestCode::GetConsumerStatusFromClient => {
                Some(RemotingCommand::success().with_body(GetConsumerStatusBody::default().encode()))
            }
            _ => Some(not_supported(&req)),
        }
    }
}
