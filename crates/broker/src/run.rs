//! Running a broker: listen on the main and VIP ports, register with the
//! NameServers, run the periodic tasks, and shut down in order when the token
//! is cancelled (stop accepting, unregister, persist tables, close the store).

use rmq_remoting::{CancellationToken, Server, ServerConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::clients::CHANNEL_EXPIRED_TIMEOUT;
use crate::service::BrokerService;
use crate::settings::Settings;
use crate::stats::SAMPLE_PERIOD_MS;
use crate::{BrokerError, now_ms};

/// What the boot line reports, handed to the caller once the broker serves.
#[derive(Debug, Clone)]
pub struct BootInfo {
    pub broker_name: String,
    /// `brokerIP1:listenPort`.
    pub broker_addr: String,
    /// The NameServer list as configured, if any.
    pub namesrv_addr: Option<String>,
    /// Where the main port actually listens (useful with port 0 in tests).
    pub listen_addr: SocketAddr,
    pub vip_addr: SocketAddr,
}

fn server_config(port: u16, idle: Duration) -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        max_connections: 10_000,
        max_frame: rmq_protocol::DEFAULT_MAX_FRAME,
        max_in_flight_per_connection: 4096,
        idle_timeout: idle,
        shutdown_grace: Duration::from_secs(3),
    }
}

/// Runs a broker until `shutdown` is cancelled. `ready` is called once the
/// ports listen and the first registration was attempted.
pub async fn run(
    settings: Settings,
    shutdown: CancellationToken,
    ready: impl FnOnce(&BootInfo),
) -> Result<(), BrokerError> {
    let namesrv_addr = settings.broker.namesrv_addr.clone();
    let broker = Arc::new(Broker::open(settings)?);
    let (port, vip_port, idle) = {
        let c = broker.config();
        (c.listen_port, c.vip_port(), Duration::from_secs(c.server_channel_max_idle_time_seconds))
    };
    let main = Server::bind(server_config(port, idle))
        .await
        .map_err(|source| BrokerError::Listen { addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), source })?;
    let vip = Server::bind(server_config(vip_port, idle))
        .await
        .map_err(|source| BrokerError::Listen { addr: SocketAddr::from((Ipv4Addr::UNSPECIFIED, vip_port)), source })?;
    let info = BootInfo {
        broker_name: broker.identity.broker_name.clone(),
        broker_addr: broker.identity.broker_addr.clone(),
        namesrv_addr,
        listen_addr: main.local_addr(),
        vip_addr: vip.local_addr(),
    };
    let servers = shutdown.child_token();
    let mut tasks = JoinSet::new();
    tasks.spawn(main.run(Arc::new(BrokerService { broker: broker.clone(), vip: false }), servers.clone()));
    tasks.spawn(vip.run(Arc::new(BrokerService { broker: broker.clone(), vip: true }), servers.clone()));
    register(&broker).await;
    let background = shutdown.child_token();
    spawn_periodic_tasks(&broker, &background, &mut tasks);
    crate::ha::spawn(&broker, &background, &mut tasks)?;
    crate::transaction::spawn(&broker, &background, &mut tasks);
    if broker.is_master() {
        let b = broker.clone();
        let stop = background.clone();
        tasks.spawn(async move { b.run_schedule(stop).await });
    }
    ready(&info);
    shutdown.cancelled().await;
    tracing::info!("shutdown requested: stop serving, unregister, persist, close the store");
    broker.pulls.wake_all();
    broker.registrar.unregister_all().await;
    while tasks.join_next().await.is_some() {}
    broker.persist_offsets();
    broker.persist_topics();
    broker.persist_groups();
    broker.persist_delay_offsets();
    let store = broker.store.clone();
    tokio::task::spawn_blocking(move || store.shutdown())
        .await
        .map_err(|e| BrokerError::Store(rmq_store::StoreError::Json(format!("store shutdown task failed: {e}"))))??;
    tracing::info!("broker {} shut down", info.broker_name);
    Ok(())
}

/// One full registration with every NameServer; failures are logged.
async fn register(broker: &Arc<Broker>) {
    let permission = broker.config().broker_permission;
    for outcome in broker.registrar.register_all(&broker.topics.snapshot(), permission).await {
        match outcome {
            Ok(registered) => {
                if let Some(order) = &registered.order_topics {
                    broker.topics.apply_order_topics(order);
                }
                broker.on_registered(&registered);
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }
}

fn spawn_periodic_tasks(broker: &Arc<Broker>, stop: &CancellationToken, tasks: &mut JoinSet<()>) {
    let (register_period, offsets_period) = {
        let c = broker.config();
        (c.register_period(), Duration::from_millis(c.flush_consumer_offset_interval.max(100)))
    };
    let b = broker.clone();
    tasks.spawn(every(stop.clone(), Duration::from_secs(10), register_period, move || {
        let b = b.clone();
        async move { register(&b).await }
    }));
    let b = broker.clone();
    tasks.spawn(every(stop.clone(), offsets_period, offsets_period, move || {
        let b = b.clone();
        async move { b.persist_offsets_if_changed() }
    }));
    let b = broker.clone();
    tasks.spawn(every(stop.clone(), Duration::from_secs(10), Duration::from_secs(10), move || {
        let b = b.clone();
        async move {
            for group in b.clients.expire(Instant::now(), CHANNEL_EXPIRED_TIMEOUT) {
                tracing::info!("consumer group {group}: an idle client expired");
                b.notify_consumers_changed(&group);
            }
        }
    }));
    let b = broker.clone();
    let sample = Duration::from_millis(SAMPLE_PERIOD_MS as u64);
    tasks.spawn(every(stop.clone(), Duration::ZERO, sample, move || {
        let b = b.clone();
        async move { b.stats.sample(now_ms()) }
    }));
}

/// Runs `job` after `first`, then every `period`, until `stop`.
async fn every<F, Fut>(stop: CancellationToken, first: Duration, period: Duration, mut job: F)
where
    F: FnMut() -> Fut + Send,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = tokio::time::sleep(first) => {}
    }
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => job().await,
        }
    }
}
