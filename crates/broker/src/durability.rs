//! What a stored message was promised before it is acknowledged: the disk
//! under SYNC_FLUSH, a slave under SYNC_MASTER. Sends and hand-backs both
//! wait here, so a consumer never moves past a message whose retry copy is
//! less safe than a sent message.

use rmq_model::FlushDiskType;
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_store::{MessageStore, OffsetWaiter, PutResult};
use std::sync::Arc;
use std::time::Duration;

use crate::ha::{ControllerRefusal, Replication};

#[derive(Debug)]
pub(crate) struct Durability {
    /// The store's flushed offset, watched under SYNC_FLUSH; `None` under
    /// ASYNC_FLUSH.
    flushed: Option<(OffsetWaiter, Duration)>,
    replication: Arc<Replication>,
}

impl Durability {
    /// What `store` promises under its `flushDiskType`, and `replication`'s
    /// promise under SYNC_MASTER.
    pub(crate) fn new(store: &MessageStore, replication: Arc<Replication>) -> Durability {
        let config = store.config();
        let flushed = (config.flush_disk_type == FlushDiskType::SyncFlush)
            .then(|| (store.flushed_waiter(), Duration::from_millis(config.sync_flush_timeout)));
        Durability { flushed, replication }
    }

    /// Controller mode: the answer to a write that may not be stored at all.
    /// With `minInSyncReplicas`, one that waits while the in-sync set is too
    /// small (Java's answer); with `enableMasterLease`, every write once the
    /// lease has lapsed (an rmq answer: SERVICE_NOT_AVAILABLE, which producers
    /// retry on another master and consumers answer by sending the message
    /// back through another broker).
    pub(crate) fn refusal(&self, wait: bool) -> Option<RemotingCommand> {
        self.replication.refusal(wait).map(|why| match why {
            ControllerRefusal::TooFewInSync => {
                RemotingCommand::response(ResponseCode::SystemError, "in-sync replicas not enough".to_owned())
            }
            // Worded as the store words its own refusal of the same put.
            ControllerRefusal::LeaseLapsed => RemotingCommand::response(
                ResponseCode::ServiceNotAvailable,
                rmq_store::Unavailable::LeaseLapsed.to_string(),
            ),
        })
    }

    /// No wait for the disk (ASYNC_FLUSH); only `replication`'s.
    #[cfg(test)]
    pub(crate) fn without_disk(replication: Arc<Replication>) -> Durability {
        Durability { flushed: None, replication }
    }

    /// Waits for the disk and a slave at once (as Java combines its flush and
    /// replica requests), the slave's failure reported over the disk's.
    /// Success when neither applies.
    pub(crate) async fn wait(&self, put: &PutResult) -> ResponseCode {
        self.wait_with_reason(put).await.0
    }

    /// As [`Durability::wait`], with a remark for the producer when the disk
    /// failed (a failed flush answers FLUSH_DISK_TIMEOUT at once, as Java
    /// answers a flush that did not succeed, and says why).
    pub(crate) async fn wait_with_reason(&self, put: &PutResult) -> (ResponseCode, Option<String>) {
        let flushed = async {
            let Some((flushed, timeout)) = &self.flushed else {
                return (ResponseCode::Success, None);
            };
            match tokio::time::timeout(*timeout, flushed.reached(put.end_offset)).await {
                Ok(Ok(())) => (ResponseCode::Success, None),
                Ok(Err(reason)) => (
                    ResponseCode::FlushDiskTimeout,
                    Some(format!(
                        "FLUSH_DISK_TIMEOUT: the broker's CommitLog flush failed ({reason}); the message was written \
                         but may not be on disk, and the broker takes no more messages until it is restarted"
                    )),
                ),
                Err(_) => {
                    tracing::warn!("flush to disk did not reach {} within {timeout:?}", put.end_offset);
                    (ResponseCode::FlushDiskTimeout, None)
                }
            }
        };
        let (flushed, replicated) = tokio::join!(flushed, self.replication.wait_replicated(put));
        if replicated != ResponseCode::Success { (replicated, None) } else { flushed }
    }
}
