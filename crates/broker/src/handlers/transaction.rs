//! END_TRANSACTION (37). Issue 5 fills this in.

use rmq_protocol::RemotingCommand;
use rmq_remoting::{Connection, not_supported};
use std::sync::Arc;

use crate::broker::Broker;

/// Java producers send it oneway; `None` when nothing is to be answered.
pub(crate) fn end_transaction(_b: &Arc<Broker>, _conn: &Connection, req: &RemotingCommand) -> Option<RemotingCommand> {
    Some(not_supported(req))
}
