//! Master/slave replication as the broker uses it (issue 6): the HA server on
//! masters, the HA client and metadata sync on slaves, and SYNC_MASTER waits.

use rmq_protocol::ResponseCode;
use rmq_remoting::CancellationToken;
use rmq_store::{PutResult, StoreConfig};
use std::sync::Arc;
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::config::BrokerConfig;
use crate::namesrv::Registered;

/// Replication state of this broker.
#[derive(Debug, Default)]
pub struct Replication {}

impl Replication {
    pub fn new(_config: &BrokerConfig, _store: &StoreConfig) -> Replication {
        Replication {}
    }
}

impl Broker {
    /// For SYNC_MASTER: waits until a slave holds `put`, answering
    /// FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE when it does not.
    pub(crate) async fn wait_replicated(&self, _put: &PutResult) -> ResponseCode {
        ResponseCode::Success
    }

    /// What a NameServer answered to a registration: a slave learns its
    /// master's addresses from it.
    pub(crate) fn on_registered(&self, _answer: &Registered) {}
}

/// Starts the HA server (masters) or the HA client and metadata sync (slaves).
pub(crate) fn spawn(_broker: &Arc<Broker>, _stop: &CancellationToken, _tasks: &mut JoinSet<()>) {}
