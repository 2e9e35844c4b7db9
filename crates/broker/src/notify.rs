//! NOTIFY_CONSUMER_IDS_CHANGED: when a consumer group gains or loses a
//! client, every consumer of it is told at once (oneway), so that it
//! rebalances now instead of at its next period (20 s in Java's client).

use rmq_protocol::header::ConsumerGroupRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode};
use std::sync::Arc;

use crate::background::Background;
use crate::clients::Clients;
use crate::live_config::LiveConfig;
use crate::tables::SubscriptionGroups;

#[derive(Debug)]
pub(crate) struct ConsumerNotifier {
    /// `notifyConsumerIdsChangedEnable`, the broker-wide switch.
    pub config: Arc<LiveConfig>,
    /// Each group's own switch.
    pub groups: Arc<SubscriptionGroups>,
    /// The group's connections.
    pub clients: Arc<Clients>,
    /// The oneway sends run here, tracked for shutdown.
    pub background: Background,
}

impl ConsumerNotifier {
    /// Tells every consumer of `group` that its membership changed, if the
    /// broker and the group allow it.
    pub(crate) fn group_changed(&self, group: &str) {
        if !self.config.get().notify_consumer_ids_changed_enable {
            return;
        }
        if self.groups.get(group).is_some_and(|g| !g.notify_consumer_ids_changed_enable) {
            return;
        }
        let header = ConsumerGroupRequestHeader { consumer_group: group.to_owned() };
        for conn in self.clients.consumer_connections(group) {
            let request = RemotingCommand::request(RequestCode::NotifyConsumerIdsChanged, &header);
            self.background.spawn(async move {
                if let Err(e) = conn.oneway(request).await {
                    tracing::debug!("notify {} failed: {e}", conn.remote_addr());
                }
            });
        }
    }
}
