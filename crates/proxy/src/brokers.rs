//! The proxy's side of remoting: routes from the NameServers, the master of
//! each broker group, queue choice for sends, and which brokers to leave
//! alone for a while after they failed (so sends go on through the others
//! before the NameServer notices a dead broker).

use rmq_client::{Client, TopicRoute};
use rmq_model::{MessageQueue, perm};
use rmq_protocol::RemotingCommand;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::ProxyMode;
use crate::pb::Code;
use crate::status::{Outcome, Refusal};

/// How long a broker that failed a call is skipped when choosing queues.
const ISOLATION: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct Brokers {
    pub client: Client,
    mode: ProxyMode,
    timeout: Duration,
    isolated: Mutex<HashMap<String, Instant>>,
    next: AtomicUsize,
}

impl Brokers {
    pub fn new(client: Client, mode: ProxyMode, timeout: Duration) -> Brokers {
        Brokers { client, mode, timeout, isolated: Mutex::default(), next: AtomicUsize::new(0) }
    }

    /// The route of `topic`, TOPIC_NOT_FOUND when the NameServers have none.
    pub async fn route(&self, topic: &str) -> Outcome<Arc<TopicRoute>> {
        let route = self.client.route(topic).await?;
        if route.data.queue_datas.is_empty() || route.data.broker_datas.is_empty() {
            return Err(Refusal::new(
                Code::TopicNotFound,
                format!("No topic route info in name server for the topic: {topic}"),
            ));
        }
        Ok(route)
    }

    /// Whether this proxy serves `broker_name` (all of them in cluster mode,
    /// its own broker in local mode).
    pub fn serves(&self, broker_name: &str) -> bool {
        match &self.mode {
            ProxyMode::Cluster => true,
            ProxyMode::Local { broker_name: own } => own == broker_name,
        }
    }

    /// The master of `broker_name` by `topic`'s route.
    pub async fn master(&self, topic: &str, broker_name: &str) -> Outcome<String> {
        let route = self.route(topic).await?;
        if !self.serves(broker_name) {
            return Err(Refusal::new(Code::BadRequest, format!("broker {broker_name} is not served by this proxy")));
        }
        route
            .master(broker_name)
            .map(str::to_owned)
            .ok_or_else(|| Refusal::new(Code::InvalidReceiptHandle, format!("cannot find broker {broker_name}")))
    }

    /// The masters this proxy serves that hold readable queues of `topic`.
    pub fn readable_masters(&self, route: &TopicRoute) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = route
            .data
            .queue_datas
            .iter()
            .filter(|q| perm::is_readable(q.perm) && q.read_queue_nums > 0 && self.serves(&q.broker_name))
            .filter_map(|q| Some((q.broker_name.clone(), route.master(&q.broker_name)?.to_owned())))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The masters this proxy serves among the brokers of `route`.
    pub fn served_masters(&self, route: &TopicRoute) -> Vec<String> {
        let mut names: Vec<&str> =
            route.data.broker_datas.iter().map(|b| b.broker_name.as_str()).filter(|name| self.serves(name)).collect();
        names.sort();
        names.into_iter().filter_map(|name| route.master(name).map(str::to_owned)).collect()
    }

    /// The writable queues this proxy serves, brokers in name order.
    pub fn writable_queues(&self, route: &TopicRoute) -> Vec<MessageQueue> {
        let mut queues: Vec<MessageQueue> =
            route.publish.iter().filter(|q| self.serves(&q.broker_name)).cloned().collect();
        queues.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
        queues
    }

    /// The queue for a message: a message group always lands on the same
    /// queue (a stable hash over all writable queues, as Java's proxy
    /// does); other messages go round robin, skipping brokers that just
    /// failed and `avoid`, while others remain.
    pub fn select(&self, queues: &[MessageQueue], group: Option<&str>, avoid: Option<&str>) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        if let Some(group) = group {
            let hash = rmq_model::java::string_hash_code(group);
            return Some(queues[(hash.unsigned_abs() as usize) % queues.len()].clone());
        }
        let now = Instant::now();
        let isolated = self.isolated.lock().unwrap_or_else(|e| e.into_inner());
        let healthy = |q: &&MessageQueue| {
            Some(q.broker_name.as_str()) != avoid && isolated.get(&q.broker_name).is_none_or(|until| *until <= now)
        };
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let candidates: Vec<&MessageQueue> = queues.iter().filter(healthy).collect();
        let pool: Vec<&MessageQueue> = if candidates.is_empty() { queues.iter().collect() } else { candidates };
        Some(pool[start % pool.len()].clone())
    }

    /// Leaves `broker_name` out of round-robin choices for a while.
    pub fn isolate(&self, broker_name: &str) {
        self.isolated
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(broker_name.to_owned(), Instant::now() + ISOLATION);
    }

    /// One request to a broker with the proxy's timeout (or `timeout`).
    pub async fn invoke(
        &self,
        addr: &str,
        cmd: RemotingCommand,
        timeout: Option<Duration>,
    ) -> Outcome<RemotingCommand> {
        Ok(self.client.invoke(addr, cmd, Some(timeout.unwrap_or(self.timeout))).await?)
    }
}
