//! Our NameServer asked by a client we did not write: the crates.io
//! `rocketmq-client-rust` 1.0.0 (mxsm/rocketmq-rust). Brokers register the
//! way a Java 4.9.8 broker does (through our remoting client); the third-party
//! admin API and producer then fetch cluster info, routes and topic lists and
//! we check what they parsed.
//!
//! The client owns its own tokio runtime (`rocketmq_runtime::RuntimeOwner`),
//! so this test drives it from a plain `#[test]` while our NameServer runs on
//! a runtime of ours.

use std::sync::Arc;
use std::time::Duration;

use rmq_model::{DataVersion, TopicConfig};
use rmq_protocol::ResponseCode;
use rmq_remoting::{Client, ClientConfig, RejectAll};
use rmq_testkit::namesrv::{self, BrokerIdentity};

use rocketmq_client_rust::{
    ClientRuntime, ClientRuntimeConfig, DefaultMQAdminExt, DefaultMQProducer, RouteAdmin, TopicAdmin,
};
use rocketmq_observability::TelemetryRuntimeGuard;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

const A0: &str = "127.0.0.1:20911";
const A1: &str = "127.0.0.1:20921";
const B0: &str = "127.0.0.1:20931";

/// Registers broker-a (master A0, slave A1) and broker-b (master B0); B0's
/// body is compressed as `compressedRegister=true` brokers send it.
async fn register_brokers(namesrv_addr: &str) {
    let client = Client::new(ClientConfig::default(), Arc::new(RejectAll));
    let version = DataVersion { timestamp: 1_700_000_000_000, counter: 1, state_version: None };
    let topics = [TopicConfig::new("TopicTest", 4), TopicConfig::new("TBW102", 8).with_perm(7)];
    let brokers = [
        (BrokerIdentity::new("broker-a", 0, A0), false),
        (BrokerIdentity::new("broker-a", 1, A1), false),
        (BrokerIdentity::new("broker-b", 0, B0), true),
    ];
    for (broker, compressed) in brokers {
        let request = broker.register_request(&topics, &version, compressed);
        let response = client.invoke(namesrv_addr, request, Duration::from_secs(3)).await.expect("register");
        assert_eq!(response.response_code(), ResponseCode::Success, "{:?}", response.remark);
    }
}

/// The client's runtime and its shutdown, as its documentation asks.
struct Harness {
    owner: RuntimeOwner,
    client_runtime: Arc<ClientRuntime>,
    _telemetry: TelemetryRuntimeGuard,
}

impl Harness {
    fn new() -> Harness {
        let config = RuntimeConfig { thread_name: "interop".to_owned(), ..Default::default() };
        let owner = RuntimeOwner::plan(config).expect("runtime plan").build().expect("runtime");
        let telemetry = TelemetryRuntimeGuard::noop();
        let client_runtime = ClientRuntime::try_new(
            owner.root_context().component("client"),
            ClientRuntimeConfig::default(),
            telemetry.handle(),
        )
        .expect("client runtime");
        Harness { owner, client_runtime, _telemetry: telemetry }
    }

    fn shutdown(self) {
        let client_runtime = Arc::clone(&self.client_runtime);
        self.owner.block_on(async move { client_runtime.shutdown().await });
        let _ = self.owner.shutdown_runtime_blocking();
    }
}

#[test]
fn rocketmq_client_rust_reads_our_routes_and_cluster_info() {
    let ours = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = ours.block_on(namesrv::start());
    let addr = server.addr_string();
    ours.block_on(register_brokers(&addr));

    let harness = Harness::new();
    let rt = Arc::clone(&harness.client_runtime);
    harness.owner.block_on(async move {
        let mut admin = DefaultMQAdminExt::new(Arc::clone(&rt));
        admin.set_namesrv_addr(addr.as_str());
        admin.start().await.expect("admin start");

        // GET_BROKER_CLUSTER_INFO: fastjson body with unquoted broker ids.
        let cluster = RouteAdmin::examine_broker_cluster_info(&admin).await.expect("cluster info");
        let clusters = cluster.cluster_addr_table.as_ref().expect("clusterAddrTable");
        let mut members: Vec<String> = clusters["DefaultCluster"].iter().map(|n| n.to_string()).collect();
        members.sort();
        assert_eq!(members, ["broker-a", "broker-b"]);
        let groups = cluster.broker_addr_table.as_ref().expect("brokerAddrTable");
        let a = groups.iter().find(|(name, _)| name.as_str() == "broker-a").map(|(_, g)| g).expect("broker-a");
        assert_eq!(a.broker_addrs().get(&0).map(|s| s.to_string()).as_deref(), Some(A0));
        assert_eq!(a.broker_addrs().get(&1).map(|s| s.to_string()).as_deref(), Some(A1));

        // GET_ROUTEINFO_BY_TOPIC: the client sends version 5.3.1, so standard JSON.
        let route = TopicAdmin::examine_topic_route_info(&admin, "TopicTest".into())
            .await
            .expect("route")
            .expect("TopicTest has a route");
        let mut queues: Vec<(String, u32, u32, u32)> = route
            .queue_datas
            .iter()
            .map(|q| (q.broker_name.to_string(), q.read_queue_nums, q.write_queue_nums, q.perm))
            .collect();
        queues.sort();
        assert_eq!(queues, [("broker-a".into(), 4, 4, 6), ("broker-b".into(), 4, 4, 6)]);
        let mut masters: Vec<String> =
            route.broker_datas.iter().filter_map(|b| b.broker_addrs().get(&0).map(|s| s.to_string())).collect();
        masters.sort();
        assert_eq!(masters, [A0, B0]);
        assert!(route.order_topic_conf.is_none());

        // TOPIC_NOT_EXIST is parsed as "no route", not as a transport failure.
        let missing = TopicAdmin::examine_topic_route_info(&admin, "NoSuchTopic".into()).await;
        assert!(matches!(missing, Ok(None) | Err(_)), "{missing:?}");

        // GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
        let topics = TopicAdmin::fetch_all_topic_list(&admin).await.expect("topic list");
        let mut names: Vec<String> = topics.topic_list.iter().map(|t| t.to_string()).collect();
        names.sort();
        assert_eq!(names, ["TBW102", "TopicTest"]);
        admin.shutdown().await;

        // The producer's own route fetch: write queues of every master.
        let mut producer = DefaultMQProducer::builder(Arc::clone(&rt))
            .producer_group("interop_producer")
            .name_server_addr(addr.as_str())
            .build();
        producer.start().await.expect("producer start");
        let queues = producer.fetch_publish_message_queues("TopicTest").await.expect("publish queues");
        assert_eq!(queues.len(), 8, "4 write queues on each of two masters");
        producer.shutdown().await;
    });
    harness.shutdown();
    ours.block_on(server.stop());
}
