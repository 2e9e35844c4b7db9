//! ACL 1.0 (`aclEnable`, `conf/plain_acl.yml`, §9). Issue 5 fills this in.

use rmq_protocol::RemotingCommand;
use rmq_remoting::Connection;
use rmq_store::StoreConfig;

use crate::broker::Broker;
use crate::config::BrokerConfig;

/// The access rules in force.
#[derive(Debug, Default)]
pub struct Acl {}

impl Acl {
    pub fn new(_config: &BrokerConfig, _store: &StoreConfig) -> Acl {
        Acl {}
    }
}

/// Checks a request before it is dispatched: `Some(refusal)` when ACL is on
/// and the request may not pass.
pub(crate) fn check(_broker: &Broker, _conn: &Connection, _request: &RemotingCommand) -> Option<RemotingCommand> {
    None
}
