//! Keeping the NameServers informed: a full registration at boot and every
//! `registerNameServerPeriod`, a oneway one as soon as the topic table
//! changes, and unregistration at shutdown. The answers teach a slave where
//! its master is and give every broker the ORDER_TOPIC_CONFIG table.
//!
//! A master also learns from the NameServers which slaves its group has
//! (GET_BROKER_CLUSTER_INFO; the registration answer names only a slave's
//! master, not a master's slaves): every registration period, and at once
//! when its HA port refused a peer, at most once a second — so a slave that
//! registered just before connecting is admitted on its next try.

use rmq_remoting::CancellationToken;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

use crate::ha::Replication;
use crate::live_config::LiveConfig;
use crate::namesrv::Registrar;
use crate::tables::TopicTable;

/// The first periodic registration comes this long after the boot one.
const FIRST_PERIOD: Duration = Duration::from_secs(10);
/// After a boot registration some NameServer refused or did not answer (it is
/// still starting: rmq boots in milliseconds, `mqnamesrv & mqbroker` races),
/// registration is tried again this often until every NameServer has it,
/// rather than leaving producers without a route until the first period.
const BOOT_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Registration {
    pub registrar: Registrar,
    /// What is registered, and the signal of its changes.
    pub topics: Arc<TopicTable>,
    /// `brokerPermission` and `registerNameServerPeriod`.
    pub config: Arc<LiveConfig>,
    /// A slave learns its master from the answers.
    pub replication: Arc<Replication>,
}

impl Registration {
    /// One full registration with every NameServer; failures are logged.
    /// Whether every NameServer took it.
    pub(crate) async fn register(&self) -> bool {
        let permission = self.config.get().broker_permission;
        let mut all = true;
        for outcome in self.registrar.register_all(&self.topics.snapshot(), permission).await {
            match outcome {
                Ok(registered) => {
                    if let Some(order) = &registered.order_topics {
                        self.topics.apply_order_topics(order);
                    }
                    self.replication.on_registered(&registered);
                }
                Err(e) => {
                    all = false;
                    tracing::warn!("{e}");
                }
            }
        }
        all
    }

    /// A master: learns its group's registered slaves from the NameServers.
    /// If none answers, what was known stays.
    pub(crate) async fn learn_slaves(&self) {
        if let Some(slaves) = self.registrar.registered_slaves().await {
            tracing::debug!("HA: registered slaves of this group: {slaves:?}");
            self.replication.learn_slaves(slaves);
        }
    }

    /// Registers oneway, not waiting for answers (after a topic change).
    async fn register_oneway(&self) {
        let permission = self.config.get().broker_permission;
        self.registrar.register_all_oneway(&self.topics.snapshot(), permission).await;
    }

    pub(crate) async fn unregister(&self) {
        self.registrar.unregister_all().await;
    }

    /// Runs the periodic and the on-change registrations until `stop`, and,
    /// unless the boot registration reached every NameServer, retries it
    /// every [`BOOT_RETRY`] until it does.
    pub(crate) fn spawn(self: &Arc<Self>, booted: bool, stop: &CancellationToken, tasks: &mut JoinSet<()>) {
        if !booted {
            let retry = self.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(BOOT_RETRY) => {}
                    }
                    if retry.register().await {
                        tracing::info!("registered with every NameServer");
                        return;
                    }
                }
            });
        }
        let periodic = self.clone();
        let period = self.config.get().register_period();
        tasks.spawn(crate::periodic::every(stop.clone(), FIRST_PERIOD, period, move || {
            let periodic = periodic.clone();
            async move {
                periodic.register().await;
            }
        }));
        if self.replication.is_master() {
            let learner = self.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                loop {
                    // A NameServer that does not answer must not hold up shutdown.
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = learner.learn_slaves() => {}
                    }
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(period) => {}
                        _ = learner.replication.slaves_wanted() => {}
                    }
                }
            });
        }
        let on_change = self.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = on_change.topics.next_change() => on_change.register_oneway().await,
                }
            }
        });
    }
}
