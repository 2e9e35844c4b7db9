//! The proxy's remoting port (`remotingListenPort`) with a remoting client we
//! did not write (rocketmq-client-rust 1.0, which names the broker group in
//! every request as Java's 5.x remoting clients do): the client takes
//! `mqproxy` for its NameServer and never learns a broker's address. Two
//! masters behind the proxy; one is SIGKILLed while producers send: sends go
//! on through the other, and consumers receive everything acknowledged.
//! Bad requests get Java's proxy's answers and leave the connection up.
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test proxy_remoting`.
#![recursion_limit = "256"]

#[path = "common/v4_clients.rs"]
mod clients;
mod common;
#[path = "common/processes.rs"]
mod processes;

use common::client::Harness;
use processes::{Broker, Namesrv, Proxy, admin, repo_conf};
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use rocketmq_client_rust::SendStatus;
use rocketmq_model::common::message::message_single::Message;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

const TOPIC: &str = "ProxyRemotingTopic";
const GROUP: &str = "proxy-remoting-cg";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remoting_clients_through_the_proxy_survive_a_master_killed() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let mut a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &[]);
    let b = Broker::start(home.path(), &repo_conf("2m-noslave/broker-b.properties"), &ns.addr, &[]);
    let admin_client = admin::client();
    for master in [&a.addr, &b.addr] {
        admin::create_topic(&admin_client, master, TOPIC, 4).await;
    }
    let proxy = Proxy::start(home.path(), &ns.addr);
    let via = proxy.remoting_addr.clone();

    // The route the client gets names the proxy for both broker groups.
    let header =
        rmq_protocol::header::GetRouteInfoRequestHeader { topic: TOPIC.into(), accept_standard_json_only: None };
    let resp = admin_client
        .invoke(&via, RemotingCommand::request(RequestCode::GetRouteinfoByTopic, &header), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(resp.code, ResponseCode::Success.to_i32(), "{:?}", resp.remark);
    let route = TopicRouteData::decode(&resp.body.to_bytes()).unwrap();
    let names: BTreeSet<&str> = route.broker_datas.iter().map(|b| b.broker_name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["broker-a", "broker-b"]));
    assert!(route.broker_datas.iter().all(|b| b.broker_addrs.values().all(|addr| *addr == via)), "{route:?}");

    let harness = Harness::new_tuned("proxy-remoting").expect("client runtime");
    let inboxes: [clients::Inbox; 2] = Default::default();
    let mut consumers = Vec::new();
    for inbox in &inboxes {
        consumers.push(clients::consumer(&harness, &via, GROUP, TOPIC, inbox).await);
    }
    let producer = Arc::new(clients::producer(&harness, &via, "proxy-remoting-pg").await);
    let sends = clients::SendLoop::start(producer.clone(), TOPIC, 2, Duration::from_millis(5));
    admin::wait_until("sends through the proxy to both masters", Duration::from_secs(30), || async {
        let acked = sends.sent().acked;
        acked.len() > 200 && acked.iter().any(|a| a.1 == "broker-a") && acked.iter().any(|a| a.1 == "broker-b")
    })
    .await;
    // Both consumers of the group are members, as the proxy tells them.
    let header = rmq_protocol::header::ConsumerGroupRequestHeader { consumer_group: GROUP.into() };
    let mut ids = RemotingCommand::request(RequestCode::GetConsumerListByGroup, &header);
    ids.ext_fields.insert("bname", "broker-a");
    let resp = admin_client.invoke(&via, ids, Duration::from_secs(5)).await.unwrap();
    let list: serde_json::Value = serde_json::from_slice(&resp.body.to_bytes()).unwrap();
    assert_eq!(list["consumerIdList"].as_array().map(Vec::len), Some(2), "{list}");

    // The group's two members split the eight queues between them.
    admin::wait_until("both members of the group consuming", Duration::from_secs(45), || async {
        inboxes.iter().all(|i| !i.lock().unwrap().is_empty())
    })
    .await;

    a.process.kill();
    sends.mark();
    tokio::time::sleep(Duration::from_secs(15)).await;
    let sent = sends.stop().await;
    let after = sent.acked_after();
    let failures_after = sent.failed_after();
    eprintln!(
        "{} sends acknowledged through the proxy ({} after the kill), {} failed ({} after the kill)",
        sent.acked.len(),
        after.len(),
        sent.failed.len(),
        failures_after
    );
    assert!(after.len() > 200, "sends went on after the kill");
    assert!(after.iter().filter(|a| a.0 > 1_000).all(|a| a.1 == "broker-b"), "nothing acknowledged by a dead broker");
    assert!(failures_after <= 50, "{failures_after} failed sends after the kill");

    // Everything broker-b acknowledged reaches the group (broker-a's share
    // sits in its store until it is back), each message with one consumer
    // or both, never lost.
    let wanted: BTreeSet<String> = sent.acked.iter().filter(|a| a.1 == "broker-b").map(|a| a.2.clone()).collect();
    admin::wait_until("broker-b's messages consumed through the proxy", Duration::from_secs(60), || async {
        let got: BTreeSet<String> = inboxes.iter().flat_map(|i| i.lock().unwrap().clone()).collect();
        wanted.is_subset(&got)
    })
    .await;
    for mut c in consumers {
        c.shutdown().await;
    }
    Arc::try_unwrap(producer).ok().expect("sole owner").shutdown().await;
    harness.shutdown_async().await;
    drop((b, ns, proxy));
}

/// A consumer of the remoting port is registered at the brokers by the
/// proxy, so an admin at the NameServer (rocketmq-client-rust's
/// `DefaultMQAdminExt`, what `mqadmin consumerConnection` and
/// `consumerStatus` send) lists it, and the running-info request the broker
/// relays reaches the client itself through the proxy (its queue table is
/// the client's own). It leaves the brokers' list when it shuts down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_reach_a_remoting_consumer_through_the_proxy() {
    use rocketmq_client_rust::ConsumerAdmin;
    let group = "proxy-remoting-admin-cg";
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let b = Broker::start(home.path(), &repo_conf("2m-noslave/broker-b.properties"), &ns.addr, &[]);
    admin::create_topic(&admin::client(), &b.addr, TOPIC, 4).await;
    let proxy = Proxy::start(home.path(), &ns.addr);
    let harness = Harness::new_tuned("proxy-remoting-admin").expect("client runtime");
    let (mut consumer, _) = clients::body_consumer(&harness, &proxy.remoting_addr, group, TOPIC, None).await;

    let mut admin = rocketmq_client_rust::DefaultMQAdminExt::new(harness.client_runtime());
    admin.set_namesrv_addr(ns.addr.as_str());
    admin.start().await.expect("admin start");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let client_id = loop {
        let listed = admin.examine_consumer_connection_info(group.into(), None).await;
        if let Some(c) = listed.as_ref().ok().and_then(|c| c.get_connection_set().iter().next()) {
            break c.get_client_id();
        }
        assert!(std::time::Instant::now() < deadline, "the proxied consumer is not listed: {listed:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let info = loop {
        let info = admin.get_consumer_running_info(group.into(), client_id.clone(), false, None).await;
        match info {
            Ok(info) if !info.mq_table.is_empty() => break info,
            other => assert!(std::time::Instant::now() < deadline, "no running info with queues: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let topics: BTreeSet<String> = info.mq_table.keys().map(|mq| mq.topic().to_string()).collect();
    assert!(topics.contains(TOPIC), "the client's own queue table: {topics:?}");

    consumer.shutdown().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while let Ok(c) = admin.examine_consumer_connection_info(group.into(), None).await {
        if c.get_connection_set().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still listed after its shutdown: {c:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    admin.shutdown().await;
    harness.shutdown_async().await;
    drop((b, ns, proxy));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_javas_proxy_answers_and_the_connection_stays() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &[]);
    let client = admin::client();
    admin::create_topic(&client, &a.addr, TOPIC, 4).await;
    let proxy = Proxy::start(home.path(), &ns.addr);
    let via = &proxy.remoting_addr;
    let ask = asker(&client, via);
    let send = |bname: Option<&str>, properties: &str| {
        let mut cmd = RemotingCommand::bare_request(RequestCode::SendMessageV2).with_body(b"hello".to_vec());
        for (k, v) in [("a", "pg"), ("b", TOPIC), ("c", "TBW102"), ("d", "4"), ("e", "0"), ("f", "0"), ("g", "0")] {
            cmd.ext_fields.insert(k, v);
        }
        cmd.ext_fields.insert("h", "0");
        cmd.ext_fields.insert("i", properties);
        if let Some(name) = bname {
            cmd.ext_fields.insert("n", name);
        }
        cmd
    };

    // 4.x clients name no broker group: Java's proxy refuses them so.
    let resp = ask(send(None, "")).await;
    assert_eq!(resp.code, ResponseCode::VersionNotSupported.to_i32());
    assert_eq!(resp.remark.as_deref(), Some("Request doesn't have field bname"));
    // An unknown request code, an unknown broker group, an unknown topic.
    let resp = ask(RemotingCommand::bare_request(RequestCode::Unknown(4242))).await;
    assert_eq!(resp.code, ResponseCode::RequestCodeNotSupported.to_i32());
    let resp = ask(send(Some("broker-z"), "")).await;
    assert_eq!(resp.code, ResponseCode::SystemError.to_i32());
    assert!(resp.remark.as_deref().unwrap_or("").contains("broker-z"), "{:?}", resp.remark);
    let header = rmq_protocol::header::GetRouteInfoRequestHeader {
        topic: "NoSuchTopic".into(),
        accept_standard_json_only: None,
    };
    let resp = ask(RemotingCommand::request(RequestCode::GetRouteinfoByTopic, &header)).await;
    assert_eq!(resp.code, ResponseCode::TopicNotExist.to_i32());
    // A delayed message to a NORMAL topic: the proxy's type check, Java's code.
    let resp = ask(send(Some("broker-a"), "DELAY\u{1}3\u{2}")).await;
    assert_eq!(resp.code, ResponseCode::MessageIllegal.to_i32(), "{:?}", resp.remark);
    // A pull of a group that never sent a heartbeat here.
    let mut pull = RemotingCommand::bare_request(RequestCode::PullMessage);
    for (k, v) in [
        ("consumerGroup", "nobody"),
        ("topic", TOPIC),
        ("queueId", "0"),
        ("queueOffset", "0"),
        ("maxMsgNums", "32"),
        ("sysFlag", "2"),
        ("bname", "broker-a"),
    ] {
        pull.ext_fields.insert(k, v);
    }
    let resp = ask(pull).await;
    assert_eq!(resp.code, ResponseCode::SubscriptionNotLatest.to_i32(), "{:?}", resp.remark);
    // A malformed heartbeat body.
    let resp = ask(RemotingCommand::bare_request(RequestCode::HeartBeat).with_body(b"{not json".to_vec())).await;
    assert_eq!(resp.code, ResponseCode::SystemError.to_i32());
    // The port is permissive, as the brokers' are by default: a TLS client is served too.
    let tls = rmq_remoting::ClientTls::from_settings(&rmq_remoting::TlsSettings {
        client_enable: true,
        ..rmq_remoting::TlsSettings::default()
    })
    .expect("client TLS");
    let tls_client = rmq_remoting::Client::new(
        rmq_remoting::ClientConfig { tls, ..rmq_remoting::ClientConfig::default() },
        Arc::new(rmq_remoting::RejectAll),
    );
    let header =
        rmq_protocol::header::GetRouteInfoRequestHeader { topic: TOPIC.into(), accept_standard_json_only: None };
    let resp = tls_client
        .invoke(via, RemotingCommand::request(RequestCode::GetRouteinfoByTopic, &header), Duration::from_secs(5))
        .await
        .expect("a route over TLS");
    assert_eq!(resp.code, ResponseCode::Success.to_i32());
    // After all that, the same connection still relays a good send.
    let resp = ask(send(Some("broker-a"), "UNIQ_KEY\u{1}k1\u{2}")).await;
    assert_eq!(resp.code, ResponseCode::Success.to_i32(), "{:?}", resp.remark);
    admin::wait_until("the relayed send in queue 0", Duration::from_secs(5), || async {
        admin::max_offset(&client, &a.addr, TOPIC, 0).await == 1
    })
    .await;
    // The NameServer gone: the proxy relays by the broker table it has, as a
    // client keeps its routes (past the table's 5 s freshness).
    let mut ns = ns;
    ns.process.kill();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let resp = ask(send(Some("broker-a"), "UNIQ_KEY\u{1}k2\u{2}")).await;
    assert_eq!(resp.code, ResponseCode::Success.to_i32(), "with the NameServer down: {:?}", resp.remark);
    drop((a, ns, proxy));
}

/// RECALL_MESSAGE (RocketMQ 5.3) through the port: relayed by `bname` as
/// Java's proxy does (its clients copy it from the handle), else to the
/// group the handle names; the broker's answers come back unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recalls_through_the_proxy_reach_the_broker_the_handle_names() {
    const DELAYED: &str = "ProxyRecallTopic";
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let on = [("recallMessageEnable", "true")];
    let a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &on);
    let b = Broker::start(home.path(), &repo_conf("2m-noslave/broker-b.properties"), &ns.addr, &on);
    let client = admin::client();
    for master in [&a.addr, &b.addr] {
        admin::create_topic_with(&client, master, DELAYED, 4, Some("+message.type=DELAY")).await;
    }
    let proxy = Proxy::start(home.path(), &ns.addr);
    let via = &proxy.remoting_addr;
    let ask = asker(&client, via);
    // A message due in a minute, to broker-b.
    let mut send = RemotingCommand::bare_request(RequestCode::SendMessageV2).with_body(b"later".to_vec());
    for (k, v) in [("a", "pg"), ("b", DELAYED), ("c", "TBW102"), ("d", "4"), ("e", "0"), ("f", "0"), ("g", "0")] {
        send.ext_fields.insert(k, v);
    }
    send.ext_fields.insert("h", "0");
    send.ext_fields.insert("i", "TIMER_DELAY_SEC\u{1}60\u{2}UNIQ_KEY\u{1}recall-me\u{2}");
    send.ext_fields.insert("n", "broker-b");
    let sent = ask(send).await;
    assert_eq!(sent.code, ResponseCode::Success.to_i32(), "{:?}", sent.remark);
    let handle = sent.ext("recallHandle").expect("a handle for a timer message").to_owned();
    let recall = |bname: Option<&str>, handle: &str| {
        let mut cmd = RemotingCommand::bare_request(RequestCode::RecallMessage);
        cmd.ext_fields.insert("topic", DELAYED);
        cmd.ext_fields.insert("recallHandle", handle);
        if let Some(name) = bname {
            cmd.ext_fields.insert("bname", name);
        }
        cmd
    };

    // Named by bname to the wrong group: that broker refuses, as Java's does.
    let resp = ask(recall(Some("broker-a"), &handle)).await;
    assert_eq!(resp.code, ResponseCode::IllegalOperation.to_i32(), "{:?}", resp.remark);
    assert_eq!(resp.remark.as_deref(), Some("recall failed, broker service not available"));
    // Without bname: to the group in the handle.
    let resp = ask(recall(None, &handle)).await;
    assert_eq!(resp.code, ResponseCode::Success.to_i32(), "{:?}", resp.remark);
    assert_eq!(resp.ext("msgId"), Some("recall-me"));
    let resp = ask(recall(Some("broker-b"), &handle)).await;
    assert_eq!(resp.code, ResponseCode::Success.to_i32(), "a second recall, answered as the first: {:?}", resp.remark);
    assert_eq!(resp.ext("msgId"), Some("recall-me"));
    // Neither bname nor a readable handle: Java's proxy answer.
    let resp = ask(recall(None, "garbage")).await;
    assert_eq!(resp.code, ResponseCode::VersionNotSupported.to_i32(), "{:?}", resp.remark);
    // A readable handle to a group that does not exist.
    let resp = ask(recall(Some("broker-z"), &handle)).await;
    assert_eq!(resp.code, ResponseCode::SystemError.to_i32(), "{:?}", resp.remark);
    drop((a, b, ns, proxy));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::large_futures)]
async fn transactions_through_the_proxy_are_checked_back_through_it() {
    const TX_TOPIC: &str = "ProxyTxTopic";
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let check = [("transactionCheckInterval", "1000"), ("transactionTimeOut", "1000")];
    let a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &check);
    let client = admin::client();
    admin::create_topic_with(&client, &a.addr, TX_TOPIC, 4, Some("+message.type=TRANSACTION")).await;
    let proxy = Proxy::start(home.path(), &ns.addr);
    let via = proxy.remoting_addr.clone();
    let harness = Harness::new_tuned("proxy-remoting-tx").expect("client runtime");
    let listener = clients::TxListener::default();
    let mut producer = clients::tx_producer(&harness, &via, "proxy-tx-pg", TX_TOPIC, &listener).await;
    for body in ["commit-1", "rollback-1", "unknown-then-commit", "unknown-then-rollback"] {
        let msg = Message::builder().topic(TX_TOPIC).body_slice(body.as_bytes()).build_unchecked();
        let r = producer.send_message_in_transaction(msg, None::<()>).await.expect("transactional send");
        assert!(r.send_result.is_some(), "{body}: half message stored through the proxy");
    }
    let (mut consumer, received) = clients::body_consumer(&harness, &via, "proxy-tx-cg", TX_TOPIC, None).await;
    let want: BTreeSet<String> = ["commit-1", "unknown-then-commit"].iter().map(|s| s.to_string()).collect();
    admin::wait_until(
        "the committed and the checked-then-committed message delivered",
        Duration::from_secs(40),
        || async { received.lock().unwrap().iter().cloned().collect::<BTreeSet<_>>() == want },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "each committed message once, nothing rolled back: {got:?}");
    let checked: BTreeSet<String> = listener.checks.lock().unwrap().keys().cloned().collect();
    assert!(checked.contains("unknown-then-commit") && checked.contains("unknown-then-rollback"), "{checked:?}");
    consumer.shutdown().await;
    producer.shutdown().await;
    harness.shutdown_async().await;
    drop((a, ns, proxy));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::large_futures)]
async fn signed_clients_through_the_proxy_keep_their_own_account_at_acl_brokers() {
    const ACL_TOPIC: &str = "ProxyAclTopic";
    let rules = format!(
        "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    admin: false\n    defaultTopicPerm: DENY\n    \
         defaultGroupPerm: SUB\n    topicPerms:\n      - {ACL_TOPIC}=PUB|SUB\n  - accessKey: rocketmq2\n    \
         secretKey: 12345678\n    admin: true\n"
    );
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    let acl_file = home.path().join("conf/plain_acl.yml");
    std::fs::write(&acl_file, rules).unwrap();
    let rocketmq_home = home.path().display().to_string();
    let ns = Namesrv::start(home.path());
    let acl = [("aclEnable", "true"), ("rocketmqHome", rocketmq_home.as_str())];
    let a = Broker::start(home.path(), &repo_conf("2m-noslave/broker-a.properties"), &ns.addr, &acl);
    let admin_client =
        rmq_remoting::Client::new(rmq_remoting::ClientConfig::default(), std::sync::Arc::new(rmq_remoting::RejectAll));
    let mut create = RemotingCommand::request(
        RequestCode::UpdateAndCreateTopic,
        &rmq_protocol::header::CreateTopicRequestHeader {
            topic: ACL_TOPIC.into(),
            default_topic: Some("TBW102".into()),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: 6,
            topic_filter_type: None,
            topic_sys_flag: None,
            order: None,
            attributes: None,
            force: None,
        },
    );
    sign_as(&mut create, "rocketmq2");
    let resp = admin_client.invoke(&a.addr, create, Duration::from_secs(5)).await.unwrap();
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let proxy = Proxy::start_with(
        home.path(),
        &ns.addr,
        &format!(
            "\"aclEnable\": true, \"aclFilePath\": \"{}\", \"enableAclRpcHookForClusterMode\": true, \
             \"innerClientAuthenticationCredentials\": \"{{\\\"accessKey\\\":\\\"rocketmq2\\\",\\\"secretKey\\\":\\\"12345678\\\"}}\"",
            acl_file.display()
        ),
    );
    let via = proxy.remoting_addr.clone();
    let harness = Harness::new_tuned("proxy-remoting-acl").expect("client runtime");
    let hook = |ak: &str| {
        Arc::new(rocketmq_client_rust::AclClientRPCHook::new(rocketmq_client_rust::SessionCredentials::with_keys(
            ak.to_owned(),
            "12345678".to_owned(),
        )))
    };
    let mut producer = rocketmq_client_rust::DefaultMQProducer::builder(harness.client_runtime())
        .producer_group("proxy-acl-pg")
        .name_server_addr(&via)
        .retry_times_when_send_failed(0)
        .rpc_hook(hook("RocketMQ"))
        .build();
    producer.start().await.expect("producer start");
    for i in 0..5 {
        let msg = Message::builder().topic(ACL_TOPIC).body_slice(format!("signed-{i}").as_bytes()).build_unchecked();
        let r = producer.send(msg).await.expect("signed send through the proxy").expect("result");
        assert_eq!(r.send_status, SendStatus::SendOk);
    }
    // The broker checks the client's own account, not the proxy's admin one.
    let mut stranger = rocketmq_client_rust::DefaultMQProducer::builder(harness.client_runtime())
        .producer_group("proxy-acl-pg-stranger")
        .name_server_addr(&via)
        .retry_times_when_send_failed(0)
        .rpc_hook(hook("Stranger1"))
        .build();
    stranger.start().await.expect("producer start");
    let msg = Message::builder().topic(ACL_TOPIC).body_slice(b"stranger").build_unchecked();
    let refused = stranger.send(msg).await.err().and_then(|e| e.broker_response_code());
    assert_eq!(refused, Some(16), "an unknown account is refused through the proxy too");
    // A push consumer's pulls get their subscription from the proxy and are
    // signed again with the consumer's account.
    let signer = hook("RocketMQ");
    let (mut consumer, received) =
        clients::body_consumer(&harness, &via, "proxy-acl-cg", ACL_TOPIC, Some(signer)).await;
    admin::wait_until("the signed messages consumed through the proxy", Duration::from_secs(30), || async {
        received.lock().unwrap().len() >= 5
    })
    .await;
    let mut got = received.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, (0..5).map(|i| format!("signed-{i}")).collect::<Vec<_>>());
    consumer.shutdown().await;
    producer.shutdown().await;
    stranger.shutdown().await;
    harness.shutdown_async().await;
    drop((a, ns, proxy));
}

/// Sends a request to the proxy's remoting port `via` and returns the answer.
fn asker(
    client: &rmq_remoting::Client,
    via: &str,
) -> impl Fn(RemotingCommand) -> std::pin::Pin<Box<dyn std::future::Future<Output = RemotingCommand> + Send>> + use<> {
    let (client, via) = (client.clone(), via.to_owned());
    move |cmd| {
        let (client, via) = (client.clone(), via.clone());
        Box::pin(async move { client.invoke(&via, cmd, Duration::from_secs(5)).await.unwrap() })
    }
}

/// Signs `cmd` as `access_key` (secret 12345678), as Java's AclClientRPCHook does.
fn sign_as(cmd: &mut RemotingCommand, access_key: &str) {
    cmd.ext_fields.insert("AccessKey", access_key);
    let body = cmd.body.to_bytes();
    let content = rmq_acl::sign::content(cmd.ext_fields.iter(), &body);
    cmd.ext_fields.insert("Signature", rmq_acl::sign::sign(&content, "12345678"));
}
