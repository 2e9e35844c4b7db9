//! [`Broker`]: every part of a running broker, built once by [`Broker::open`]
//! and shared by the request handlers and background tasks through an `Arc`.
//! Nothing in it is filled in later: what exists, exists from the start.

use rmq_model::BrokerRole;
use rmq_remoting::{Client, ClientConfig, Connection};
use rmq_store::config_file::ConfigFiles;
use rmq_store::{MessageStore, StoreHooks};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;
use tokio::sync::Semaphore;

use crate::acl::Acl;
use crate::clients::Clients;
use crate::config::BrokerConfig;
use crate::groups::SubscriptionGroups;
use crate::ha::Replication;
use crate::lock::QueueLocks;
use crate::long_poll::PullWaiters;
use crate::namesrv::{BrokerIdentity, Registrar};
use crate::offsets::ConsumerOffsets;
use crate::schedule::DelayOffsets;
use crate::settings::Settings;
use crate::stats::BrokerStats;
use crate::topics::{TopicDefaults, TopicTable};
use crate::transaction::Transactions;
use crate::{BrokerError, now_ms};

/// The shared state of one broker process.
#[derive(Debug)]
pub struct Broker {
    config: RwLock<BrokerConfig>,
    pub(crate) identity: BrokerIdentity,
    pub(crate) role: BrokerRole,
    pub(crate) store: Arc<MessageStore>,
    pub(crate) topics: TopicTable,
    pub(crate) groups: SubscriptionGroups,
    pub(crate) offsets: ConsumerOffsets,
    pub(crate) clients: Clients,
    pub(crate) pulls: Arc<PullWaiters>,
    pub(crate) registrar: Registrar,
    pub(crate) files: ConfigFiles,
    pub(crate) stats: BrokerStats,
    /// Delivery progress of delayed messages, per level.
    pub(crate) delay_offsets: DelayOffsets,
    /// Queue locks of orderly consumers.
    pub(crate) locks: QueueLocks,
    /// Transaction check-back state.
    pub(crate) transactions: Transactions,
    /// ACL rules.
    pub(crate) acl: Acl,
    /// Master/slave replication.
    pub(crate) ha: Replication,
    /// Sends in progress; past `sendThreadPoolQueueCapacity` senders get SYSTEM_BUSY.
    pub(crate) send_permits: Semaphore,
    /// KiB of message bodies held by sends in progress, at most
    /// [`SEND_BYTES_IN_FLIGHT_PER_MAX_MESSAGE`] × `maxMessageSize`: a flood of
    /// large messages gets SYSTEM_BUSY instead of growing memory.
    pub(crate) send_bytes: Semaphore,
    /// Pulls in progress, held ones included.
    pub(crate) pull_permits: Semaphore,
    pub(crate) boot_ms: i64,
    /// The offsets' change count at their last successful write.
    offsets_persisted: std::sync::atomic::AtomicU64,
}

/// Tells the broker's long-polling waiters about every dispatched message.
#[derive(Debug)]
struct WakePulls(Arc<PullWaiters>);

impl rmq_store::DispatchListener for WakePulls {
    fn on_dispatch(&self, m: &rmq_store::Dispatched<'_>) {
        self.0.arrived(m.topic, m.queue_id);
    }
}

impl Broker {
    /// Opens the store and the config tables of a resolved configuration.
    pub fn open(settings: Settings) -> Result<Broker, BrokerError> {
        let Settings { broker: config, store: store_config } = settings;
        let identity = Settings::identity_of(&config);
        let role = store_config.broker_role;
        let pulls = Arc::new(PullWaiters::new());
        let files = ConfigFiles::new(store_config.config_dir());
        let hooks = StoreHooks { listener: Some(Arc::new(WakePulls(pulls.clone()))), ..StoreHooks::default() };
        let locks = QueueLocks::new(&config, &store_config);
        let transactions = Transactions::new(&config, &store_config);
        let acl = Acl::new(&config, &store_config);
        let ha = Replication::new(&config, &store_config);
        let max_message_size = store_config.max_message_size;
        let store = Arc::new(MessageStore::open(store_config, hooks)?);
        let now = now_ms();
        let topics = TopicTable::new(
            &TopicDefaults {
                cluster_name: config.broker_cluster_name.clone(),
                broker_name: identity.broker_name.clone(),
                auto_create_topic_enable: config.auto_create_topic_enable,
                default_topic_queue_nums: config.default_topic_queue_nums,
                cluster_topic_enable: config.cluster_topic_enable,
                broker_topic_enable: config.broker_topic_enable,
                trace_topic_enable: config.trace_topic_enable,
                trace_topic_name: config.msg_trace_topic_name.clone(),
            },
            now,
        );
        if let Some(stored) = files.load_topics()? {
            topics.load(stored);
        }
        let groups = SubscriptionGroups::new(now);
        if let Some(stored) = files.load_subscription_groups()? {
            groups.load(stored);
        }
        let offsets = ConsumerOffsets::new();
        if let Some(stored) = files.load_consumer_offsets()? {
            offsets.put_all(stored);
        }
        let delay_offsets = DelayOffsets::load(files.load_delay_offsets()?);
        let client = Client::new(
            ClientConfig { connect_timeout: Duration::from_secs(3), max_frame: rmq_protocol::DEFAULT_MAX_FRAME },
            Arc::new(rmq_remoting::RejectAll),
        );
        let registrar = Registrar::new(
            client.clone(),
            config.namesrv_list(),
            identity.clone(),
            Duration::from_millis(config.register_broker_timeout_mills),
            config.compressed_register,
        );
        Ok(Broker {
            send_permits: Semaphore::new(config.send_thread_pool_queue_capacity.max(1)),
            send_bytes: Semaphore::new(send_budget_kib(max_message_size)),
            pull_permits: Semaphore::new(config.pull_thread_pool_queue_capacity.max(1)),
            config: RwLock::new(config),
            identity,
            role,
            store,
            topics,
            groups,
            offsets,
            clients: Clients::new(),
            pulls,
            registrar,
            files,
            stats: BrokerStats::new(),
            delay_offsets,
            locks,
            transactions,
            acl,
            ha,
            boot_ms: now,
            offsets_persisted: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The broker's configuration; do not hold the guard across an await.
    pub fn config(&self) -> RwLockReadGuard<'_, BrokerConfig> {
        self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies runtime config changes (UPDATE_BROKER_CONFIG).
    pub(crate) fn update_config(&self, f: impl FnOnce(&mut BrokerConfig)) {
        f(&mut self.config.write().unwrap_or_else(|e| e.into_inner()));
    }

    pub fn identity(&self) -> &BrokerIdentity {
        &self.identity
    }

    pub fn store(&self) -> &Arc<MessageStore> {
        &self.store
    }

    pub fn is_master(&self) -> bool {
        self.role.is_master()
    }

    /// Writes `topics.json`; failures are logged, the table stays in memory.
    pub(crate) fn persist_topics(&self) {
        if let Err(e) = self.files.save_topics(&self.topics.snapshot()) {
            tracing::error!("persist topics.json failed: {e}");
        }
    }

    pub(crate) fn persist_groups(&self) {
        if let Err(e) = self.files.save_subscription_groups(&self.groups.snapshot()) {
            tracing::error!("persist subscriptionGroup.json failed: {e}");
        }
    }

    pub(crate) fn persist_offsets(&self) {
        let version = self.offsets.change_count();
        if let Err(e) = self.files.save_consumer_offsets(&self.offsets.snapshot()) {
            tracing::error!("persist consumerOffset.json failed: {e}");
            return;
        }
        self.offsets_persisted.store(version, std::sync::atomic::Ordering::Release);
    }

    /// Writes `consumerOffset.json` if offsets changed since the last write.
    pub(crate) fn persist_offsets_if_changed(&self) {
        if self.offsets.change_count() != self.offsets_persisted.load(std::sync::atomic::Ordering::Acquire) {
            self.persist_offsets();
        }
    }

    /// After a topic change: persist and tell the NameServers at once, oneway,
    /// without holding up the request that caused it.
    pub(crate) fn topics_changed(self: &Arc<Self>) {
        self.persist_topics();
        let broker = self.clone();
        tokio::spawn(async move {
            let permission = broker.config().broker_permission;
            broker.registrar.register_all_oneway(&broker.topics.snapshot(), permission).await;
        });
    }

    /// Tells every consumer of `group` that its membership changed, if the
    /// group and the broker allow it (NOTIFY_CONSUMER_IDS_CHANGED, oneway).
    pub(crate) fn notify_consumers_changed(&self, group: &str) {
        if !self.config().notify_consumer_ids_changed_enable {
            return;
        }
        if self.groups.get(group).is_some_and(|g| !g.notify_consumer_ids_changed_enable) {
            return;
        }
        let header = rmq_protocol::header::ConsumerGroupRequestHeader { consumer_group: group.to_owned() };
        for conn in self.clients.consumer_connections(group) {
            let request =
                rmq_protocol::RemotingCommand::request(rmq_protocol::RequestCode::NotifyConsumerIdsChanged, &header);
            notify_oneway(conn, request);
        }
    }
}

/// How many maximum-size messages may be in flight at once, in bytes: with
/// the default 4 MiB `maxMessageSize`, 256 MiB of bodies.
pub(crate) const SEND_BYTES_IN_FLIGHT_PER_MAX_MESSAGE: usize = 64;

fn send_budget_kib(max_message_size: usize) -> usize {
    (max_message_size.saturating_mul(SEND_BYTES_IN_FLIGHT_PER_MAX_MESSAGE) / 1024).clamp(1024, Semaphore::MAX_PERMITS)
}

fn notify_oneway(conn: Connection, request: rmq_protocol::RemotingCommand) {
    tokio::spawn(async move {
        if let Err(e) = conn.oneway(request).await {
            tracing::debug!("notify {} failed: {e}", conn.remote_addr());
        }
    });
}

impl Settings {
    /// The identity of a resolved configuration.
    pub(crate) fn identity_of(config: &BrokerConfig) -> BrokerIdentity {
        BrokerIdentity {
            cluster_name: config.broker_cluster_name.clone(),
            broker_name: config.broker_name.clone().unwrap_or_default(),
            broker_id: config.broker_id,
            broker_addr: format!("{}:{}", config.broker_ip1.as_deref().unwrap_or_default(), config.listen_port),
            ha_server_addr: format!("{}:{}", config.broker_ip2.as_deref().unwrap_or_default(), config.ha_port()),
        }
    }
}
