//! Controller mode (RocketMQ 5's `enableControllerMode`): the controllers,
//! not `brokerId`/`brokerRole`, decide which broker of a group is master,
//! and elect a replica when the master stops heart-beating.
//!
//! How rmq does it (Java's `ReplicasManager`, reshaped):
//! * [`identity`]: the controller-assigned broker id, kept on disk;
//! * [`supervisor`]: register with the controller, learn (or ask for) the
//!   group's master, then serve in that role. A role change does not switch
//!   a running broker over piece by piece, as Java does: the broker stops
//!   serving and opens again in its new role, in-process. rmq opens a store
//!   in milliseconds, and a single path through [`crate::Broker::open`] for
//!   every role leaves no half-switched state. Clients see their
//!   connections closed once and reconnect, as after a restart.
//! * Epochs: a broker that becomes master appends `(epoch, its log end)` to
//!   `epochFileCheckpoint`; a broker that follows a master first compares
//!   its epochs with the master's (GET_BROKER_EPOCH_CACHE) and cuts what the
//!   master never had (`rmq_replication::epoch`), then adopts the master's
//!   epochs, since its log is now a prefix of the master's.
//! * [`in_sync`]: a master reports which replicas are in sync
//!   (CONTROLLER_ALTER_SYNC_STATE_SET); the controller elects only among them.
//! * [`lease`]: with `enableMasterLease`, a master takes sends only while the
//!   controller leader keeps confirming it, so a master cut off from the
//!   controllers stops before they elect another.
//!
//! Replication itself is classic HA on the wire (not Java's AutoSwitch
//! protocol): an rmq group in controller mode is all rmq.

mod identity;
mod in_sync;
mod lease;
mod link;
mod supervisor;

use std::sync::{Arc, Mutex, MutexGuard};

use rmq_protocol::body::controller::{EpochEntry as WireEpoch, EpochEntryCache};
use rmq_replication::epoch::{EpochFile, OPEN_END};
use rmq_store::MessageStore;
use tokio::sync::Notify;

pub(crate) use supervisor::run;

/// What the request handlers of a controller-mode broker reach: the epoch
/// file, and the supervisor's ear for role-change notifications.
#[derive(Debug)]
pub(crate) struct ControllerView {
    cluster: String,
    broker_name: String,
    epochs: Mutex<EpochFile>,
    notified: Notify,
    /// The serving generation's store and registered broker id.
    current: Mutex<Option<(Arc<MessageStore>, i64)>>,
    last_max_offset: std::sync::atomic::AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ControllerView {
    fn new(cluster: String, broker_name: String, epochs: EpochFile) -> ControllerView {
        ControllerView {
            cluster,
            broker_name,
            epochs: Mutex::new(epochs),
            notified: Notify::new(),
            current: Mutex::default(),
            last_max_offset: Default::default(),
        }
    }

    /// NOTIFY_BROKER_ROLE_CHANGED arrived: the supervisor asks the
    /// controller at once instead of at its next period.
    pub(crate) fn role_change_notified(&self) {
        self.notified.notify_one();
    }

    /// GET_BROKER_EPOCH_CACHE's answer.
    pub(crate) fn epoch_cache(&self) -> EpochEntryCache {
        let (max_offset, broker_id) =
            lock(&self.current).as_ref().map_or((0, -1), |(store, id)| (store.max_physical_offset().as_i64(), *id));
        let epoch_list = lock(&self.epochs)
            .entries()
            .into_iter()
            .map(|e| WireEpoch { epoch: e.epoch, start_offset: e.start, end_offset: e.end })
            .collect();
        EpochEntryCache {
            broker_id,
            broker_name: Some(self.broker_name.clone()),
            cluster_name: Some(self.cluster.clone()),
            epoch_list,
            max_offset,
        }
    }

    fn last_epoch(&self) -> i32 {
        lock(&self.epochs).last_epoch()
    }

    fn serving(&self, store: Option<(Arc<MessageStore>, i64)>) {
        *lock(&self.current) = store;
    }

    /// The serving store's log end; between two roles, the last one seen
    /// (the controller elects by it: a momentary 0 must not count).
    fn max_offset(&self) -> i64 {
        let now = lock(&self.current).as_ref().map(|(store, _)| store.max_physical_offset().as_i64());
        match now {
            Some(end) => {
                self.last_max_offset.store(end, std::sync::atomic::Ordering::Relaxed);
                end
            }
            None => self.last_max_offset.load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// The master's epochs as the wire carries them, for the epoch file's rules.
fn from_wire(list: &[WireEpoch]) -> Vec<rmq_replication::epoch::EpochEntry> {
    list.iter()
        .map(|e| rmq_replication::epoch::EpochEntry {
            epoch: e.epoch,
            start: e.start_offset,
            end: if e.end_offset <= 0 { OPEN_END } else { e.end_offset },
        })
        .collect()
}
