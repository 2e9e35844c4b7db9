//! The life of a broker in controller mode: get an id, heartbeat, and serve
//! one *generation* per role the controller assigns. A generation ends when
//! the controller names another master or epoch (its notification, or the
//! periodic `syncBrokerMetadataPeriod` check); the broker then serves again
//! in its new role.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmq_model::BrokerRole;
use rmq_protocol::body::controller::SyncStateSet;
use rmq_protocol::header::BrokerHeartbeatRequestHeader;
use rmq_remoting::{CancellationToken, ClientTls};
use rmq_replication::epoch::{EpochEntry, EpochFile, consistent_point, ending_at};
use rmq_store::MessageStore;

use super::link::{ControllerLink, LinkError, MasterInfo, Me};
use super::{ControllerView, from_wire, identity, in_sync, lease, lock};
use crate::broker::Broker;
use crate::ha::Replication;
use crate::run::{BootInfo, serve};
use crate::settings::Settings;
use crate::{BrokerError, BrokerIdentity};

/// Between tries while the controller cannot name a master, or a master
/// cannot be asked for its epochs.
const RETRY: Duration = Duration::from_secs(1);

pub(crate) async fn run(
    settings: Settings,
    shutdown: CancellationToken,
    ready: impl FnOnce(&BootInfo),
) -> Result<(), BrokerError> {
    let identity = BrokerIdentity::of(&settings.broker);
    let me = Me {
        cluster: identity.cluster_name.clone(),
        broker_name: identity.broker_name.clone(),
        addr: identity.broker_addr.clone(),
    };
    let link =
        Arc::new(ControllerLink::new(settings.broker.controller_list(), me, ClientTls::from_settings(&settings.tls)?));
    let root = settings.store.store_path_root_dir.clone();
    std::fs::create_dir_all(&root).map_err(|e| BrokerError::ControllerMode(format!("{}: {e}", root.display())))?;
    let Some(id) = identity::broker_id(&link, &root, &shutdown).await? else { return Ok(()) };
    let epochs = EpochFile::open(&root.join("epochFileCheckpoint")).map_err(controller_error)?;
    let view = Arc::new(ControllerView::new(identity.cluster_name.clone(), identity.broker_name.clone(), epochs));
    let heartbeats = tokio::spawn(heartbeat(link.clone(), view.clone(), settings.clone(), id, shutdown.clone()));
    let mut ready = Some(ready);
    let result = loop {
        let Some(info) = assignment(&link, id, &shutdown).await else { break Ok(()) };
        match generation(&settings, &link, &view, id, info, &shutdown, &mut ready).await {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    heartbeats.abort();
    link.close();
    result
}

/// Serves one role. `Ok(true)`: the role changed, serve again; `Ok(false)`: shut down.
async fn generation(
    settings: &Settings,
    link: &Arc<ControllerLink>,
    view: &Arc<ControllerView>,
    id: i64,
    info: MasterInfo,
    shutdown: &CancellationToken,
    ready: &mut Option<impl FnOnce(&BootInfo)>,
) -> Result<bool, BrokerError> {
    let is_master = info.master_id == Some(id);
    let mut serving = settings.clone();
    let mut adopt = None;
    if is_master {
        serving.broker.broker_id = 0;
        // As Java, brokerRole does not count in controller mode: a send
        // waits for replicas only with allAckInSyncStateSet or inSyncReplicas > 1.
        let c = &settings.broker;
        let sync = c.all_ack_in_sync_state_set || c.in_sync_replicas > 1;
        serving.store.broker_role = if sync { BrokerRole::SyncMaster } else { BrokerRole::AsyncMaster };
    } else {
        serving.broker.broker_id = id;
        serving.store.broker_role = BrokerRole::Slave;
        let master = info.master_addr.clone().unwrap_or_default();
        match follow_point(link, view, &master, info.master_epoch).await {
            Ok((cut, theirs)) => {
                serving.store.truncate_to = cut;
                adopt = Some(theirs);
            }
            Err(e) => {
                tracing::warn!("controller mode: cannot compare epochs with master {master} yet: {e}");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(false),
                    _ = tokio::time::sleep(RETRY) => return Ok(true),
                }
            }
        }
    }
    let broker = Broker::open_controlled(serving, view.clone())?;
    let store = broker.store.clone();
    record_epochs(view, &store, is_master, &info, adopt)?;
    let registered_id = if is_master { 0 } else { id };
    view.serving(Some((store.clone(), registered_id)));
    tracing::info!(
        "controller mode: {} serves as {} (broker id {id}, master epoch {}, master {})",
        link.me.broker_name,
        if is_master { "master" } else { "replica" },
        info.master_epoch,
        info.master_addr.as_deref().unwrap_or("-")
    );
    let stop = shutdown.child_token();
    let watcher = tokio::spawn(watch(link.clone(), view.clone(), settings.clone(), id, info.clone(), stop.clone()));
    let review = is_master.then(|| {
        let replication = broker.replication.clone();
        tokio::spawn(review_in_sync(link.clone(), settings.clone(), id, info.clone(), replication, store, stop.clone()))
    });
    let lease = (is_master && settings.broker.enable_master_lease).then(|| {
        let times = (settings.broker.controller_heartbeat_period(), settings.broker.master_lease().unwrap_or_default());
        let (beat_link, view, settings) = (link.clone(), view.clone(), settings.clone());
        let beat = move || heartbeat_of(&beat_link, &view, &settings, id);
        tokio::spawn(lease::keep(link.clone(), beat, broker.replication.clone(), times, stop.clone()))
    });
    let served = serve(broker, stop.clone(), |boot| {
        if let Some(ready) = ready.take() {
            ready(boot)
        }
    })
    .await;
    stop.cancel();
    let _ = watcher.await;
    for task in [review, lease].into_iter().flatten() {
        let _ = task.await;
    }
    view.serving(None);
    served?;
    if shutdown.is_cancelled() {
        return Ok(false);
    }
    tracing::info!("controller mode: the role of {} changed; serving again in the new role", link.me.broker_name);
    Ok(true)
}

/// The master the controller names: by registering, else by asking for an
/// election. `None` once `shutdown`.
async fn assignment(link: &ControllerLink, id: i64, shutdown: &CancellationToken) -> Option<MasterInfo> {
    loop {
        let answer = match link.register(id).await {
            Ok(info) if info.has_master() => Ok(info),
            Ok(_) => link.elect(id).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(info) if info.has_master() => return Some(info),
            Ok(_) => tracing::warn!("controller mode: no master in {} yet", link.me.broker_name),
            Err(e) => tracing::warn!("controller mode: registering with the controller: {e}"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// Where this log agrees with the master's, and the master's epochs.
/// `None` as the cut: nothing to cut (no epochs of our own: a new replica,
/// or a store from before controller mode).
async fn follow_point(
    link: &ControllerLink,
    view: &ControllerView,
    master: &str,
    master_epoch: i32,
) -> Result<(Option<u64>, Vec<EpochEntry>), String> {
    let cache = link.epoch_cache(master).await.map_err(|e: LinkError| e.to_string())?;
    let theirs = from_wire(&cache.epoch_list);
    if theirs.last().is_none_or(|last| last.epoch < master_epoch) {
        return Err(format!("it has not taken epoch {master_epoch} yet"));
    }
    let mine = lock(&view.epochs).entries();
    if mine.is_empty() {
        return Ok((None, theirs));
    }
    // Our last stretch stays open-ended: whatever our log's end, the cut is
    // where the master's copy of that epoch ends, and it applies only if
    // our log goes further.
    match consistent_point(&mine, &ending_at(theirs.clone(), cache.max_offset)) {
        Some(point) => Ok((Some(point.max(0) as u64), theirs)),
        None => Err(format!("no epoch in common (ours {mine:?}, the master's {theirs:?}): refusing to follow it")),
    }
}

fn record_epochs(
    view: &ControllerView,
    store: &MessageStore,
    is_master: bool,
    info: &MasterInfo,
    adopt: Option<Vec<EpochEntry>>,
) -> Result<(), BrokerError> {
    let mut epochs = lock(&view.epochs);
    if is_master {
        if epochs.last_epoch() < info.master_epoch {
            epochs.append(info.master_epoch, store.max_physical_offset().as_i64()).map_err(controller_error)?;
        }
    } else if let Some(theirs) = adopt {
        epochs.adopt(&theirs).map_err(controller_error)?;
    }
    Ok(())
}

/// Ends the generation when the controller names another master or epoch;
/// asks for an election when it names none.
async fn watch(
    link: Arc<ControllerLink>,
    view: Arc<ControllerView>,
    settings: Settings,
    id: i64,
    serving: MasterInfo,
    stop: CancellationToken,
) {
    let period = Duration::from_millis(settings.broker.sync_broker_metadata_period.max(100));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
            _ = view.notified.notified() => {}
        }
        let now = match link.replica_info().await {
            Ok(now) if now.has_master() => now,
            Ok(_) => match link.elect(id).await {
                Ok(elected) if elected.has_master() => elected,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!("controller mode: asking for an election: {e}");
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!("controller mode: reading {}'s replica info: {e}", link.me.broker_name);
                continue;
            }
        };
        if now.master_epoch > serving.master_epoch || now.master_id != serving.master_id {
            tracing::info!(
                "controller mode: master of {} is now {:?} at {} (epoch {}), was {:?} (epoch {})",
                link.me.broker_name,
                now.master_id,
                now.master_addr.as_deref().unwrap_or("-"),
                now.master_epoch,
                serving.master_id,
                serving.master_epoch
            );
            stop.cancel();
            return;
        }
    }
}

/// A master: every `checkSyncStateSetPeriod`, works out which replicas are
/// in sync and tells the controller when that changed.
async fn review_in_sync(
    link: Arc<ControllerLink>,
    settings: Settings,
    id: i64,
    info: MasterInfo,
    replication: Arc<Replication>,
    store: Arc<MessageStore>,
    stop: CancellationToken,
) {
    let period = Duration::from_millis(settings.broker.check_sync_state_set_period.max(100));
    let max_lag = settings.broker.ha_max_time_slave_not_catchup;
    let mut current =
        SyncStateSet { sync_state_set: info.sync_state_set, sync_state_set_epoch: info.sync_state_set_epoch };
    // What a send needs of the set: with allAckInSyncStateSet every other
    // member, else inSyncReplicas - 1 replicas; and minInSyncReplicas
    // members before it is stored at all.
    let c = &settings.broker;
    let (all_ack, wanted, min) = (c.all_ack_in_sync_state_set, c.in_sync_replicas, c.min_in_sync_replicas);
    let require_all = |set: &BTreeSet<i64>| {
        let others = set.iter().filter(|member| **member != id).count();
        replication.set_required_acks(if all_ack { others } else { wanted.saturating_sub(1) });
        replication.set_in_sync(others + 1, min);
    };
    require_all(&current.sync_state_set);
    // When each replica was last seen caught up. As in Java, a replica
    // leaves the set only once it has not been for haMaxTimeSlaveNotCatchup
    // (a dropped connection or a restart is not enough); the members at the
    // start of this role get that long to connect.
    let mut caught_up: std::collections::BTreeMap<i64, Instant> =
        current.sync_state_set.iter().map(|id| (*id, Instant::now())).collect();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        let replicas = match link.group_replicas().await {
            Ok(replicas) => replicas,
            Err(e) => {
                tracing::warn!("controller mode: reading the group's replicas: {e}");
                continue;
            }
        };
        let now = Instant::now();
        for member in in_sync::in_sync_set(id, &replicas, &replication.slave_lags(&store), max_lag) {
            caught_up.insert(member, now);
        }
        let recent = Duration::from_millis(max_lag);
        let proposed: BTreeSet<i64> = caught_up
            .iter()
            .filter(|(member, seen)| **member == id || now.duration_since(**seen) <= recent)
            .map(|(member, _)| *member)
            .chain([id])
            .collect();
        if proposed == current.sync_state_set {
            continue;
        }
        let proposal = SyncStateSet { sync_state_set: proposed, sync_state_set_epoch: current.sync_state_set_epoch };
        match link.alter_sync_state_set(id, info.master_epoch, proposal).await {
            Ok(now) => {
                tracing::info!(
                    "controller mode: in-sync set of {} is now {:?} (epoch {})",
                    link.me.broker_name,
                    now.sync_state_set,
                    now.sync_state_set_epoch
                );
                current = now;
                require_all(&current.sync_state_set);
            }
            Err(e) => {
                tracing::warn!("controller mode: altering the in-sync set: {e}");
                if let Ok(fresh) = link.replica_info().await {
                    current = SyncStateSet {
                        sync_state_set: fresh.sync_state_set,
                        sync_state_set_epoch: fresh.sync_state_set_epoch,
                    };
                    require_all(&current.sync_state_set);
                }
            }
        }
    }
}

/// BROKER_HEARTBEAT to the controllers every `brokerHeartbeatInterval`,
/// with the epoch and log end the controller elects by.
async fn heartbeat(
    link: Arc<ControllerLink>,
    view: Arc<ControllerView>,
    settings: Settings,
    id: i64,
    stop: CancellationToken,
) {
    let period = settings.broker.controller_heartbeat_period();
    loop {
        link.heartbeat(heartbeat_of(&link, &view, &settings, id), settings.broker.enable_master_lease).await;
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}

/// This broker's heartbeat as it stands.
fn heartbeat_of(
    link: &ControllerLink,
    view: &ControllerView,
    settings: &Settings,
    id: i64,
) -> BrokerHeartbeatRequestHeader {
    let c = &settings.broker;
    let max_offset = view.max_offset();
    BrokerHeartbeatRequestHeader {
        cluster_name: link.me.cluster.clone(),
        broker_addr: link.me.addr.clone(),
        broker_name: link.me.broker_name.clone(),
        broker_id: Some(id),
        epoch: Some(view.last_epoch()),
        max_offset: Some(max_offset),
        confirm_offset: Some(max_offset),
        heartbeat_timeout_mills: Some(c.controller_heart_beat_timeout_mills as i64),
        election_priority: Some(c.broker_election_priority),
    }
}

fn controller_error(e: rmq_replication::epoch::EpochError) -> BrokerError {
    BrokerError::ControllerMode(e.to_string())
}
