//! The one place a store error becomes a response, worded as Java's
//! `SendMessageProcessor.handlePutMessageResult` words it: sends, committed
//! transaction messages and consumers' hand-backs all answer through here.

use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_store::{PutMessageStatus, StoreError};

use super::reply;

/// The answer to a put the store refused. `max_message_size` is quoted in
/// the remark of an illegal message.
pub(crate) fn put_refused(e: &StoreError, max_message_size: usize) -> RemotingCommand {
    let status = e.put_status();
    match status {
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => reply(
            ResponseCode::MessageIllegal,
            format!(
                "the message is illegal, maybe msg body or properties length not matched. msg body length limit {max_message_size} bytes, msg properties length limit 32k ({e})"
            ),
        ),
        PutMessageStatus::ServiceNotAvailable => reply(
            ResponseCode::ServiceNotAvailable,
            format!(
                "service not available now. It may be caused by one of the following reasons: the broker's disk is full, messages are put to the slave, message store has been shut down, etc. ({e})"
            ),
        ),
        PutMessageStatus::CreateMappedFileFailed => {
            reply(ResponseCode::SystemError, format!("create mapped file failed, server is busy or broken. ({e})"))
        }
        _ => reply(ResponseCode::SystemError, format!("{} ({e})", status.as_str())),
    }
}

/// The answer to a hand-back whose copy the store refused: SYSTEM_ERROR
/// with the status name, as Java's `consumerSendMsgBack` answers.
pub(crate) fn hand_back_refused(e: &StoreError) -> RemotingCommand {
    reply(ResponseCode::SystemError, e.put_status().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_as_java_maps_put_statuses() {
        let full = StoreError::ServiceNotAvailable(rmq_store::Unavailable::DiskFull);
        assert_eq!(put_refused(&full, 4096).response_code(), ResponseCode::ServiceNotAvailable);
        let big = StoreError::MessageIllegal("a body of 5000 bytes".into());
        let refused = put_refused(&big, 4096);
        assert_eq!(refused.response_code(), ResponseCode::MessageIllegal);
        assert!(refused.remark.unwrap().contains("limit 4096 bytes"));
        assert_eq!(hand_back_refused(&full).remark.as_deref(), Some("SERVICE_NOT_AVAILABLE"));
    }

    #[test]
    fn after_a_failed_flush_puts_are_refused_saying_why() {
        let refused = put_refused(&StoreError::ServiceNotAvailable(rmq_store::Unavailable::FlushFailed), 4096);
        assert_eq!(refused.response_code(), ResponseCode::ServiceNotAvailable);
        assert!(refused.remark.unwrap().contains("flush to disk failed"));
        let unflushed = StoreError::FlushFailed { reason: "EIO".into() };
        assert_eq!(put_refused(&unflushed, 4096).response_code(), ResponseCode::SystemError);
        assert_eq!(unflushed.put_status().as_str(), "FLUSH_DISK_TIMEOUT");
    }
}
