//! ACL 1.0 over the wire (Java's `PlainAccessValidator`): signed requests
//! within their permissions pass, unsigned, forged and out-of-permission ones
//! get NO_PERMISSION with Java's wording, and the file is reloaded when it
//! changes (a broken file keeps the old rules). Every code that needs admin
//! or a permission is refused to an account without it, leaving the broker
//! as it was, and served to an admin.

mod common;

use base64::Engine;
use common::*;
use hmac::{Hmac, Mac};
use rmq_model::{TopicConfig, record};
use rmq_protocol::body::admin::CreateTopicListRequestBody;
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::Client;
use std::time::Duration;

const RULES: &str = "globalWhiteRemoteAddresses:
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - Allowed=PUB|SUB
      - ReadOnly=SUB
    groupPerms:
      - Locked=DENY
  - accessKey: Operator
    secretKey: 87654321
    admin: true
";

/// Signs as Java's `AclClientRPCHook` does, written out here independently
/// of the broker's code: values of the sorted ext fields, then the body.
fn signed(mut request: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
    request.ext_fields.insert("AccessKey", ak);
    let mut data: Vec<u8> = request.ext_fields.values().flat_map(|v| v.as_bytes().to_vec()).collect();
    data.extend_from_slice(&request.body.to_bytes());
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(sk.as_bytes()).unwrap();
    mac.update(&data);
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    request.ext_fields.insert("Signature", signature);
    request
}

fn send(topic: &str) -> RemotingCommand {
    send_request("acl-pg", topic, 0, 0, &[("TAGS", "T")], b"hello")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_and_permissions_are_enforced_and_the_file_reloads() {
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("plain_acl.yml"), RULES).unwrap();
    let home_text = home.path().to_str().unwrap().to_owned();
    let broker = TestBroker::start(home.path(), &[("aclEnable", "true"), ("rocketmqHome", &home_text)]).await;
    let addr = broker.addr.clone();
    let (client, _) = client();
    let call = |r| invoke(&client, &addr, r);

    let ok = call(signed(send("Allowed"), "RocketMQ", "12345678")).await;
    assert_eq!(ok.code, 0, "{:?}", ok.remark);
    let cases = [
        (send("Allowed"), "No accessKey is configured"),
        (signed(send("Allowed"), "Stranger", "12345678"), "No acl config for Stranger"),
        (signed(send("Allowed"), "RocketMQ", "87654321"), "Check signature failed for accessKey=RocketMQ"),
        (signed(send("ReadOnly"), "RocketMQ", "12345678"), "No default permission for topic:ReadOnly"),
        (signed(send("Elsewhere"), "RocketMQ", "12345678"), "No default permission for topic:Elsewhere"),
        (
            signed(
                RemotingCommand::bare_request(rmq_protocol::RequestCode::UpdateAndCreateTopic),
                "RocketMQ",
                "12345678",
            ),
            "Need admin permission for request code=17, but accessKey=RocketMQ is not",
        ),
    ];
    for (request, remark) in cases {
        let r = call(request).await;
        assert_eq!((r.code, r.remark.as_deref()), (16, Some(remark)));
    }
    // 5.x POP needs SUB on the topic as pulls do.
    let pop = |topic| {
        rmq_testkit::pop::pop_request(&rmq_testkit::pop::PopAsk {
            group: "acl-cg",
            topic,
            queue_id: -1,
            max: 1,
            invisible_ms: 1000,
            poll_ms: 0,
            order: false,
        })
    };
    let r = call(signed(pop("Elsewhere"), "RocketMQ", "12345678")).await;
    assert_eq!((r.code, r.remark.as_deref()), (16, Some("No default permission for topic:Elsewhere")));
    let r = call(signed(pop("ReadOnly"), "RocketMQ", "12345678")).await;
    assert_ne!(r.code, 16, "SUB on ReadOnly allows a POP: {:?}", r.remark);
    // A signature over other content: tamper after signing.
    let mut forged = signed(send("Allowed"), "RocketMQ", "12345678");
    forged.ext_fields.insert("topic", "Elsewhere");
    assert_eq!(call(forged).await.code, 16);

    // A broken file: logged, the old rules stay.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(conf.join("plain_acl.yml"), format!("{RULES}      - Broken=[\n")).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(signed(send("Allowed"), "RocketMQ", "12345678")).await.code, 0);
    assert_eq!(call(signed(send("Allowed"), "RocketMQ", "12345678")).await.code, 0);
    // A fixed file with new rules takes over.
    std::fs::write(conf.join("plain_acl.yml"), RULES.replace("Allowed=PUB|SUB", "Allowed=SUB")).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = call(signed(send("Allowed"), "RocketMQ", "12345678")).await;
        if r.code == 16 {
            assert_eq!(r.remark.as_deref(), Some("No default permission for topic:Allowed"));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the changed file was not reloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // aclEnable changed at run time takes effect at the next start, as in
    // Java: until then unsigned requests stay refused.
    let update = RemotingCommand::bare_request(rmq_protocol::RequestCode::UpdateBrokerConfig)
        .with_body(b"aclEnable=false\n".to_vec());
    let r = call(signed(update, "Operator", "87654321")).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let r = call(send("Allowed")).await;
    assert_eq!((r.code, r.remark.as_deref()), (16, Some("No accessKey is configured")));
    broker.stop().await;
}

const USER: (&str, &str) = ("RocketMQ", "12345678");
const ADMIN: (&str, &str) = ("Operator", "87654321");

/// A broker with ACL on and [`RULES`] in force.
async fn acl_broker(home: &std::path::Path) -> rmq_testkit::broker::TestBroker {
    let conf = home.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("plain_acl.yml"), RULES).unwrap();
    let home_text = home.to_str().unwrap().to_owned();
    TestBroker::start(home, &[("aclEnable", "true"), ("rocketmqHome", &home_text)]).await
}

/// A request of `code` with header fields `fields` and `body`.
fn request(code: RequestCode, fields: &[(&str, &str)], body: &[u8]) -> RemotingCommand {
    let mut r = RemotingCommand::bare_request(code);
    for (k, v) in fields {
        r.ext_fields.insert(k, v);
    }
    if body.is_empty() { r } else { r.with_body(body.to_vec()) }
}

async fn call_as(client: &Client, addr: &str, who: (&str, &str), r: RemotingCommand) -> RemotingCommand {
    invoke(client, addr, signed(r, who.0, who.1)).await
}

/// The codes only admins may send (the broker's ACL table), each sent bare:
/// the refusal comes before the header is read.
const ADMIN_ONLY: [RequestCode; 27] = [
    RequestCode::UpdateAndCreateTopic,
    RequestCode::UpdateAndCreateTopicList,
    RequestCode::DeleteTopicInBroker,
    RequestCode::GetAllTopicConfig,
    RequestCode::UpdateAndCreateSubscriptionGroup,
    RequestCode::DeleteSubscriptionGroup,
    RequestCode::GetAllSubscriptionGroupConfig,
    RequestCode::GetAllConsumerOffset,
    RequestCode::GetAllDelayOffset,
    RequestCode::UpdateBrokerConfig,
    RequestCode::GetBrokerConfig,
    RequestCode::GetBrokerRuntimeInfo,
    RequestCode::InvokeBrokerToResetOffset,
    RequestCode::CloneGroupOffset,
    RequestCode::QueryCorrectionOffset,
    RequestCode::CleanExpiredConsumequeue,
    RequestCode::CleanUnusedTopic,
    RequestCode::DeleteExpiredCommitlog,
    RequestCode::GetAllProducerInfo,
    RequestCode::GetProducerConnectionList,
    RequestCode::GetBrokerConsumeStats,
    RequestCode::ViewBrokerStatsData,
    RequestCode::GetConsumerRunningInfo,
    RequestCode::ConsumeMessageDirectly,
    RequestCode::InvokeBrokerToGetConsumerStatus,
    RequestCode::SetMessageRequestMode,
    RequestCode::GetAllMessageRequestMode,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_codes_are_refused_to_other_accounts_and_served_to_admins() {
    let home = tempfile::tempdir().unwrap();
    let broker = acl_broker(home.path()).await;
    let addr = broker.addr.clone();
    let (client, _) = client();

    for code in ADMIN_ONLY {
        let r = call_as(&client, &addr, USER, RemotingCommand::bare_request(code)).await;
        let remark = format!("Need admin permission for request code={}, but accessKey=RocketMQ is not", code.to_i32());
        assert_eq!((r.code, r.remark.as_deref()), (16, Some(remark.as_str())), "{code}");
        let r = call_as(&client, &addr, ADMIN, RemotingCommand::bare_request(code)).await;
        assert_ne!(r.code, 16, "{code} from an admin: {:?}", r.remark);
    }

    // UPDATE_AND_CREATE_TOPIC_LIST refused: the topic table is unchanged.
    let list = CreateTopicListRequestBody { topic_config_list: vec![TopicConfig::new("Sneaky", 4)] };
    let create = || request(RequestCode::UpdateAndCreateTopicList, &[], &list.encode());
    let topic_config = || request(RequestCode::GetTopicConfig, &[("topic", "Sneaky")], b"");
    assert_eq!(call_as(&client, &addr, USER, create()).await.code, 16);
    assert_eq!(call_as(&client, &addr, ADMIN, topic_config()).await.code, 17, "TOPIC_NOT_EXIST");
    assert_eq!(call_as(&client, &addr, ADMIN, create()).await.code, 0);
    assert_eq!(call_as(&client, &addr, ADMIN, topic_config()).await.code, 0);

    // CLONE_GROUP_OFFSET refused: the destination group has no offsets.
    let ok = call_as(&client, &addr, USER, send("Allowed")).await;
    assert_eq!(ok.code, 0, "{:?}", ok.remark);
    let commit = request(
        RequestCode::UpdateConsumerOffset,
        &[("consumerGroup", "src"), ("topic", "Allowed"), ("queueId", "0"), ("commitOffset", "1")],
        b"",
    );
    assert_eq!(call_as(&client, &addr, USER, commit).await.code, 0);
    let clone = || {
        request(RequestCode::CloneGroupOffset, &[("srcGroup", "src"), ("destGroup", "dst"), ("topic", "Allowed")], b"")
    };
    let dst_offset = || {
        request(
            RequestCode::QueryConsumerOffset,
            &[("consumerGroup", "dst"), ("topic", "Allowed"), ("queueId", "0")],
            b"",
        )
    };
    assert_eq!(call_as(&client, &addr, USER, clone()).await.code, 16);
    // Java answers an unknown offset of a queue starting at 0 with 0.
    let r = call_as(&client, &addr, ADMIN, dst_offset()).await;
    assert_eq!((r.code, r.ext("offset")), (0, Some("0")), "{:?}", r.remark);
    assert_eq!(call_as(&client, &addr, ADMIN, clone()).await.code, 0);
    let r = call_as(&client, &addr, ADMIN, dst_offset()).await;
    assert_eq!((r.code, r.ext("offset")), (0, Some("1")));

    // UPDATE_BROKER_CONFIG refused: the value stays.
    let update = || request(RequestCode::UpdateBrokerConfig, &[], b"defaultQueryMaxNum=7\n");
    let config_has = |r: &RemotingCommand| String::from_utf8_lossy(&r.body.to_bytes()).contains("defaultQueryMaxNum=7");
    assert_eq!(call_as(&client, &addr, USER, update()).await.code, 16);
    let config = || RemotingCommand::bare_request(RequestCode::GetBrokerConfig);
    assert!(!config_has(&call_as(&client, &addr, ADMIN, config()).await));
    assert_eq!(call_as(&client, &addr, ADMIN, update()).await.code, 0);
    assert!(config_has(&call_as(&client, &addr, ADMIN, config()).await));
    broker.stop().await;
}

/// Lock and unlock bodies name their group and queues.
fn lock_body(group: &str, topic: &str) -> Vec<u8> {
    format!(
        r#"{{"consumerGroup":"{group}","clientId":"c1","onlyThisBroker":false,"mqSet":[{{"topic":"{topic}","brokerName":"b","queueId":0}}]}}"#
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_a_topic_or_group_need_a_permission_on_it() {
    let home = tempfile::tempdir().unwrap();
    let broker = acl_broker(home.path()).await;
    let addr = broker.addr.clone();
    let (client, _) = client();
    let no_topic = |t: &str| format!("No default permission for topic:{t}");
    let no_group = |g: &str| format!("No default permission for group:{g}");
    let bare = |code, fields: &[(&str, &str)]| request(code, fields, b"");
    let queue = |t| [("topic", t), ("queueId", "0"), ("timestamp", "0")];
    let cq = |t| [("topic", t), ("queueId", "0"), ("index", "0"), ("count", "1"), ("consumerGroup", "g")];
    let end = |t| {
        [
            ("producerGroup", "pg"),
            ("tranStateTableOffset", "0"),
            ("commitLogOffset", "0"),
            ("commitOrRollback", "8"),
            ("topic", t),
        ]
    };
    let query = |t| [("topic", t), ("key", "k"), ("maxNum", "1"), ("beginTimestamp", "0"), ("endTimestamp", "0")];
    let lock = |code, group, topic| request(code, &[], &lock_body(group, topic));
    use RequestCode::*;
    // (refused to the user with this remark, and the same code on what the user may read)
    let cases: Vec<(RemotingCommand, String, Option<RemotingCommand>)> = vec![
        (
            bare(QueryConsumerOffset, &[("consumerGroup", "g"), ("topic", "Elsewhere"), ("queueId", "0")]),
            no_topic("Elsewhere"),
            Some(bare(QueryConsumerOffset, &[("consumerGroup", "g"), ("topic", "ReadOnly"), ("queueId", "0")])),
        ),
        (
            bare(QueryConsumerOffset, &[("consumerGroup", "Locked"), ("topic", "ReadOnly"), ("queueId", "0")]),
            no_group("Locked"),
            None,
        ),
        (bare(GetMaxOffset, &queue("Elsewhere")), no_topic("Elsewhere"), Some(bare(GetMaxOffset, &queue("ReadOnly")))),
        (bare(GetMinOffset, &queue("Elsewhere")), no_topic("Elsewhere"), Some(bare(GetMinOffset, &queue("ReadOnly")))),
        (
            bare(GetEarliestMsgStoretime, &queue("Elsewhere")),
            no_topic("Elsewhere"),
            Some(bare(GetEarliestMsgStoretime, &queue("ReadOnly"))),
        ),
        (
            bare(SearchOffsetByTimestamp, &queue("Elsewhere")),
            no_topic("Elsewhere"),
            Some(bare(SearchOffsetByTimestamp, &queue("ReadOnly"))),
        ),
        (
            bare(GetTopicStatsInfo, &[("topic", "Elsewhere")]),
            no_topic("Elsewhere"),
            Some(bare(GetTopicStatsInfo, &[("topic", "ReadOnly")])),
        ),
        (
            bare(GetTopicConfig, &[("topic", "Elsewhere")]),
            no_topic("Elsewhere"),
            Some(bare(GetTopicConfig, &[("topic", "ReadOnly")])),
        ),
        (
            bare(QueryTopicConsumeByWho, &[("topic", "Elsewhere")]),
            no_topic("Elsewhere"),
            Some(bare(QueryTopicConsumeByWho, &[("topic", "ReadOnly")])),
        ),
        (
            bare(GetConsumerConnectionList, &[("consumerGroup", "Locked")]),
            no_group("Locked"),
            Some(bare(GetConsumerConnectionList, &[("consumerGroup", "g")])),
        ),
        (
            bare(GetConsumeStats, &[("consumerGroup", "g"), ("topic", "Elsewhere")]),
            no_topic("Elsewhere"),
            Some(bare(GetConsumeStats, &[("consumerGroup", "g"), ("topic", "ReadOnly")])),
        ),
        (bare(GetConsumeStats, &[("consumerGroup", "Locked")]), no_group("Locked"), None),
        (
            bare(QueryConsumeTimeSpan, &[("group", "g"), ("topic", "Elsewhere")]),
            no_topic("Elsewhere"),
            Some(bare(QueryConsumeTimeSpan, &[("group", "g"), ("topic", "ReadOnly")])),
        ),
        (
            bare(QueryConsumeQueue, &cq("Elsewhere")),
            no_topic("Elsewhere"),
            Some(bare(QueryConsumeQueue, &cq("ReadOnly"))),
        ),
        (
            bare(GetSubscriptionGroupConfig, &[("group", "Locked")]),
            no_group("Locked"),
            Some(bare(GetSubscriptionGroupConfig, &[("group", "g")])),
        ),
        (lock(LockBatchMq, "g", "Elsewhere"), no_topic("Elsewhere"), Some(lock(LockBatchMq, "g", "ReadOnly"))),
        (lock(UnlockBatchMq, "Locked", "ReadOnly"), no_group("Locked"), Some(lock(UnlockBatchMq, "g", "ReadOnly"))),
        (bare(EndTransaction, &end("ReadOnly")), no_topic("ReadOnly"), Some(bare(EndTransaction, &end("Allowed")))),
        (bare(QueryMessage, &query("Elsewhere")), no_topic("Elsewhere"), Some(bare(QueryMessage, &query("ReadOnly")))),
    ];
    for (refused, remark, allowed) in cases {
        let code = refused.request_code();
        let r = call_as(&client, &addr, USER, refused.clone()).await;
        assert_eq!((r.code, r.remark.as_deref()), (16, Some(remark.as_str())), "{code}");
        let r = call_as(&client, &addr, ADMIN, refused).await;
        assert_ne!(r.code, 16, "{code} from an admin: {:?}", r.remark);
        if let Some(allowed) = allowed {
            let r = call_as(&client, &addr, USER, allowed).await;
            assert_ne!(r.code, 16, "{code} on what the user may read: {:?}", r.remark);
        }
    }
    broker.stop().await;
}

/// The CommitLog offset in an offset msgId (IPv4: 8 + 8 + 16 hex digits).
fn commitlog_offset(msg_id: &str) -> i64 {
    i64::from_str_radix(&msg_id[msg_id.len() - 16..], 16).unwrap()
}

fn view(offset: i64) -> RemotingCommand {
    request(RequestCode::ViewMessageById, &[("offset", &offset.to_string())], b"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_named_by_offset_need_sub_on_the_topic_they_were_stored_in() {
    let home = tempfile::tempdir().unwrap();
    let broker = acl_broker(home.path()).await;
    let addr = broker.addr.clone();
    let (client, _) = client();
    let secret = call_as(&client, &addr, ADMIN, send("Secret")).await;
    assert_eq!(secret.code, 0, "{:?}", secret.remark);
    let secret = commitlog_offset(secret.ext("msgId").unwrap());
    let mine = call_as(&client, &addr, USER, send("Allowed")).await;
    let mine = commitlog_offset(mine.ext("msgId").unwrap());

    // Records are trusted once dispatched: wait for the user's own record.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = call_as(&client, &addr, USER, view(mine)).await;
        if r.code == 0 {
            let bytes = r.body.to_bytes();
            assert_eq!(record::decode_message(&bytes, false).unwrap().topic, "Allowed");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "own record not served: {:?}", r.remark);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = call_as(&client, &addr, USER, view(secret)).await;
    assert_eq!((r.code, r.remark.as_deref()), (16, Some("No default permission for topic:Secret")));
    assert!(r.body.to_bytes().is_empty());
    let r = call_as(&client, &addr, ADMIN, view(secret)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    assert_eq!(record::decode_message(&r.body.to_bytes(), false).unwrap().topic, "Secret");
    // An offset inside a record finds no record.
    let r = call_as(&client, &addr, USER, view(secret + 4)).await;
    assert_eq!(r.code, 1, "{:?}", r.remark);

    // A record handed back must be one the caller may read, else it would
    // reach the caller's retry (here dead-letter) topic.
    let hand_back = |offset| {
        let mut r = send_back_request(offset, "g", "Allowed", 16);
        r.ext_fields.insert("delayLevel", "-1");
        r
    };
    let dead_letters = || request(RequestCode::GetMaxOffset, &[("topic", "%DLQ%g"), ("queueId", "0")], b"");
    let r = call_as(&client, &addr, USER, hand_back(secret)).await;
    assert_eq!((r.code, r.remark.as_deref()), (16, Some("No default permission for topic:Secret")));
    let r = call_as(&client, &addr, USER, hand_back(mine)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let r = call_as(&client, &addr, ADMIN, hand_back(secret)).await;
    assert_eq!(r.code, 0, "{:?}", r.remark);
    // Dispatch follows the CommitLog: once a later record is served by
    // offset (which needs its consume-queue entry), the hand-backs are counted.
    let marker = call_as(&client, &addr, USER, send("Allowed")).await;
    let marker = commitlog_offset(marker.ext("msgId").unwrap());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while call_as(&client, &addr, USER, view(marker)).await.code != 0 {
        assert!(tokio::time::Instant::now() < deadline, "the marker was not dispatched");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = call_as(&client, &addr, ADMIN, dead_letters()).await;
    assert_eq!(r.ext("offset"), Some("2"), "the user's and the admin's hand-backs only");

    // A record forged inside a message body is not taken for a record of the
    // topic it names: only admins may read what no consume queue vouches for.
    let forged = forged_record("Allowed");
    let carrier = send_request("acl-pg", "Allowed", 0, 0, &[], &forged);
    let carrier = call_as(&client, &addr, USER, carrier).await;
    let carrier = commitlog_offset(carrier.ext("msgId").unwrap());
    let stored = loop {
        let r = call_as(&client, &addr, USER, view(carrier)).await;
        if r.code == 0 {
            break r.body.to_bytes();
        }
        assert!(tokio::time::Instant::now() < deadline, "carrier not served: {:?}", r.remark);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let at = stored.windows(forged.len()).position(|w| w == forged.as_slice()).expect("the body holds the forgery");
    let r = call_as(&client, &addr, USER, view(carrier + at as i64)).await;
    let remark = "Need admin permission for request code=33, but accessKey=RocketMQ is not";
    assert_eq!((r.code, r.remark.as_deref()), (16, Some(remark)), "a forged record was served");
    // Admins see what lies there, as Java shows anyone.
    let r = call_as(&client, &addr, ADMIN, view(carrier + at as i64)).await;
    assert_eq!((r.code, r.body.to_bytes().to_vec()), (0, forged));
    broker.stop().await;
}

/// A well-formed record of `topic`, to be sent as a message body.
fn forged_record(topic: &str) -> Vec<u8> {
    let host: std::net::SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let message = record::NewMessage {
        topic,
        queue_id: 0,
        flag: 0,
        body: b"not a stored message",
        properties: b"",
        sys_flag: 0,
        born_timestamp: 0,
        born_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    let at = record::Placement { queue_offset: 0, physical_offset: 0, store_timestamp: 0, store_host: host };
    record::encode(&message, &at).unwrap()
}
