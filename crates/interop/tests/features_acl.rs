//! ACL 1.0 (issue 5) through rocketmq-client-rust's `AclClientRPCHook`:
//! signed clients within their permissions produce and consume; unsigned,
//! wrongly signed and out-of-permission requests get NO_PERMISSION (16).
#![recursion_limit = "256"]
// The third-party client's futures are large; boxing every call would only add noise here.
#![allow(clippy::large_futures)]

#[path = "common/v4_clients.rs"]
mod clients;
mod common;

use common::client::Harness;
use common::servers::Cluster;
use rocketmq_client_rust::{AclClientRPCHook, DefaultMQProducer, SendStatus, SessionCredentials};
use rocketmq_model::common::message::message_single::Message;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RULES: &str = "globalWhiteRemoteAddresses:
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - AclTopic=PUB|SUB
      - Forbidden=SUB
";

fn hook(ak: &str, sk: &str) -> Arc<AclClientRPCHook> {
    Arc::new(AclClientRPCHook::new(SessionCredentials::with_keys(ak.to_owned(), sk.to_owned())))
}

async fn producer(
    harness: &Harness,
    ns: &str,
    group: &str,
    signer: Option<Arc<AclClientRPCHook>>,
) -> DefaultMQProducer {
    let mut builder = DefaultMQProducer::builder(harness.client_runtime())
        .producer_group(group)
        .name_server_addr(ns)
        .retry_times_when_send_failed(0);
    if let Some(signer) = signer {
        builder = builder.rpc_hook(signer);
    }
    let mut producer = builder.build();
    producer.start().await.expect("producer start");
    producer
}

fn message(topic: &str, body: &str) -> Message {
    Message::builder().topic(topic).tags("A").body_slice(body.as_bytes()).build_unchecked()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_pass_and_the_rest_get_no_permission() {
    let acl_home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(acl_home.path().join("conf")).unwrap();
    std::fs::write(acl_home.path().join("conf/plain_acl.yml"), RULES).unwrap();
    let home = acl_home.path().to_str().unwrap().to_owned();
    let cluster = Cluster::start(&[("aclEnable", "true"), ("rocketmqHome", &home)]).await;
    let ns = cluster.namesrv_addr();
    let harness = Harness::new_tuned("acl").expect("client runtime");

    let signed = producer(&harness, &ns, "acl-pg", Some(hook("RocketMQ", "12345678"))).await;
    for i in 0..5 {
        let r = signed.send(message("AclTopic", &format!("signed-{i}"))).await.expect("signed send").expect("result");
        assert_eq!(r.send_status, SendStatus::SendOk);
    }
    let refused = |e: rocketmq_client_rust::ClientError| e.broker_response_code();
    let r = signed.send(message("Forbidden", "not allowed")).await;
    assert_eq!(r.err().and_then(refused), Some(16), "a topic without PUB");
    let unsigned = producer(&harness, &ns, "acl-pg-unsigned", None).await;
    assert_eq!(unsigned.send(message("AclTopic", "unsigned")).await.err().and_then(refused), Some(16));
    let forged = producer(&harness, &ns, "acl-pg-forged", Some(hook("RocketMQ", "not-the-secret"))).await;
    assert_eq!(forged.send(message("AclTopic", "forged")).await.err().and_then(refused), Some(16));
    let stranger = producer(&harness, &ns, "acl-pg-stranger", Some(hook("Stranger1", "12345678"))).await;
    assert_eq!(stranger.send(message("AclTopic", "stranger")).await.err().and_then(refused), Some(16));

    // A signed consumer gets the signed messages (heartbeat, offsets and pulls all pass).
    let signer = Some(hook("RocketMQ", "12345678"));
    let (mut consumer, received) = clients::body_consumer(&harness, &ns, "acl-cg", "AclTopic", signer).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().unwrap().len() < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut got = received.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, (0..5).map(|i| format!("signed-{i}")).collect::<Vec<_>>());

    consumer.shutdown().await;
    let mut all = [signed, unsigned, forged, stranger];
    for p in all.iter_mut() {
        p.shutdown().await;
    }
    harness.shutdown_async().await;
}
