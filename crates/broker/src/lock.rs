//! Queue locks of orderly consumers (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ).
//!
//! Issue 5 fills this in; until then the lock requests are answered
//! REQUEST_CODE_NOT_SUPPORTED by `handlers::lock`.

use rmq_store::StoreConfig;

use crate::config::BrokerConfig;

/// Which client holds which queue of which group, with lease expiry.
#[derive(Debug, Default)]
pub struct QueueLocks {}

impl QueueLocks {
    pub fn new(_config: &BrokerConfig, _store: &StoreConfig) -> QueueLocks {
        QueueLocks {}
    }
}
