//! The broker's [`Service`]: ACL first, then dispatch by request code to the
//! subsystem that serves it, and connection events to the client tables.

use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Connection, Service, not_supported};
use std::sync::Arc;
use std::time::Instant;

use crate::acl::Acl;
use crate::controller_mode::ControllerView;
use crate::handlers::admin::Admin;
use crate::handlers::assignment::Assignments;
use crate::handlers::client::Membership;
use crate::handlers::offset::OffsetQueries;
use crate::handlers::pop::Popping;
use crate::handlers::pull::Pulling;
use crate::handlers::query::MessageQueries;
use crate::handlers::recall::Recalling;
use crate::handlers::send::Sending;
use crate::stats::BrokerStats;
use crate::transaction::Transactions;

/// Everything that answers requests, one subsystem per family of codes.
#[derive(Debug)]
pub(crate) struct Handlers {
    pub acl: Acl,
    /// Controller mode only: role-change notices and the epoch cache.
    pub controller: Option<Arc<ControllerView>>,
    pub sending: Sending,
    pub recalling: Recalling,
    pub pulling: Pulling,
    pub popping: Popping,
    pub assignments: Assignments,
    pub membership: Membership,
    pub offsets: OffsetQueries,
    pub queries: MessageQueries,
    pub transactions: Arc<Transactions>,
    pub admin: Admin,
    /// Where request latencies are recorded.
    pub stats: Arc<BrokerStats>,
}

/// Serves one listening port: the main one, or the VIP port (`listenPort - 2`)
/// on which, as in Java, pulls are not served.
#[derive(Debug, Clone)]
pub(crate) struct BrokerService {
    pub handlers: Arc<Handlers>,
    pub vip: bool,
}

impl Service for BrokerService {
    /// Answers `req`, recording how long that took (`rocketmq_rpc_latency`,
    /// from the decoded request to its response being handed to the
    /// connection's writer). A pull held for long polling returns nothing
    /// here and is answered later: it is not timed.
    async fn handle(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        let requests = &self.handlers.stats.requests;
        let started = requests.enabled().then(Instant::now);
        let request_code = req.code;
        let response = self.dispatch(conn, req).await;
        if let (Some(response), Some(started)) = (&response, started) {
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            requests.rpc(request_code, response.code, elapsed_ms);
        }
        response
    }

    fn on_disconnected(&self, conn: &Connection) {
        let membership = &self.handlers.membership;
        for group in membership.clients.connection_closed(conn.id()) {
            tracing::info!("a consumer of group {group} disconnected ({})", conn.remote_addr());
            membership.notifier.group_changed(&group);
        }
    }
}

impl BrokerService {
    /// The requests only a controller-mode broker serves (Java answers
    /// SYSTEM_ERROR otherwise).
    fn controller_mode(&self, req: &RemotingCommand) -> Option<RemotingCommand> {
        use rmq_protocol::ResponseCode;
        let Some(controller) = &self.handlers.controller else {
            let refused = RemotingCommand::response(
                ResponseCode::SystemError,
                Some("this request only for controllerMode".to_owned()),
            );
            return (!req.is_oneway()).then_some(refused);
        };
        let response = if req.request_code() == RequestCode::NotifyBrokerRoleChanged {
            controller.role_change_notified();
            RemotingCommand::success()
        } else {
            RemotingCommand::success().with_body(controller.epoch_cache().encode())
        };
        (!req.is_oneway()).then_some(response)
    }

    async fn dispatch(&self, conn: &Connection, req: RemotingCommand) -> Option<RemotingCommand> {
        use RequestCode::*;
        let h = &self.handlers;
        if let Some(denied) = h.acl.check(conn, &req) {
            return Some(denied);
        }
        let response = match req.request_code() {
            SendMessage | SendMessageV2 | SendBatchMessage => h.sending.handle(conn, req).await,
            PullMessage | LitePullMessage if !self.vip => return h.pulling.handle(conn, req).await,
            HeartBeat => h.membership.heartbeat(conn, &req),
            UnregisterClient => h.membership.unregister(conn, &req),
            GetConsumerListByGroup => h.membership.consumer_list(&req),
            CheckClientConfig => h.membership.check_client_config(&req),
            LockBatchMq => h.membership.lock(conn, &req),
            UnlockBatchMq => h.membership.unlock(&req),
            QueryConsumerOffset => h.offsets.query_consumer_offset(&req),
            UpdateConsumerOffset => h.offsets.update_consumer_offset(&req),
            GetMaxOffset => h.offsets.max_offset(&req),
            GetMinOffset => h.offsets.min_offset(&req),
            GetEarliestMsgStoretime => h.offsets.earliest_store_time(&req),
            SearchOffsetByTimestamp => h.offsets.search_offset(&req),
            QueryMessage => h.queries.query_message(&req),
            ViewMessageById => {
                let gate = |topic: Option<&str>| h.acl.check_record_topic(conn, &req, topic);
                h.queries.view_message(&req, h.acl.enabled().then_some(&gate))
            }
            ConsumerSendMsgBack => {
                let gate = |topic: Option<&str>| h.acl.check_record_topic(conn, &req, topic);
                h.sending.send_back(&req, h.acl.enabled().then_some(&gate)).await
            }
            EndTransaction => return h.transactions.end(conn, &req),
            RecallMessage => h.recalling.recall(conn, &req).await,
            PullMessage | LitePullMessage => not_supported(&req),
            PopMessage => h.popping.pop(conn, &req).await,
            PeekMessage => h.popping.peek(&req),
            AckMessage => h.popping.ack(&req).await,
            BatchAckMessage => h.popping.batch_ack(&req).await,
            ChangeMessageInvisibletime => h.popping.change_invisible(&req).await,
            Notification => h.popping.notification(&req).await,
            PollingInfo => h.popping.polling_info(&req),
            QueryAssignment => h.assignments.query(&req).await,
            SetMessageRequestMode => h.assignments.set_mode(&req),
            GetAllMessageRequestMode => h.assignments.all_modes(),
            NotifyBrokerRoleChanged | GetBrokerEpochCache => return self.controller_mode(&req),
            _ => h.admin.handle(req).await,
        };
        Some(response)
    }
}
