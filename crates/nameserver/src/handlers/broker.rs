//! What brokers send: REGISTER_BROKER, UNREGISTER_BROKER, QUERY_DATA_VERSION
//! and the 5.x BROKER_HEARTBEAT (Java's `DefaultRequestProcessor` over
//! `RouteInfoManager`).

use std::time::Duration;

use rmq_protocol::body::kv::KvTable;
use rmq_protocol::body::register::{RegisterBrokerBody, data_version_json, decode_data_version};
use rmq_protocol::header::{
    QueryDataVersionRequestHeader, QueryDataVersionResponseHeader, RegisterBrokerRequestHeader,
    RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
};
use rmq_protocol::{HeaderError, RemotingCommand};
use rmq_remoting::ConnectionId;

use crate::error::{NamesrvError, Result};
use crate::kv::ORDER_TOPIC_CONFIG;
use crate::namesrv::NameServer;
use crate::route::Registration;

/// 5.x `MixAll.ZONE_NAME`: the ext field a broker names its zone in.
const ZONE_NAME: &str = "__ZONE_NAME";

/// `UtilAll.crc32`: CRC32 with the sign bit cleared.
fn java_crc32(bytes: &[u8]) -> i32 {
    (crc32fast::hash(bytes) & 0x7FFF_FFFF) as i32
}

pub(crate) fn register(ns: &NameServer, conn: Option<ConnectionId>, req: &RemotingCommand) -> Result<RemotingCommand> {
    let header: RegisterBrokerRequestHeader = req.header()?;
    let body = req.body.to_bytes();
    if let Some(expected) = header.body_crc32.filter(|crc| *crc != 0 && !body.is_empty()) {
        let actual = java_crc32(&body);
        if actual != expected {
            tracing::warn!(
                "receive registerBroker request, crc32 not match, broker {} {}: bodyCrc32 {expected}, computed {actual}",
                header.broker_name,
                header.broker_addr
            );
            return Err(NamesrvError::CrcMismatch { expected, actual });
        }
    }
    let parsed = RegisterBrokerBody::decode(&body, header.compressed.unwrap_or(false), req.version)?;
    let registration = Registration {
        cluster: header.cluster_name,
        broker_name: header.broker_name,
        broker_addr: header.broker_addr,
        broker_id: header.broker_id,
        ha_server_addr: header.ha_server_addr,
        timeout: header.heartbeat_timeout_millis.filter(|ms| *ms > 0).map(|ms| Duration::from_millis(ms as u64)),
        topics: parsed.topic_config_serialize_wrapper,
        filter_servers: parsed.filter_server_list,
        zone_name: req.ext(ZONE_NAME).map(str::to_owned),
        connection: conn,
    };
    let outcome = ns.routes().register(registration, NameServer::now());
    let mut response = RemotingCommand::success().with_header(&RegisterBrokerResponseHeader {
        ha_server_addr: outcome.ha_server_addr,
        master_addr: outcome.master_addr,
    });
    let order = ns.config().return_order_topic_config_to_broker.then(|| ns.kv().namespace(ORDER_TOPIC_CONFIG).cloned());
    if let Some(order) = order.flatten() {
        response = response.with_body(KvTable::from(order).encode());
    }
    Ok(response)
}

pub(crate) fn unregister(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: UnregisterBrokerRequestHeader = req.header()?;
    ns.routes().unregister(&h.cluster_name, &h.broker_addr, &h.broker_name, h.broker_id);
    Ok(RemotingCommand::success())
}

/// A broker asks whether its topic table's DataVersion is the one we hold
/// (`forceRegister=false`). Answering "unchanged" counts as a keep-alive.
pub(crate) fn query_data_version(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: QueryDataVersionRequestHeader = req.header()?;
    let body = req.body.to_bytes();
    if body.is_empty() {
        return Err(NamesrvError::BadBody("QUERY_DATA_VERSION needs the broker's DataVersion as body".to_owned()));
    }
    let version =
        decode_data_version(&body).map_err(|e| NamesrvError::BadBody(format!("invalid DataVersion body: {e}")))?;
    let mut routes = ns.routes();
    let changed = routes.topic_config_changed(&h.broker_addr, &version);
    if !changed {
        routes.touch(&h.broker_addr, NameServer::now());
    }
    let stored = routes.data_version(&h.broker_addr).map(data_version_json);
    drop(routes);
    let response = RemotingCommand::success().with_header(&QueryDataVersionResponseHeader { changed });
    Ok(match stored {
        Some(body) => response.with_body(body),
        None => response,
    })
}

/// 5.x BROKER_HEARTBEAT: a keep-alive without a registration.
pub(crate) fn heartbeat(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let addr = req.ext("brokerAddr").ok_or(HeaderError::Missing("brokerAddr"))?;
    ns.routes().touch(addr, NameServer::now());
    Ok(RemotingCommand::success())
}
