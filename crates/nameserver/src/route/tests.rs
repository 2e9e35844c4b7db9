//! Route table rules, each checked against 4.9.8 `RouteInfoManager`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rmq_model::TopicConfig;
use rmq_model::sysflag::topic::{UNIT, UNIT_SUB};
use rmq_remoting::ConnectionId;

use super::*;

const A0: &str = "10.0.0.1:10911";
const A1: &str = "10.0.0.2:10911";
const B0: &str = "10.0.0.3:10911";
const TIMEOUT: Duration = Duration::from_secs(120);

/// A registration of `name`/`id` at `addr` in `DefaultCluster`, hosting
/// `topics` (name, perm) with DataVersion counter `version`.
fn reg(name: &str, addr: &str, id: i64, topics: &[(&str, u32)], version: i64) -> Registration {
    let mut wrapper = TopicConfigSerializeWrapper {
        data_version: DataVersion { timestamp: 1, counter: version, state_version: None },
        ..TopicConfigSerializeWrapper::default()
    };
    for (topic, perm) in topics {
        wrapper.topic_config_table.insert((*topic).to_owned(), TopicConfig::new(*topic, 4).with_perm(*perm));
    }
    Registration {
        cluster: "DefaultCluster".into(),
        broker_name: name.into(),
        broker_addr: addr.into(),
        broker_id: id,
        ha_server_addr: Some(addr.replace("10911", "10912")),
        topics: wrapper,
        connection: Some(ConnectionId(id as u64 + 100 * u64::from(name.ends_with('b')))),
        ..Registration::default()
    }
}

/// broker-a master (A0) and slave (A1), broker-b master (B0); TopicTest on
/// both groups, OnlyA on broker-a.
fn three_brokers(now: Instant) -> RouteTable {
    let mut t = RouteTable::new(TIMEOUT);
    t.register(reg("broker-a", A0, 0, &[("TopicTest", 6), ("OnlyA", 6)], 1), now);
    t.register(reg("broker-a", A1, 1, &[("TopicTest", 6), ("OnlyA", 6)], 1), now);
    t.register(reg("broker-b", B0, 0, &[("TopicTest", 6)], 1), now);
    t
}

/// Each group of a route with its members' (id, address).
type Groups = Vec<(String, Vec<(i64, String)>)>;
/// Each group of a route with the topic's perm on it.
type Perms = Vec<(String, u32)>;

/// The addresses of each group in `topic`'s route, and each group's perm.
fn summary(t: &RouteTable, topic: &str) -> Option<(Groups, Perms)> {
    let route = t.route(topic)?;
    let groups = route
        .broker_datas
        .iter()
        .map(|g| (g.broker_name.clone(), g.broker_addrs.iter().map(|(id, a)| (*id, a.clone())).collect()))
        .collect();
    let perms = route.queue_datas.iter().map(|q| (q.broker_name.clone(), q.perm)).collect();
    Some((groups, perms))
}

fn addrs(pairs: &[(i64, &str)]) -> Vec<(i64, String)> {
    pairs.iter().map(|(id, a)| (*id, (*a).to_owned())).collect()
}

#[test]
fn routes_and_cluster_info_of_two_groups() {
    let now = Instant::now();
    let t = three_brokers(now);
    let (groups, perms) = summary(&t, "TopicTest").unwrap();
    assert_eq!(groups, vec![("broker-a".into(), addrs(&[(0, A0), (1, A1)])), ("broker-b".into(), addrs(&[(0, B0)]))]);
    assert_eq!(perms, vec![("broker-a".into(), 6), ("broker-b".into(), 6)]);
    let (groups, _) = summary(&t, "OnlyA").unwrap();
    assert_eq!(groups.len(), 1);
    assert!(t.route("Unknown").is_none());

    let info = t.cluster_info();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].iter().collect::<Vec<_>>(), ["broker-a", "broker-b"]);
    assert_eq!(info.broker_addr_table["broker-a"].broker_addrs, BTreeMap::from([(0, A0.into()), (1, A1.into())]));
    assert_eq!(info.broker_addr_table["broker-b"].cluster, "DefaultCluster");
}

#[test]
fn slave_learns_its_master_only_while_the_master_lives() {
    let now = Instant::now();
    let mut t = RouteTable::new(TIMEOUT);
    // Table: (step, expected answer to the slave).
    let slave_first = t.register(reg("broker-a", A1, 1, &[], 1), now);
    assert_eq!(slave_first, RegisterOutcome::default(), "no master yet");
    let master = t.register(reg("broker-a", A0, 0, &[("T", 6)], 1), now);
    assert_eq!(master, RegisterOutcome::default(), "masters get no master address");
    let slave_again = t.register(reg("broker-a", A1, 1, &[], 1), now);
    assert_eq!(
        slave_again,
        RegisterOutcome { master_addr: Some(A0.into()), ha_server_addr: Some("10.0.0.1:10912".into()) }
    );
}

#[test]
fn an_address_keeps_one_broker_id() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    // The slave is promoted: same address, id 0. The old master is gone.
    t.remove_addr(A0);
    t.register(reg("broker-a", A1, 0, &[("TopicTest", 6)], 2), now);
    let (groups, _) = summary(&t, "TopicTest").unwrap();
    assert_eq!(groups[0], ("broker-a".into(), addrs(&[(0, A1)])));
}

#[test]
fn only_masters_write_topics_and_only_when_their_version_changes() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    // Rows: (registration, topic to look at, expected perms of its queue data).
    type Step<'a> = (Registration, &'a str, Option<Vec<(&'a str, u32)>>);
    let steps: Vec<Step<'_>> = vec![
        // A slave's topics never reach the table.
        (reg("broker-a", A1, 1, &[("SlaveOnly", 6)], 7), "SlaveOnly", None),
        // Same DataVersion: the body is not looked at.
        (reg("broker-a", A0, 0, &[("TopicTest", 4)], 1), "TopicTest", Some(vec![("broker-a", 6), ("broker-b", 6)])),
        // New DataVersion: topics are replaced or added, none removed.
        (reg("broker-a", A0, 0, &[("TopicTest", 4)], 2), "TopicTest", Some(vec![("broker-a", 4), ("broker-b", 6)])),
        (reg("broker-a", A0, 0, &[("TopicTest", 4)], 2), "OnlyA", Some(vec![("broker-a", 6)])),
    ];
    for (i, (registration, topic, expected)) in steps.into_iter().enumerate() {
        t.register(registration, now);
        let perms = summary(&t, topic).map(|(_, p)| p);
        let expected = expected.map(|v| v.into_iter().map(|(n, p)| (n.to_owned(), p)).collect::<Vec<_>>());
        assert_eq!(perms, expected, "step {i}");
    }
}

#[test]
fn unregister_removes_members_then_the_group() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    t.unregister("DefaultCluster", A1, "broker-a", 1);
    assert_eq!(summary(&t, "OnlyA").unwrap().0, vec![("broker-a".into(), addrs(&[(0, A0)]))]);
    t.unregister("DefaultCluster", A0, "broker-a", 0);
    assert!(t.route("OnlyA").is_none(), "the topic went with its only group");
    assert_eq!(summary(&t, "TopicTest").unwrap().0, vec![("broker-b".into(), addrs(&[(0, B0)]))]);
    t.unregister("DefaultCluster", B0, "broker-b", 0);
    assert_eq!(t.cluster_info(), Default::default());
    assert!(t.all_topics().topic_list.is_empty());
}

#[test]
fn silent_brokers_expire_each_after_its_own_timeout() {
    let start = Instant::now();
    let mut t = three_brokers(start);
    let mut quick = reg("broker-c", "10.0.0.9:10911", 0, &[("C", 6)], 1);
    quick.timeout = Some(Duration::from_secs(10));
    t.register(quick, start);
    // Rows: (seconds after start, brokers refreshed then, brokers expiring then).
    let steps: [(u64, &[&str], &[&str]); 4] =
        [(10, &[], &[]), (11, &[], &["10.0.0.9:10911"]), (100, &[A0, B0], &[]), (121, &[], &[A1])];
    for (secs, refreshed, expiring) in steps {
        let now = start + Duration::from_secs(secs);
        for addr in refreshed {
            assert!(t.touch(addr, now));
        }
        let mut gone: Vec<String> = t.expire(now).into_iter().map(|e| e.broker_addr).collect();
        gone.sort();
        assert_eq!(gone, expiring.iter().map(|a| a.to_string()).collect::<Vec<_>>(), "at {secs}s");
    }
    assert!(t.route("C").is_none());
    // The slave expired, the master lives on.
    assert_eq!(summary(&t, "OnlyA").unwrap().0, vec![("broker-a".into(), addrs(&[(0, A0)]))]);
    let gone = t.expire(start + Duration::from_secs(221));
    assert_eq!(gone.len(), 2);
    assert_eq!(t.cluster_info(), Default::default());
}

#[test]
fn a_closed_connection_takes_its_brokers_along() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    // Both broker-b and a second broker on the same connection (a container).
    let mut extra = reg("broker-c", "10.0.0.9:10911", 0, &[("C", 6)], 1);
    extra.connection = Some(ConnectionId(100));
    t.register(extra, now);
    assert!(t.connection_in_use(ConnectionId(100)));
    let mut gone = t.remove_connection(ConnectionId(100));
    gone.sort();
    assert_eq!(gone, vec![B0.to_owned(), "10.0.0.9:10911".to_owned()]);
    assert!(!t.connection_in_use(ConnectionId(100)));
    assert!(t.route("C").is_none());
    assert_eq!(summary(&t, "TopicTest").unwrap().0.len(), 1);
    assert!(t.remove_connection(ConnectionId(55)).is_empty());
}

#[test]
fn wipe_and_add_write_permission() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    assert_eq!(t.wipe_write_perm("broker-a"), 2);
    assert_eq!(summary(&t, "TopicTest").unwrap().1, vec![("broker-a".into(), 4), ("broker-b".into(), 6)]);
    assert_eq!(t.add_write_perm("broker-a"), 2);
    assert_eq!(summary(&t, "OnlyA").unwrap().1, vec![("broker-a".into(), 6)]);
    assert_eq!(t.wipe_write_perm("nobody"), 0);
    // A wipe lasts until the master registers a new DataVersion.
    t.wipe_write_perm("broker-b");
    t.register(reg("broker-b", B0, 0, &[("TopicTest", 6)], 1), now);
    assert_eq!(summary(&t, "TopicTest").unwrap().1[1].1, 4);
    t.register(reg("broker-b", B0, 0, &[("TopicTest", 6)], 2), now);
    assert_eq!(summary(&t, "TopicTest").unwrap().1[1].1, 6);
}

#[test]
fn topic_lists() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    let mut other = reg("broker-x", "10.0.1.1:10911", 0, &[("X", 6), ("Unit", 6), ("Sub", 6), ("Both", 6)], 1);
    other.cluster = "OtherCluster".into();
    for (topic, flag) in [("Unit", UNIT), ("Sub", UNIT_SUB), ("Both", UNIT | UNIT_SUB)] {
        other.topics.topic_config_table.get_mut(topic).unwrap().topic_sys_flag = flag;
    }
    t.register(other, now);
    let names = |l: rmq_protocol::body::topic_list::TopicList| l.topic_list.into_iter().collect::<Vec<_>>();
    assert_eq!(names(t.all_topics()), ["Both", "OnlyA", "Sub", "TopicTest", "Unit", "X"]);
    assert_eq!(names(t.topics_of_cluster("DefaultCluster")), ["OnlyA", "TopicTest"]);
    assert_eq!(names(t.topics_of_cluster("OtherCluster")), ["Both", "Sub", "Unit", "X"]);
    assert!(names(t.topics_of_cluster("Nope")).is_empty());
    assert_eq!(names(t.unit_topics(SystemTopics::Unit)), ["Both", "Unit"]);
    assert_eq!(names(t.unit_topics(SystemTopics::HasUnitSub)), ["Both", "Sub"]);
    assert_eq!(names(t.unit_topics(SystemTopics::HasUnitSubNotUnit)), ["Sub"]);
    let system = t.system_topics();
    assert_eq!(system.broker_addr.as_deref(), Some(A0));
    assert_eq!(names(system), ["DefaultCluster", "OtherCluster", "broker-a", "broker-b", "broker-x"]);
}

#[test]
fn delete_topic_everywhere_or_in_one_cluster() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    let mut other = reg("broker-x", "10.0.1.1:10911", 0, &[("TopicTest", 6)], 1);
    other.cluster = "OtherCluster".into();
    t.register(other, now);
    t.delete_topic("TopicTest", Some("Nope"));
    assert_eq!(summary(&t, "TopicTest").unwrap().1.len(), 3);
    t.delete_topic("TopicTest", Some("DefaultCluster"));
    assert_eq!(summary(&t, "TopicTest").unwrap().1, vec![("broker-x".into(), 6)]);
    t.delete_topic("TopicTest", Some("OtherCluster"));
    assert!(t.route("TopicTest").is_none());
    t.delete_topic("OnlyA", None);
    assert!(t.route("OnlyA").is_none());
}

#[test]
fn filter_servers_travel_with_routes() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    let mut with_filter = reg("broker-b", B0, 0, &[], 1);
    with_filter.filter_servers = vec!["10.0.0.3:30000".into()];
    t.register(with_filter, now);
    let route = t.route("TopicTest").unwrap();
    assert_eq!(route.filter_server_table, BTreeMap::from([(B0.to_owned(), vec!["10.0.0.3:30000".to_owned()])]));
    t.register(reg("broker-b", B0, 0, &[], 1), now);
    assert!(t.route("TopicTest").unwrap().filter_server_table.is_empty());
}

#[test]
fn topics_can_be_registered_for_known_groups_only() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    let queue = |name: &str| QueueData {
        broker_name: name.into(),
        perm: 6,
        read_queue_nums: 2,
        topic_sys_flag: 0,
        write_queue_nums: 2,
    };
    assert_eq!(t.register_topic("New", vec![queue("broker-a"), queue("ghost")]), 1);
    assert_eq!(summary(&t, "New").unwrap().1, vec![("broker-a".into(), 6)]);
}

#[test]
fn query_data_version_and_touch() {
    let now = Instant::now();
    let mut t = three_brokers(now);
    let v1 = DataVersion { timestamp: 1, counter: 1, state_version: None };
    assert!(!t.topic_config_changed(A0, &v1));
    assert!(t.topic_config_changed(A0, &DataVersion { counter: 2, ..v1.clone() }));
    assert!(t.topic_config_changed("10.9.9.9:1", &v1));
    assert_eq!(t.data_version(A0), Some(&v1));
    assert!(!t.touch("10.9.9.9:1", now));
}
