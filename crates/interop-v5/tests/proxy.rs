//! Issue 16: RocketMQ 5's official Rust client (`rocketmq` 5.0.0, gRPC)
//! against rmq: real `mqnamesrv`, `mqbroker --enable-proxy` (local mode) and
//! `mqproxy` (cluster mode) processes on loopback.

#[path = "../../interop/tests/common/mod.rs"]
mod common;
#[path = "../../interop/tests/common/processes.rs"]
mod processes;
#[path = "../../interop/tests/common/v4_clients.rs"]
mod v4_clients;

use processes::{Broker, Namesrv, Proxy, admin, repo_conf};
use rmq_protocol::{RemotingCommand, RequestCode};
use rocketmq::conf::{ClientOption, ProducerOption, SimpleConsumerOption};
use rocketmq::model::common::{FilterExpression, FilterType};
use rocketmq::model::message::{MessageBuilder, MessageView};
use rocketmq::model::transaction::{Transaction, TransactionResolution};
use rocketmq::{Producer, SimpleConsumer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A NameServer and one broker serving gRPC from inside (`--enable-proxy`).
struct Local {
    _home: tempfile::TempDir,
    _ns: Namesrv,
    broker: Broker,
    url: String,
}

async fn local(topic: &str, extra: &[(&str, &str)]) -> Local {
    local_typed(topic, extra, None).await
}

/// [`local`] with the topic's `message.type` (NORMAL when `None`).
async fn local_typed(topic: &str, extra: &[(&str, &str)], message_type: Option<&str>) -> Local {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let grpc = processes::free_port();
    let pc = home.path().join("rmq-proxy.json");
    std::fs::write(&pc, format!("{{\"grpcServerPort\": {grpc}}}")).unwrap();
    let pc = pc.display().to_string();
    let broker = Broker::start_with_args(
        home.path(),
        &repo_conf("2m-noslave/broker-a.properties"),
        &ns.addr,
        extra,
        &["--enable-proxy", "-pc", &pc],
    );
    let attributes = message_type.map(|t| format!("+message.type={t}"));
    admin::create_topic_with(&admin::client(), &broker.addr, topic, 4, attributes.as_deref()).await;
    Local { _home: home, _ns: ns, broker, url: format!("127.0.0.1:{grpc}") }
}

fn client_option(url: &str) -> ClientOption {
    let mut option = ClientOption::default();
    option.set_access_url(url);
    option.set_enable_tls(false);
    option.set_timeout(Duration::from_secs(5));
    // A receive that finds nothing returns after about this long.
    option.set_long_polling_timeout(Duration::from_secs(6));
    option
}

async fn producer(url: &str, topic: &str) -> Producer {
    let mut option = ProducerOption::default();
    option.set_topics(vec![topic]);
    let mut producer = Producer::new(option, client_option(url)).unwrap();
    producer.start().await.expect("producer starts");
    producer
}

async fn consumer(url: &str, topic: &str, group: &str) -> SimpleConsumer {
    let mut option = SimpleConsumerOption::default();
    option.set_topics(vec![topic]);
    option.set_consumer_group(group);
    let mut consumer = SimpleConsumer::new(option, client_option(url)).unwrap();
    consumer.start().await.expect("consumer starts");
    consumer
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP on one broker.
async fn create_group(broker: &str, json: &str) {
    let create = RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(json.as_bytes().to_vec());
    assert_eq!(admin::call(&admin::client(), broker, create).await, 0, "create group {json}");
}

async fn receive(consumer: &SimpleConsumer, topic: &str, invisible: Duration) -> Vec<MessageView> {
    match consumer.receive_with(topic, &FilterExpression::new(FilterType::Tag, "*"), 32, invisible).await {
        Ok(messages) => messages,
        Err(e) => panic!("receive failed: {e:?}"),
    }
}

fn body(m: &MessageView) -> String {
    String::from_utf8_lossy(m.body()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_sends_receives_acks_and_unacked_messages_come_back_then_reach_the_dlq() {
    let topic = "V5NormalTopic";
    let group = "v5-simple-cg";
    let env = local(topic, &[]).await;
    create_group(
        &env.broker.addr,
        &format!(r#"{{"groupName":"{group}","consumeEnable":true,"retryQueueNums":1,"retryMaxTimes":1}}"#),
    )
    .await;
    let producer = producer(&env.url, topic).await;
    let mut sent = BTreeSet::new();
    for i in 0..20 {
        let message = MessageBuilder::builder()
            .set_topic(topic)
            .set_tag("TagA")
            .set_keys(vec![format!("key-{i}")])
            .set_body(format!("m{i}").into_bytes())
            .build()
            .unwrap();
        let receipt = producer.send(message).await.expect("send");
        assert!(!receipt.message_id().is_empty());
        sent.insert(format!("m{i}"));
    }
    let consumer = consumer(&env.url, topic, group).await;
    let mut first: BTreeMap<String, i32> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while first.len() < 20 && Instant::now() < deadline {
        for m in receive(&consumer, topic, Duration::from_secs(10)).await {
            assert_eq!(m.tag(), Some("TagA"));
            let b = body(&m);
            let n: u32 = b[1..].parse().unwrap();
            if n.is_multiple_of(2) {
                consumer.ack(&m).await.expect("ack");
            }
            first.insert(b, m.delivery_attempt());
        }
    }
    assert_eq!(first.keys().cloned().collect::<BTreeSet<_>>(), sent, "every message received");
    assert!(first.values().all(|a| *a == 1), "first deliveries: {first:?}");
    let acked_at = Instant::now();
    // The ten unacked ones come back once after their 10 s, as attempt 2.
    let mut again: BTreeMap<String, i32> = BTreeMap::new();
    let deadline = acked_at + Duration::from_secs(30);
    while again.len() < 10 && Instant::now() < deadline {
        for m in receive(&consumer, topic, Duration::from_secs(10)).await {
            again.insert(body(&m), m.delivery_attempt());
        }
    }
    let odd: BTreeMap<String, i32> = (0..20).filter(|i| i % 2 == 1).map(|i| (format!("m{i}"), 2)).collect();
    assert_eq!(again, odd, "exactly the unacked messages came back, as second attempts");
    // Not acked again: with retryMaxTimes 1 they go to the group's DLQ.
    let client = admin::client();
    let dlq = format!("%DLQ%{group}");
    admin::wait_until("the DLQ to hold the 10 messages", Duration::from_secs(40), || {
        let (client, broker, dlq) = (client.clone(), env.broker.addr.clone(), dlq.clone());
        async move { admin::max_offset(&client, &broker, &dlq, 0).await >= 10 }
    })
    .await;
    producer.shutdown().await.expect("producer shutdown");
    consumer.shutdown().await.expect("consumer shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_fifo_groups_arrive_in_order_and_delayed_messages_wait() {
    let topic = "V5FifoTopic";
    let group = "v5-fifo-cg";
    // FIFO and delayed messages on one topic: MIXED, which the broker allows when asked to.
    let env = local_typed(topic, &[("enableMixedMessageType", "true")], Some("MIXED")).await;
    create_group(
        &env.broker.addr,
        &format!(r#"{{"groupName":"{group}","consumeEnable":true,"consumeMessageOrderly":true}}"#),
    )
    .await;
    let producer = producer(&env.url, topic).await;
    for i in 0..30 {
        let message = MessageBuilder::fifo_message_builder(
            topic,
            format!("g{}-{i}", i % 3).into_bytes(),
            format!("order-{}", i % 3),
        )
        .build()
        .unwrap();
        producer.send(message).await.expect("fifo send");
    }
    let consumer = consumer(&env.url, topic, group).await;
    let mut by_group: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut total = 0;
    let deadline = Instant::now() + Duration::from_secs(40);
    while total < 30 && Instant::now() < deadline {
        for m in receive(&consumer, topic, Duration::from_secs(10)).await {
            let b = body(&m);
            let (g, n) = b.split_once('-').unwrap();
            assert_eq!(m.message_group(), Some(format!("order-{}", &g[1..]).as_str()));
            by_group.entry(g.to_owned()).or_default().push(n.parse().unwrap());
            consumer.ack(&m).await.expect("ack");
            total += 1;
        }
    }
    assert_eq!(total, 30, "every FIFO message once: {by_group:?}");
    for (g, seq) in &by_group {
        let mut sorted = seq.clone();
        sorted.sort();
        assert_eq!(seq, &sorted, "group {g} in send order");
    }

    // A delayed message (delivery timestamp in seconds, 3 s ahead) is not
    // handed out before its time.
    let now_s = (rmq_model::clock::now_ms() / 1000) as i64;
    let due_s = now_s + 3;
    let message = MessageBuilder::delay_message_builder(topic, b"later".to_vec(), due_s).build().unwrap();
    producer.send(message).await.expect("delay send");
    let delay_group = "v5-delay-cg";
    let delayed = consumer_for(&env.url, topic, delay_group).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = None;
    while got.is_none() && Instant::now() < deadline {
        got = receive(&delayed, topic, Duration::from_secs(10)).await.into_iter().find(|m| body(m) == "later");
    }
    let got = got.expect("the delayed message arrives");
    let arrived_ms = rmq_model::clock::now_ms();
    assert!(arrived_ms >= due_s * 1000 - 200, "delivered {} ms before its time", due_s * 1000 - arrived_ms);
    // The client reports the delivery timestamp in seconds.
    assert_eq!(got.delivery_timestamp(), Some(due_s));
}

async fn consumer_for(url: &str, topic: &str, group: &str) -> SimpleConsumer {
    consumer(url, topic, group).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_transactions_commit_rollback_and_orphans_are_resolved_through_telemetry() {
    let topic = "V5TxTopic";
    let checks = [("transactionCheckInterval", "1000"), ("transactionTimeOut", "1000")];
    let env = local_typed(topic, &checks, Some("TRANSACTION")).await;
    let commit_on_check: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let checked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut option = ProducerOption::default();
    option.set_topics(vec![topic]);
    let (commits, seen) = (commit_on_check.clone(), checked.clone());
    let mut producer = Producer::new_transaction_producer(
        option,
        client_option(&env.url),
        Box::new(move |_transaction_id, message| {
            let body = String::from_utf8_lossy(message.body()).into_owned();
            seen.lock().unwrap().push(body.clone());
            if commits.lock().unwrap().contains(&body) {
                TransactionResolution::COMMIT
            } else {
                TransactionResolution::ROLLBACK
            }
        }),
    )
    .unwrap();
    producer.start().await.expect("transaction producer starts");
    let half = |b: &str| MessageBuilder::transaction_message_builder(topic, b.as_bytes().to_vec()).build().unwrap();
    let committed = producer.send_transaction_message(half("tx-commit")).await.expect("half message");
    assert!(!committed.transaction_id().is_empty());
    committed.commit().await.expect("commit");
    let rolled_back = producer.send_transaction_message(half("tx-rollback")).await.expect("half message");
    rolled_back.rollback().await.expect("rollback");
    commit_on_check.lock().unwrap().insert("tx-orphan-commit".to_owned());
    let _orphan = producer.send_transaction_message(half("tx-orphan-commit")).await.expect("half message");
    let _orphan2 = producer.send_transaction_message(half("tx-orphan-rollback")).await.expect("half message");

    let consumer = consumer(&env.url, topic, "v5-tx-cg").await;
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline {
        for m in receive(&consumer, topic, Duration::from_secs(10)).await {
            got.insert(body(&m));
            consumer.ack(&m).await.expect("ack");
        }
        if got.len() >= 2 && checked.lock().unwrap().iter().any(|b| b == "tx-orphan-rollback") {
            break;
        }
    }
    let expected: BTreeSet<String> = ["tx-commit", "tx-orphan-commit"].map(str::to_owned).into();
    assert_eq!(got, expected, "committed and check-committed messages only");
    let checked = checked.lock().unwrap().clone();
    assert!(checked.iter().any(|b| b == "tx-orphan-commit"), "the broker's check reached the producer: {checked:?}");
    assert!(
        !checked.iter().any(|b| b == "tx-commit" || b == "tx-rollback"),
        "ended transactions are not checked: {checked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_sends_go_on_when_a_master_is_killed_and_nothing_acknowledged_is_lost() {
    let topic = "V5ClusterTopic";
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &[]);
    let mut b = Broker::start(home.path(), &repo_conf("2m-noslave/broker-b.properties"), &ns.addr, &[]);
    let client = admin::client();
    admin::create_topic(&client, &a.addr, topic, 4).await;
    admin::create_topic(&client, &b.addr, topic, 4).await;
    let proxy = Proxy::start(home.path(), &ns.addr);
    let producer = producer(&proxy.addr, topic).await;
    let mut acked = BTreeSet::new();
    let mut failed = 0;
    for i in 0..200 {
        if i == 60 {
            b.process.kill();
        }
        let message =
            MessageBuilder::builder().set_topic(topic).set_body(format!("c{i}").into_bytes()).build().unwrap();
        match producer.send(message).await {
            Ok(_) => {
                acked.insert(format!("c{i}"));
            }
            Err(_) => failed += 1,
        }
    }
    assert!(failed <= 2, "{failed} sends failed after broker-b died; the proxy should send through broker-a");
    b.restart();
    // Every acknowledged message is in a store: read both brokers' queues
    // from the start over remoting (a 4.x pull consumer's view).
    let remoting = rmq_client::Client::new(rmq_client::ClientOptions::new(&ns.addr));
    let pull = rmq_client::PullConsumer::new(remoting, "v4-verify-cg");
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while !acked.is_subset(&got) && Instant::now() < deadline {
        remoting_drain(&pull, topic, &mut got).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let lost: Vec<&String> = acked.difference(&got).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // And the 5.x consumer group reads through the proxy from both brokers.
    let consumer = consumer(&proxy.addr, topic, "v5-cluster-cg").await;
    let mut after = BTreeSet::new();
    for i in 0..20 {
        let message =
            MessageBuilder::builder().set_topic(topic).set_body(format!("after{i}").into_bytes()).build().unwrap();
        producer.send(message).await.expect("send after the restart");
        after.insert(format!("after{i}"));
    }
    let mut received = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !after.is_subset(&received) && Instant::now() < deadline {
        for m in receive(&consumer, topic, Duration::from_secs(10)).await {
            received.insert(body(&m));
            consumer.ack(&m).await.expect("ack");
        }
    }
    assert!(after.is_subset(&received), "missing: {:?}", after.difference(&received).collect::<Vec<_>>());
}

/// Every message of `topic` the brokers hold, by pulling each queue from 0.
async fn remoting_drain(pull: &rmq_client::PullConsumer, topic: &str, got: &mut BTreeSet<String>) {
    pull.client().invalidate_route(topic);
    let Ok(queues) = pull.queues(topic).await else { return };
    for mq in queues {
        let mut offset = 0;
        loop {
            let Ok(r) = pull.pull(&mq, &rmq_client::PullRequest::new("*", offset, 32)).await else { break };
            if r.messages.is_empty() {
                break;
            }
            got.extend(r.messages.iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()));
            offset = r.next_begin_offset;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5x_group_and_a_4x_remoting_group_consume_one_topic_at_once() {
    let topic = "V5MixedTopic";
    let env = local(topic, &[]).await;
    let harness = common::client::Harness::new_tuned("v4-beside-v5").expect("client runtime");
    let inbox: v4_clients::Inbox = Arc::default();
    let mut v4 = v4_clients::consumer(&harness, &env._ns.addr, "v4-mixed-cg", topic, &inbox).await;
    let producer = producer(&env.url, topic).await;
    let mut ids = BTreeSet::new();
    for i in 0..30 {
        let message =
            MessageBuilder::builder().set_topic(topic).set_body(format!("x{i}").into_bytes()).build().unwrap();
        ids.insert(producer.send(message).await.expect("send").message_id().to_owned());
    }
    let v5 = consumer(&env.url, topic, "v5-mixed-cg").await;
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while got.len() < 30 && Instant::now() < deadline {
        for m in receive(&v5, topic, Duration::from_secs(10)).await {
            got.insert(m.message_id().to_owned());
            v5.ack(&m).await.expect("ack");
        }
    }
    assert_eq!(got, ids, "the 5.x group got every message, by the ids the producer was given");
    admin::wait_until("the 4.x push consumer to get all 30", Duration::from_secs(40), || {
        let inbox = inbox.clone();
        async move { inbox.lock().unwrap().len() >= 30 }
    })
    .await;
    assert_eq!(*inbox.lock().unwrap(), ids, "the 4.x group got the same messages (UNIQ_KEY = the 5.x message id)");
    v4.shutdown().await;
    harness.shutdown_async().await;
}

/// The accounts of the ACL test: the proxy's own (admin, in `tools.yml`), a
/// writer that may send to and read its topic, a reader without PUB.
const ACL_RULES: &str = "accounts:
  - accessKey: ProxyAdmin
    secretKey: proxy-secret
    admin: true
  - accessKey: Writer01
    secretKey: writer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - V5AclTopic=PUB|SUB
  - accessKey: Reader01
    secretKey: reader-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - V5AclTopic=SUB
";

fn signed_option(url: &str, access_key: &str, secret_key: &str) -> ClientOption {
    let mut option = client_option(url);
    option.set_access_key(access_key);
    option.set_secret_key(secret_key);
    option
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_credentials_are_checked_and_the_proxy_signs_its_broker_calls() {
    let topic = "V5AclTopic";
    let group = "v5-acl-cg";
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("plain_acl.yml"), ACL_RULES).unwrap();
    std::fs::write(conf.join("tools.yml"), "accessKey: ProxyAdmin\nsecretKey: proxy-secret\n").unwrap();
    let ns = Namesrv::start(home.path());
    let grpc = processes::free_port();
    let pc = home.path().join("rmq-proxy.json");
    std::fs::write(&pc, format!("{{\"grpcServerPort\": {grpc}}}")).unwrap();
    let pc = pc.display().to_string();
    let home_text = home.path().display().to_string();
    let broker = Broker::start_with_args(
        home.path(),
        &repo_conf("2m-noslave/broker-a.properties"),
        &ns.addr,
        &[("aclEnable", "true"), ("rocketmqHome", &home_text)],
        &["--enable-proxy", "-pc", &pc],
    );
    let url = format!("127.0.0.1:{grpc}");
    // The broker itself refuses unsigned calls; the topic and group are made
    // by a signed admin client.
    let mut options = rmq_client::ClientOptions::new(&ns.addr);
    options.credentials = Some(rmq_client::Credentials::new("ProxyAdmin", "proxy-secret"));
    let admin = rmq_client::admin::Admin::new(rmq_client::Client::new(options));
    admin.create_topic(&broker.addr, &rmq_model::TopicConfig::new(topic, 2)).await.expect("signed topic creation");
    admin.create_group(&broker.addr, &rmq_model::SubscriptionGroupConfig::new(group)).await.expect("group creation");
    admin::wait_until("the topic's route", Duration::from_secs(10), || {
        let client = admin.client().clone();
        async move { client.fetch_route(topic).await.is_ok() }
    })
    .await;

    // The right account sends and receives through the proxy, whose calls to
    // the ACL broker are signed with tools.yml's account.
    let mut option = ProducerOption::default();
    option.set_topics(vec![topic]);
    let mut writer = Producer::new(option, signed_option(&url, "Writer01", "writer-secret")).unwrap();
    writer.start().await.expect("writer starts");
    let message =
        MessageBuilder::builder().set_topic(topic).set_tag("T").set_body(b"guarded".to_vec()).build().unwrap();
    writer.send(message).await.expect("an authorized send");
    let mut option = SimpleConsumerOption::default();
    option.set_topics(vec![topic]);
    option.set_consumer_group(group);
    let mut consumer = SimpleConsumer::new(option, signed_option(&url, "Writer01", "writer-secret")).unwrap();
    consumer.start().await.expect("consumer starts");
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.is_empty() && Instant::now() < deadline {
        for m in receive(&consumer, topic, Duration::from_secs(10)).await {
            consumer.ack(&m).await.expect("an authorized ack");
            got.push(body(&m));
        }
    }
    assert_eq!(got, vec!["guarded".to_owned()]);

    // A wrong secret is UNAUTHORIZED (at start: the route query is refused).
    let mut option = ProducerOption::default();
    option.set_topics(vec![topic]);
    let mut forged = Producer::new(option, signed_option(&url, "Writer01", "not-the-secret")).unwrap();
    let refused = format!("{:?}", forged.start().await.expect_err("a wrong secret is refused"));
    assert!(refused.contains("UNAUTHORIZED") && refused.contains("check signature failed"), "{refused}");

    // SUB is enough to look the topic up, not to send to it.
    let mut option = ProducerOption::default();
    option.set_topics(vec![topic]);
    let mut reader = Producer::new(option, signed_option(&url, "Reader01", "reader-secret")).unwrap();
    reader.start().await.expect("the reader may query the route");
    let message = MessageBuilder::builder().set_topic(topic).set_body(b"not allowed".to_vec()).build().unwrap();
    let refused = format!("{:?}", reader.send(message).await.expect_err("a send without PUB is refused"));
    assert!(refused.contains("FORBIDDEN") && refused.contains("topic:V5AclTopic"), "{refused}");

    writer.shutdown().await.expect("writer shutdown");
    consumer.shutdown().await.expect("consumer shutdown");
    drop(broker);
}

/// The broker's consumer connections of `group` (GET_CONSUMER_CONNECTION_LIST).
async fn connections(broker: &str, group: &str) -> rmq_protocol::body::admin::ConsumerConnection {
    let header = rmq_protocol::header::ConsumerGroupRequestHeader { consumer_group: group.to_owned() };
    let request = RemotingCommand::request(RequestCode::GetConsumerConnectionList, &header);
    let answer = admin::client().invoke(broker, request, Duration::from_secs(5)).await.unwrap();
    rmq_model::fastjson::from_slice(&answer.body.to_bytes()).unwrap_or_default()
}

/// The official Rust client, registered at the broker by the proxy (Java's
/// local mode), is listed as a Rust consumer; it does not answer a request
/// for its thread stacks, which the broker's caller learns after the proxy's
/// 5 s as Java's proxy says it; its shutdown takes it off the list at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_the_broker_lists_a_5x_consumer_and_a_silent_one_times_out() {
    let topic = "V5ListedTopic";
    let group = "v5-listed-cg";
    let env = local(topic, &[]).await;
    create_group(&env.broker.addr, &format!(r#"{{"groupName":"{group}","consumeEnable":true}}"#)).await;
    let consumer = consumer(&env.url, topic, group).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let c = connections(&env.broker.addr, group).await;
        if let Some(rust) = c.connection_set.iter().find(|c| c.language == "RUST") {
            break rust.clone();
        }
        assert!(Instant::now() < deadline, "the 5.x consumer is not listed: {c:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let header = rmq_protocol::header::GetConsumerRunningInfoRequestHeader {
        consumer_group: group.to_owned(),
        client_id: listed.client_id.clone(),
        jstack_enable: Some(true),
    };
    let request = RemotingCommand::request(RequestCode::GetConsumerRunningInfo, &header);
    let asked = Instant::now();
    let answer = admin::client().invoke(&env.broker.addr, request, Duration::from_secs(15)).await.unwrap();
    assert_eq!(answer.code, 2, "SYSTEM_BUSY: {answer:?}");
    assert_eq!(answer.remark.as_deref(), Some("call remote timeout"));
    assert!(asked.elapsed() >= Duration::from_secs(5), "after the proxy waited: {:?}", asked.elapsed());

    consumer.shutdown().await.expect("consumer shutdown");
    let deadline = Instant::now() + Duration::from_secs(5);
    while connections(&env.broker.addr, group).await.connection_set.iter().any(|c| c.client_id == listed.client_id) {
        assert!(Instant::now() < deadline, "still listed after its shutdown");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `mqadmin updateTopic -n <ns> -b <broker> -t <topic> -a <attributes>`
/// (the real binary); its exit status and output.
fn mqadmin_update_topic(namesrv: &str, broker: &str, topic: &str, attributes: &str) -> (bool, String) {
    let out = std::process::Command::new(processes::binary("mqadmin"))
        .args(["updateTopic", "-n", namesrv, "-b", broker, "-t", topic, "-r", "4", "-w", "4", "-a", attributes])
        .output()
        .expect("mqadmin runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_a_topic_takes_only_its_message_type() {
    let normal = "V5TypedNormalTopic";
    let fifo = "V5TypedFifoTopic";
    let env = local(normal, &[]).await;
    let (ok, text) = mqadmin_update_topic(&env._ns.addr, &env.broker.addr, fifo, "+message.type=FIFO");
    assert!(ok, "mqadmin updateTopic -a: {text}");
    // The broker keeps the attribute (GET_TOPIC_CONFIG shows it).
    let header = rmq_protocol::header::GetTopicConfigRequestHeader { topic: fifo.to_owned(), lo: None };
    let request = RemotingCommand::request(RequestCode::GetTopicConfig, &header);
    let answer = admin::client().invoke(&env.broker.addr, request, Duration::from_secs(5)).await.unwrap();
    let config = String::from_utf8_lossy(&answer.body.to_bytes()).into_owned();
    assert!(config.contains(r#""message.type":"FIFO""#), "{config}");
    // MIXED needs enableMixedMessageType on the broker, as in Java.
    let (ok, text) = mqadmin_update_topic(&env._ns.addr, &env.broker.addr, "V5TypedMixedTopic", "+message.type=MIXED");
    assert!(!ok && text.contains("MIXED message type is not supported."), "{text}");

    let producer = {
        let mut option = ProducerOption::default();
        option.set_topics(vec![normal, fifo]);
        let mut producer = Producer::new(option, client_option(&env.url)).unwrap();
        producer.start().await.expect("producer starts");
        producer
    };
    let plain = |topic: &str| MessageBuilder::builder().set_topic(topic).set_body(b"plain".to_vec()).build().unwrap();
    let grouped =
        |topic: &str| MessageBuilder::fifo_message_builder(topic, b"grouped".to_vec(), "order-1").build().unwrap();
    producer.send(plain(normal)).await.expect("NORMAL message to the NORMAL topic");
    producer.send(grouped(fifo)).await.expect("FIFO message to the FIFO topic");
    for (message, to) in [(grouped(normal), "NORMAL"), (plain(fifo), "FIFO")] {
        let refused = producer.send(message).await.expect_err("another type is refused").to_string();
        assert!(refused.contains("MESSAGE_PROPERTY_CONFLICT_WITH_TYPE"), "to the {to} topic: {refused}");
        assert!(refused.contains(&format!("the expected type is {to}")), "{refused}");
    }
}
