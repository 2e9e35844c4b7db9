//! Topic routes as the client uses them: the NameServer's `TopicRouteData`
//! plus the queues to send to and read from and each broker group's master,
//! cached per topic and refreshed in the background once older than
//! [`ROUTE_TTL`] (Java polls every 30 s).

use rmq_model::{MessageQueue, perm};
use rmq_protocol::body::route::{MASTER_ID, TopicRouteData};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a cached route is used before it is fetched again.
pub const ROUTE_TTL: Duration = Duration::from_secs(30);

/// One topic's route, ready for sends and pulls.
#[derive(Debug)]
pub struct TopicRoute {
    pub topic: String,
    pub data: TopicRouteData,
    /// Writable queues on groups with a master, in route order (Java's
    /// `TopicPublishInfo.messageQueueList`).
    pub publish: Vec<MessageQueue>,
    /// Readable queues (Java's `fetchSubscribeMessageQueues`).
    pub subscribe: Vec<MessageQueue>,
    /// Round-robin position for [`TopicRoute::select`].
    next: AtomicUsize,
}

impl TopicRoute {
    pub fn new(topic: &str, data: TopicRouteData) -> TopicRoute {
        let mut publish = Vec::new();
        let mut subscribe = Vec::new();
        let mut queue_datas = data.queue_datas.clone();
        queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
        for q in &queue_datas {
            let has_master =
                data.broker_datas.iter().any(|b| b.broker_name == q.broker_name && b.master_addr().is_some());
            if perm::is_writeable(q.perm) && has_master {
                publish
                    .extend((0..q.write_queue_nums as i32).map(|i| MessageQueue::new(topic, q.broker_name.clone(), i)));
            }
            if perm::is_readable(q.perm) {
                subscribe
                    .extend((0..q.read_queue_nums as i32).map(|i| MessageQueue::new(topic, q.broker_name.clone(), i)));
            }
        }
        TopicRoute { topic: topic.to_owned(), data, publish, subscribe, next: AtomicUsize::new(fastrand_seed()) }
    }

    /// A route to send `topic`'s messages through the template topic's
    /// brokers (a topic the broker will create on first send), with at most
    /// `queue_nums` queues per broker.
    pub fn from_template(topic: &str, template: &TopicRoute, queue_nums: u32) -> TopicRoute {
        let mut data = template.data.clone();
        for q in &mut data.queue_datas {
            q.write_queue_nums = q.write_queue_nums.min(queue_nums);
            q.read_queue_nums = q.read_queue_nums.min(queue_nums);
        }
        TopicRoute::new(topic, data)
    }

    /// The address of a broker group's master.
    pub fn master(&self, broker_name: &str) -> Option<&str> {
        self.data.broker_datas.iter().find(|b| b.broker_name == broker_name)?.master_addr()
    }

    /// Any address of a broker group, the master first (Java's `selectBrokerAddr`).
    pub fn any_addr(&self, broker_name: &str) -> Option<&str> {
        let group = self.data.broker_datas.iter().find(|b| b.broker_name == broker_name)?;
        group.broker_addrs.get(&MASTER_ID).or_else(|| group.broker_addrs.values().next()).map(String::as_str)
    }

    /// The next queue to send to, round robin, avoiding `avoid`'s queues when
    /// another broker has some (a retry after that broker failed).
    pub fn select(&self, avoid: Option<&str>) -> Option<&MessageQueue> {
        let len = self.publish.len();
        if len == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        if let Some(avoid) = avoid {
            for i in 0..len {
                let mq = &self.publish[(start + i) % len];
                if mq.broker_name != avoid {
                    return Some(mq);
                }
            }
        }
        Some(&self.publish[start % len])
    }
}

/// A random start position, so that many short-lived producers (mqadmin
/// calls) do not all begin with the same queue.
fn fastrand_seed() -> usize {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::process::id()) as usize
}

#[derive(Debug, Clone)]
struct Entry {
    route: Arc<TopicRoute>,
    fetched: Instant,
    refreshing: Arc<AtomicBool>,
}

/// Routes by topic. Cheap lookups: one short lock and an `Arc` clone.
#[derive(Debug, Default)]
pub struct RouteCache {
    entries: Mutex<HashMap<String, Entry>>,
}

/// What a lookup found.
pub(crate) enum Cached {
    Fresh(Arc<TopicRoute>),
    /// Usable, but the caller should refresh it (the flag is already taken:
    /// clear it when done).
    Stale(Arc<TopicRoute>, Arc<AtomicBool>),
    Missing,
}

impl RouteCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn lookup(&self, topic: &str) -> Cached {
        let entries = self.lock();
        let Some(entry) = entries.get(topic) else { return Cached::Missing };
        if entry.fetched.elapsed() < ROUTE_TTL {
            return Cached::Fresh(entry.route.clone());
        }
        if entry.refreshing.swap(true, Ordering::AcqRel) {
            Cached::Fresh(entry.route.clone())
        } else {
            Cached::Stale(entry.route.clone(), entry.refreshing.clone())
        }
    }

    pub fn insert(&self, route: Arc<TopicRoute>) {
        let entry =
            Entry { route: route.clone(), fetched: Instant::now(), refreshing: Arc::new(AtomicBool::new(false)) };
        self.lock().insert(route.topic.clone(), entry);
    }

    /// Makes the next lookup of `topic` refresh it (after a send failed).
    pub fn invalidate(&self, topic: &str) {
        if let Some(entry) = self.lock().get_mut(topic) {
            entry.fetched = Instant::now().checked_sub(ROUTE_TTL * 2).unwrap_or(entry.fetched);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_protocol::body::route::{BrokerData, QueueData};

    fn route() -> TopicRoute {
        let mut data = TopicRouteData::default();
        for (name, addr) in [("b", "10.0.0.2:10911"), ("a", "10.0.0.1:10911")] {
            let mut broker = BrokerData::new("C", name);
            broker.broker_addrs.insert(0, addr.into());
            data.broker_datas.push(broker);
            data.queue_datas.push(QueueData {
                broker_name: name.into(),
                perm: 6,
                read_queue_nums: 2,
                write_queue_nums: 2,
                topic_sys_flag: 0,
            });
        }
        TopicRoute::new("T", data)
    }

    #[test]
    fn queues_selection_and_masters() {
        let r = route();
        assert_eq!(r.publish.len(), 4);
        assert_eq!(r.publish[0], MessageQueue::new("T", "a", 0));
        assert_eq!(r.master("b"), Some("10.0.0.2:10911"));
        let picks: std::collections::HashSet<_> = (0..4).map(|_| r.select(None).unwrap().clone()).collect();
        assert_eq!(picks.len(), 4, "round robin covers every queue");
        for _ in 0..8 {
            assert_eq!(r.select(Some("a")).unwrap().broker_name, "b");
        }
        let t = TopicRoute::from_template("New", &r, 1);
        assert_eq!(t.publish.len(), 2);
        assert!(t.publish.iter().all(|q| q.topic == "New"));
    }

    #[test]
    fn cache_goes_stale_once() {
        let cache = RouteCache::default();
        assert!(matches!(cache.lookup("T"), Cached::Missing));
        cache.insert(Arc::new(route()));
        assert!(matches!(cache.lookup("T"), Cached::Fresh(_)));
        cache.invalidate("T");
        assert!(matches!(cache.lookup("T"), Cached::Stale(..)));
        assert!(matches!(cache.lookup("T"), Cached::Fresh(_)), "only one caller refreshes");
    }
}
