//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42). Issue 5 fills this in.

use rmq_protocol::RemotingCommand;
use rmq_remoting::{Connection, not_supported};
use std::sync::Arc;

use crate::broker::Broker;

pub(crate) fn lock(_b: &Arc<Broker>, _conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    not_supported(req)
}

pub(crate) fn unlock(_b: &Arc<Broker>, _conn: &Connection, req: &RemotingCommand) -> RemotingCommand {
    not_supported(req)
}
