//! Where each broker group is: brokerName → its members' addresses, from the
//! NameServers' cluster info. Relayed requests name their broker group
//! (`bname`), not a topic, so the topic routes the gRPC side keeps do not
//! serve; one GET_BROKER_CLUSTER_INFO every few seconds does.

use rmq_client::Client;
use rmq_client::admin::Admin;
use rmq_protocol::body::route::{BrokerData, MASTER_ID};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long the table is used before it is asked for again.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// brokerName → the group's members.
type Groups = Arc<BTreeMap<String, BrokerData>>;

#[derive(Debug, Default)]
pub(crate) struct Directory {
    /// The groups, and when they were asked for.
    table: Mutex<Option<(Instant, Groups)>>,
}

impl Directory {
    /// The broker groups, asked of the NameServers when older than
    /// [`FRESH_FOR`] (one request at a time; the others wait for it).
    async fn table(&self, client: &Client) -> Result<Groups, rmq_client::ClientError> {
        let mut table = self.table.lock().await;
        if let Some((at, t)) = table.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(t.clone());
        }
        let info = Admin::new(client.clone()).cluster_info().await?;
        let fresh = Arc::new(info.broker_addr_table);
        *table = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
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
    pub async fn name_of(&self, addr: &str) -> Option<String> {
        let table = self.table.lock().await;
        let (_, groups) = table.as_ref()?;
        groups.values().find(|g| g.broker_addrs.values().any(|a| a == addr)).map(|g| g.broker_name.clone())
    }

    /// The masters of every broker group.
    pub async fn masters(&self, client: &Client) -> Vec<String> {
        match self.table(client).await {
            Ok(groups) => groups.values().filter_map(|g| g.master_addr().map(str::to_owned)).collect(),
            Err(e) => {
                tracing::debug!("cannot ask the NameServers for brokers: {e}");
                Vec::new()
            }
        }
    }

    /// Makes the next lookup ask the NameServers (a broker just failed).
    pub async fn forget(&self) {
        *self.table.lock().await = None;
    }
}
