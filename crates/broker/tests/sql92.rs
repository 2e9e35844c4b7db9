//! SQL92 property filters over the wire (Java's `PullMessageProcessor`,
//! `ClientManageProcessor.checkClientConfig`, filter module semantics).

mod common;

use common::*;
use rmq_model::fastjson;
use rmq_protocol::body::heartbeat::{CheckClientRequestBody, SubscriptionData};
use rmq_protocol::{RemotingCommand, RequestCode};
use std::time::Duration;

const TOPIC: &str = "SqlTopic";

fn check_client(expression: &str, kind: &str) -> RemotingCommand {
    let sub = SubscriptionData {
        topic: TOPIC.into(),
        sub_string: expression.into(),
        expression_type: kind.into(),
        ..SubscriptionData::default()
    };
    let body = CheckClientRequestBody { client_id: "c".into(), group: "g".into(), subscription_data: Some(sub) };
    RemotingCommand::bare_request(RequestCode::CheckClientConfig).with_body(fastjson::to_vec(&body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql92_pulls_return_exactly_the_matching_messages() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[("enablePropertyFilter", "true")]).await;
    let addr = broker.addr.clone();
    let (client, _) = client();
    for i in 0..20 {
        let a = i.to_string();
        let tag = if i % 2 == 0 { "Even" } else { "Odd" };
        let mut props = vec![("TAGS", tag), ("a", a.as_str())];
        if i % 5 == 0 {
            props.push(("five", "yes"));
        }
        let r = invoke(&client, &addr, send_request("sql-pg", TOPIC, 0, 0, &props, format!("m{i}").as_bytes())).await;
        assert_eq!(r.code, 0);
    }
    let cases: [(&str, Vec<usize>); 5] = [
        ("a BETWEEN 3 AND 6", vec![3, 4, 5, 6]),
        ("TAGS = 'Even' AND a > 13", vec![14, 16, 18]),
        ("five IS NOT NULL OR a IN ('7', '8')", vec![0, 5, 7, 8, 10, 15]),
        ("NOT (a < 18) AND TAGS <> 'Even'", vec![19]),
        ("missing = 1 OR a = 2.0", vec![2]),
    ];
    for (expression, want) in cases {
        let want: Vec<String> = want.iter().map(|i| format!("m{i}")).collect();
        let got = pull_all(&client, &addr, TOPIC, 0, (expression, "SQL92"), want.len(), Duration::from_secs(3)).await;
        assert_eq!(got, want, "{expression}");
    }
    // Refused when pulling and when subscribing, with Java's codes.
    let r = invoke(&client, &addr, pull_request("g", TOPIC, 0, 0, "a >", "SQL92")).await;
    assert_eq!(r.code, 23, "{:?}", r.remark);
    assert!(r.remark.unwrap().starts_with("parse the consumer's subscription failed"));
    let r = invoke(&client, &addr, check_client("a BETWEEN 5 AND 1", "SQL92")).await;
    assert_eq!(r.code, 23);
    assert!(r.remark.unwrap().starts_with("Invalid MessageSelector."));
    assert_eq!(invoke(&client, &addr, check_client("a > 1", "SQL92")).await.code, 0);
    assert_eq!(invoke(&client, &addr, check_client("TagA || TagB", "TAG")).await.code, 0);
    broker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_enable_property_filter_sql92_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let addr = broker.addr.clone();
    let (client, _) = client();
    assert_eq!(invoke(&client, &addr, send_request("sql-pg", TOPIC, 0, 0, &[("a", "1")], b"m")).await.code, 0);
    let r = invoke(&client, &addr, check_client("a > 1", "SQL92")).await;
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (1, Some("The broker does not support consumer to filter message by SQL92"))
    );
    let r = invoke(&client, &addr, pull_request("g", TOPIC, 0, 0, "a > 0", "SQL92")).await;
    assert_eq!(r.code, 1);
    broker.stop().await;
}
