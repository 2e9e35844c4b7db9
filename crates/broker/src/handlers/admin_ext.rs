//! The admin requests of `mqadmin` beyond topics and configs: statistics,
//! connections, offsets resets, relays to clients (issue 5 item 4 / issue 7).
//! Every code not handled elsewhere ends here.

use rmq_protocol::RemotingCommand;
use rmq_remoting::{Connection, not_supported};
use std::sync::Arc;

use crate::broker::Broker;

pub(crate) async fn handle(_b: &Arc<Broker>, _conn: &Connection, req: RemotingCommand) -> RemotingCommand {
    not_supported(&req)
}
