//! The broker's [`Service`]: dispatch by request code to the handlers, and
//! connection events to the client tables.

use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Connection, Service, not_supported};
use std::sync::Arc;

use crate::broker::Broker;
use crate::handlers::{admin, admin_ext, client, lock, offset, pull, query, send, send_back, transaction};

/// Serves one listening port: the main one, or the VIP port (`listenPort - 2`)
/// on which, as in Java, pulls are not served.
#[derive(Debug, Clone)]
pub(crate) struct BrokerService {
    pub broker: Arc<Broker>,
    pub vip: bool,
}

impl Service for BrokerService {
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        use RequestCode::*;
        let b = &self.broker;
        if let Some(denied) = crate::acl::check(b, conn, &req) {
            return Some(denied);
        }
        let response = match req.request_code() {
            SendMessage | SendMessageV2 | SendBatchMessage => send::handle(b, conn, req).await,
            PullMessage | LitePullMessage if !self.vip => return pull::handle(b, conn, req).await,
            HeartBeat => client::heartbeat(b, conn, &req),
            UnregisterClient => client::unregister(b, conn, &req),
            GetConsumerListByGroup => client::consumer_list(b, &req),
            CheckClientConfig => client::check_client_config(b, &req),
            QueryConsumerOffset => offset::query_consumer_offset(b, &req),
            UpdateConsumerOffset => offset::update_consumer_offset(b, &req),
            GetMaxOffset => offset::max_offset(b, &req),
            GetMinOffset => offset::min_offset(b, &req),
            GetEarliestMsgStoretime => offset::earliest_store_time(b, &req),
            SearchOffsetByTimestamp => offset::search_offset(b, &req),
            QueryMessage => query::query_message(b, &req),
            ViewMessageById => query::view_message(b, &req),
            ConsumerSendMsgBack => send_back::handle(b, &req).await,
            UpdateAndCreateTopic => admin::create_topic(b, &req),
            DeleteTopicInBroker => admin::delete_topic(b, &req),
            GetAllTopicConfig => admin::all_topic_config(b),
            UpdateAndCreateSubscriptionGroup => admin::create_group(b, &req),
            GetAllSubscriptionGroupConfig => admin::all_group_config(b),
            DeleteSubscriptionGroup => admin::delete_group(b, &req),
            GetAllConsumerOffset => admin::all_consumer_offsets(b),
            GetAllDelayOffset => admin::all_delay_offsets(b),
            GetBrokerConfig => admin::broker_config(b),
            UpdateBrokerConfig => admin::update_broker_config(b, &req),
            GetBrokerRuntimeInfo => admin::runtime_info(b),
            GetSystemTopicListFromBroker => admin::system_topics(b),
            LockBatchMq => lock::lock(b, conn, &req),
            UnlockBatchMq => lock::unlock(b, conn, &req),
            EndTransaction => return transaction::end_transaction(b, conn, &req),
            PullMessage | LitePullMessage => not_supported(&req),
            _ => admin_ext::handle(b, conn, req).await,
        };
        Some(response)
    }

    fn on_disconnected(&self, conn: &Connection) {
        for group in self.broker.clients.connection_closed(conn.id()) {
            tracing::info!("a consumer of group {group} disconnected ({})", conn.remote_addr());
            self.broker.notify_consumers_changed(&group);
        }
    }
}
