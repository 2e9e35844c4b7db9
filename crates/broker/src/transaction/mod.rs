//! Transactional messages: END_TRANSACTION and the check-back service
//! (§8.4). Issue 5 fills this in; half messages are already parked in
//! `RMQ_SYS_TRANS_HALF_TOPIC` by the send path.

use rmq_remoting::CancellationToken;
use rmq_store::StoreConfig;
use std::sync::Arc;
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::config::BrokerConfig;

/// State of the transaction check-back service.
#[derive(Debug, Default)]
pub struct Transactions {}

impl Transactions {
    pub fn new(_config: &BrokerConfig, _store: &StoreConfig) -> Transactions {
        Transactions {}
    }
}

/// Starts the check-back service on masters.
pub(crate) fn spawn(_broker: &Arc<Broker>, _stop: &CancellationToken, _tasks: &mut JoinSet<()>) {}
