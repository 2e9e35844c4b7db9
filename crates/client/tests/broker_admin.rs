//! rmq-client against an in-process NameServer and broker: sends with many in
//! flight and pulls them back; batches, tags and long polling; and every
//! admin request `admin_ext` serves, with its body decoded.

mod common;

use common::Cluster;
use rmq_client::admin::Admin;
use rmq_client::{Client, ClientOptions, Message, Producer, PullConsumer, PullRequest, PullStatus};
use rmq_model::{MessageQueue, TopicConfig};
use rmq_protocol::body::admin::{
    BrokerStatsData, ConsumeStatsList, CreateTopicListRequestBody, GetConsumerStatusBody, ProducerTableInfo,
    QueryConsumeQueueResponseBody, QueryConsumeTimeSpanBody, QueryCorrectionOffsetBody,
};
use rmq_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData, SubscriptionData,
};
use rmq_protocol::header::{
    CloneGroupOffsetRequestHeader, GetBrokerConsumeStatsRequestHeader, GetConsumerStatusRequestHeader,
    GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader, QueryConsumeQueueRequestHeader,
    QueryConsumeTimeSpanRequestHeader, QueryCorrectionOffsetRequestHeader, ViewBrokerStatsDataRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

fn client(cluster: &Cluster, instance: &str) -> Client {
    let mut options = ClientOptions::new(&cluster.namesrv_addr());
    options.instance_name = Some(instance.to_owned());
    Client::new(options)
}

async fn create_topic(admin: &Admin, broker: &str, topic: &str, queues: u32) {
    admin.create_topic(broker, &TopicConfig::new(topic, queues)).await.expect("create topic");
    // The broker registers the change with the NameServer asynchronously.
    let deadline = Instant::now() + Duration::from_secs(10);
    while admin.client().fetch_route(topic).await.is_err() {
        assert!(Instant::now() < deadline, "the route of {topic} never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pull_all(consumer: &PullConsumer, topic: &str, expression: &str) -> Vec<rmq_client::MessageExt> {
    let mut all = Vec::new();
    for mq in consumer.queues(topic).await.expect("queues") {
        let mut puller = consumer.puller(mq, expression, 0);
        loop {
            let batch = puller.next_batch().await.expect("pull");
            if batch.is_empty() {
                break;
            }
            all.extend(batch);
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_in_flight_batches_tags_and_long_polling() {
    let cluster = Cluster::start().await;
    let c = client(&cluster, "sender");
    let admin = Admin::new(c.clone());
    create_topic(&admin, &cluster.broker_addr, "Flight", 4).await;

    let producer = Producer::new(c.clone(), "flight_producer");
    let permits = Arc::new(Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..400 {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let producer = producer.clone();
        tasks.spawn(async move {
            let tag = if i % 2 == 0 { "even" } else { "odd" };
            let msg = Message::new("Flight", format!("m{i}").into_bytes()).with_tags(tag).with_keys(format!("k{i}"));
            let result = producer.send(&msg).await;
            drop(permit);
            result
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(done) = tasks.join_next().await {
        let result = done.unwrap().expect("send");
        assert_eq!(result.status.as_str(), "SEND_OK");
        ids.insert(result.msg_id);
    }
    assert_eq!(ids.len(), 400);

    let batch: Vec<Message> =
        (0..10).map(|i| Message::new("Flight", format!("b{i}").into_bytes()).with_tags("batch")).collect();
    let result = producer.send_batch(&batch).await.expect("batch");
    assert_eq!(result.msg_id.split(',').count(), 10);
    // A big body is compressed on the way and inflated on the way back.
    let big = "z".repeat(10_000);
    producer.send(&Message::new("Flight", big.clone().into_bytes()).with_tags("big")).await.expect("big send");

    let consumer = PullConsumer::new(c.clone(), "flight_consumer");
    let all = pull_all(&consumer, "Flight", "*").await;
    assert_eq!(all.len(), 411);
    assert!(all.iter().any(|m| m.body == big.as_bytes()));
    let odd = pull_all(&consumer, "Flight", "odd || batch").await;
    assert_eq!(odd.len(), 210);
    assert!(odd.iter().all(|m| matches!(m.tags(), Some("odd") | Some("batch"))));

    // A pull held by the broker answers as soon as a message arrives.
    let mq = MessageQueue::new("Flight", "broker-a", 0);
    let end = consumer.max_offset(&mq).await.unwrap();
    let waiting = {
        let consumer = consumer.clone();
        let mq = mq.clone();
        tokio::spawn(async move {
            let mut req = PullRequest::new("*", end, 32);
            req.suspend = Some(Duration::from_secs(10));
            let started = Instant::now();
            (consumer.pull(&mq, &req).await, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    producer.send_to(&Message::new("Flight", &b"late"[..]), &mq).await.expect("late send");
    let (result, took) = waiting.await.unwrap();
    let result = result.expect("held pull");
    assert_eq!(result.status, PullStatus::Found);
    assert_eq!(&result.messages[0].body[..], b"late");
    assert!(took < Duration::from_secs(5), "the held pull took {took:?}");

    // Unknown topics are created from TBW102 on first send.
    let auto = producer.send(&Message::new("AutoMade", &b"x"[..])).await.expect("auto-created");
    assert_eq!(auto.queue.topic, "AutoMade");
    cluster.stop().await;
}

fn heartbeat(client_id: &str, group: &str, topic: &str) -> HeartbeatData {
    HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.to_owned(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::FirstOffset,
            subscription_data_set: vec![SubscriptionData::tags(topic, "*", 1)],
            unit_mode: false,
        }],
        producer_data_set: vec![ProducerData { group_name: "admin_pg".into() }],
        ..HeartbeatData::default()
    }
}

async fn raw(c: &Client, addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    c.invoke(addr, cmd, None).await.expect("answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_requests_of_admin_ext() {
    let cluster = Cluster::start().await;
    let broker = cluster.broker_addr.clone();
    let c = client(&cluster, "admin");
    let admin = Admin::new(c.clone());
    create_topic(&admin, &broker, "Stats", 2).await;
    let producer = Producer::new(c.clone(), "stats_producer");
    for i in 0..6 {
        let mq = MessageQueue::new("Stats", "broker-a", i % 2);
        producer.send_to(&Message::new("Stats", format!("s{i}").into_bytes()).with_tags("t"), &mq).await.unwrap();
    }

    // 202 (dispatch to the consume queues runs behind the sends)
    let deadline = Instant::now() + Duration::from_secs(5);
    let stats = loop {
        let stats = admin.topic_stats(&broker, "Stats").await.unwrap();
        if stats.offset_table.values().all(|o| o.max_offset == 3) || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(stats.offset_table.len(), 2);
    assert!(stats.offset_table.values().all(|o| o.max_offset == 3 && o.last_update_timestamp > 0));
    let missing = admin.topic_stats(&broker, "Nope").await.unwrap_err();
    assert_eq!(missing.code(), Some(ResponseCode::TopicNotExist));

    // A consumer online (a second client) with committed offsets.
    let member = client(&cluster, "member");
    member.heartbeat(&broker, &heartbeat(member.client_id(), "G", "Stats")).await.unwrap();
    let consumer = PullConsumer::new(member.clone(), "G");
    consumer.commit_offset(&MessageQueue::new("Stats", "broker-a", 0), 2).await.unwrap();

    // 203, 204, 328, 300
    let conn = admin.consumer_connection(&broker, "G").await.unwrap();
    assert_eq!(conn.connection_set.len(), 1);
    assert_eq!(conn.connection_set[0].client_id, member.client_id());
    assert!(conn.subscription_table.contains_key("Stats"));
    let offline = admin.consumer_connection(&broker, "Nobody").await.unwrap_err();
    assert_eq!(offline.code(), Some(ResponseCode::ConsumerNotOnline));
    let pc = admin.producer_connection(&broker, "admin_pg").await.unwrap();
    assert_eq!(pc.connection_set[0].client_id, member.client_id());
    assert!(admin.producer_connection(&broker, "nope_pg").await.is_err());
    let all: ProducerTableInfo = ProducerTableInfo::decode(
        &raw(&c, &broker, RemotingCommand::bare_request(RequestCode::GetAllProducerInfo)).await.body.to_bytes(),
    )
    .unwrap();
    assert!(all.data.contains_key("admin_pg"));
    assert!(admin.topic_consumed_by(&broker, "Stats").await.unwrap().group_list.contains("G"));

    // 208
    let cs = admin.consume_stats(&broker, "G", None).await.unwrap();
    let q0 = cs.offset_table[&MessageQueue::new("Stats", "broker-a", 0)];
    assert_eq!((q0.broker_offset, q0.consumer_offset), (3, 2));
    assert!(q0.last_timestamp > 0);
    assert_eq!(cs.total_diff(), 4);
    assert_eq!(cs.consume_tps, 0.0, "G has pulled nothing yet");

    // consumeTps: the messages G pulled, per second over the last minute.
    let mut puller = consumer.puller(MessageQueue::new("Stats", "broker-a", 1), "*", 0);
    assert_eq!(puller.next_batch().await.expect("pull").len(), 3);
    let tps = admin.consume_stats(&broker, "G", None).await.unwrap().consume_tps;
    assert!(tps > 0.0, "consumeTps after 3 pulled messages: {tps}");
    let header = ViewBrokerStatsDataRequestHeader { stats_name: "GROUP_GET_NUMS".into(), stats_key: "Stats@G".into() };
    let data = raw(&c, &broker, RemotingCommand::request(RequestCode::ViewBrokerStatsData, &header)).await;
    assert!(BrokerStatsData::decode(&data.body.to_bytes()).unwrap().stats_minute.tps > 0.0);
    // TOPIC_PUT_NUMS: the messages stored per topic (sent to Stats above).
    let header = ViewBrokerStatsDataRequestHeader { stats_name: "TOPIC_PUT_NUMS".into(), stats_key: "Stats".into() };
    let data = raw(&c, &broker, RemotingCommand::request(RequestCode::ViewBrokerStatsData, &header)).await;
    assert_eq!(data.response_code(), ResponseCode::Success, "{:?}", data.remark);
    let minute = BrokerStatsData::decode(&data.body.to_bytes()).unwrap().stats_minute;
    assert!(minute.tps > 0.0 && minute.sum > 0, "{minute:?}");

    // 222: offsets move back to the start, the broker keeps them and tells the consumer.
    let reset = admin.reset_offset(&broker, "Stats", "G", 0, true).await.unwrap();
    assert_eq!(reset.offset_table.values().copied().collect::<Vec<_>>(), vec![0, 0]);
    assert_eq!(consumer.committed_offset(&MessageQueue::new("Stats", "broker-a", 0)).await.unwrap(), Some(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    let pushed = loop {
        let resets = member.take_offset_resets();
        if !resets.is_empty() || Instant::now() > deadline {
            break resets;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].offsets, reset);
    let offline = admin.reset_offset(&broker, "Stats", "Nobody", -1, true).await.unwrap_err();
    assert_eq!(offline.code(), Some(ResponseCode::ConsumerNotOnline));

    // 307 and 309 are answered by the client itself; 223 asks every client.
    let info = admin.consumer_running_info(&broker, "G", member.client_id(), false).await.unwrap();
    assert!(info.contains("PROP_CLIENT_VERSION"), "{info}");
    let gone = admin.consumer_running_info(&broker, "G", "10.9.9.9@1", false).await.unwrap_err();
    assert!(gone.to_string().contains("not online"), "{gone}");
    let sent = producer.send(&Message::new("Stats", &b"direct"[..])).await.unwrap();
    let direct =
        admin.consume_message_directly(&broker, "G", member.client_id(), &sent.offset_msg_id).await.unwrap_err();
    assert_eq!(direct.code(), Some(ResponseCode::RequestCodeNotSupported), "the client's own answer comes back");
    let header = GetConsumerStatusRequestHeader { topic: "Stats".into(), group: "G".into(), client_addr: None };
    let status =
        raw(&c, &broker, RemotingCommand::request(RequestCode::InvokeBrokerToGetConsumerStatus, &header)).await;
    let status = GetConsumerStatusBody::decode(&status.body.to_bytes()).unwrap();
    assert!(status.consumer_table.contains_key(member.client_id()));

    // 303
    let header = QueryConsumeTimeSpanRequestHeader { topic: "Stats".into(), group: "G".into() };
    let span = raw(&c, &broker, RemotingCommand::request(RequestCode::QueryConsumeTimeSpan, &header)).await;
    let span = QueryConsumeTimeSpanBody::decode(&span.body.to_bytes()).unwrap();
    assert_eq!(span.consume_time_span_set.len(), 2);
    assert!(span.consume_time_span_set.iter().all(|s| s.min_time_stamp > 0 && s.max_time_stamp >= s.min_time_stamp));

    // 314 then 308
    consumer.commit_offset(&MessageQueue::new("Stats", "broker-a", 1), 3).await.unwrap();
    admin.clone_group_offset(&broker, "G", "G2", Some("Stats"), true).await.unwrap();
    let g2 = PullConsumer::new(c.clone(), "G2");
    assert_eq!(g2.committed_offset(&MessageQueue::new("Stats", "broker-a", 1)).await.unwrap(), Some(3));
    let header =
        QueryCorrectionOffsetRequestHeader { compare_group: "G2".into(), topic: "Stats".into(), filter_groups: None };
    let body = raw(&c, &broker, RemotingCommand::request(RequestCode::QueryCorrectionOffset, &header)).await;
    let body = QueryCorrectionOffsetBody::decode(&body.body.to_bytes()).unwrap();
    assert_eq!(body.correction_offsets.get(&1), Some(&3));

    // 317, 315, 321
    let header = GetBrokerConsumeStatsRequestHeader { is_order: false };
    let list = raw(&c, &broker, RemotingCommand::request(RequestCode::GetBrokerConsumeStats, &header)).await;
    let list = ConsumeStatsList::decode(&list.body.to_bytes()).unwrap();
    assert_eq!(list.broker_addr, broker);
    assert!(list.consume_stats_list.iter().any(|m| m.contains_key("G")));
    let header =
        ViewBrokerStatsDataRequestHeader { stats_name: "BROKER_PUT_NUMS".into(), stats_key: "DefaultCluster".into() };
    let data = raw(&c, &broker, RemotingCommand::request(RequestCode::ViewBrokerStatsData, &header)).await;
    assert_eq!(data.code, 0);
    BrokerStatsData::decode(&data.body.to_bytes()).unwrap();
    let header = ViewBrokerStatsDataRequestHeader { stats_name: "NOPE".into(), stats_key: "x".into() };
    assert_eq!(raw(&c, &broker, RemotingCommand::request(RequestCode::ViewBrokerStatsData, &header)).await.code, 1);
    let header = QueryConsumeQueueRequestHeader {
        topic: "Stats".into(),
        queue_id: 0,
        index: 0,
        count: 10,
        consumer_group: Some("G".into()),
    };
    let cq = raw(&c, &broker, RemotingCommand::request(RequestCode::QueryConsumeQueue, &header)).await;
    let cq = QueryConsumeQueueResponseBody::decode(&cq.body.to_bytes()).unwrap();
    assert!(cq.queue_data.iter().all(|e| e.physic_size > 0));
    let tagged = rmq_model::java::string_hash_code("t") as i64;
    assert_eq!(cq.queue_data.iter().filter(|e| e.tags_code == tagged).count(), 3, "{cq:?}");
    assert!(cq.subscription_data.is_some());

    // 351, 352, 18
    let header = GetTopicConfigRequestHeader { topic: "Stats".into(), lo: None };
    let tc = raw(&c, &broker, RemotingCommand::request(RequestCode::GetTopicConfig, &header)).await;
    let tc: TopicConfig = rmq_model::fastjson::from_slice(&tc.body.to_bytes()).unwrap();
    assert_eq!(tc.read_queue_nums, 2);
    let header = GetSubscriptionGroupConfigRequestHeader { group: "TOOLS_CONSUMER".into() };
    assert_eq!(
        raw(&c, &broker, RemotingCommand::request(RequestCode::GetSubscriptionGroupConfig, &header)).await.code,
        0
    );
    let header = GetSubscriptionGroupConfigRequestHeader { group: "nope".into() };
    assert_eq!(
        raw(&c, &broker, RemotingCommand::request(RequestCode::GetSubscriptionGroupConfig, &header)).await.code,
        26
    );
    let body =
        CreateTopicListRequestBody { topic_config_list: vec![TopicConfig::new("L1", 1), TopicConfig::new("L2", 2)] };
    let made =
        raw(&c, &broker, RemotingCommand::bare_request(RequestCode::UpdateAndCreateTopicList).with_body(body.encode()))
            .await;
    assert_eq!(made.code, 0, "{:?}", made.remark);
    assert!(admin.topic_stats(&broker, "L2").await.is_ok());

    // 306, 316, 329, and an unknown code
    for code in
        [RequestCode::CleanExpiredConsumequeue, RequestCode::CleanUnusedTopic, RequestCode::DeleteExpiredCommitlog]
    {
        admin.broker_command(&broker, code).await.unwrap();
    }
    assert!(admin.topic_stats(&broker, "Stats").await.is_ok(), "cleaning keeps live topics");
    let unknown = raw(&c, &broker, RemotingCommand::bare_request(RequestCode::Unknown(99_999))).await;
    assert_eq!(unknown.code, 3);
    let _ = CloneGroupOffsetRequestHeader::default();
    cluster.stop().await;
}
