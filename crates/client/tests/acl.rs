//! Credentials in `ClientOptions`: against a broker with `aclEnable=true`,
//! a client with an account's keys sends, pulls and creates topics as the
//! account may; without keys, or with a wrong secret, the broker refuses it.

mod common;

use common::Cluster;
use rmq_client::admin::Admin;
use rmq_client::{Client, ClientError, ClientOptions, Credentials, Message, Producer, PullConsumer, PullRequest};
use rmq_model::TopicConfig;
use std::time::{Duration, Instant};

const RULES: &str = "accounts:
  - accessKey: Producer1
    secretKey: secret-one
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - Signed=PUB|SUB
  - accessKey: Operator1
    secretKey: secret-admin
    admin: true
";

fn client(cluster: &Cluster, credentials: Option<Credentials>) -> Client {
    let mut options = ClientOptions::new(&cluster.namesrv_addr());
    options.timeout = Duration::from_secs(3);
    options.credentials = credentials;
    Client::new(options)
}

fn refusal(e: ClientError) -> (i32, String) {
    match e {
        ClientError::Refused { code, remark, .. } => (code, remark),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_pass_an_acl_broker() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    std::fs::write(home.path().join("conf/plain_acl.yml"), RULES).unwrap();
    let home_text = home.path().to_str().unwrap().to_owned();
    let cluster = Cluster::start_with(&[("aclEnable", "true"), ("rocketmqHome", &home_text)]).await;

    // An unsigned admin call and one signed with a wrong secret are refused.
    let anonymous = Admin::new(client(&cluster, None));
    let (code, remark) =
        refusal(anonymous.create_topic(&cluster.broker_addr, &TopicConfig::new("Signed", 2)).await.unwrap_err());
    assert_eq!((code, remark.as_str()), (16, "No accessKey is configured"));
    let forged = Admin::new(client(&cluster, Some(Credentials::new("Operator1", "wrong-secret"))));
    let (code, remark) =
        refusal(forged.create_topic(&cluster.broker_addr, &TopicConfig::new("Signed", 2)).await.unwrap_err());
    assert_eq!((code, remark.as_str()), (16, "Check signature failed for accessKey=Operator1"));

    let operator = Admin::new(client(&cluster, Some(Credentials::new("Operator1", "secret-admin"))));
    for topic in ["Signed", "Other"] {
        operator.create_topic(&cluster.broker_addr, &TopicConfig::new(topic, 2)).await.expect("admin creates");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while operator.client().fetch_route("Signed").await.is_err() {
        assert!(Instant::now() < deadline, "the route never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The account sends and pulls on its topic, and is held to its permissions.
    let c = client(&cluster, Some(Credentials::new("Producer1", "secret-one")));
    let producer = Producer::new(c.clone(), "signed_pg");
    let sent = producer.send(&Message::new("Signed", &b"signed body"[..])).await.expect("signed send");
    assert_eq!(sent.status.as_str(), "SEND_OK");
    let (code, remark) = refusal(producer.send(&Message::new("Other", &b"x"[..])).await.unwrap_err());
    assert_eq!((code, remark.as_str()), (16, "No default permission for topic:Other"));
    let consumer = PullConsumer::new(c, "signed_cg");
    // The message becomes pullable once dispatched: look again for a while.
    let deadline = Instant::now() + Duration::from_secs(5);
    let bodies = loop {
        let mut bodies = Vec::new();
        for mq in consumer.queues("Signed").await.expect("queues") {
            let result = consumer.pull(&mq, &PullRequest::new("*", 0, 32)).await.expect("signed pull");
            bodies.extend(result.messages.into_iter().map(|m| m.body));
        }
        if !bodies.is_empty() || Instant::now() > deadline {
            break bodies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(bodies, vec![b"signed body".to_vec()]);
    cluster.stop().await;
}
