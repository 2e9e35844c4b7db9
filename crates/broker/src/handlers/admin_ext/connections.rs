//! Who is connected: GET_CONSUMER_CONNECTION_LIST (203),
//! GET_PRODUCER_CONNECTION_LIST (204), GET_ALL_PRODUCER_INFO (328) and
//! QUERY_TOPIC_CONSUME_BY_WHO (300).

use rmq_protocol::body::admin::{
    Connection, ConsumerConnection, GroupList, ProducerConnection, ProducerInfo, ProducerTableInfo,
};
use rmq_protocol::header::{ConsumerGroupRequestHeader, ProducerGroupRequestHeader, TopicRequestHeader};
use rmq_protocol::{RemotingCommand, ResponseCode};

use crate::clients::ClientChannel;
use crate::handlers::admin::Admin;
use crate::handlers::{header_or_reply, reply};

fn connection(c: &ClientChannel) -> Connection {
    Connection {
        client_addr: c.conn.remote_addr().to_string(),
        client_id: c.client_id.clone(),
        language: c.language.name().to_owned(),
        version: c.version,
    }
}

pub(super) fn consumer_connections(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ConsumerGroupRequestHeader);
    let Some(group) = admin.clients.consumer_group(&h.consumer_group) else {
        return reply(ResponseCode::ConsumerNotOnline, format!("the consumer group[{}] not online", h.consumer_group));
    };
    let mut connection_set: Vec<Connection> = group.channels.values().map(connection).collect();
    connection_set.sort();
    let body = ConsumerConnection {
        connection_set,
        consume_from_where: group.consume_from_where,
        consume_type: group.consume_type,
        message_model: group.message_model,
        subscription_table: group.subscriptions.into_iter().collect(),
    };
    RemotingCommand::success().with_body(body.encode())
}

pub(super) fn producer_connections(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, ProducerGroupRequestHeader);
    let channels = admin.clients.producer_channels(&h.producer_group);
    if channels.is_empty() {
        return reply(ResponseCode::SystemError, format!("the producer group[{}] not exist", h.producer_group));
    }
    let mut connection_set: Vec<Connection> = channels.iter().map(connection).collect();
    connection_set.sort();
    RemotingCommand::success().with_body(ProducerConnection { connection_set }.encode())
}

pub(super) fn all_producers(admin: &Admin) -> RemotingCommand {
    let mut table = ProducerTableInfo::default();
    for (group, channels) in admin.clients.producer_groups() {
        let mut producers: Vec<ProducerInfo> = channels
            .iter()
            .map(|c| ProducerInfo {
                client_id: c.client_id.clone(),
                language: c.language.name().to_owned(),
                last_update_timestamp: c.last_update_ms,
                remote_ip: c.conn.remote_addr().to_string(),
                version: c.version,
            })
            .collect();
        producers.sort_by(|x, y| x.client_id.cmp(&y.client_id));
        table.data.insert(group, producers);
    }
    RemotingCommand::success().with_body(table.encode())
}

/// Online groups subscribed to the topic, and groups with offsets on it.
pub(super) fn topic_consumed_by(admin: &Admin, req: &RemotingCommand) -> RemotingCommand {
    let h = header_or_reply!(req, TopicRequestHeader);
    let mut groups = GroupList::default();
    groups.group_list.extend(admin.clients.groups_subscribing(&h.topic));
    groups.group_list.extend(admin.offsets.groups_of_topic(&h.topic));
    RemotingCommand::success().with_body(groups.encode())
}
