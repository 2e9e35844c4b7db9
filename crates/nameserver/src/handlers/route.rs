//! Route reads and admin changes: GET_ROUTEINFO_BY_TOPIC, cluster info, the
//! topic lists, write permission, topic deletion (Java's `DefaultRequestProcessor`
//! over `RouteInfoManager`).

use rmq_model::perm;
use rmq_protocol::body::route::{RouteJson, TopicRouteData};
use rmq_protocol::header::{
    AddWritePermResponseHeader, BrokerPermRequestHeader, DeleteTopicFromNamesrvRequestHeader,
    GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader, WipeWritePermResponseHeader,
};
use rmq_protocol::{HeaderError, RemotingCommand, RequestCode};

use crate::error::{NamesrvError, Result};
use crate::kv::ORDER_TOPIC_CONFIG;
use crate::namesrv::NameServer;
use crate::route::SystemTopics;

fn with_body(body: Vec<u8>) -> Result<RemotingCommand> {
    Ok(RemotingCommand::success().with_body(body))
}

/// The route of a topic, in the JSON flavour the client's version asks for.
pub(crate) fn route_of_topic(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: GetRouteInfoRequestHeader = req.header()?;
    let mut route = ns.routes().route(&h.topic).ok_or_else(|| NamesrvError::TopicNotExist(h.topic.clone()))?;
    if ns.config().order_message_enable {
        route.order_topic_conf = ns.kv().get(ORDER_TOPIC_CONFIG, &h.topic).map(str::to_owned);
    }
    let flavour = RouteJson::for_request(req.version, h.accept_standard_json_only.unwrap_or(false));
    with_body(route.encode(flavour))
}

pub(crate) fn cluster_info(ns: &NameServer) -> Result<RemotingCommand> {
    let info = ns.routes().cluster_info();
    with_body(info.encode())
}

pub(crate) fn wipe_write_perm(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: BrokerPermRequestHeader = req.header()?;
    let count = ns.routes().wipe_write_perm(&h.broker_name);
    tracing::info!("wipe write perm of broker[{}], wipe topic count {count}", h.broker_name);
    Ok(RemotingCommand::success().with_header(&WipeWritePermResponseHeader { wipe_topic_count: count }))
}

pub(crate) fn add_write_perm(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: BrokerPermRequestHeader = req.header()?;
    let count = ns.routes().add_write_perm(&h.broker_name);
    tracing::info!("add write perm of broker[{}] to {}, topic count {count}", h.broker_name, perm::READ_WRITE);
    Ok(RemotingCommand::success().with_header(&AddWritePermResponseHeader { add_topic_count: count }))
}

pub(crate) fn all_topics(ns: &NameServer) -> Result<RemotingCommand> {
    if !ns.config().enable_all_topic_list {
        return Err(NamesrvError::Disabled);
    }
    let list = ns.routes().all_topics();
    with_body(list.encode())
}

pub(crate) fn topics_of_cluster(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    if !ns.config().enable_topic_list {
        return Err(NamesrvError::Disabled);
    }
    let h: GetTopicsByClusterRequestHeader = req.header()?;
    let list = ns.routes().topics_of_cluster(&h.cluster);
    with_body(list.encode())
}

pub(crate) fn system_topics(ns: &NameServer) -> Result<RemotingCommand> {
    let list = ns.routes().system_topics();
    with_body(list.encode())
}

pub(crate) fn unit_topics(ns: &NameServer, code: RequestCode) -> Result<RemotingCommand> {
    let which = match code {
        RequestCode::GetUnitTopicList => SystemTopics::Unit,
        RequestCode::GetHasUnitSubTopicList => SystemTopics::HasUnitSub,
        _ => SystemTopics::HasUnitSubNotUnit,
    };
    let list = ns.routes().unit_topics(which);
    with_body(list.encode())
}

pub(crate) fn delete_topic(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let h: DeleteTopicFromNamesrvRequestHeader = req.header()?;
    let cluster = h.cluster_name.as_deref().map(str::trim).filter(|c| !c.is_empty());
    ns.routes().delete_topic(&h.topic, cluster);
    tracing::info!(
        "delete topic {} from name server{}",
        h.topic,
        cluster.map(|c| format!(", cluster {c}")).unwrap_or_default()
    );
    Ok(RemotingCommand::success())
}

/// 5.x REGISTER_TOPIC_IN_NAMESRV: the body's queue data become the topic's
/// route on groups that exist.
pub(crate) fn register_topic(ns: &NameServer, req: &RemotingCommand) -> Result<RemotingCommand> {
    let topic = req.ext("topic").ok_or(HeaderError::Missing("topic"))?;
    let body = req.body.to_bytes();
    if !body.is_empty() {
        let route = TopicRouteData::decode(&body)
            .map_err(|e| NamesrvError::BadBody(format!("invalid TopicRouteData body: {e}")))?;
        ns.routes().register_topic(topic, route.queue_datas);
    }
    Ok(RemotingCommand::success())
}
