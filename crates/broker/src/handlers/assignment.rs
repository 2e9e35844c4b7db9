//! QUERY_ASSIGNMENT (400), SET_MESSAGE_REQUEST_MODE (401) and
//! GET_ALL_MESSAGE_REQUEST_MODE (402): 5.x clients with server-side
//! rebalancing ask the broker which queues they consume and whether by PULL
//! or POP (Java's `QueryAssignmentProcessor`). The topic's queues on every
//! broker come from the NameServer's route, as Java's broker learns them.

use rmq_model::{MessageQueue, fastjson, perm, topic::RETRY_GROUP_TOPIC_PREFIX};
use rmq_protocol::body::assignment::{
    MessageQueueAssignment, MessageRequestMode, QueryAssignmentRequestBody, QueryAssignmentResponseBody,
    SetMessageRequestModeRequestBody,
};
use rmq_protocol::body::heartbeat::MessageModel;
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::header::GetRouteInfoRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::Client;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::reply;
use crate::clients::Clients;
use crate::live_config::LiveConfig;
use crate::namesrv::BrokerIdentity;
use crate::tables::{RequestModes, SubscriptionGroups, TopicTable};

/// How long a route lookup may take per NameServer.
const ROUTE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug)]
pub(crate) struct Assignments {
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    pub clients: Arc<Clients>,
    pub config: Arc<LiveConfig>,
    pub identity: Arc<BrokerIdentity>,
    pub modes: Arc<RequestModes>,
    /// Asks the NameServers for routes.
    pub namesrv: Client,
}

impl Assignments {
    pub(crate) async fn query(&self, req: &RemotingCommand) -> RemotingCommand {
        let body: QueryAssignmentRequestBody = match fastjson::from_slice(&req.body.to_bytes()) {
            Ok(body) => body,
            Err(e) => return reply(ResponseCode::SystemError, format!("the query assignment body is malformed: {e}")),
        };
        let mode = self.mode_of(&body.topic, &body.consumer_group);
        let queues = self.topic_queues(&body.topic).await;
        let assigned = match body.message_model {
            MessageModel::Broadcasting => Some(queues),
            MessageModel::Clustering => self.balance(&body, queues, &mode),
        };
        let Some(assigned) = assigned else {
            // Java answers no body: the client keeps what it has.
            return RemotingCommand::success();
        };
        let answer = QueryAssignmentResponseBody {
            message_queue_assignments: assigned
                .into_iter()
                .map(|message_queue| MessageQueueAssignment { message_queue, mode: mode.mode, attachments: None })
                .collect(),
        };
        RemotingCommand::success().with_body(fastjson::to_vec(&answer))
    }

    pub(crate) fn set_mode(&self, req: &RemotingCommand) -> RemotingCommand {
        let body: SetMessageRequestModeRequestBody = match fastjson::from_slice(&req.body.to_bytes()) {
            Ok(body) => body,
            Err(e) => return reply(ResponseCode::SystemError, format!("the request mode body is malformed: {e}")),
        };
        if body.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return reply(ResponseCode::NoPermission, "retry topic is not allowed to set mode");
        }
        if self.topics.get(&body.topic).is_none() {
            return reply(ResponseCode::TopicNotExist, format!("topic[{}] not exist", body.topic));
        }
        if self.groups.get(&body.consumer_group).is_none() {
            return reply(ResponseCode::SubscriptionGroupNotExist, "subscription group does not exist");
        }
        self.modes.set(body);
        RemotingCommand::success()
    }

    pub(crate) fn all_modes(&self) -> RemotingCommand {
        RemotingCommand::success().with_body(fastjson::to_vec(&self.modes.snapshot()))
    }

    /// The pair's mode: set by `setConsumeMode`, else the broker's default
    /// (retry topics are always pulled).
    fn mode_of(&self, topic: &str, group: &str) -> SetMessageRequestModeRequestBody {
        if let Some(mode) = self.modes.get(topic, group) {
            return mode;
        }
        let (default_mode, share) = {
            let c = self.config.get();
            (c.default_message_request_mode.clone(), c.default_pop_share_queue_num)
        };
        let pop = default_mode.eq_ignore_ascii_case("POP") && !topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        SetMessageRequestModeRequestBody {
            topic: topic.to_owned(),
            consumer_group: group.to_owned(),
            mode: if pop { MessageRequestMode::Pop } else { MessageRequestMode::Pull },
            pop_share_queue_num: if pop { share } else { 0 },
        }
    }

    /// The topic's readable queues on every broker, sorted as Java sorts them.
    async fn topic_queues(&self, topic: &str) -> Vec<MessageQueue> {
        let namesrvs = self.config.get().namesrv_list();
        for addr in namesrvs {
            let header = GetRouteInfoRequestHeader { topic: topic.to_owned(), accept_standard_json_only: Some(true) };
            let request = RemotingCommand::request(RequestCode::GetRouteinfoByTopic, &header);
            let Ok(response) = self.namesrv.invoke(&addr, request, ROUTE_TIMEOUT).await else { continue };
            if response.code != 0 {
                continue;
            }
            if let Ok(route) = TopicRouteData::decode(&response.body.to_bytes()) {
                return queues_of_route(topic, &route);
            }
        }
        // No NameServer answered: this broker's own queues.
        let mut own = Vec::new();
        if let Some(config) = self.topics.get(topic).filter(|c| perm::is_readable(c.perm)) {
            for queue_id in 0..config.read_queue_nums as i32 {
                own.push(MessageQueue::new(topic, &self.identity.broker_name, queue_id));
            }
        }
        own
    }

    fn balance(
        &self,
        body: &QueryAssignmentRequestBody,
        queues: Vec<MessageQueue>,
        mode: &SetMessageRequestModeRequestBody,
    ) -> Option<Vec<MessageQueue>> {
        if queues.is_empty() {
            return None;
        }
        if !self.config.get().server_load_balancer_enable {
            return Some(queues);
        }
        let mut clients = self.clients.consumer_ids(&body.consumer_group);
        if clients.is_empty() {
            return None;
        }
        clients.sort();
        if mode.mode == MessageRequestMode::Pop {
            let share = mode.pop_share_queue_num;
            if share <= 0 || share as usize >= clients.len().saturating_sub(1) {
                // Every client pops every queue: one entry per broker, queue -1.
                let brokers: BTreeSet<&str> = queues.iter().map(|q| q.broker_name.as_str()).collect();
                return Some(brokers.into_iter().map(|b| MessageQueue::new(&body.topic, b, -1)).collect());
            }
            let index = clients.iter().position(|c| *c == body.client_id)?;
            let mut mine = Vec::new();
            for i in 0..=share as usize {
                mine.extend(averagely(&queues, &clients, (index + i) % clients.len()));
            }
            return Some(mine);
        }
        let index = clients.iter().position(|c| *c == body.client_id)?;
        Some(averagely(&queues, &clients, index))
    }
}

/// The queues of a route whose broker lets them be read.
fn queues_of_route(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|q| perm::is_readable(q.perm))
        .flat_map(|q| (0..q.read_queue_nums as i32).map(|id| MessageQueue::new(topic, &q.broker_name, id)))
        .collect();
    queues.sort_by(|a, b| (&a.topic, &a.broker_name, a.queue_id).cmp(&(&b.topic, &b.broker_name, b.queue_id)));
    queues
}

/// Java's `AllocateMessageQueueAveragely`: consecutive runs of queues, the
/// first `queues % clients` clients one more.
fn averagely(queues: &[MessageQueue], clients: &[String], index: usize) -> Vec<MessageQueue> {
    let (n, c) = (queues.len(), clients.len());
    let rest = n % c;
    let average = if n <= c {
        1
    } else if rest > 0 && index < rest {
        n / c + 1
    } else {
        n / c
    };
    let start = if rest > 0 && index < rest { index * average } else { index * average + rest };
    let range = average.min(n.saturating_sub(start));
    (0..range).map(|i| queues[(start + i) % n].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averagely_as_java_allocates() {
        let queues: Vec<MessageQueue> = (0..5).map(|i| MessageQueue::new("T", "b", i)).collect();
        let clients: Vec<String> = vec!["a".into(), "b".into()];
        let ids = |i| averagely(&queues, &clients, i).iter().map(|q| q.queue_id).collect::<Vec<_>>();
        assert_eq!((ids(0), ids(1)), (vec![0, 1, 2], vec![3, 4]));
        let many: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        assert_eq!(averagely(&queues, &many, 6).len(), 0);
        assert_eq!(averagely(&queues, &many, 4).iter().map(|q| q.queue_id).collect::<Vec<_>>(), vec![4]);
    }
}
