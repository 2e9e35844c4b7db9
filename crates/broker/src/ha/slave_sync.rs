//! A slave's metadata sync (Java's `SlaveSynchronize`):
//! every 10 s, the first time 3 s after boot, it fetches topic configs,
//! consumer offsets, delay offsets and subscription groups from its master's
//! VIP port (`listenPort - 2`), 3 s per request, and adopts them.
//!
//! One addition to Java: offsets that consumers committed to this slave while
//! their master was away (clients fall back to a slave for commits) are handed
//! back to the master when it is reachable again, if the master's are older,
//! instead of being overwritten by the master's older values.

use rmq_model::fastjson;
use rmq_model::tables::{
    ConsumerOffsetSerializeWrapper, DelayOffsetSerializeWrapper, SubscriptionGroupWrapper, TopicConfigSerializeWrapper,
};
use rmq_protocol::header::UpdateConsumerOffsetRequestHeader;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_remoting::{CancellationToken, Client, ClientConfig};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::tables::{ConsumerOffsets, DelayOffsets, SubscriptionGroups, TopicTable};

/// The tables a slave copies from its master.
#[derive(Clone, Debug)]
pub(crate) struct MirroredTables {
    pub topics: Arc<TopicTable>,
    pub groups: Arc<SubscriptionGroups>,
    pub offsets: Arc<ConsumerOffsets>,
    pub delay_offsets: Arc<DelayOffsets>,
}

const FIRST_SYNC: Duration = Duration::from_secs(3);
const PERIOD: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(3);

/// Where a slave fetches its master's metadata, and the offsets committed to
/// it that the master has not seen yet.
#[derive(Debug)]
pub(crate) struct MetadataSync {
    client: Client,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The master's client address, as the last NameServer answer named it.
    master_addr: Option<String>,
    /// HA address → client address of masters named by NameServers, so the
    /// metadata comes from the master the HA client follows.
    by_ha: HashMap<String, String>,
    /// `(topic@group, queue id)` → offset committed to this slave by a client.
    commits: BTreeMap<(String, i32), i64>,
}

impl MetadataSync {
    pub(crate) fn new(tls: Option<rmq_remoting::ClientTls>) -> MetadataSync {
        let config = ClientConfig { connect_timeout: TIMEOUT, tls, ..ClientConfig::default() };
        MetadataSync {
            client: Client::new(config, Arc::new(rmq_remoting::RejectAll)),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A NameServer named the master: `master_addr` (its listen port) and
    /// `ha_addr` (its HA port).
    pub(crate) fn set_master(&self, ha_addr: Option<&str>, master_addr: &str) {
        let mut state = self.state();
        if let Some(ha) = ha_addr {
            state.by_ha.insert(ha.to_owned(), master_addr.to_owned());
        }
        state.master_addr = Some(master_addr.to_owned());
    }

    /// A client committed an offset to this slave (its master was away).
    pub(crate) fn note_commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.state().commits.insert((format!("{topic}@{group}"), queue_id), offset);
    }

    /// The master to sync from: the one the HA client follows, if known.
    fn master_addr(&self, following: Option<&str>) -> Option<String> {
        let state = self.state();
        following.and_then(|ha| state.by_ha.get(ha).cloned()).or_else(|| state.master_addr.clone())
    }
}

/// Java's VIP address of a master: its listen port minus 2.
fn vip_addr(addr: &str) -> Option<String> {
    let (host, port) = addr.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    Some(format!("{host}:{}", port.checked_sub(2)?))
}

/// Copies the master's tables every 10 s (after a first wait), from the
/// master the HA client follows.
pub(super) async fn run(
    tables: MirroredTables,
    slave: Arc<rmq_replication::Slave>,
    sync: Arc<MetadataSync>,
    stop: CancellationToken,
) {
    tokio::select! {
        _ = stop.cancelled() => return,
        _ = tokio::time::sleep(FIRST_SYNC) => {}
    }
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let following = slave.status().following;
        let Some(master) = sync.master_addr(following.as_deref()) else { continue };
        let Some(vip) = vip_addr(&master) else {
            tracing::warn!("slave sync: master address {master} has no port");
            continue;
        };
        // A master that does not answer (paused, cut off) must not hold up
        // a role change: each request waits up to its timeout.
        let synced = tokio::select! {
            _ = stop.cancelled() => return,
            synced = sync_all(&tables, &sync, &vip) => synced,
        };
        match synced {
            Ok(()) => {
                if failing {
                    tracing::info!("slave sync: metadata from master {vip} in step again");
                }
                failing = false;
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("slave sync from master {vip} failed: {e}");
                }
                failing = true;
            }
        }
    }
}

async fn fetch(sync: &MetadataSync, vip: &str, code: RequestCode) -> Result<Option<bytes::Bytes>, String> {
    let response = sync
        .client
        .invoke(vip, RemotingCommand::bare_request(code), TIMEOUT)
        .await
        .map_err(|e| format!("{code:?}: {e}"))?;
    match response.response_code() {
        ResponseCode::Success => Ok(Some(response.body.to_bytes())),
        // "No topic/consumer offset/delay offset in this broker": nothing to adopt.
        ResponseCode::SystemError => Ok(None),
        other => Err(format!("{code:?} answered {other:?}: {}", response.remark.unwrap_or_default())),
    }
}

/// One round: topics, consumer offsets, delay offsets, subscription groups.
/// Each step runs whatever happened to the others (as Java's syncAll does):
/// a large topic table that times out must not keep offsets stale. The
/// failures are reported together.
async fn sync_all(t: &MirroredTables, sync: &MetadataSync, vip: &str) -> Result<(), String> {
    let outcomes = [
        sync_topics(t, sync, vip).await,
        sync_consumer_offsets(t, sync, vip).await,
        sync_delay_offsets(t, sync, vip).await,
        sync_groups(t, sync, vip).await,
    ];
    let failures: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

async fn sync_topics(t: &MirroredTables, sync: &MetadataSync, vip: &str) -> Result<(), String> {
    if let Some(body) = fetch(sync, vip, RequestCode::GetAllTopicConfig).await? {
        let topics: TopicConfigSerializeWrapper =
            fastjson::from_slice(&body).map_err(|e| format!("topic configs from master: {e}"))?;
        if topics.data_version != t.topics.data_version() {
            tracing::info!("slave sync: {} topic configs from master {vip}", topics.topic_config_table.len());
            t.topics.replace_all(topics);
            t.topics.persist();
        }
    }
    Ok(())
}

async fn sync_consumer_offsets(t: &MirroredTables, sync: &MetadataSync, vip: &str) -> Result<(), String> {
    let master_offsets = match fetch(sync, vip, RequestCode::GetAllConsumerOffset).await? {
        Some(body) => fastjson::from_slice::<ConsumerOffsetSerializeWrapper>(&body)
            .map_err(|e| format!("consumer offsets from master: {e}"))?,
        None => ConsumerOffsetSerializeWrapper::default(),
    };
    let offsets = hand_back(sync, vip, master_offsets).await;
    if !offsets.offset_table.is_empty() {
        t.offsets.put_all(offsets);
        t.offsets.persist();
    }
    Ok(())
}

async fn sync_delay_offsets(t: &MirroredTables, sync: &MetadataSync, vip: &str) -> Result<(), String> {
    if let Some(body) = fetch(sync, vip, RequestCode::GetAllDelayOffset).await? {
        let delay: DelayOffsetSerializeWrapper =
            fastjson::from_slice(&body).map_err(|e| format!("delay offsets from master: {e}"))?;
        t.delay_offsets.replace_all(delay);
        t.delay_offsets.persist();
    }
    Ok(())
}

async fn sync_groups(t: &MirroredTables, sync: &MetadataSync, vip: &str) -> Result<(), String> {
    if let Some(body) = fetch(sync, vip, RequestCode::GetAllSubscriptionGroupConfig).await? {
        let groups: SubscriptionGroupWrapper =
            fastjson::from_slice(&body).map_err(|e| format!("subscription groups from master: {e}"))?;
        if groups.data_version != t.groups.data_version() {
            t.groups.replace_all(groups);
            t.groups.persist();
        }
    }
    Ok(())
}

/// Sends the master offsets committed here that are ahead of its own, and
/// returns the master's table with them applied (so they are not lost here
/// either). A commit the master confirmed, or is already past, is forgotten.
async fn hand_back(
    sync: &MetadataSync,
    vip: &str,
    mut master: ConsumerOffsetSerializeWrapper,
) -> ConsumerOffsetSerializeWrapper {
    let commits: Vec<((String, i32), i64)> = sync.state().commits.iter().map(|(k, v)| (k.clone(), *v)).collect();
    for ((key, queue_id), offset) in commits {
        let theirs = master.offset_table.get(&key).and_then(|q| q.get(&queue_id)).copied().unwrap_or(-1);
        let done = if theirs >= offset {
            true
        } else {
            let Some((topic, group)) = key.split_once('@') else { continue };
            let header = UpdateConsumerOffsetRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.to_owned(),
                queue_id,
                commit_offset: offset,
            };
            let request = RemotingCommand::request(RequestCode::UpdateConsumerOffset, &header);
            match sync.client.invoke(vip, request, TIMEOUT).await {
                Ok(r) if r.response_code() == ResponseCode::Success => {
                    tracing::info!("slave sync: handed offset {offset} of {key} queue {queue_id} back to the master");
                    master.offset_table.entry(key.clone()).or_default().insert(queue_id, offset);
                    true
                }
                _ => {
                    master.offset_table.entry(key.clone()).or_default().insert(queue_id, offset);
                    false
                }
            }
        };
        if done {
            let mut state = sync.state();
            if state.commits.get(&(key.clone(), queue_id)) == Some(&offset) {
                state.commits.remove(&(key, queue_id));
            }
        }
    }
    master
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vip_port_is_two_below() {
        assert_eq!(vip_addr("127.0.0.1:10911").as_deref(), Some("127.0.0.1:10909"));
        assert_eq!(vip_addr("nohost"), None);
        assert_eq!(vip_addr("h:1"), None);
    }

    #[test]
    fn sync_follows_the_master_the_ha_client_follows() {
        let s = MetadataSync::new(None);
        s.set_master(Some("10.0.0.1:10912"), "10.0.0.1:10911");
        s.set_master(Some("10.0.0.2:10912"), "10.0.0.2:10911");
        assert_eq!(s.master_addr(Some("10.0.0.1:10912")).as_deref(), Some("10.0.0.1:10911"));
        assert_eq!(s.master_addr(None).as_deref(), Some("10.0.0.2:10911"));
    }
}
