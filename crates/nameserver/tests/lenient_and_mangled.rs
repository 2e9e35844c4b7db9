//! The NameServer's bodies and headers as other clients write them, and
//! mangled past meaning, over real TCP: registrations in client forms are
//! taken as Java takes them; mangled ones get an answer on a connection that
//! stays open, and the NameServer goes on routing.

use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rmq_testkit::json_forms::{self, Rewrite};
use rmq_testkit::namesrv;
use rmq_testkit::raw::RawClient;
use serde_json::Value;

const DATA_VERSION: &str = r#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#;

fn register_body(topic: &str) -> String {
    format!(
        r#"{{"filterServerList":[],"topicConfigSerializeWrapper":{{"dataVersion":{DATA_VERSION},"topicConfigTable":{{"{topic}":{{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"{topic}","topicSysFlag":0,"writeQueueNums":8}}}}}}}}"#
    )
}

fn register_header(name: &str, addr: &str) -> Vec<(&'static str, String)> {
    vec![
        ("brokerName", name.to_owned()),
        ("brokerAddr", addr.to_owned()),
        ("clusterName", "DefaultCluster".to_owned()),
        ("haServerAddr", "10.0.0.1:10912".to_owned()),
        ("brokerId", "0".to_owned()),
        ("compressed", "false".to_owned()),
        ("bodyCrc32", "0".to_owned()),
    ]
}

fn ext(pairs: &[(&str, String)]) -> String {
    let map: serde_json::Map<String, Value> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
    Value::Object(map).to_string()
}

async fn route(raw: &mut RawClient, topic: &str) -> Option<TopicRouteData> {
    let r = raw.call(RequestCode::GetRouteinfoByTopic.to_i32(), &ext(&[("topic", topic.into())]), b"").await.unwrap();
    (r.response_code() == ResponseCode::Success).then(|| TopicRouteData::decode(&r.body.to_bytes()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_in_client_forms_route_as_javas() {
    let ns = namesrv::start().await;
    let mut raw = RawClient::connect(&ns.addr_string()).await.unwrap();
    let mut rng = fastrand::Rng::with_seed(5);
    for i in 0..6 {
        let mut flags = [false; 6];
        flags[i] = true;
        let rewrite = Rewrite::from_flags(flags);
        let topic = format!("Forms{i}");
        let original: Value = serde_json::from_str(&register_body(&topic)).unwrap();
        let body = json_forms::render(&json_forms::apply(&original, rewrite, &mut rng), rewrite);
        let header = register_header(&format!("broker-{i}"), &format!("10.0.0.{i}:10911"));
        let r = raw.call(RequestCode::RegisterBroker.to_i32(), &ext(&header), body.as_bytes()).await.unwrap();
        assert_eq!(r.response_code(), ResponseCode::Success, "{rewrite:?}: {:?}\n{body}", r.remark);
        let route = route(&mut raw, &topic).await.unwrap_or_else(|| panic!("{rewrite:?}: no route"));
        let queues = &route.queue_datas[0];
        assert_eq!((queues.read_queue_nums, queues.write_queue_nums, queues.perm), (4, 8, 6), "{rewrite:?}");
    }
}

/// The transport answers a handler's panic with "handler panicked: …";
/// here that fails the test.
fn assert_no_panic(response: &RemotingCommand, what: impl Fn() -> String) {
    let remark = response.remark.as_deref().unwrap_or("");
    assert!(!remark.contains("panicked"), "{}: {remark}", what());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_bodies_and_headers_get_answers_and_leave_routing_intact() {
    let ns = namesrv::start().await;
    let mut raw = RawClient::connect(&ns.addr_string()).await.unwrap();
    let r = raw
        .call(
            RequestCode::RegisterBroker.to_i32(),
            &ext(&register_header("broker-a", "10.0.0.1:10911")),
            register_body("Kept").as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(r.response_code(), ResponseCode::Success);

    let mut rng = fastrand::Rng::with_seed(99);
    let route_body = r#"{"brokerDatas":[],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
    let cases = [
        (RequestCode::RegisterBroker, register_header("broker-m", "10.0.0.9:10911"), register_body("Mangled")),
        (RequestCode::QueryDataVersion, register_header("broker-a", "10.0.0.1:10911"), DATA_VERSION.to_owned()),
        (RequestCode::RegisterTopicInNamesrv, vec![("topic", "MangledRoute".to_owned())], route_body.to_owned()),
    ];
    for (code, header, body) in &cases {
        for _ in 0..60 {
            for mangled in json_forms::mangle(body, &mut rng) {
                let r = raw.call(code.to_i32(), &ext(header), &mangled).await;
                let r = r.unwrap_or_else(|e| panic!("{code:?} {}: {e}", String::from_utf8_lossy(&mangled)));
                assert_no_panic(&r, || format!("{code:?} {}", String::from_utf8_lossy(&mangled)));
            }
        }
    }
    let odd = ["", "-1", "2147483648", "9223372036854775807", "abc", "1.5", "null", "../../x"];
    let header_cases: Vec<(RequestCode, Vec<(&str, String)>)> = vec![
        (RequestCode::RegisterBroker, register_header("broker-h", "10.0.0.8:10911")),
        (RequestCode::UnregisterBroker, register_header("broker-h", "10.0.0.8:10911")),
        (RequestCode::GetRouteinfoByTopic, vec![("topic", "Kept".into())]),
        (RequestCode::PutKvConfig, vec![("namespace", "ns".into()), ("key", "k".into()), ("value", "v".into())]),
        (RequestCode::GetKvConfig, vec![("namespace", "ns".into()), ("key", "k".into())]),
        (RequestCode::WipeWritePermOfBroker, vec![("brokerName", "broker-x".into())]),
        (RequestCode::GetTopicsByCluster, vec![("cluster", "DefaultCluster".into())]),
        (RequestCode::BrokerHeartbeat, register_header("broker-a", "10.0.0.1:10911")),
    ];
    for (code, header) in &header_cases {
        for i in 0..header.len() {
            for value in odd {
                let mut fields = header.clone();
                fields[i].1 = value.to_owned();
                let body =
                    if *code == RequestCode::RegisterBroker { register_body("HeaderCase") } else { String::new() };
                let r = raw.call(code.to_i32(), &ext(&fields), body.as_bytes()).await;
                let r = r.unwrap_or_else(|e| panic!("{code:?} {}={value:?}: {e}", fields[i].0));
                assert_no_panic(&r, || format!("{code:?} {}={value:?}", fields[i].0));
            }
        }
    }
    let kept = route(&mut raw, "Kept").await.expect("the first registration still routes");
    assert_eq!(kept.broker_datas[0].broker_addrs[&0], "10.0.0.1:10911");
    ns.stop().await;
}
