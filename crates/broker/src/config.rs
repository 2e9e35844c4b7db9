//! The broker's configuration: RocketMQ's property names and defaults (4.9.8),
//! for the features rmq implements.
//!
//! Values come, in order of precedence, from the defaults here, `NAMESRV_ADDR`,
//! the `-c` properties file, then the command line. Keys rmq does not know are
//! reported by [`BrokerConfig::apply_all`] so that startup can warn about each
//! by name; a value that does not parse is refused with the key's name.
//! [`JAVA_ONLY_KEYS`] lists keys of Java's thread pools and JVM that have no
//! meaning here: they are accepted with a note rather than a warning.

use rmq_model::config::{Applied, BadValue};
use rmq_model::{BrokerRole, config_struct};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

config_struct! {
    /// Every key of `broker.conf` that rmq acts on.
    pub struct BrokerConfig {
        // --- Identity and network ---
        /// Cluster this broker belongs to; routes and `clusterList` group by it.
        broker_cluster_name: String = "brokerClusterName" => "DefaultCluster".to_owned(),
        /// The broker group: a master and its slaves share it. Defaults to the host name.
        broker_name: Option<String> = "brokerName" => None,
        /// 0 for the master; slaves use 1, 2, … Masters are forced to 0.
        broker_id: i64 = "brokerId" => 0,
        /// NameServers, `host:port;host:port`.
        namesrv_addr: Option<String> = "namesrvAddr" => None,
        /// Address advertised to clients and written into message ids.
        /// Defaults to the first non-loopback IPv4 address of this host.
        broker_ip1: Option<String> = "brokerIP1" => None,
        /// Address advertised to slaves for replication; defaults to `brokerIP1`.
        broker_ip2: Option<String> = "brokerIP2" => None,
        /// The main remoting port. The VIP port is `listenPort - 2`.
        listen_port: u16 = "listenPort" => 10911,
        /// The replication port; defaults to `listenPort + 1`.
        ha_listen_port: Option<u16> = "haListenPort" => None,
        /// rmq's own: the local IP address the HA port binds. Unset: `brokerIP2`
        /// when it was set and is an address of this host, else 0.0.0.0 (Java
        /// binds every interface). A master that cannot bind it does not start.
        ha_listen_address: Option<String> = "haListenAddress" => None,
        /// Broker-wide permission (2 write, 4 read, 6 both). Without read or
        /// write every topic is registered with this permission.
        broker_permission: u32 = "brokerPermission" => 6,
        /// Returned to producers as `MSG_REGION`.
        region_id: String = "regionId" => "DefaultRegion".to_owned(),
        /// Returned to producers as `TRACE_ON`.
        trace_on: bool = "traceOn" => true,
        /// Installation directory (for `conf/plain_acl.yml`); from `ROCKETMQ_HOME` when unset.
        rocketmq_home: Option<String> = "rocketmqHome" => None,

        // --- Storage: the store's keys (storePathRootDir, flushDiskType,
        // brokerRole, …) live in rmq_store::StoreConfig; see `settings`. ---
        /// Period of writing `delayOffset.json`, ms.
        flush_delay_offset_interval: u64 = "flushDelayOffsetInterval" => 10_000,
        /// Period of writing `consumerOffset.json`, ms.
        flush_consumer_offset_interval: u64 = "flushConsumerOffsetInterval" => 5_000,
        /// Results of a unique-key query.
        default_query_max_num: u32 = "defaultQueryMaxNum" => 32,
        /// Most records one QUERY_MESSAGE answers, whatever its `maxNum`
        /// (Java's MessageStoreConfig key; its index lookup caps so).
        max_msgs_num_batch: u32 = "maxMsgsNumBatch" => 64,

        // --- Replication ---
        /// Fixed master HA address for a slave; otherwise learned from the NameServer.
        ha_master_address: Option<String> = "haMasterAddress" => None,
        /// rmq's own: besides the slaves of this broker group registered with
        /// the NameServers, the peers a master replicates to: IP addresses and
        /// CIDR blocks, comma-separated (`10.0.0.0/8,192.168.1.7`);
        /// `0.0.0.0/0` admits any IPv4 peer, as Java does. Other peers of the
        /// HA port are closed unread (docs/compatibility.md, "HA port").
        ha_allowed_addresses: String = "haAllowedAddresses" => String::new(),
        /// rmq's own: a master also requires every slave to prove an admin
        /// account of `plain_acl.yml` on the HA port (a challenge answered with
        /// HMAC-SHA1 before anything is streamed). Needs `aclEnable=true`; Java
        /// slaves cannot answer it (docs/compatibility.md, "HA port").
        ha_auth_enable: bool = "haAuthEnable" => false,
        /// rmq's own: the account a slave answers its master's HA challenge with.
        ha_auth_access_key: Option<String> = "haAuthAccessKey" => None,
        /// rmq's own: the secret key of `haAuthAccessKey`.
        ha_auth_secret_key: Option<String> = "haAuthSecretKey" => None,
        /// SYNC_MASTER: how long a send waits for the slave, ms.
        slave_timeout: u64 = "slaveTimeout" => 3_000,
        ha_send_heartbeat_interval: u64 = "haSendHeartbeatInterval" => 5_000,
        ha_housekeeping_interval: u64 = "haHousekeepingInterval" => 20_000,
        ha_transfer_batch_size: usize = "haTransferBatchSize" => 32 * 1024,
        /// SYNC_MASTER: a slave further behind than this (bytes) is not in sync.
        ha_slave_fallbehind_max: u64 = "haSlaveFallbehindMax" => 256 * 1024 * 1024,
        /// Let consumers that lag beyond memory read from a slave.
        slave_read_enable: bool = "slaveReadEnable" => false,
        /// DLedger (Raft) CommitLog mode: not implemented; a file asking for it
        /// is refused rather than run as a plain master.
        enable_dleger_commit_log: bool = "enableDLegerCommitLog" => false,
        /// 5.x controller mode: the controllers at `controllerAddr` assign
        /// the role; `brokerId` and `brokerRole` no longer decide it.
        enable_controller_mode: bool = "enableControllerMode" => false,
        /// `;`-separated controller addresses.
        controller_addr: String = "controllerAddr" => String::new(),
        /// Ms between heartbeats to the controllers.
        broker_heartbeat_interval: u64 = "brokerHeartbeatInterval" => 1_000,
        /// How long a controller waits for this broker's next heartbeat
        /// before it counts it as gone.
        controller_heart_beat_timeout_mills: u64 = "controllerHeartBeatTimeoutMills" => 10_000,
        /// Ms between asking the controller who the master is (a missed
        /// role-change notification is noticed within this).
        sync_broker_metadata_period: u64 = "syncBrokerMetadataPeriod" => 5_000,
        /// Ms between a master's reviews of its in-sync replica set.
        check_sync_state_set_period: u64 = "checkSyncStateSetPeriod" => 5_000,
        /// Lower is preferred when the controller elects among equals.
        broker_election_priority: i32 = "brokerElectionPriority" => i32::MAX,
        /// A replica that has not caught up with the master for this long
        /// leaves the in-sync set (a MessageStoreConfig key in Java).
        ha_max_time_slave_not_catchup: u64 = "haMaxTimeSlaveNotCatchup" => 15_000,
        /// A send to a controller-mode master is answered once every member
        /// of the in-sync set holds it (a MessageStoreConfig key in Java).
        all_ack_in_sync_state_set: bool = "allAckInSyncStateSet" => false,
        /// Controller mode: how many brokers, the master included, hold a
        /// message before its send is answered (a MessageStoreConfig key).
        in_sync_replicas: usize = "inSyncReplicas" => 1,
        /// Controller mode: a send is refused, unstored, while the in-sync
        /// set has fewer members (a MessageStoreConfig key).
        min_in_sync_replicas: usize = "minInSyncReplicas" => 1,
        /// Controller mode: an empty replica starts replicating at the
        /// master's last CommitLog file, not its first (a MessageStoreConfig
        /// key in Java).
        sync_from_last_file: bool = "syncFromLastFile" => false,
        /// Controller mode: this replica replicates but never joins the
        /// in-sync set, so no send waits for it and it is never elected (a
        /// MessageStoreConfig key in Java).
        async_learner: bool = "asyncLearner" => false,
        /// Controller mode, an rmq key: a master takes sends only while a
        /// controller leader has confirmed it within its lease
        /// (`controllerHeartBeatTimeoutMills` - 2 x `brokerHeartbeatInterval`),
        /// so a master cut off from the controllers stops before they can
        /// elect another. Off by default, as Java: with it on, losing every
        /// controller stops writes.
        enable_master_lease: bool = "enableMasterLease" => false,
        /// 5.x: the replicas of the group (a MessageStoreConfig key). Java
        /// reads it only in slave-acting-master mode; so does rmq, which has
        /// no such mode: accepted, no effect.
        total_replicas: usize = "totalReplicas" => 1,
        /// 5.x: lower `inSyncReplicas` to what is in sync, never below
        /// `minInSyncReplicas`. Java applies it only with
        /// `enableSlaveActingMaster`, never in controller mode; so neither
        /// does rmq: accepted, no effect.
        enable_auto_in_sync_replicas: bool = "enableAutoInSyncReplicas" => false,
        /// 5.x slave-acting-master mode (a slave stands in for a dead master
        /// for a few operations): not implemented; `true` is warned about.
        enable_slave_acting_master: bool = "enableSlaveActingMaster" => false,
        offset_check_in_slave: bool = "offsetCheckInSlave" => false,

        // --- Topics and groups ---
        /// Create TBW102 so producers can create topics by sending to them.
        auto_create_topic_enable: bool = "autoCreateTopicEnable" => true,
        /// Queues of TBW102 and so of auto-created topics.
        default_topic_queue_nums: u32 = "defaultTopicQueueNums" => 8,
        cluster_topic_enable: bool = "clusterTopicEnable" => true,
        broker_topic_enable: bool = "brokerTopicEnable" => true,
        /// Topics may be created with `+message.type=MIXED` (any message type).
        enable_mixed_message_type: bool = "enableMixedMessageType" => false,
        /// Create subscription groups on first use.
        auto_create_subscription_group: bool = "autoCreateSubscriptionGroup" => true,
        /// rmq's own: sends create topics on first use (from `TBW102`, or a
        /// `%RETRY%` topic) only while the topic table holds fewer than this
        /// many topics; past it they get TOPIC_NOT_EXIST saying why. Admins'
        /// creations are not bounded. Without a bound any client could fill
        /// memory, the disk and NameServer registrations with new names.
        auto_create_topic_max_count: usize = "autoCreateTopicMaxCount" => 10_000,
        /// rmq's own: the same bound on subscription groups created on first
        /// use (SUBSCRIPTION_GROUP_NOT_EXIST past it); `CID_RMQ_SYS_` groups
        /// are not bounded.
        auto_create_subscription_group_max_count: usize = "autoCreateSubscriptionGroupMaxCount" => 10_000,
        trace_topic_enable: bool = "traceTopicEnable" => false,
        msg_trace_topic_name: String = "msgTraceTopicName" => "RMQ_SYS_TRACE_TOPIC".to_owned(),

        // --- Consumers ---
        /// Hold pulls that find nothing until a message arrives.
        long_polling_enable: bool = "longPollingEnable" => true,
        /// Hold time of pulls when long polling is off, ms.
        short_polling_time_mills: u64 = "shortPollingTimeMills" => 1_000,
        notify_consumer_ids_changed_enable: bool = "notifyConsumerIdsChangedEnable" => true,
        /// Filter by SQL92 expressions on message properties.
        enable_property_filter: bool = "enablePropertyFilter" => false,
        filter_support_retry: bool = "filterSupportRetry" => false,
        /// 5.x POP: queues of the revive topic `rmq_sys_REVIVE_LOG_<cluster>`,
        /// over which checkpoints are spread.
        revive_queue_num: u32 = "reviveQueueNum" => 8,
        /// 5.x: how groups with no `mqadmin setConsumeMode` entry consume, PULL or POP.
        default_message_request_mode: String = "defaultMessageRequestMode" => "PULL".to_owned(),
        /// 5.x: POP clients also pop this many other clients' queues; ≤ 0: every queue.
        default_pop_share_queue_num: i32 = "defaultPopShareQueueNum" => -1,
        /// 5.x: QUERY_ASSIGNMENT balances queues over the group's clients
        /// (otherwise every client is given every queue).
        server_load_balancer_enable: bool = "serverLoadBalancerEnable" => true,

        // --- NameServer registration ---
        /// Period of full registration with every NameServer, ms (10 s to 60 s).
        register_name_server_period: u64 = "registerNameServerPeriod" => 30_000,
        register_broker_timeout_mills: u64 = "registerBrokerTimeoutMills" => 6_000,
        /// Register every period even when nothing changed.
        force_register: bool = "forceRegister" => true,
        /// Send registration bodies zlib-compressed.
        compressed_register: bool = "compressedRegister" => false,

        // --- Transactions ---
        reject_transaction_message: bool = "rejectTransactionMessage" => false,
        /// A half message younger than this is not checked back yet, ms.
        transaction_time_out: u64 = "transactionTimeOut" => 6_000,
        /// Check-backs before a half message is given up.
        transaction_check_max: u32 = "transactionCheckMax" => 15,
        /// Period of the check-back scan, ms.
        transaction_check_interval: u64 = "transactionCheckInterval" => 60_000,

        // --- Recall (5.3) ---
        /// Serve RECALL_MESSAGE: timer messages may be cancelled before they
        /// are due. Off by default, as in Java (a recall is NO_PERMISSION).
        recall_message_enable: bool = "recallMessageEnable" => false,
        /// Recalls are still taken while `brokerPermission` forbids writes.
        allow_recall_when_broker_not_writeable: bool = "allowRecallWhenBrokerNotWriteable" => true,

        // --- Security ---
        /// Check ACL 1.0 signatures and permissions (`conf/plain_acl.yml`).
        acl_enable: bool = "aclEnable" => false,

        // --- Flow control ---
        /// Sends waiting or running at once; beyond it senders get SYSTEM_BUSY.
        send_thread_pool_queue_capacity: usize = "sendThreadPoolQueueCapacity" => 10_000,
        /// Pulls waiting or running at once (held pulls included).
        pull_thread_pool_queue_capacity: usize = "pullThreadPoolQueueCapacity" => 100_000,
        /// Answer sends that waited too long with SYSTEM_BUSY.
        broker_fast_failure_enable: bool = "brokerFastFailureEnable" => true,
        /// How long a send may wait for its turn before SYSTEM_BUSY, ms.
        wait_time_mills_in_send_queue: u64 = "waitTimeMillsInSendQueue" => 200,
        /// Refuse sends before this time (ms since the epoch).
        start_accept_send_request_time_stamp: i64 = "startAcceptSendRequestTimeStamp" => 0,
        /// Close connections idle this long, seconds.
        server_channel_max_idle_time_seconds: u64 = "serverChannelMaxIdleTimeSeconds" => 120,

        // --- Limits a hostile client cannot pass (rmq's own, docs/operations.md "Limits") ---
        /// Connections one IP address may hold open at once on each port
        /// (main and VIP); past it new ones are closed on accept. 0: no cap.
        max_connections_per_ip: usize = "maxConnectionsPerIp" => 1_000,
        /// Close a connection whose queued responses made no write progress
        /// for this long, seconds: its client reads nothing, and the pull
        /// responses queued for it pin CommitLog files. At least 1.
        server_channel_write_timeout_seconds: u64 = "serverChannelWriteTimeoutSeconds" => 60,
        /// Close a connection whose request frame, once started, is not
        /// complete after this long, seconds (a client trickling bytes). At
        /// least 1; a 16 MiB frame needs 0.6 MB/s at the default.
        server_frame_read_timeout_seconds: u64 = "serverFrameReadTimeoutSeconds" => 30,
        /// One connection's share of the pull permits
        /// (`pullThreadPoolQueueCapacity`, POPs included), percent of the
        /// permits the other connections leave free; past it its pulls get
        /// SYSTEM_BUSY `[OVERLOAD]`. 0 or 100: no share, first come first served.
        pull_permit_share_percent: u32 = "pullPermitSharePercent" => 10,

        // --- Metrics (RocketMQ 5's exporter keys) ---
        /// `PROM` serves Prometheus metrics at
        /// `http://metricsPromExporterHost:metricsPromExporterPort/metrics`;
        /// `DISABLE` exports nothing; `OTLP_GRPC` and `LOG` are not supported
        /// by rmq (a warning, no metrics).
        metrics_exporter_type: String = "metricsExporterType" => "DISABLE".to_owned(),
        /// The IP address the endpoint binds; blank: `brokerIP1`, as in Java.
        metrics_prom_exporter_host: String = "metricsPromExporterHost" => String::new(),
        metrics_prom_exporter_port: u16 = "metricsPromExporterPort" => 5557,
        /// Constant labels added to every series, `key:value,key:value`.
        metrics_label: String = "metricsLabel" => String::new(),
        /// Most labelled series one metric family returns; the series past it
        /// (more topics or groups) are summed into one with
        /// `otel_metric_overflow="true"`, so a scrape's size stays bounded.
        metrics_otel_cardinality_limit: usize = "metricsOtelCardinalityLimit" => 50_000,
        /// rmq's own: refuse to start when the metrics port cannot be bound
        /// (by default the broker starts without metrics and says why).
        metrics_exporter_required: bool = "metricsExporterRequired" => false,
        /// rmq's own: also serve, on the same endpoint, the metric names of
        /// the 4.x `rocketmq-exporter` (`rocketmq_broker_tps`,
        /// `rocketmq_producer_tps`, `rocketmq_group_diff`, ...), so its
        /// Grafana dashboards and alert rules keep working.
        metrics_exporter_4x_names: bool = "metricsExporter4xNames" => false,

        // --- Logs ---
        /// Log into `~/logs/rocketmqlogs/<brokerName>_<brokerId>/`.
        isolate_log_enable: bool = "isolateLogEnable" => false,
        /// rmq's own: the log level filter in `tracing`'s directive syntax
        /// (`info`, `info,rmq_store=debug`); empty means `RUST_LOG`, else
        /// `info`. Changeable at run time with `mqadmin updateBrokerConfig`.
        rmq_log_level: String = "rmqLogLevel" => String::new(),
    }
}

/// Keys of Java's thread pools, Netty and JVM tuning. They configure nothing
/// in rmq (tokio schedules all work), so they are noted, not warned about.
pub const JAVA_ONLY_KEYS: &[&str] = &[
    "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums",
    "litePullMessageThreadPoolNums",
    "ackMessageThreadPoolNums",
    "processReplyMessageThreadPoolNums",
    "queryMessageThreadPoolNums",
    "adminBrokerThreadPoolNums",
    "clientManageThreadPoolNums",
    "consumerManageThreadPoolNums",
    "loadBalanceProcessorThreadPoolNums",
    "heartbeatThreadPoolNums",
    "endTransactionThreadPoolNums",
    "serverWorkerThreads",
    "serverCallbackExecutorThreads",
    "serverSelectorThreads",
    "serverOnewaySemaphoreValue",
    "serverAsyncSemaphoreValue",
    "serverSocketSndBufSize",
    "serverSocketRcvBufSize",
    "serverPooledByteBufAllocatorEnable",
    "useEpollNativeSelector",
    "clientWorkerThreads",
    "clientCallbackExecutorThreads",
    "transientStorePoolEnable",
    "transientStorePoolSize",
    "transferMsgByHeap",
    "useReentrantLockWhenPutMessage",
    "warmMapedFileEnable",
    "flushLeastPagesWhenWarmMapedFile",
];

/// What loading a properties source found besides the values it set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Keys rmq does not know: startup warns about each by name.
    pub unknown: Vec<String>,
    /// Java-only tuning keys: accepted, noted once, no effect.
    pub java_only: Vec<String>,
}

impl BrokerConfig {
    /// Applies every pair, collecting unknown and Java-only keys; the first
    /// value that does not parse stops with an error naming its key.
    pub fn apply_all<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LoadReport, BadValue> {
        let mut report = LoadReport::default();
        for (key, value) in pairs {
            if self.apply(key, value)? == Applied::Unknown {
                if JAVA_ONLY_KEYS.contains(&key) {
                    report.java_only.push(key.to_owned());
                } else {
                    report.unknown.push(key.to_owned());
                }
            }
        }
        Ok(report)
    }

    /// How first use creates subscription groups.
    pub fn auto_create_groups(&self) -> crate::tables::AutoCreate {
        crate::tables::AutoCreate {
            enabled: self.auto_create_subscription_group,
            max_count: self.auto_create_subscription_group_max_count,
        }
    }

    /// The HA port: `haListenPort`, or `listenPort + 1`.
    pub fn ha_port(&self) -> u16 {
        self.ha_listen_port.unwrap_or(self.listen_port.saturating_add(1))
    }

    /// The VIP ("fast") port Java clients may send to: `listenPort - 2`.
    pub fn vip_port(&self) -> u16 {
        self.listen_port.saturating_sub(2)
    }

    /// Masters are always broker id 0, as Java forces it.
    pub fn effective_broker_id(&self, role: BrokerRole) -> i64 {
        if role.is_master() { 0 } else { self.broker_id }
    }

    /// The NameServer addresses, split on `;` with blanks dropped.
    pub fn namesrv_list(&self) -> Vec<String> {
        split_namesrv_addr(self.namesrv_addr.as_deref().unwrap_or(""))
    }

    /// The controllers of controller mode.
    pub fn controller_list(&self) -> Vec<String> {
        self.controller_addr.split(';').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect()
    }

    /// Ms between heartbeats to the controllers (at least 100).
    pub fn controller_heartbeat_period(&self) -> Duration {
        Duration::from_millis(self.broker_heartbeat_interval.max(100))
    }

    /// How long a controller leader's confirmation lets a master take sends
    /// under `enableMasterLease`: the controllers' timeout for this broker
    /// less two heartbeat periods, so that the lease lapses before any
    /// controller can count the master gone. `None` when that leaves less
    /// than half a second.
    pub fn master_lease(&self) -> Option<Duration> {
        let timeout = Duration::from_millis(self.controller_heart_beat_timeout_mills);
        let lease = timeout.checked_sub(self.controller_heartbeat_period() * 2)?;
        (lease >= Duration::from_millis(500)).then_some(lease)
    }

    /// The registration period clamped to [10 s, 60 s] as Java does.
    pub fn register_period(&self) -> Duration {
        Duration::from_millis(self.register_name_server_period.clamp(10_000, 60_000))
    }

    /// Checks combinations no single key can be wrong about.
    pub fn validate(&self, role: BrokerRole) -> Result<(), String> {
        // Three brokers of a DLedger group would otherwise all start as
        // masters of one brokerName, each taking writes.
        if self.enable_dleger_commit_log {
            return Err("enableDLegerCommitLog=true is not supported by rmq: use controller mode (enableControllerMode=true), or brokerRole ASYNC_MASTER, SYNC_MASTER or SLAVE with brokerId (conf/2m-2s-*)".to_owned());
        }
        if self.enable_controller_mode && self.controller_list().is_empty() {
            return Err("enableControllerMode=true needs controllerAddr (the controllers, `;`-separated)".to_owned());
        }
        if self.enable_master_lease && !self.enable_controller_mode {
            return Err(
                "enableMasterLease=true needs enableControllerMode=true (the lease comes from the controllers)"
                    .to_owned(),
            );
        }
        if self.enable_master_lease && self.master_lease().is_none() {
            return Err(format!(
                "enableMasterLease=true needs controllerHeartBeatTimeoutMills ({}) above 2 x brokerHeartbeatInterval ({}) + 500",
                self.controller_heart_beat_timeout_mills, self.broker_heartbeat_interval
            ));
        }
        if role == BrokerRole::Slave && self.broker_id <= 0 && !self.enable_controller_mode {
            return Err("Slave's brokerId must be > 0".to_owned());
        }
        if self.listen_port < 3 {
            return Err(format!("listenPort {} leaves no room for the VIP port listenPort-2", self.listen_port));
        }
        for addr in self.namesrv_list() {
            validate_namesrv_addr(&addr)?;
        }
        self.ha_bind_ip()?;
        self.ha_allow_list()?;
        if self.ha_auth_enable && !self.acl_enable && role != BrokerRole::Slave {
            return Err("haAuthEnable=true needs aclEnable=true: slaves prove an admin account of plain_acl.yml".into());
        }
        if self.ha_auth_access_key.is_some() != self.ha_auth_secret_key.is_some() {
            return Err("haAuthAccessKey and haAuthSecretKey go together: set both or neither".into());
        }
        for (seconds, key) in [
            (self.server_channel_write_timeout_seconds, "serverChannelWriteTimeoutSeconds"),
            (self.server_frame_read_timeout_seconds, "serverFrameReadTimeoutSeconds"),
            (self.server_channel_max_idle_time_seconds, "serverChannelMaxIdleTimeSeconds"),
        ] {
            if seconds == 0 {
                return Err(format!("{key}=0: a connection would be closed at once; give at least 1 second"));
            }
        }
        if self.pull_permit_share_percent > 100 {
            return Err(format!(
                "pullPermitSharePercent={} is a percentage: 1 to 100, or 0 for no share",
                self.pull_permit_share_percent
            ));
        }
        Ok(())
    }

    /// The address the HA port binds: `haListenAddress`, else every interface.
    /// ([`crate::Settings::resolve`] fills `haListenAddress` in from an
    /// explicit `brokerIP2` of this host.)
    pub fn ha_bind_ip(&self) -> Result<IpAddr, String> {
        match self.ha_listen_address.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            Some(a) => a.parse().map_err(|_| format!("haListenAddress '{a}' is not an IP address")),
        }
    }

    /// The account a slave answers its master's HA challenge with, if set.
    pub fn ha_credentials(&self) -> Option<rmq_replication::HaCredentials> {
        let (access_key, secret_key) = (self.ha_auth_access_key.clone()?, self.ha_auth_secret_key.clone()?);
        Some(rmq_replication::HaCredentials { access_key, secret_key })
    }

    /// `haAllowedAddresses`, parsed.
    pub fn ha_allow_list(&self) -> Result<rmq_replication::AllowList, String> {
        rmq_replication::AllowList::parse(&self.ha_allowed_addresses).map_err(|e| format!("haAllowedAddresses: {e}"))
    }
}

/// Splits a `;`-separated NameServer list.
pub fn split_namesrv_addr(list: &str) -> Vec<String> {
    list.split(';').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

/// Java's check of a NameServer address, with its message.
pub fn validate_namesrv_addr(addr: &str) -> Result<(), String> {
    let ok = addr.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "The Name Server Address[{addr}] illegal, please set it as follows, \"127.0.0.1:9876;192.168.0.1:9876\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_broker_conf_loads() {
        let conf = "brokerClusterName = DefaultCluster\nbrokerName = broker-a\nbrokerId = 0\n";
        let pairs: Vec<(String, String)> = conf
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut c = BrokerConfig::default();
        let report = c.apply_all(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        assert!(report.unknown.is_empty());
        assert_eq!(c.broker_name.as_deref(), Some("broker-a"));
        assert_eq!(c.ha_port(), 10912);
        assert_eq!(c.vip_port(), 10909);
    }

    #[test]
    fn unknown_and_java_only_keys_are_sorted_out() {
        let mut c = BrokerConfig::default();
        let r = c.apply_all([("sendMessageThreadPoolNums", "4"), ("fancyKey", "1")]).unwrap();
        assert_eq!(r.java_only, vec!["sendMessageThreadPoolNums"]);
        assert_eq!(r.unknown, vec!["fancyKey"]);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.validate(BrokerRole::Slave), Err("Slave's brokerId must be > 0".to_owned()));
        c.broker_id = 1;
        c.namesrv_addr = Some("127.0.0.1:9876; nohost".into());
        assert!(c.validate(BrokerRole::Slave).unwrap_err().contains("The Name Server Address[nohost] illegal"));
        c.namesrv_addr = Some("127.0.0.1:9876;10.0.0.2:9876".into());
        assert_eq!(c.validate(BrokerRole::Slave), Ok(()));
        assert_eq!(c.namesrv_list().len(), 2);
    }

    #[test]
    fn the_master_lease_ends_two_heartbeats_before_the_controllers_timeout() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.master_lease(), Some(Duration::from_millis(8_000)));
        c.apply_all([
            ("enableMasterLease", "true"),
            ("controllerHeartBeatTimeoutMills", "2000"),
            ("brokerHeartbeatInterval", "300"),
        ])
        .unwrap();
        assert_eq!(c.master_lease(), Some(Duration::from_millis(1_400)));
        assert!(c.validate(BrokerRole::AsyncMaster).unwrap_err().contains("needs enableControllerMode"));
        c.apply_all([("enableControllerMode", "true"), ("controllerAddr", "127.0.0.1:9878")]).unwrap();
        assert_eq!(c.validate(BrokerRole::AsyncMaster), Ok(()));
        c.broker_heartbeat_interval = 800;
        assert_eq!(c.master_lease(), None);
        assert!(c.validate(BrokerRole::AsyncMaster).unwrap_err().contains("enableMasterLease"));
    }

    #[test]
    fn limits_are_read_and_checked() {
        let mut c = BrokerConfig::default();
        assert_eq!(c.max_connections_per_ip, 1_000);
        assert_eq!(c.server_channel_write_timeout_seconds, 60);
        assert_eq!(c.server_frame_read_timeout_seconds, 30);
        assert_eq!(c.pull_permit_share_percent, 10);
        let report = c
            .apply_all([
                ("maxConnectionsPerIp", "5"),
                ("serverChannelWriteTimeoutSeconds", "2"),
                ("serverFrameReadTimeoutSeconds", "3"),
                ("pullPermitSharePercent", "50"),
            ])
            .unwrap();
        assert!(report.unknown.is_empty(), "{report:?}");
        assert_eq!(
            (c.max_connections_per_ip, c.server_channel_write_timeout_seconds, c.server_frame_read_timeout_seconds),
            (5, 2, 3)
        );
        assert_eq!(c.validate(BrokerRole::AsyncMaster), Ok(()));
        c.server_frame_read_timeout_seconds = 0;
        assert!(c.validate(BrokerRole::AsyncMaster).unwrap_err().contains("serverFrameReadTimeoutSeconds"));
        c.server_frame_read_timeout_seconds = 3;
        c.pull_permit_share_percent = 101;
        assert!(c.validate(BrokerRole::AsyncMaster).unwrap_err().contains("pullPermitSharePercent"));
    }
}
