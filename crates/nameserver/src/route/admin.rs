//! Admin changes to the route table: write permission of a whole group and
//! topic removal and creation (Java's `RouteInfoManager`).

use rmq_model::perm;
use rmq_protocol::body::route::QueueData;

use super::RouteTable;

impl RouteTable {
    /// WIPE_WRITE_PERM_OF_BROKER: clears the write bit of every topic's queue
    /// data on `broker_name`; returns how many topics it touched. The group's
    /// next registration with a changed DataVersion restores its perms.
    pub fn wipe_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |p| p & !perm::WRITE)
    }

    /// ADD_WRITE_PERM_OF_BROKER: sets read-write on every topic of `broker_name`.
    pub fn add_write_perm(&mut self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |_| perm::READ_WRITE)
    }

    fn update_perm(&mut self, broker_name: &str, change: impl Fn(u32) -> u32) -> i32 {
        let mut count = 0;
        for queue in self.topics.values_mut().filter_map(|queues| queues.get_mut(broker_name)) {
            queue.perm = change(queue.perm);
            count += 1;
        }
        count
    }

    /// DELETE_TOPIC_IN_NAMESRV: forgets `topic`, or with `cluster` only that
    /// cluster's groups' queue data (5.x). An unknown cluster changes nothing.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        let Some(cluster) = cluster else {
            self.topics.remove(topic);
            return;
        };
        let Some(names) = self.clusters.get(cluster) else { return };
        if let Some(queues) = self.topics.get_mut(topic) {
            queues.retain(|name, _| !names.contains(name));
            if queues.is_empty() {
                self.topics.remove(topic);
            }
        }
    }

    /// REGISTER_TOPIC_IN_NAMESRV (5.x): adds queue data for groups that exist;
    /// the others are skipped. Returns how many were added.
    pub fn register_topic(&mut self, topic: &str, queues: Vec<QueueData>) -> usize {
        let mut added = 0;
        for queue in queues.into_iter().filter(|q| self.brokers.contains_key(&q.broker_name)) {
            self.topics.entry(topic.to_owned()).or_default().insert(queue.broker_name.clone(), queue);
            added += 1;
        }
        added
    }
}
