//! Where each broker group is: brokerName → its members' addresses, from the
//! NameServers' cluster info. Relayed requests name their broker group
//! (`bname`), not a topic, so the topic routes the gRPC side keeps do not
//! serve; one GET_BROKER_CLUSTER_INFO every few seconds does.
//!
//! The last table answered stays in use while the NameServers cannot be
//! reached, as a client keeps its routes: a NameServer outage must not stop
//! the relay to brokers that are still up.

use rmq_client::Client;
use rmq_client::admin::Admin;
use rmq_protocol::body::route::{BrokerData, MASTER_ID};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the table is used before it is asked for again.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// brokerName → the group's members.
type Groups = Arc<BTreeMap<String, BrokerData>>;

/// The last table, and when it was asked for (`None`: to be asked again now).
#[derive(Debug, Default)]
struct Cached {
    groups: Option<Groups>,
    asked_at: Option<Instant>,
}

#[derive(Debug, Default)]
pub(crate) struct Directory {
    cached: Mutex<Cached>,
    /// Held by the one request asking the NameServers; the others meanwhile
    /// use the table they have.
    asking: tokio::sync::Mutex<()>,
}

impl Directory {
    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The table if it is fresh, and whatever table there is.
    fn lookup(&self) -> (Option<Groups>, Option<Groups>) {
        let cached = self.cached();
        let fresh = cached.asked_at.is_some_and(|at| at.elapsed() < FRESH_FOR);
        (cached.groups.clone().filter(|_| fresh), cached.groups.clone())
    }

    /// The broker groups: asked of the NameServers when older than
    /// [`FRESH_FOR`], by one request at a time; the last table answered when
    /// another request is asking or the NameServers do not answer.
    async fn table(&self, client: &Client) -> Result<Groups, rmq_client::ClientError> {
        let (fresh, known) = self.lookup();
        if let Some(groups) = fresh {
            return Ok(groups);
        }
        let _asking = match (self.asking.try_lock(), &known) {
            (Ok(guard), _) => guard,
            (Err(_), Some(groups)) => return Ok(groups.clone()),
            (Err(_), None) => self.asking.lock().await,
        };
        if let (Some(groups), _) = self.lookup() {
            return Ok(groups); // asked while this request waited
        }
        let answer = Admin::new(client.clone()).cluster_info().await;
        let mut cached = self.cached();
        cached.asked_at = Some(Instant::now());
        match answer {
            Ok(info) => {
                let groups = Arc::new(info.broker_addr_table);
                cached.groups = Some(groups.clone());
                Ok(groups)
            }
            Err(e) => match &cached.groups {
                Some(groups) => {
                    tracing::warn!("the NameServers do not answer ({e}): relaying by the broker table from before");
                    Ok(groups.clone())
                }
                None => Err(e),
            },
        }
    }

    /// The address to send a request for `broker_name` to: its master, or,
    /// for a read and with the master gone, its lowest-numbered slave.
    pub async fn address(&self, client: &Client, broker_name: &str, read: bool) -> Result<String, String> {
        let table = self.table(client).await.map_err(|e| format!("cannot ask the NameServers for brokers: {e}"))?;
        let group = table.get(broker_name).ok_or_else(|| format!("cannot find broker {broker_name}"))?;
        if let Some(master) = group.broker_addrs.get(&MASTER_ID) {
            return Ok(master.clone());
        }
        match group.broker_addrs.iter().next() {
            Some((_, slave)) if read => Ok(slave.clone()),
            _ => Err(format!("the master of broker {broker_name} is not available")),
        }
    }

    /// The broker group `addr` belongs to, by the last table asked for.
    pub fn name_of(&self, addr: &str) -> Option<String> {
        let groups = self.cached().groups.clone()?;
        groups.values().find(|g| g.broker_addrs.values().any(|a| a == addr)).map(|g| g.broker_name.clone())
    }

    /// The masters of the broker groups `wanted` names.
    pub async fn masters(&self, client: &Client, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        match self.table(client).await {
            Ok(groups) => groups
                .values()
                .filter(|g| wanted(&g.broker_name))
                .filter_map(|g| g.master_addr().map(str::to_owned))
                .collect(),
            Err(e) => {
                tracing::debug!("cannot ask the NameServers for brokers: {e}");
                Vec::new()
            }
        }
    }

    /// Makes the next lookup ask the NameServers (a broker just failed);
    /// the table is kept in case they do not answer.
    pub fn forget(&self) {
        self.cached().asked_at = None;
    }
}
