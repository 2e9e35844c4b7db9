//! Topics and subscription groups created on first use are bounded
//! (`autoCreateTopicMaxCount`, `autoCreateSubscriptionGroupMaxCount`, rmq's
//! own keys): past the bound a send to a new topic gets TOPIC_NOT_EXIST and a
//! pull by a new group SUBSCRIPTION_GROUP_NOT_EXIST, each saying why, while
//! existing names keep working and admins still create.

mod common;

use common::{TestBroker, client, create_topic_request, invoke, pull_request, send_request};
use rmq_model::fastjson;
use rmq_model::tables::{SubscriptionGroupWrapper, TopicConfigSerializeWrapper};
use rmq_protocol::{RemotingCommand, RequestCode};

fn update_config(text: &str) -> RemotingCommand {
    RemotingCommand::bare_request(RequestCode::UpdateBrokerConfig).with_body(text.as_bytes().to_vec())
}

fn send(topic: &str) -> RemotingCommand {
    send_request("pg", topic, 0, 0, &[], b"m")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_use_stops_creating_at_the_bound() {
    let home = tempfile::tempdir().unwrap();
    let broker = TestBroker::start(home.path(), &[]).await;
    let (c, _) = client();
    let addr = broker.addr.clone();

    let r = invoke(&c, &addr, RemotingCommand::bare_request(RequestCode::GetAllTopicConfig)).await;
    let topics = fastjson::from_slice::<TopicConfigSerializeWrapper>(&r.body.to_bytes()).unwrap().topic_config_table;
    let r = invoke(&c, &addr, RemotingCommand::bare_request(RequestCode::GetAllSubscriptionGroupConfig)).await;
    let groups = fastjson::from_slice::<SubscriptionGroupWrapper>(&r.body.to_bytes()).unwrap().subscription_group_table;
    let bounds = format!(
        "autoCreateTopicMaxCount={}\nautoCreateSubscriptionGroupMaxCount={}\n",
        topics.len() + 2,
        groups.len() + 1
    );
    assert_eq!(invoke(&c, &addr, update_config(&bounds)).await.code, 0);

    assert_eq!(invoke(&c, &addr, send("New1")).await.code, 0);
    assert_eq!(invoke(&c, &addr, send("New2")).await.code, 0);
    let r = invoke(&c, &addr, send("New3")).await;
    let remark = r.remark.unwrap_or_default();
    assert_eq!(r.code, 17, "{remark}");
    assert!(remark.starts_with("topic[New3] not exist") && remark.contains("autoCreateTopicMaxCount"), "{remark}");
    // A client's retry topic is a topic created on first use too.
    let r = invoke(&c, &addr, send("%RETRY%nobody")).await;
    assert_eq!(r.code, 17, "{:?}", r.remark);
    assert_eq!(invoke(&c, &addr, send("New1")).await.code, 0, "existing topics still take sends");
    assert_eq!(invoke(&c, &addr, create_topic_request("ByAdmin", 4, 6)).await.code, 0, "admins still create");
    assert_eq!(invoke(&c, &addr, send("ByAdmin")).await.code, 0);

    let pull = |group: &str| pull_request(group, "New1", 0, 0, "*", "TAG");
    assert_ne!(invoke(&c, &addr, pull("g1")).await.code, 26);
    let r = invoke(&c, &addr, pull("g2")).await;
    let remark = r.remark.unwrap_or_default();
    assert_eq!(r.code, 26, "{remark}");
    assert!(remark.contains("autoCreateSubscriptionGroupMaxCount"), "{remark}");
    assert_ne!(invoke(&c, &addr, pull("g1")).await.code, 26, "existing groups still pull");

    // Raising the bound lets first use create again.
    assert_eq!(invoke(&c, &addr, update_config("autoCreateTopicMaxCount=10000\n")).await.code, 0);
    assert_eq!(invoke(&c, &addr, send("New3")).await.code, 0);
    broker.stop().await;
}
