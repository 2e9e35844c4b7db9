//! UPDATE_AND_CREATE_TOPIC_LIST: each topic's attributes are a modification
//! (`+key=value`, `-key`), applied with the rules and refusals of
//! UPDATE_AND_CREATE_TOPIC (Java's `AttributeUtil.alterCurrentAttributes`);
//! one topic refused, none of the list is stored.

mod common;

use common::*;
use rmq_model::TopicConfig;
use rmq_protocol::body::admin::CreateTopicListRequestBody;
use rmq_protocol::{RemotingCommand, RequestCode};

fn topic(name: &str, attributes: &[(&str, &str)]) -> TopicConfig {
    let mut config = TopicConfig::new(name, 4);
    config.attributes = attributes.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    config
}

fn create(topics: Vec<TopicConfig>) -> RemotingCommand {
    let body = CreateTopicListRequestBody { topic_config_list: topics };
    RemotingCommand::bare_request(RequestCode::UpdateAndCreateTopicList).with_body(body.encode())
}

fn get(topic: &str) -> RemotingCommand {
    RemotingCommand::bare_request(RequestCode::GetTopicConfig).with_ext("topic", topic)
}

#[tokio::test]
async fn a_topic_list_alters_attributes_as_a_single_topic_does() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (client, _) = client();
    let addr = broker.addr.clone();

    let r = invoke(&client, &addr, create(vec![topic("Fifo", &[("+message.type", "FIFO")])])).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let stored = String::from_utf8(invoke(&client, &addr, get("Fifo")).await.body.to_bytes().to_vec()).unwrap();
    assert!(stored.contains(r#""attributes":{"message.type":"FIFO"}"#), "{stored}");

    // Refused with Java's texts, and the topic keeps what it had.
    let refusals = [
        (
            vec![topic("Fifo", &[("+queue.type", "BatchCQ")])],
            "attempt to update an unchangeable attribute. key: queue.type",
        ),
        (vec![topic("Fifo", &[("message.type", "NORMAL")])], "wrong format key: essage.type"),
        (vec![topic("Fifo", &[("+message.type", "LIFO")])], "value is not in set"),
        (vec![topic("Fresh", &[("-message.type", "")])], "only add attribute is supported while creating topic"),
        (vec![topic("Fresh", &[]), topic("Fifo", &[("+nosuch", "1")])], "unsupported key: nosuch"),
    ];
    for (list, remark) in refusals {
        let r = invoke(&client, &addr, create(list)).await;
        assert_eq!(r.code, 1, "{:?}", r.remark);
        assert!(r.remark.as_deref().unwrap_or_default().contains(remark), "{:?} lacks {remark}", r.remark);
    }
    let kept = String::from_utf8(invoke(&client, &addr, get("Fifo")).await.body.to_bytes().to_vec()).unwrap();
    assert_eq!(kept, stored);
    assert_eq!(invoke(&client, &addr, get("Fresh")).await.code, 17, "a refused list stores none of its topics");

    // A change allowed after creation, and a delete.
    let r = invoke(&client, &addr, create(vec![topic("Fifo", &[("-message.type", "")])])).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let after = String::from_utf8(invoke(&client, &addr, get("Fifo")).await.body.to_bytes().to_vec()).unwrap();
    assert!(!after.contains("message.type"), "{after}");
    broker.stop().await;
}
