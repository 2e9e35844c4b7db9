//! END_TRANSACTION (37): see [`crate::transaction`]. Java producers send it
//! oneway; a response is still built so that callers that wait learn why a
//! request was refused (the transport drops it for oneway requests).

use rmq_protocol::RemotingCommand;
use rmq_remoting::Connection;
use std::sync::Arc;

use crate::broker::Broker;

pub(crate) fn end_transaction(b: &Arc<Broker>, conn: &Connection, req: &RemotingCommand) -> Option<RemotingCommand> {
    crate::transaction::end_transaction(b, conn, req)
}
