//! [`Broker`]: the composition root. [`Broker::open`] opens the store and the
//! tables, builds every subsystem once with the handles it needs, and wires
//! them; nothing is filled in later and no subsystem reaches back here.
//! [`crate::run`] then serves the request handlers and runs the background
//! services.

use rmq_metrics::ExporterType;
use rmq_model::BrokerRole;
use rmq_remoting::{Client, ClientConfig, ClientTls, ServerTls};
use rmq_store::config_file::ConfigFiles;
use rmq_store::{MessageStore, StoreHooks};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::acl::Acl;
use crate::admission::Permits;
use crate::background::Background;
use crate::clients::Clients;
use crate::controller_mode::ControllerView;
use crate::delay::DelayLevels;
use crate::durability::Durability;
use crate::filter::CompiledFilters;
use crate::ha::{MirroredTables, Replication};
use crate::handlers::admin::Admin;
use crate::handlers::assignment::Assignments;
use crate::handlers::client::Membership;
use crate::handlers::offset::OffsetQueries;
use crate::handlers::pop::Popping;
use crate::handlers::pull::Pulling;
use crate::handlers::query::MessageQueries;
use crate::handlers::recall::Recalling;
use crate::handlers::send::{Admission, Sending};
use crate::live_config::LiveConfig;
use crate::lock::QueueLocks;
use crate::long_poll::PullWaiters;
use crate::namesrv::{BrokerIdentity, Registrar};
use crate::notify::ConsumerNotifier;
use crate::pop::{PopEngine, PopParts};
use crate::port_limits::PortLimits;
use crate::registration::Registration;
use crate::runtime_info::RuntimeInfo;
use crate::schedule::DelayDelivery;
use crate::service::Handlers;
use crate::settings::Settings;
use crate::stats::BrokerStats;
use crate::tables::{
    ConsumerOffsets, DelayOffsets, RequestModes, SubscriptionGroups, TableFile, TopicDefaults, TopicTable,
};
use crate::timer::{Recalls, TimerDelivery, TimerRules};
use crate::transaction::Transactions;
use crate::{BrokerError, now_ms};

/// One broker process, built once.
#[derive(Debug)]
pub struct Broker {
    pub(crate) identity: Arc<BrokerIdentity>,
    pub(crate) role: BrokerRole,
    pub(crate) config: Arc<LiveConfig>,
    pub(crate) store: Arc<MessageStore>,
    /// The tables saved once more at shutdown.
    pub(crate) tables: MirroredTables,
    pub(crate) clients: Arc<Clients>,
    pub(crate) notifier: Arc<ConsumerNotifier>,
    pub(crate) stats: Arc<BrokerStats>,
    pub(crate) waiters: Arc<PullWaiters>,
    pub(crate) background: Background,
    pub(crate) handlers: Arc<Handlers>,
    pub(crate) replication: Arc<Replication>,
    pub(crate) registration: Arc<Registration>,
    pub(crate) delays: Arc<DelayDelivery>,
    /// POP checkpoints and their revival.
    pub(crate) pop: Arc<PopEngine>,
    /// Delivery of 5.x timer messages; `None` with `timerWheelEnable=false`.
    pub(crate) timers: Option<Arc<TimerDelivery>>,
    /// The remoting ports' limit counters, reported in the runtime info.
    pub(crate) port_limits: Arc<PortLimits>,
    /// TLS of the listen and fast ports (the HA port is always plaintext, as in Java).
    pub(crate) server_tls: ServerTls,
}

impl Broker {
    /// Opens the store and the tables of a resolved configuration and builds
    /// every subsystem.
    pub fn open(settings: Settings) -> Result<Broker, BrokerError> {
        Broker::build(settings, None)
    }

    /// A broker in controller mode, whose role the controllers assigned
    /// (`settings` already say which).
    pub(crate) fn open_controlled(settings: Settings, controller: Arc<ControllerView>) -> Result<Broker, BrokerError> {
        Broker::build(settings, Some(controller))
    }

    fn build(settings: Settings, controller: Option<Arc<ControllerView>>) -> Result<Broker, BrokerError> {
        let Settings { broker: broker_config, store: store_config, tls } = settings;
        let server_tls = ServerTls::from_settings(&tls)?;
        let client_tls = ClientTls::from_settings(&tls)?;
        let now = now_ms();
        let identity = Arc::new(BrokerIdentity::of(&broker_config));
        let role = store_config.broker_role;
        let is_master = role.is_master();

        let waiters = Arc::new(PullWaiters::new());
        let delay_levels = Arc::new(DelayLevels::of(&store_config));
        let timer_rules = TimerRules::of(&store_config);
        let files = ConfigFiles::new(store_config.config_dir());
        let acl = Acl::new(&broker_config, &store_config);
        let locks = QueueLocks::new(&broker_config, &store_config);
        let ha_accounts = broker_config.ha_auth_enable.then(|| acl.ha_accounts()).flatten();
        let replication = Arc::new(Replication::new(&broker_config, &store_config, client_tls.clone(), ha_accounts));
        // Under a master lease no write of any kind outlives it, the broker's own included.
        let hooks =
            StoreHooks { listener: Some(waiters.clone()), lease: replication.write_lease(), ..StoreHooks::default() };
        let opening = std::time::Instant::now();
        let store = Arc::new(MessageStore::open(store_config, hooks)?);
        let store_open_ms = u64::try_from(opening.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Recalled timer messages: noted by RECALL_MESSAGE and the timer, skipped by the timer.
        let recalls = Arc::new(Recalls::default());
        let timers = TimerDelivery::of(&store, &recalls);

        let topics = Arc::new(TopicTable::open(
            &topic_defaults(&broker_config, &identity),
            TableFile::at(files.topics_path()),
            now,
        )?);
        if timers.is_some() {
            // A system topic as in Java: admin tools and slaves see the parked timers' queue.
            let timer_topic = rmq_model::topic::TIMER_TOPIC;
            if topics.get_or_create(timer_topic, 1, rmq_model::perm::READ_WRITE, now).1 {
                topics.persist();
            }
        }
        let groups = Arc::new(SubscriptionGroups::open(TableFile::at(files.subscription_groups_path()), now)?);
        let offsets = Arc::new(ConsumerOffsets::open(TableFile::at(files.consumer_offsets_path()))?);
        let delay_offsets = Arc::new(DelayOffsets::open(TableFile::at(files.delay_offsets_path()))?);
        let request_modes = Arc::new(RequestModes::open(TableFile::at(files.message_request_modes_path()))?);
        let tables = MirroredTables {
            topics: topics.clone(),
            groups: groups.clone(),
            offsets: offsets.clone(),
            delay_offsets: delay_offsets.clone(),
        };

        let send_admission =
            Admission::new(broker_config.send_thread_pool_queue_capacity, store.config().max_message_size);
        let pull_admission = Arc::new(Permits::shared(
            broker_config.pull_thread_pool_queue_capacity,
            broker_config.pull_permit_share_percent,
        ));
        let registrar = Registrar::new(
            Client::new(
                ClientConfig {
                    connect_timeout: Duration::from_secs(3),
                    max_frame: rmq_protocol::DEFAULT_MAX_FRAME,
                    tls: client_tls.clone(),
                },
                Arc::new(rmq_remoting::RejectAll),
            ),
            broker_config.namesrv_list(),
            (*identity).clone(),
            Duration::from_millis(broker_config.register_broker_timeout_mills),
            broker_config.compressed_register,
        );
        let pop = Arc::new(PopEngine::new(PopParts {
            store: store.clone(),
            topics: topics.clone(),
            groups: groups.clone(),
            offsets: offsets.clone(),
            waiters: waiters.clone(),
            broker_name: identity.broker_name.clone(),
            cluster_name: broker_config.broker_cluster_name.clone(),
            revive_queues: broker_config.revive_queue_num.clamp(1, 512) as i32,
            store_host: identity.broker_addr.parse().unwrap_or_else(|_| ([127, 0, 0, 1], 10911).into()),
        }));
        if !is_master {
            // Slaves keep no ledger: they neither pop nor revive.
            pop.set_ready();
        }
        let persist_delay_offsets_every = Duration::from_millis(broker_config.flush_delay_offset_interval.max(100));
        let config = Arc::new(LiveConfig::new(broker_config));
        let clients = Arc::new(Clients::new());
        // Requests are recorded only for an exporter that serves them.
        let exporting = matches!(ExporterType::parse(&config.get().metrics_exporter_type), Ok(ExporterType::Prom));
        let stats =
            Arc::new(BrokerStats::with_series_limit(exporting.then_some(config.get().metrics_otel_cardinality_limit)));
        let background = Background::default();
        let notifier = Arc::new(ConsumerNotifier {
            config: config.clone(),
            groups: groups.clone(),
            clients: clients.clone(),
            background: background.clone(),
        });

        let port_limits = Arc::new(PortLimits::new(server_tls.clone()));
        let runtime = RuntimeInfo {
            store: store.clone(),
            config: config.clone(),
            stats: stats.clone(),
            replication: replication.clone(),
            delay_offsets: delay_offsets.clone(),
            delay_levels: delay_levels.clone(),
            sends: send_admission.requests.clone(),
            pulls: pull_admission.clone(),
            ports: port_limits.clone(),
            boot_ms: now,
            store_open_ms,
        };
        let durability = Arc::new(Durability::new(&store, replication.clone()));
        let transactions = Arc::new(Transactions {
            store: store.clone(),
            config: config.clone(),
            is_master,
            durability: durability.clone(),
            topics: topics.clone(),
            offsets: offsets.clone(),
            clients: clients.clone(),
            delay_levels: delay_levels.clone(),
            background: background.clone(),
            ledger: Mutex::default(),
        });
        let handlers = Arc::new(Handlers {
            acl,
            controller,
            sending: Sending {
                store: store.clone(),
                config: config.clone(),
                identity: identity.clone(),
                topics: topics.clone(),
                groups: groups.clone(),
                stats: stats.clone(),
                durability: durability.clone(),
                delay_levels: delay_levels.clone(),
                timer_rules,
                admission: send_admission,
            },
            recalling: Recalling {
                store: store.clone(),
                config: config.clone(),
                identity: identity.clone(),
                topics: topics.clone(),
                stats: stats.clone(),
                durability,
                timer_rules,
                recalls,
                is_master,
            },
            assignments: Assignments {
                topics: topics.clone(),
                groups: groups.clone(),
                clients: clients.clone(),
                config: config.clone(),
                identity: identity.clone(),
                modes: request_modes,
                namesrv: Client::new(
                    ClientConfig {
                        connect_timeout: Duration::from_secs(3),
                        max_frame: rmq_protocol::DEFAULT_MAX_FRAME,
                        tls: client_tls,
                    },
                    Arc::new(rmq_remoting::RejectAll),
                ),
            },
            popping: Popping {
                engine: pop.clone(),
                config: config.clone(),
                identity: identity.clone(),
                topics: topics.clone(),
                groups: groups.clone(),
                stats: stats.clone(),
                waiters: waiters.clone(),
                filters: CompiledFilters::default(),
                admission: pull_admission.clone(),
                held: Default::default(),
                is_master,
            },
            pulling: Pulling {
                store: store.clone(),
                config: config.clone(),
                identity: identity.clone(),
                is_master,
                topics: topics.clone(),
                groups: groups.clone(),
                offsets: offsets.clone(),
                clients: clients.clone(),
                stats: stats.clone(),
                waiters: waiters.clone(),
                filters: CompiledFilters::default(),
                admission: pull_admission,
            },
            membership: Membership {
                clients: clients.clone(),
                groups: groups.clone(),
                topics: topics.clone(),
                config: config.clone(),
                notifier: notifier.clone(),
                locks,
            },
            offsets: OffsetQueries {
                store: store.clone(),
                offsets: offsets.clone(),
                slave_sync: replication.metadata().cloned(),
            },
            queries: MessageQueries { store: store.clone(), config: config.clone() },
            transactions,
            admin: Admin {
                store: store.clone(),
                config: config.clone(),
                identity: identity.clone(),
                is_master,
                topics: topics.clone(),
                groups,
                offsets,
                delay_offsets: delay_offsets.clone(),
                clients: clients.clone(),
                stats: stats.clone(),
                waiters: waiters.clone(),
                pop: pop.clone(),
                runtime,
            },
            stats: stats.clone(),
        });
        let registration =
            Arc::new(Registration { registrar, topics, config: config.clone(), replication: replication.clone() });
        let delays = Arc::new(DelayDelivery {
            store: store.clone(),
            offsets: delay_offsets,
            levels: delay_levels,
            persist_every: persist_delay_offsets_every,
            retries: Default::default(),
        });
        Ok(Broker {
            identity,
            role,
            config,
            store,
            tables,
            clients,
            notifier,
            stats,
            waiters,
            background,
            handlers,
            replication,
            registration,
            delays,
            pop,
            timers,
            port_limits,
            server_tls,
        })
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
}

/// What the topic table needs of the configuration to make its system topics.
fn topic_defaults(config: &crate::config::BrokerConfig, identity: &BrokerIdentity) -> TopicDefaults {
    TopicDefaults {
        cluster_name: config.broker_cluster_name.clone(),
        broker_name: identity.broker_name.clone(),
        auto_create_topic_enable: config.auto_create_topic_enable,
        default_topic_queue_nums: config.default_topic_queue_nums,
        cluster_topic_enable: config.cluster_topic_enable,
        broker_topic_enable: config.broker_topic_enable,
        trace_topic_enable: config.trace_topic_enable,
        trace_topic_name: config.msg_trace_topic_name.clone(),
    }
}
