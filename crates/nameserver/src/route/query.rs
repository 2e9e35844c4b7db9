//! Reads of the route table: a topic's route, the cluster view, topic lists.

use rmq_model::sysflag::topic::{UNIT, UNIT_SUB};
use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::body::topic_list::TopicList;

use super::RouteTable;

/// Which of the unit-related topic lists to build (codes 311-313, filtered on `topicSysFlag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemTopics {
    /// GET_UNIT_TOPIC_LIST: the unit flag is set.
    Unit,
    /// GET_HAS_UNIT_SUB_TOPIC_LIST: the unit-sub flag is set.
    HasUnitSub,
    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: unit-sub set, unit not.
    HasUnitSubNotUnit,
}

impl SystemTopics {
    fn matches(self, sys_flag: i32) -> bool {
        let unit = sys_flag & UNIT != 0;
        let unit_sub = sys_flag & UNIT_SUB != 0;
        match self {
            SystemTopics::Unit => unit,
            SystemTopics::HasUnitSub => unit_sub,
            SystemTopics::HasUnitSubNotUnit => unit_sub && !unit,
        }
    }
}

impl RouteTable {
    /// The route of `topic` (`pickupTopicRouteData`): its queue data and the
    /// groups hosting it, with their filter servers. `None` unless both some
    /// queue data and some group exist. `orderTopicConf` is the caller's.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topics.get(topic)?;
        let mut route = TopicRouteData { queue_datas: queues.values().cloned().collect(), ..TopicRouteData::default() };
        for name in queues.keys() {
            let Some(group) = self.brokers.get(name) else { continue };
            for addr in group.broker_addrs.values() {
                if let Some(servers) = self.filter_servers.get(addr) {
                    route.filter_server_table.insert(addr.clone(), servers.clone());
                }
            }
            route.broker_datas.push(group.clone());
        }
        (!route.broker_datas.is_empty()).then_some(route)
    }

    /// Every group and every cluster (GET_BROKER_CLUSTER_INFO).
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo { broker_addr_table: self.brokers.clone(), cluster_addr_table: self.clusters.clone() }
    }

    /// Every topic with queue data (GET_ALL_TOPIC_LIST_FROM_NAMESERVER).
    pub fn all_topics(&self) -> TopicList {
        self.topics.keys().cloned().collect()
    }

    /// Topics with queue data on any group of `cluster`; empty for an unknown
    /// cluster (GET_TOPICS_BY_CLUSTER).
    pub fn topics_of_cluster(&self, cluster: &str) -> TopicList {
        let Some(names) = self.clusters.get(cluster) else { return TopicList::default() };
        self.topics
            .iter()
            .filter(|(_, queues)| queues.keys().any(|name| names.contains(name)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// Cluster names and broker names, which brokers create as topics, plus
    /// the address of one broker to ask for its own system topics
    /// (GET_SYSTEM_TOPIC_LIST_FROM_NS).
    pub fn system_topics(&self) -> TopicList {
        let mut list: TopicList =
            self.clusters.iter().flat_map(|(cluster, names)| std::iter::once(cluster).chain(names)).cloned().collect();
        list.broker_addr = self.brokers.values().find_map(|g| g.broker_addrs.values().next().cloned());
        list
    }

    /// Topics whose (first) queue data carries the flags `which` asks for.
    pub fn unit_topics(&self, which: SystemTopics) -> TopicList {
        self.topics
            .iter()
            .filter(|(_, queues)| queues.values().next().is_some_and(|q| which.matches(q.topic_sys_flag)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }
}
