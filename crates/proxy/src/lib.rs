//! RocketMQ 5's gRPC endpoint, the "proxy": `apache.rocketmq.v2.MessagingService`
//! for 5.x clients, served over remoting by rmq's (or any RocketMQ) brokers.
//!
//! It runs in one of Java's two ways ([`ProxyMode`]): inside a broker process
//! (`mqbroker --enable-proxy`, only that broker's queues) or on its own
//! (`mqproxy -n <namesrv>`, every broker of the cluster). Either way it talks
//! to brokers over remoting with `rmq-client`, so it needs no access to a
//! store and knows nothing of one.
//!
//! Layout: [`server::run`] serves a [`Proxy`]; `service` adapts tonic's
//! trait to the proxy's calls, one module per family: `route`, `telemetry`
//! (settings, heartbeats), `send`, `receive`, `ack`, `transaction`,
//! `offsets`. `convert` turns messages between protobuf and remoting,
//! `status` answers as Java's proxy does (a `Code` in the response, gRPC OK),
//! `auth` checks 5.x clients' credentials and permissions (ACL 1.0),
//! `brokers` holds routes and queue choice, `sessions` the clients,
//! `consumers` registers 5.x consumers at brokers and answers the admin
//! calls brokers relay to them (thread stacks, consume directly),
//! `renew` the invisible times of `auto_renew` receives, `message_type`
//! the topics' message types. `remoting_port` serves clients of the
//! remoting protocol on `remotingListenPort` (8080), relaying to brokers.

#![forbid(unsafe_code)]

/// The published API's types and the generated server (from `proto/`).
#[allow(clippy::all, missing_debug_implementations, rust_2018_idioms)]
pub mod pb {
    tonic::include_proto!("apache.rocketmq.v2");
}

mod ack;
mod auth;
mod brokers;
pub mod config;
mod consumers;
mod context;
mod convert;
mod message_type;
mod offsets;
mod recall;
mod receipt;
mod receive;
mod remoting_port;
mod renew;
mod route;
mod send;
pub mod server;
mod service;
mod sessions;
mod status;
mod telemetry;
pub mod tls;
mod transaction;

pub use config::{ProxyConfig, ProxyMode};
pub use server::{ProxyError, run};

use rmq_model::SubscriptionGroupConfig;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a group's config fetched from a broker is reused.
const GROUP_CONFIG_TTL: Duration = Duration::from_secs(10);

/// The proxy's state, shared by every call.
#[derive(Debug)]
pub(crate) struct Proxy {
    pub config: ProxyConfig,
    pub brokers: brokers::Brokers,
    pub sessions: sessions::Sessions,
    pub transactions: transaction::Transactions,
    pub auth: auth::Auth,
    pub renewals: renew::Renewals,
    pub topic_types: message_type::TopicTypes,
    pub remoting_clients: remoting_port::RemotingClients,
    pub client_answers: consumers::PendingAnswers,
    pub directory: remoting_port::Directory,
    groups: Mutex<HashMap<String, (Instant, Option<SubscriptionGroupConfig>)>>,
}

impl Proxy {
    pub fn new(config: ProxyConfig, client: rmq_client::Client) -> Proxy {
        let timeout = Duration::from_millis(config.broker_timeout_ms);
        let brokers = brokers::Brokers::new(client, config.mode.clone(), timeout);
        let auth = auth::Auth::new(config.acl_enable, &config.acl_file);
        Proxy {
            config,
            brokers,
            sessions: Default::default(),
            transactions: Default::default(),
            auth,
            renewals: Default::default(),
            topic_types: Default::default(),
            remoting_clients: Default::default(),
            client_answers: Default::default(),
            directory: Default::default(),
            groups: Default::default(),
        }
    }

    /// A consumer group's config (FIFO, retries) as a master serving
    /// `topic` holds it; `None` when no broker knows the group.
    pub(crate) async fn group_settings(&self, topic: &str, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some((at, config)) = self.groups.lock().unwrap_or_else(|e| e.into_inner()).get(group)
            && at.elapsed() < GROUP_CONFIG_TTL
        {
            return config.clone();
        }
        let route = self.brokers.route(topic).await.ok()?;
        let mut found = None;
        for (_, addr) in self.brokers.readable_masters(&route) {
            let mut cmd = RemotingCommand::bare_request(RequestCode::GetSubscriptionGroupConfig);
            cmd.ext_fields.insert("group", group);
            match self.brokers.invoke(&addr, cmd, None).await {
                Ok(resp) if resp.code == ResponseCode::Success.to_i32() => {
                    found = rmq_model::fastjson::from_slice(&resp.body.to_bytes()).ok();
                    break;
                }
                _ => continue,
            }
        }
        self.groups.lock().unwrap_or_else(|e| e.into_inner()).insert(group.to_owned(), (Instant::now(), found.clone()));
        found
    }
}
