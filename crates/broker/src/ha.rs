//! Master/slave replication as the broker uses it (Java's `HAService`): the
//! HA server on masters, the HA client and the metadata sync on slaves, and the
//! SYNC_MASTER wait of the send path. The protocol and its state machines live
//! in `rmq_replication`; this module wires them to the broker's config, store,
//! NameServer answers and runtime info.
//!
//! SYNC_MASTER follows 4.9.8: a send whose message asks to wait (`WAIT`, the
//! default) is answered SEND_OK once a slave has acknowledged the end of its
//! records, FLUSH_SLAVE_TIMEOUT after `slaveTimeout`, and SLAVE_NOT_AVAILABLE
//! at once when no slave is connected or the best one is `haSlaveFallbehindMax`
//! or more behind. A slave acknowledges what it has appended to its
//! memory-mapped CommitLog (the page cache), not what it has flushed — as
//! Java's slave does. The message is stored on the master in every case.
//!
//! Unlike Java, a master replicates only to the slaves of its broker group
//! that the NameServers list (and to `haAllowedAddresses`): it asks them with
//! GET_BROKER_CLUSTER_INFO (see `registration`), and any other peer of the HA
//! port is closed unread (`rmq_replication::admission`).

mod slave_sync;

use rmq_model::BrokerRole;
use rmq_protocol::ResponseCode;
use rmq_remoting::{CancellationToken, ClientTls};
use rmq_replication::{Admission, HaConfig, Master, ReplicaHello, SecretLookup, Slave, SyncOutcome};
use rmq_store::{MessageStore, PutResult, StoreConfig, WriteLease};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;

use crate::config::BrokerConfig;
use crate::namesrv::Registered;

pub(crate) use slave_sync::{MetadataSync, MirroredTables};

/// Replication state of this broker: one side or the other, fixed by its role.
#[derive(Debug)]
pub struct Replication {
    side: Side,
    /// SYNC_MASTER only: how long a send waits for a slave.
    slave_timeout: Duration,
    ha_port: u16,
    /// `haListenAddress` (or an explicit `brokerIP2`), else every interface.
    ha_bind_ip: IpAddr,
    /// `haMasterAddress`, when set: overrides what NameServers say.
    fixed_master: Option<String>,
    /// For log lines.
    broker_name: String,
    /// Controller mode's `minInSyncReplicas` rule: the in-sync set has fewer
    /// members than it asks. One flag, set by the in-sync review, so the send
    /// path pays one load.
    too_few_in_sync: AtomicBool,
    /// `enableMasterLease`: until when this master may take writes. The
    /// store holds it too and refuses every put outside it, the broker's own
    /// included; the send path asks it first to word its answer.
    lease: Option<Arc<WriteLease>>,
}

/// Why a master in controller mode refuses a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ControllerRefusal {
    /// Fewer in-sync members than `minInSyncReplicas`: sends that wait only.
    TooFewInSync,
    /// No controller leader has confirmed the master within its lease: every send.
    LeaseLapsed,
}

#[derive(Debug)]
enum Side {
    Master { master: Arc<Master>, sync: bool },
    Slave { slave: Arc<Slave>, metadata: Arc<MetadataSync> },
}

impl Replication {
    /// `tls`: how a slave connects to its master's listen port for the metadata sync.
    /// `ha_accounts`: with `haAuthEnable`, the accounts a slave must prove.
    pub fn new(
        config: &BrokerConfig,
        store: &StoreConfig,
        tls: Option<ClientTls>,
        ha_accounts: Option<SecretLookup>,
    ) -> Replication {
        let ha = HaConfig {
            heartbeat_interval_ms: config.ha_send_heartbeat_interval.max(1),
            housekeeping_interval_ms: config.ha_housekeeping_interval.max(1),
            transfer_batch_size: config.ha_transfer_batch_size,
            slave_fallbehind_max: config.ha_slave_fallbehind_max,
            max_waiters: config.send_thread_pool_queue_capacity.max(1),
            ..HaConfig::default()
        };
        let side = match store.broker_role {
            BrokerRole::Slave => {
                let mut slave = Slave::new(ha);
                if let Some(credentials) = config.ha_credentials() {
                    slave = slave.with_credentials(credentials);
                }
                if config.enable_controller_mode {
                    slave = slave.with_hello(ReplicaHello {
                        broker_id: config.broker_id,
                        sync_from_last_file: config.sync_from_last_file,
                        async_learner: config.async_learner,
                    });
                }
                Side::Slave { slave: Arc::new(slave), metadata: Arc::new(MetadataSync::new(tls)) }
            }
            role => {
                // Checked by `BrokerConfig::validate`; should it be skipped, only
                // registered slaves are admitted.
                let allowed = config.ha_allow_list().unwrap_or_default();
                let master = Master::new(ha, Admission::guarded(allowed));
                let master = match ha_accounts {
                    Some(accounts) => master.with_auth(accounts),
                    None => master,
                };
                Side::Master { master: Arc::new(master), sync: role == BrokerRole::SyncMaster }
            }
        };
        let leased_master =
            config.enable_controller_mode && config.enable_master_lease && store.broker_role != BrokerRole::Slave;
        // Java takes `haMasterAddress` only when it looks like an address.
        let fixed_master =
            config.ha_master_address.clone().filter(|a| a.trim().len() >= 6).map(|a| a.trim().to_owned());
        Replication {
            side,
            slave_timeout: Duration::from_millis(config.slave_timeout),
            ha_port: config.ha_port(),
            ha_bind_ip: config.ha_bind_ip().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            fixed_master,
            broker_name: config.broker_name.clone().unwrap_or_default(),
            too_few_in_sync: AtomicBool::new(false),
            // A leased master takes no write before its first renewal, even one
            // that comes before the lease keeper first runs.
            lease: leased_master.then(|| Arc::new(WriteLease::new())),
        }
    }

    /// The metadata sync of a slave.
    pub(crate) fn metadata(&self) -> Option<&Arc<MetadataSync>> {
        match &self.side {
            Side::Slave { metadata, .. } => Some(metadata),
            Side::Master { .. } => None,
        }
    }

    /// A master: each connected slave's lag (none on a slave).
    pub(crate) fn slave_lags(&self, store: &rmq_store::MessageStore) -> Vec<rmq_replication::sync::SlaveLag> {
        match &self.side {
            Side::Master { master, .. } => master.status(store.max_physical_offset()).slaves,
            Side::Slave { .. } => Vec::new(),
        }
    }

    /// GET_BROKER_RUNTIME_INFO keys about replication.
    pub(crate) fn runtime_entries(&self, store: &rmq_store::MessageStore) -> Vec<(&'static str, String)> {
        match &self.side {
            Side::Master { master, .. } => {
                let max = store.max_physical_offset();
                let status = master.status(max);
                let (bytes, ms) = status.lag.map_or((-1, -1), |l| (l.bytes as i64, l.ms as i64));
                vec![
                    ("haConnectionCount", status.connections.to_string()),
                    ("haReplicatedOffset", status.replicated.map_or(-1, |o| o.as_i64()).to_string()),
                    ("haReplicationLagBytes", bytes.to_string()),
                    ("haReplicationLagMs", ms.to_string()),
                    ("haSyncWaiting", status.waiting.to_string()),
                    ("haRefusedConnections", status.refused.to_string()),
                ]
            }
            Side::Slave { slave, .. } => {
                let status = slave.status();
                let behind =
                    status.master_position.map_or(-1, |p| p.0.saturating_sub(store.max_physical_offset().0) as i64);
                vec![
                    ("haMasterAddress", status.master.unwrap_or_default()),
                    ("haConnectionCount", u8::from(status.connected).to_string()),
                    ("haMasterTransferOffset", status.master_position.map_or(-1, |o| o.as_i64()).to_string()),
                    ("haSlaveBehindBytes", behind.to_string()),
                ]
            }
        }
    }

    /// For SYNC_MASTER: waits until a slave holds `put`, answering
    /// FLUSH_SLAVE_TIMEOUT or SLAVE_NOT_AVAILABLE when it does not.
    pub(crate) async fn wait_replicated(&self, put: &PutResult) -> ResponseCode {
        let Side::Master { master, sync: true } = &self.side else {
            return ResponseCode::Success;
        };
        // In sync or not is judged against this message's end, as Java's
        // isSlaveOK does, not against whatever was written since.
        let outcome = master.wait_for_slave(put.end_offset, put.end_offset, self.slave_timeout).await;
        match outcome {
            SyncOutcome::Replicated => ResponseCode::Success,
            SyncOutcome::NotAvailable => ResponseCode::SlaveNotAvailable,
            SyncOutcome::Timeout | SyncOutcome::Busy => {
                tracing::warn!(
                    "SYNC_MASTER: no slave confirmed offset {} within {:?} ({outcome:?})",
                    put.end_offset,
                    self.slave_timeout
                );
                ResponseCode::FlushSlaveTimeout
            }
        }
    }

    /// A SYNC master in controller mode: how many replicas a send waits for
    /// (`inSyncReplicas` - 1, or with `allAckInSyncStateSet` the other
    /// members of the in-sync set).
    pub(crate) fn set_required_acks(&self, required: usize) {
        if let Side::Master { master, sync: true } = &self.side {
            master.set_required_acks(required);
        }
    }

    /// A master in controller mode: the in-sync set now has `members` (the
    /// master included); a waiting send needs at least `min` of them.
    pub(crate) fn set_in_sync(&self, members: usize, min: usize) {
        self.too_few_in_sync.store(members < min, Ordering::Relaxed);
    }

    /// A master under `enableMasterLease`: it may take writes until `until`
    /// (never moved back).
    pub(crate) fn hold_lease_until(&self, until: std::time::Instant) {
        if let Some(lease) = &self.lease {
            lease.extend_to(until);
        }
    }

    /// The lease the store must hold its puts to; none outside
    /// `enableMasterLease`.
    pub(crate) fn write_lease(&self) -> Option<Arc<WriteLease>> {
        self.lease.clone()
    }

    /// Why a send (that waits for replicas, or not) may not be stored now;
    /// always `None` outside controller mode.
    pub(crate) fn refusal(&self, wait: bool) -> Option<ControllerRefusal> {
        if self.lease.as_ref().is_some_and(|lease| lease.lapsed()) {
            Some(ControllerRefusal::LeaseLapsed)
        } else if wait && self.too_few_in_sync.load(Ordering::Relaxed) {
            Some(ControllerRefusal::TooFewInSync)
        } else {
            None
        }
    }

    /// A master: the addresses the NameServers list as its group's slaves.
    pub(crate) fn learn_slaves(&self, slaves: Vec<IpAddr>) {
        if let Side::Master { master, .. } = &self.side {
            master.set_registered_slaves(slaves);
        }
    }

    /// A master: resolves when a refused HA connection asks for the
    /// registered slaves again. A slave: never.
    pub(crate) async fn slaves_wanted(&self) {
        match &self.side {
            Side::Master { master, .. } => master.refresh_wanted().await,
            Side::Slave { .. } => std::future::pending().await,
        }
    }

    pub(crate) fn is_master(&self) -> bool {
        matches!(self.side, Side::Master { .. })
    }

    /// What a NameServer answered to a registration: a slave learns its
    /// master's addresses from it.
    pub(crate) fn on_registered(&self, answer: &Registered) {
        let Side::Slave { slave, metadata } = &self.side else {
            return;
        };
        if let Some(master_addr) = &answer.master_addr {
            metadata.set_master(answer.ha_server_addr.as_deref(), master_addr);
        }
        if self.fixed_master.is_none()
            && let Some(ha) = &answer.ha_server_addr
            && slave.set_master(ha)
        {
            tracing::info!("HA: master of {} is at {ha} (from name server {})", self.broker_name, answer.namesrv);
        }
    }

    /// Starts the HA server (masters) or the HA client and the metadata sync
    /// into `tables` (slaves).
    pub(crate) fn spawn(
        &self,
        store: &Arc<MessageStore>,
        tables: &MirroredTables,
        stop: &CancellationToken,
        tasks: &mut JoinSet<()>,
    ) -> Result<(), crate::BrokerError> {
        match &self.side {
            Side::Master { master, .. } => {
                let addr = SocketAddr::from((self.ha_bind_ip, self.ha_port));
                // As Java, a master whose HA port is taken does not start: its
                // slaves could never replicate.
                let listener = std::net::TcpListener::bind(addr)
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                    .and_then(tokio::net::TcpListener::from_std)
                    .map_err(|source| crate::BrokerError::Listen { addr, source })?;
                tracing::info!("HA: serving slaves on {addr}");
                tasks.spawn(master.clone().serve(listener, store.clone(), stop.clone()));
            }
            Side::Slave { slave, metadata } => {
                if let Some(fixed) = &self.fixed_master {
                    slave.set_master(fixed);
                    tracing::info!("HA: master fixed by haMasterAddress at {fixed}");
                }
                tasks.spawn(slave.clone().run(store.clone(), stop.clone()));
                tasks.spawn(slave_sync::run(tables.clone(), slave.clone(), metadata.clone(), stop.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replication(pairs: &[(&str, &str)], role: BrokerRole) -> Replication {
        let mut config = BrokerConfig::default();
        config.apply_all(pairs.iter().copied()).unwrap();
        let store = StoreConfig { broker_role: role, ..StoreConfig::default() };
        Replication::new(&config, &store, None, None)
    }

    #[test]
    fn a_leased_master_refuses_sends_outside_its_lease_and_others_never() {
        let leased =
            [("enableControllerMode", "true"), ("controllerAddr", "127.0.0.1:9878"), ("enableMasterLease", "true")];
        let master = replication(&leased, BrokerRole::AsyncMaster);
        assert_eq!(master.refusal(false), Some(ControllerRefusal::LeaseLapsed), "no send before the first renewal");
        let now = std::time::Instant::now();
        master.hold_lease_until(now + Duration::from_secs(5));
        assert_eq!(master.refusal(true), None);
        master.write_lease().unwrap().revoke();
        assert_eq!(master.refusal(false), Some(ControllerRefusal::LeaseLapsed));

        assert!(replication(&leased, BrokerRole::Slave).write_lease().is_none(), "a replica holds no lease");
        assert_eq!(replication(&[], BrokerRole::AsyncMaster).refusal(true), None, "no lease outside controller mode");
        master.set_in_sync(1, 2);
        master.hold_lease_until(now + Duration::from_secs(5));
        assert_eq!(master.refusal(true), Some(ControllerRefusal::TooFewInSync));
        assert_eq!(master.refusal(false), None, "minInSyncReplicas counts for sends that wait only");
    }
}
