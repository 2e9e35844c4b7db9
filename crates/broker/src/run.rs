//! Running a broker: listen on the main and VIP ports, register with the
//! NameServers, run the periodic tasks, and shut down in order when the token
//! is cancelled (stop accepting, unregister, persist tables, close the store).

use rmq_remoting::{CancellationToken, Server, ServerConfig, ServerTls};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::clients::CHANNEL_EXPIRED_TIMEOUT;
use crate::config::BrokerConfig;
use crate::periodic::every;
use crate::service::BrokerService;
use crate::settings::Settings;
use crate::stats::SAMPLE_PERIOD_MS;
use crate::stats_log;
use crate::{BrokerError, now_ms};

/// What the boot line reports, handed to the caller once the broker serves.
#[derive(Debug, Clone)]
pub struct BootInfo {
    pub broker_name: String,
    /// `brokerIP1:listenPort`.
    pub broker_addr: String,
    /// The NameServer list as configured, if any.
    pub namesrv_addr: Option<String>,
    /// Where `/metrics` listens, when it does.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the main port actually listens (useful with port 0 in tests).
    pub listen_addr: SocketAddr,
    pub vip_addr: SocketAddr,
}

fn server_config(port: u16, c: &BrokerConfig, tls: &ServerTls) -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        max_connections: 10_000,
        max_connections_per_ip: c.max_connections_per_ip,
        max_frame: rmq_protocol::DEFAULT_MAX_FRAME,
        max_in_flight_per_connection: 4096,
        idle_timeout: Duration::from_secs(c.server_channel_max_idle_time_seconds),
        write_timeout: Duration::from_secs(c.server_channel_write_timeout_seconds),
        frame_timeout: Duration::from_secs(c.server_frame_read_timeout_seconds),
        shutdown_grace: Duration::from_secs(3),
        tls: tls.clone(),
    }
}

/// Runs a broker until `shutdown` is cancelled. `ready` is called once the
/// ports listen and the first registration was attempted.
/// With `enableControllerMode`, the controllers assign the role and a role
/// change serves the broker again in its new role (`controller_mode`).
pub async fn run(
    settings: Settings,
    shutdown: CancellationToken,
    ready: impl FnOnce(&BootInfo),
) -> Result<(), BrokerError> {
    if settings.broker.enable_controller_mode {
        return crate::controller_mode::run(settings, shutdown, ready).await;
    }
    serve(Broker::open(settings)?, shutdown, ready).await
}

/// Serves an opened broker until `shutdown`, then shuts it down in order.
pub(crate) async fn serve(
    broker: Broker,
    shutdown: CancellationToken,
    ready: impl FnOnce(&BootInfo),
) -> Result<(), BrokerError> {
    let namesrv_addr = broker.config.get().namesrv_addr.clone();
    // Wrong metrics keys, or a required metrics port in use, stop the broker
    // before it serves anyone.
    let metrics = crate::metrics::bind(&broker).await?;
    let metrics_addr = metrics.as_ref().map(|m| m.local_addr());
    let (port, vip_port, main_config, vip_config) = {
        let c = broker.config.get();
        (
            c.listen_port,
            c.vip_port(),
            server_config(c.listen_port, &c, &broker.server_tls),
            server_config(c.vip_port(), &c, &broker.server_tls),
        )
    };
    let main = Server::bind(main_config)
        .await
        .map_err(|source| BrokerError::Listen { addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), source })?;
    let vip = Server::bind(vip_config)
        .await
        .map_err(|source| BrokerError::Listen { addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, vip_port)), source })?;
    broker.port_limits.watch(main.counters());
    broker.port_limits.watch(vip.counters());
    let info = BootInfo {
        broker_name: broker.identity.broker_name.clone(),
        broker_addr: broker.identity.broker_addr.clone(),
        namesrv_addr,
        listen_addr: main.local_addr(),
        vip_addr: vip.local_addr(),
        metrics_addr,
    };
    let servers = shutdown.child_token();
    let mut tasks = JoinSet::new();
    tasks.spawn(main.run(Arc::new(BrokerService { handlers: broker.handlers.clone(), vip: false }), servers.clone()));
    tasks.spawn(vip.run(Arc::new(BrokerService { handlers: broker.handlers.clone(), vip: true }), servers.clone()));
    let registered = broker.registration.register().await;
    let background = shutdown.child_token();
    if let Some(metrics) = metrics {
        metrics.spawn(&broker, &background, &mut tasks);
    }
    spawn_periodic_tasks(&broker, &background, &mut tasks);
    broker.registration.spawn(registered, &background, &mut tasks);
    broker.replication.spawn(&broker.store, &broker.tables, &background, &mut tasks)?;
    broker.handlers.transactions.spawn(&background, &mut tasks);
    if broker.is_master() {
        tasks.spawn(broker.delays.clone().run(background.clone()));
        tasks.spawn(broker.pop.clone().run_revive(broker.store.clone(), background.clone()));
        if let Some(timers) = &broker.timers {
            tasks.spawn(timers.clone().run(background.clone()));
        }
    }
    ready(&info);
    shutdown.cancelled().await;
    tracing::info!("shutdown requested: stop serving, unregister, persist, close the store");
    broker.waiters.wake_all();
    broker.registration.unregister().await;
    while tasks.join_next().await.is_some() {}
    broker.background.drain(BACKGROUND_GRACE).await;
    broker.tables.offsets.persist();
    broker.tables.topics.persist();
    broker.tables.groups.persist();
    broker.tables.delay_offsets.persist();
    let store = broker.store.clone();
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .map_err(|e| BrokerError::ShutdownTask(e.to_string()))??;
    tracing::info!("broker {} shut down", info.broker_name);
    Ok(())
}

/// How long shutdown waits for notifications and check-backs under way.
const BACKGROUND_GRACE: Duration = Duration::from_secs(3);

fn spawn_periodic_tasks(broker: &Broker, stop: &CancellationToken, tasks: &mut JoinSet<()>) {
    let offsets_period = Duration::from_millis(broker.config.get().flush_consumer_offset_interval.max(100));
    let offsets = broker.tables.offsets.clone();
    tasks.spawn(every(stop.clone(), offsets_period, offsets_period, move || {
        let offsets = offsets.clone();
        async move { offsets.persist_if_changed() }
    }));
    let (clients, notifier) = (broker.clients.clone(), broker.notifier.clone());
    tasks.spawn(every(stop.clone(), Duration::from_secs(10), Duration::from_secs(10), move || {
        let (clients, notifier) = (clients.clone(), notifier.clone());
        async move {
            for group in clients.expire(Instant::now(), CHANNEL_EXPIRED_TIMEOUT) {
                tracing::info!("consumer group {group}: an idle client expired");
                notifier.group_changed(&group);
            }
        }
    }));
    let stats = broker.stats.clone();
    let sample = Duration::from_millis(SAMPLE_PERIOD_MS as u64);
    tasks.spawn(every(stop.clone(), Duration::ZERO, sample, move || {
        let stats = stats.clone();
        async move { stats.sample(now_ms()) }
    }));
    let (stats, cluster) = (broker.stats.clone(), broker.config.get().broker_cluster_name.clone());
    let first = stats_log::until_next_minute(now_ms());
    tasks.spawn(every(stop.clone(), first, Duration::from_secs(60), move || {
        stats_log::print_minute(&stats, &cluster, now_ms());
        async {}
    }));
}
