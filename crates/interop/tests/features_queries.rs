//! Issue 5: message queries through rocketmq-client-rust — by key
//! (QUERY_MESSAGE on the index), by unique key (`_UNIQUE_KEY_QUERY`) and by
//! offset msgId (VIEW_MESSAGE_BY_ID) — each return the stored message.
#![recursion_limit = "256"]
#![allow(clippy::large_futures)]

mod common;

use common::client::Harness;
use common::servers::Cluster;
use rocketmq_client_rust::{DefaultMQProducer, SendStatus};
use rocketmq_model::common::message::MessageTrait;
use rocketmq_model::common::message::message_single::Message;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_by_key_unique_key_and_id_return_the_message() {
    let cluster = Cluster::start(&[]).await;
    let harness = Harness::new_tuned("queries").expect("client runtime");
    let ns = cluster.namesrv_addr();
    let mut producer = DefaultMQProducer::builder(harness.client_runtime())
        .producer_group("query-pg")
        .name_server_addr(ns.as_str())
        .build();
    producer.start().await.expect("producer start");
    let mut sent = Vec::new();
    for i in 0..20 {
        let msg = Message::builder()
            .topic("Queried")
            .tags("T")
            .key(format!("order-{i}"))
            .body_slice(format!("payload-{i}").as_bytes())
            .build_unchecked();
        let r = producer.send(msg).await.expect("send").expect("result");
        assert_eq!(r.send_status, SendStatus::SendOk);
        sent.push((r.msg_id.expect("uniq key").to_string(), r.offset_msg_id.expect("offset msg id").to_string()));
    }
    let body = |m: &rocketmq_model::common::message::message_ext::MessageExt| {
        String::from_utf8_lossy(m.body().as_deref().unwrap_or_default()).into_owned()
    };

    // By key: the index is written by the dispatcher, so give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let end =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64 + 60_000;
        match producer.query_message("Queried", "order-7", 32, 0, end).await {
            Ok(result) if !result.message_list().is_empty() => break result,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            other => panic!("no message found by key: {:?}", other.map(|r| r.message_list().len())),
        }
    };
    let bodies: Vec<String> = found.message_list().iter().map(body).collect();
    assert_eq!(bodies, vec!["payload-7".to_owned()], "exactly the keyed message");

    // By offset msgId: VIEW_MESSAGE_BY_ID at the broker the id names.
    let (uniq, offset_id) = &sent[12];
    let viewed = producer.view_message("Queried", offset_id).await.expect("view by offset msgId");
    assert_eq!(body(&viewed), "payload-12");
    assert_eq!(viewed.property(&"UNIQ_KEY".into()).map(|v| v.to_string()).as_deref(), Some(uniq.as_str()));

    // By unique key (the msgId applications see).
    let mut admin = rocketmq_client_rust::DefaultMQAdminExt::new(harness.client_runtime());
    admin.set_namesrv_addr(ns.as_str());
    admin.start().await.expect("admin start");
    let result = admin
        .query_message_by_unique_key(None, "Queried".into(), uniq.as_str().into(), 32, 0, i64::MAX / 2)
        .await
        .expect("query by unique key");
    let bodies: Vec<String> = result.message_list().iter().map(body).collect();
    assert!(bodies.contains(&"payload-12".to_owned()), "{bodies:?}");

    admin.shutdown().await;
    producer.shutdown().await;
    harness.shutdown_async().await;
    cluster.broker.stop().await;
}
