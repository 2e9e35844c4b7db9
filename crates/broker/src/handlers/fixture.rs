//! The request subsystems built for unit tests: over a [`MemoryLog`], with a
//! default configuration, tables that are never saved, and an asynchronous
//! master's replication (nothing to wait for).

use rmq_protocol::RemotingCommand;
use rmq_remoting::Connection;
use rmq_store::StoreConfig;
use std::sync::Arc;

use super::memory_log::MemoryLog;
use super::offset::OffsetQueries;
use super::pull::Pulling;
use super::recall::Recalling;
use super::send::{Admission, Sending};
use crate::admission::Permits;
use crate::clients::Clients;
use crate::config::BrokerConfig;
use crate::delay::DelayLevels;
use crate::durability::Durability;
use crate::filter::CompiledFilters;
use crate::ha::Replication;
use crate::live_config::LiveConfig;
use crate::long_poll::PullWaiters;
use crate::namesrv::BrokerIdentity;
use crate::stats::BrokerStats;
use crate::tables::{ConsumerOffsets, SubscriptionGroups, TopicDefaults, TopicTable};

pub(crate) struct Fixture {
    pub log: Arc<MemoryLog>,
    pub config: Arc<LiveConfig>,
    pub identity: Arc<BrokerIdentity>,
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    pub offsets: Arc<ConsumerOffsets>,
    pub clients: Arc<Clients>,
    pub stats: Arc<BrokerStats>,
    pub(crate) replication: Arc<Replication>,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        Fixture::with(|_| {})
    }

    pub(crate) fn with(configure: impl FnOnce(&mut BrokerConfig)) -> Fixture {
        let mut config = BrokerConfig {
            broker_name: Some("broker-a".into()),
            broker_ip1: Some("127.0.0.1".into()),
            ..BrokerConfig::default()
        };
        configure(&mut config);
        let identity = Arc::new(BrokerIdentity::of(&config));
        let defaults = TopicDefaults {
            cluster_name: config.broker_cluster_name.clone(),
            broker_name: identity.broker_name.clone(),
            auto_create_topic_enable: config.auto_create_topic_enable,
            default_topic_queue_nums: config.default_topic_queue_nums,
            cluster_topic_enable: config.cluster_topic_enable,
            broker_topic_enable: config.broker_topic_enable,
            trace_topic_enable: config.trace_topic_enable,
            trace_topic_name: config.msg_trace_topic_name.clone(),
        };
        let replication =
            Arc::new(Replication::new(&config, &StoreConfig::new("/nonexistent/rmq-unit-test"), None, None));
        Fixture {
            log: Arc::new(MemoryLog::new()),
            identity,
            topics: Arc::new(TopicTable::new(&defaults, 1)),
            groups: Arc::new(SubscriptionGroups::new(1)),
            offsets: Arc::new(ConsumerOffsets::default()),
            clients: Arc::new(Clients::new()),
            stats: Arc::new(BrokerStats::default()),
            config: Arc::new(LiveConfig::new(config)),
            replication,
        }
    }

    pub(crate) fn sending(&self) -> Sending {
        Sending {
            store: self.log.clone(),
            config: self.config.clone(),
            identity: self.identity.clone(),
            topics: self.topics.clone(),
            groups: self.groups.clone(),
            stats: self.stats.clone(),
            durability: Arc::new(Durability::without_disk(self.replication.clone())),
            delay_levels: Arc::new(DelayLevels::new(Vec::new())),
            timer_rules: crate::timer::TimerRules::of(&rmq_store::StoreConfig::default()),
            admission: Admission::new(8, 4 * 1024 * 1024),
        }
    }

    /// RECALL_MESSAGE over the same log; `is_master` false for a slave.
    pub(crate) fn recalling(&self, is_master: bool) -> Recalling {
        Recalling {
            store: self.log.clone(),
            config: self.config.clone(),
            identity: self.identity.clone(),
            topics: self.topics.clone(),
            stats: self.stats.clone(),
            durability: Arc::new(Durability::without_disk(self.replication.clone())),
            timer_rules: crate::timer::TimerRules::of(&rmq_store::StoreConfig::default()),
            recalls: Arc::default(),
            is_master,
        }
    }

    pub(crate) fn pulling(&self) -> Pulling {
        Pulling {
            store: self.log.clone(),
            config: self.config.clone(),
            identity: self.identity.clone(),
            is_master: true,
            topics: self.topics.clone(),
            groups: self.groups.clone(),
            offsets: self.offsets.clone(),
            clients: self.clients.clone(),
            stats: self.stats.clone(),
            waiters: Arc::new(PullWaiters::new()),
            filters: CompiledFilters::default(),
            admission: Arc::new(Permits::new(8)),
        }
    }

    pub(crate) fn offset_queries(&self) -> OffsetQueries {
        OffsetQueries { store: self.log.clone(), offsets: self.offsets.clone(), slave_sync: None }
    }

    /// A client connection with no socket.
    pub(crate) fn conn() -> Connection {
        Connection::detached("10.0.0.9:50000".parse().expect("an address")).0
    }
}

/// The value of ext field `key` of a response, parsed.
pub(crate) fn ext<T: std::str::FromStr>(response: &RemotingCommand, key: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    response.ext(key).unwrap_or_else(|| panic!("no {key} in {response:?}")).parse().expect("a number")
}
