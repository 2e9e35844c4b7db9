//! What the connection limits of the broker's remoting ports refused or
//! closed, for GET_BROKER_RUNTIME_INFO (`mqadmin brokerStatus`). The ports
//! are bound after the broker is built, so their counters are added here
//! by `run` once they exist.

use rmq_remoting::{LimitCounters, LimitSnapshot};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub(crate) struct PortLimits(Mutex<Vec<Arc<LimitCounters>>>);

impl PortLimits {
    /// Reports the counters of one more port.
    pub(crate) fn watch(&self, counters: Arc<LimitCounters>) {
        self.ports().push(counters);
    }

    /// The counts of every port, summed.
    pub(crate) fn total(&self) -> LimitSnapshot {
        self.ports().iter().map(|port| port.snapshot()).fold(LimitSnapshot::default(), |sum, port| LimitSnapshot {
            refused_max_connections: sum.refused_max_connections + port.refused_max_connections,
            refused_per_ip: sum.refused_per_ip + port.refused_per_ip,
            write_timeouts: sum.write_timeouts + port.write_timeouts,
            frame_timeouts: sum.frame_timeouts + port.frame_timeouts,
        })
    }

    /// rmq's own runtime-info keys, with their values.
    pub(crate) fn entries(&self) -> [(&'static str, u64); 4] {
        let total = self.total();
        [
            ("refusedConnections", total.refused_max_connections),
            ("refusedConnectionsPerIp", total.refused_per_ip),
            ("writeTimeoutClosedConnections", total.write_timeouts),
            ("frameTimeoutClosedConnections", total.frame_timeouts),
        ]
    }

    fn ports(&self) -> std::sync::MutexGuard<'_, Vec<Arc<LimitCounters>>> {
        // One push or one read per critical section: poison leaves nothing half-done.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
