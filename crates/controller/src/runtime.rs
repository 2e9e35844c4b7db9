//! Running a controller: open and replay the event log (alone) or start the
//! Raft member (in a group), bind the port of this controller's peer entry,
//! serve, scan for silent brokers and masterless groups, stop when the
//! shutdown token fires.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rmq_remoting::{CancellationToken, Server, ServerConfig};

use crate::config::ControllerConfig;
use crate::controller::{Controller, ControllerService};
use crate::error::{ControllerError, Result};
use crate::notify::Notifier;
use crate::raft::RaftNode;
use crate::store::EventLog;

/// The Raft log's directory under `controllerStorePath`.
const RAFT_DIR: &str = "raft";
/// How long in-flight requests may finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// Java starts the heartbeat scan 2 s after start.
const FIRST_SCAN_DELAY: Duration = Duration::from_secs(2);

/// A controller whose log is replayed and whose port is bound.
#[derive(Debug)]
pub struct BoundController {
    server: Server,
    controller: Arc<Controller>,
}

/// Binds `bindAddress` with the port of this controller's peer entry.
/// Alone, replays the event log under `controllerStorePath` (default under
/// `home`); in a group, starts the Raft member on `controllerStorePath/raft`.
pub async fn bind(config: ControllerConfig, home: &Path) -> Result<BoundController> {
    let me = config.self_peer()?;
    let port = config.listen_port()?;
    let store = config.store_dir(home);
    let listen = format!("{}:{port}", config.bind_address);
    let addr: SocketAddr = listen.parse().map_err(|_| ControllerError::Bind {
        addr: listen.clone(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a bindable address"),
    })?;
    let server_config = ServerConfig { shutdown_grace: SHUTDOWN_GRACE, ..ServerConfig::new(addr) };
    let server = Server::bind(server_config).await.map_err(|source| ControllerError::Bind { addr: listen, source })?;
    let controller = if config.peers()?.len() == 1 {
        let (log, events) = EventLog::open(&store)?;
        Controller::open(config, me, log, events)
    } else {
        if store.join(crate::store::EVENT_LOG_FILE).exists() {
            tracing::warn!(
                "{} is a single controller's event log: a group of controllers starts from its Raft log instead",
                store.join(crate::store::EVENT_LOG_FILE).display()
            );
        }
        let state = Arc::default();
        let node = RaftNode::start(&config, &me, &store.join(RAFT_DIR), Arc::clone(&state)).await?;
        Controller::in_group(config, me, state, node)
    };
    Ok(BoundController { server, controller: Arc::new(controller) })
}

impl BoundController {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn controller(&self) -> Arc<Controller> {
        Arc::clone(&self.controller)
    }

    /// Serves until `shutdown` fires.
    pub async fn serve(self, shutdown: CancellationToken) {
        let notifier = Notifier::default();
        let config = self.controller.config();
        let scan = tokio::spawn(scan_loop(
            Arc::clone(&self.controller),
            notifier.clone(),
            config.scan_not_active_broker_interval(),
            config.scan_inactive_master_interval(),
            shutdown.clone(),
        ));
        let raft = self.controller.raft().cloned();
        let service = Arc::new(ControllerService { controller: self.controller, notifier: notifier.clone() });
        let roles = raft.clone().map(|node| tokio::spawn(log_role_changes(node, shutdown.clone())));
        self.server.run(service, shutdown).await;
        let _ = scan.await;
        if let Some(node) = raft {
            node.shutdown().await;
        }
        if let Some(roles) = roles {
            let _ = roles.await;
        }
        notifier.close();
    }
}

/// The two periodic scans: brokers silent past their timeout (every
/// `scanNotActiveBrokerInterval`) and groups whose master is not alive
/// (every `scanInactiveMasterInterval`).
async fn scan_loop(
    controller: Arc<Controller>,
    notifier: Notifier,
    brokers_every: Duration,
    masters_every: Duration,
    shutdown: CancellationToken,
) {
    let start = tokio::time::Instant::now() + FIRST_SCAN_DELAY.min(brokers_every);
    let mut brokers = tokio::time::interval_at(start, brokers_every);
    brokers.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A controller that just started has heard no heartbeat yet: give the
    // brokers a full default heartbeat timeout before calling any master
    // dead, so that a controller restart never causes a failover.
    let grace = masters_every.max(crate::heartbeat::DEFAULT_HEARTBEAT_TIMEOUT);
    let mut masters = tokio::time::interval_at(tokio::time::Instant::now() + grace, masters_every);
    masters.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = brokers.tick() => notifier.send(controller.scan_not_active_brokers().await),
            _ = masters.tick() => notifier.send(controller.scan_inactive_masters().await),
        }
    }
}

/// Logs each change of this member's role or of the leader it knows.
async fn log_role_changes(node: RaftNode, shutdown: CancellationToken) {
    let mut metrics = node.raft.metrics();
    let mut last = None;
    loop {
        let seen = {
            let m = metrics.borrow_and_update();
            (m.state, m.current_leader, m.current_term)
        };
        if last != Some(seen) {
            let role = node.role();
            let leader = role.leader.map_or_else(|| "none".to_owned(), |p| format!("{}-{}", p.id, p.addr));
            tracing::info!("controller raft: {:?} in term {}, leader {leader}", seen.0, seen.2);
            last = Some(seen);
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            changed = metrics.changed() => if changed.is_err() { break },
        }
    }
}
