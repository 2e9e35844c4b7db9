//! Requests through [`NameServer::process`], no sockets: codes, remarks,
//! headers and bodies as 4.9.8's `DefaultRequestProcessor` and
//! `ClientRequestProcessor` answer them.

use std::path::Path;

use rmq_model::{DataVersion, TopicConfig};
use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::body::register::{RegisterBrokerBody, data_version_json};
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::body::topic_list::TopicList;
use rmq_protocol::header::*;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::config::NamesrvConfig;
use crate::kv::{KvStore, ORDER_TOPIC_CONFIG};
use crate::namesrv::NameServer;

fn namesrv() -> NameServer {
    NameServer::new(NamesrvConfig::with_home(Path::new("/nonexistent")), KvStore::in_memory())
}

fn version(counter: i64) -> DataVersion {
    DataVersion { timestamp: 1_700_000_000_000, counter, state_version: None }
}

fn register(name: &str, addr: &str, id: i64, topics: &[&str], counter: i64) -> RemotingCommand {
    let mut body = RegisterBrokerBody::default();
    body.topic_config_serialize_wrapper.data_version = version(counter);
    for t in topics {
        body.topic_config_serialize_wrapper.topic_config_table.insert((*t).into(), TopicConfig::new(*t, 4));
    }
    let bytes = body.encode();
    let header = RegisterBrokerRequestHeader {
        broker_name: name.into(),
        broker_addr: addr.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: Some(addr.replace(":10911", ":10912")),
        broker_id: id,
        compressed: Some(false),
        body_crc32: Some((crc32fast::hash(&bytes) & 0x7FFF_FFFF) as i32),
        ..Default::default()
    };
    RemotingCommand::request(RequestCode::RegisterBroker, &header).with_body(bytes)
}

fn route_request(topic: &str, version: i32) -> RemotingCommand {
    let mut req = RemotingCommand::request(
        RequestCode::GetRouteinfoByTopic,
        &GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None },
    );
    req.version = version;
    req
}

fn ok(resp: &RemotingCommand) -> &RemotingCommand {
    assert_eq!(resp.code, 0, "remark: {:?}", resp.remark);
    resp
}

fn body_text(resp: &RemotingCommand) -> String {
    String::from_utf8(resp.body.to_bytes().to_vec()).unwrap()
}

/// broker-a master and slave, broker-b master.
fn with_three_brokers() -> NameServer {
    let ns = namesrv();
    ok(&ns.process(None, &register("broker-a", "10.0.0.1:10911", 0, &["TopicTest", "OnlyA"], 1)));
    ok(&ns.process(None, &register("broker-a", "10.0.0.2:10911", 1, &["TopicTest", "OnlyA"], 1)));
    ok(&ns.process(None, &register("broker-b", "10.0.0.3:10911", 0, &["TopicTest"], 1)));
    ns
}

#[test]
fn register_answers_slaves_with_their_master() {
    let ns = namesrv();
    let slave = register("broker-a", "10.0.0.2:10911", 1, &[], 1);
    let first = ns.process(None, &slave);
    assert_eq!(ok(&first).header::<RegisterBrokerResponseHeader>().unwrap(), RegisterBrokerResponseHeader::default());
    let zoned = register("broker-a", "10.0.0.1:10911", 0, &["T"], 1).with_ext("__ZONE_NAME", "zone-1");
    ok(&ns.process(None, &zoned));
    let route = TopicRouteData::decode(&ns.process(None, &route_request("T", 409)).body.to_bytes()).unwrap();
    assert_eq!(route.broker_datas[0].zone_name.as_deref(), Some("zone-1"));
    let again = ns.process(None, &slave);
    let h: RegisterBrokerResponseHeader = ok(&again).header().unwrap();
    assert_eq!(h.master_addr.as_deref(), Some("10.0.0.1:10911"));
    assert_eq!(h.ha_server_addr.as_deref(), Some("10.0.0.1:10912"));
    assert!(again.body.is_empty(), "no ORDER_TOPIC_CONFIG namespace yet");
}

#[test]
fn route_json_flavour_follows_the_client_version() {
    let ns = with_three_brokers();
    // Rows: (request version, acceptStandardJsonOnly, expected key text).
    let rows =
        [(317, None, "{0:"), (317, Some(true), "{\"0\":"), (401, None, "{\"0\":"), (409, Some(false), "{\"0\":")];
    for (version, standard, key) in rows {
        let mut req = route_request("TopicTest", version);
        if let Some(s) = standard {
            req = req.with_ext("acceptStandardJsonOnly", s.to_string());
        }
        let resp = ns.process(None, &req);
        let text = body_text(ok(&resp));
        assert!(text.contains(&format!(r#""brokerAddrs":{key}"10.0.0.1:10911""#)), "v{version}: {text}");
        let route = TopicRouteData::decode(text.as_bytes()).unwrap();
        assert_eq!(route.broker_datas.len(), 2);
        assert_eq!(route.queue_datas.len(), 2);
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
        assert_eq!(route.order_topic_conf, None);
    }
}

#[test]
fn unknown_topic_is_topic_not_exist_with_javas_remark() {
    let resp = namesrv().process(None, &route_request("Nope", 409));
    assert_eq!(resp.response_code(), ResponseCode::TopicNotExist);
    assert_eq!(
        resp.remark.as_deref(),
        Some(
            "No topic route info in name server for the topic: Nope\nSee http://rocketmq.apache.org/docs/faq/ for further details."
        )
    );
}

#[test]
fn cluster_info_is_fastjson_with_unquoted_ids() {
    let ns = with_three_brokers();
    let resp = ns.process(None, &RemotingCommand::bare_request(RequestCode::GetBrokerClusterInfo));
    let text = body_text(ok(&resp));
    assert!(text.contains(r#""brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}"#), "{text}");
    let info = ClusterInfo::decode(text.as_bytes()).unwrap();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
}

#[test]
fn bad_register_requests_get_errors_naming_the_problem() {
    let ns = namesrv();
    let good = register("broker-a", "10.0.0.1:10911", 0, &["T"], 1);

    let mut bad_crc = good.clone();
    bad_crc.ext_fields.insert("bodyCrc32", "12345");
    let resp = ns.process(None, &bad_crc);
    assert_eq!((resp.code, resp.remark.as_deref()), (1, Some("crc32 not match")));

    let mut no_name = good.clone();
    no_name.ext_fields.remove("brokerName");
    let resp = ns.process(None, &no_name);
    assert_eq!(resp.code, 1);
    assert!(resp.remark.unwrap().contains("'brokerName'"));

    let mut bad_json = good.clone().with_body(b"{\"topicConfigSerializeWrapper\":".to_vec());
    bad_json.ext_fields.remove("bodyCrc32");
    let resp = ns.process(None, &bad_json);
    assert_eq!(resp.code, 1);
    assert!(resp.remark.unwrap().contains("invalid register body JSON"));

    let mut bad_zip = good.clone().with_ext("compressed", "true");
    bad_zip.ext_fields.insert("bodyCrc32", "0");
    assert_eq!(ns.process(None, &bad_zip).code, 1);

    // None of it registered anything.
    assert_eq!(ns.process(None, &route_request("T", 409)).code, 17);
    // The good one still works, and a crc of 0 means "unchecked".
    ok(&ns.process(None, &good.with_ext("bodyCrc32", "0")));
}

#[test]
fn compressed_registration() {
    let ns = namesrv();
    let mut body = RegisterBrokerBody::default();
    body.topic_config_serialize_wrapper.topic_config_table.insert("Z".into(), TopicConfig::new("Z", 2));
    let bytes = body.encode_compressed();
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-z".into(),
        broker_addr: "10.0.0.9:10911".into(),
        cluster_name: "C".into(),
        broker_id: 0,
        compressed: Some(true),
        body_crc32: Some((crc32fast::hash(&bytes) & 0x7FFF_FFFF) as i32),
        ..Default::default()
    };
    ok(&ns.process(None, &RemotingCommand::request(RequestCode::RegisterBroker, &header).with_body(bytes)));
    let route = TopicRouteData::decode(&ns.process(None, &route_request("Z", 409)).body.to_bytes()).unwrap();
    assert_eq!(route.queue_datas[0].write_queue_nums, 2);
}

#[test]
fn unknown_codes_are_not_supported() {
    let resp = namesrv().process(None, &RemotingCommand { code: 9999, ..RemotingCommand::default() });
    assert_eq!((resp.code, resp.remark.as_deref()), (3, Some(" request type 9999 not supported")));
}

#[test]
fn unregister_and_query_data_version() {
    let ns = with_three_brokers();
    let query = |counter: i64| {
        let header = QueryDataVersionRequestHeader {
            broker_name: "broker-b".into(),
            broker_addr: "10.0.0.3:10911".into(),
            cluster_name: "DefaultCluster".into(),
            broker_id: 0,
        };
        RemotingCommand::request(RequestCode::QueryDataVersion, &header).with_body(data_version_json(&version(counter)))
    };
    let same = ns.process(None, &query(1));
    assert!(!ok(&same).header::<QueryDataVersionResponseHeader>().unwrap().changed);
    assert_eq!(body_text(&same), r#"{"counter":1,"timestamp":1700000000000}"#);
    let newer = ns.process(None, &query(2));
    assert!(ok(&newer).header::<QueryDataVersionResponseHeader>().unwrap().changed);
    assert_eq!(ns.process(None, &query(1).with_body(Vec::new())).code, 1);

    let unregister = UnregisterBrokerRequestHeader {
        broker_name: "broker-b".into(),
        broker_addr: "10.0.0.3:10911".into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    ok(&ns.process(None, &RemotingCommand::request(RequestCode::UnregisterBroker, &unregister)));
    let unknown = ns.process(None, &query(1));
    assert!(ok(&unknown).header::<QueryDataVersionResponseHeader>().unwrap().changed);
    assert!(unknown.body.is_empty());
    let route = TopicRouteData::decode(&ns.process(None, &route_request("TopicTest", 409)).body.to_bytes()).unwrap();
    assert_eq!(route.broker_datas.len(), 1);
}

/// A master that stepped down (controller mode) unregisters as id 0 after
/// its replica registered as id 0 on another address: the new master stays
/// listed.
#[test]
fn an_unregister_removes_only_the_brokers_own_entry() {
    let ns = with_three_brokers();
    ok(&ns.process(None, &register("broker-a", "10.0.0.2:10911", 0, &["TopicTest", "OnlyA"], 2)));
    let stale = UnregisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: "10.0.0.1:10911".into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    ok(&ns.process(None, &RemotingCommand::request(RequestCode::UnregisterBroker, &stale)));
    let route = TopicRouteData::decode(&ns.process(None, &route_request("OnlyA", 409)).body.to_bytes()).unwrap();
    let a = route.broker_datas.iter().find(|b| b.broker_name == "broker-a").expect("broker-a still routed");
    assert_eq!(a.broker_addrs.get(&0).map(String::as_str), Some("10.0.0.2:10911"));
}

#[test]
fn kv_config_and_order_topics() {
    let ns = with_three_brokers();
    let put = |ns: &NameServer, ns_name: &str, key: &str, value: &str| {
        let h = PutKvConfigRequestHeader { namespace: ns_name.into(), key: key.into(), value: value.into() };
        ns.process(None, &RemotingCommand::request(RequestCode::PutKvConfig, &h))
    };
    ok(&put(&ns, ORDER_TOPIC_CONFIG, "TopicTest", "broker-a:4;broker-b:4"));
    ok(&put(&ns, "ns", "k", "v"));

    let get = |key: &str| {
        let h = KvConfigKeyRequestHeader { namespace: "ns".into(), key: key.into() };
        ns.process(None, &RemotingCommand::request(RequestCode::GetKvConfig, &h))
    };
    assert_eq!(ok(&get("k")).ext("value"), Some("v"));
    let missing = get("nope");
    assert_eq!((missing.code, missing.remark.as_deref()), (22, Some("No config item, Namespace: ns Key: nope")));

    let no_key = RemotingCommand::bare_request(RequestCode::PutKvConfig).with_ext("namespace", "ns");
    assert_eq!(ns.process(None, &no_key).remark.as_deref(), Some("namespace or key is null"));

    let list = |name: &str| {
        let h = GetKvListByNamespaceRequestHeader { namespace: name.into() };
        ns.process(None, &RemotingCommand::request(RequestCode::GetKvlistByNamespace, &h))
    };
    assert_eq!(KvTable::decode(&ok(&list("ns")).body.to_bytes()).unwrap().table["k"], "v");
    assert_eq!(list("empty").remark.as_deref(), Some("No config item, Namespace: empty"));

    let delete = KvConfigKeyRequestHeader { namespace: "ns".into(), key: "k".into() };
    ok(&ns.process(None, &RemotingCommand::request(RequestCode::DeleteKvConfig, &delete)));
    assert_eq!(get("k").code, 22);

    // Registering brokers get the namespace back as a KVTable.
    let resp = ns.process(None, &register("broker-b", "10.0.0.3:10911", 0, &["TopicTest"], 1));
    assert_eq!(body_text(ok(&resp)), r#"{"table":{"TopicTest":"broker-a:4;broker-b:4"}}"#);

    // Routes carry it only with orderMessageEnable.
    let route = |ns: &NameServer| {
        TopicRouteData::decode(&ns.process(None, &route_request("TopicTest", 409)).body.to_bytes()).unwrap()
    };
    assert_eq!(route(&ns).order_topic_conf, None);
    let mut config = ns.config();
    config.order_message_enable = true;
    ns.replace_config(config);
    assert_eq!(route(&ns).order_topic_conf.as_deref(), Some("broker-a:4;broker-b:4"));
}

#[test]
fn write_permission_and_topic_admin() {
    let ns = with_three_brokers();
    let perm = |code| RemotingCommand::request(code, &BrokerPermRequestHeader { broker_name: "broker-a".into() });
    let wiped = ns.process(None, &perm(RequestCode::WipeWritePermOfBroker));
    assert_eq!(ok(&wiped).header::<WipeWritePermResponseHeader>().unwrap().wipe_topic_count, 2);
    let route = TopicRouteData::decode(&ns.process(None, &route_request("OnlyA", 409)).body.to_bytes()).unwrap();
    assert_eq!(route.queue_datas[0].perm, 4);
    let added = ns.process(None, &perm(RequestCode::AddWritePermOfBroker));
    assert_eq!(ok(&added).header::<AddWritePermResponseHeader>().unwrap().add_topic_count, 2);

    let topics = |req: RemotingCommand| {
        TopicList::decode(&ok(&ns.process(None, &req)).body.to_bytes())
            .unwrap()
            .topic_list
            .into_iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        topics(RemotingCommand::bare_request(RequestCode::GetAllTopicListFromNameserver)),
        ["OnlyA", "TopicTest"]
    );
    let by_cluster = GetTopicsByClusterRequestHeader { cluster: "DefaultCluster".into() };
    assert_eq!(topics(RemotingCommand::request(RequestCode::GetTopicsByCluster, &by_cluster)), ["OnlyA", "TopicTest"]);
    assert_eq!(
        topics(RemotingCommand::bare_request(RequestCode::GetSystemTopicListFromNs)),
        ["DefaultCluster", "broker-a", "broker-b"]
    );
    assert!(topics(RemotingCommand::bare_request(RequestCode::GetUnitTopicList)).is_empty());

    let delete = DeleteTopicFromNamesrvRequestHeader { topic: "OnlyA".into(), cluster_name: Some(" ".into()) };
    ok(&ns.process(None, &RemotingCommand::request(RequestCode::DeleteTopicInNamesrv, &delete)));
    assert_eq!(ns.process(None, &route_request("OnlyA", 409)).code, 17);

    let mut config = ns.config();
    config.enable_all_topic_list = false;
    ns.replace_config(config);
    let resp = ns.process(None, &RemotingCommand::bare_request(RequestCode::GetAllTopicListFromNameserver));
    assert_eq!((resp.code, resp.remark.as_deref()), (1, Some("disable")));
}

#[test]
fn get_and_update_config() {
    let home = tempfile::tempdir().unwrap();
    let ns = NameServer::new(NamesrvConfig::with_home(home.path()), KvStore::in_memory());
    let update = |text: &str| {
        ns.process(None, &RemotingCommand::bare_request(RequestCode::UpdateNamesrvConfig).with_body(text.to_owned()))
    };
    ok(&update("orderMessageEnable=true\nnoSuchKey=1\nserverWorkerThreads=4\n"));
    assert!(ns.config().order_message_enable);
    let stored = std::fs::read_to_string(home.path().join("namesrv/namesrv.properties")).unwrap();
    assert!(stored.contains("orderMessageEnable=true\n"), "{stored}");

    let refused = update("kvConfigPath=/tmp/elsewhere\n");
    assert_eq!((refused.code, refused.remark.as_deref()), (16, Some("Can not update config in black list.")));
    let bad = update("listenPort=many\norderMessageEnable=false\n");
    assert_eq!(bad.code, 1);
    assert!(bad.remark.unwrap().contains("listenPort"));
    assert!(ns.config().order_message_enable, "a refused update changes nothing");

    let text = body_text(ok(&ns.process(None, &RemotingCommand::bare_request(RequestCode::GetNamesrvConfig))));
    assert!(text.contains("listenPort=9876\n") && text.contains("orderMessageEnable=true\n"), "{text}");
}
