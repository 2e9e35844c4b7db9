//! The sub-commands: their specs (names, descriptions and options as 4.9.8
//! defines them, in the order `mqadmin` lists them) and the dispatch.
//!
//! Output lines keep the shape of Java's `printf` calls — header literals
//! passed as arguments, `\n` inside `print!` where Java wrote `\n` — so
//! each can be checked against its Java original column by column.
#![allow(clippy::print_literal, clippy::print_with_newline)]

mod broker;
mod cluster;
mod controller;
mod group;
mod message;
mod namesrv;
mod running_info;
mod stats;
mod topic;

use anyhow::Result;

use super::Ctx;
use super::options::{Args, Spec, flag, val};

macro_rules! spec {
    ($name:literal, $desc:literal, [$($opt:expr),* $(,)?] $(, one_of = [$($c:literal),*])?) => {
        Spec { name: $name, desc: $desc, opts: &[$($opt),*], one_of: &[$($($c),*)?] }
    };
}

/// Every sub-command, in Java's order.
pub const ALL: &[Spec] = &[
    spec!(
        "updateTopic",
        "Update or create topic",
        [
            val('b', "brokerAddr", false, "create topic to which broker"),
            val('c', "clusterName", false, "create topic to which cluster"),
            val('t', "topic", true, "topic name"),
            val('r', "readQueueNums", false, "set read queue nums"),
            val('w', "writeQueueNums", false, "set write queue nums"),
            val('p', "perm", false, "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]"),
            val('o', "order", false, "set topic's order(true|false)"),
            val('u', "unit", false, "is unit topic (true|false)"),
            val('s', "hasUnitSub", false, "has unit sub (true|false)"),
            val('a', "attributes", false, "attribute(+a=b,+c=d,-e)"),
        ],
        one_of = ['b', 'c']
    ),
    spec!(
        "deleteTopic",
        "Delete topic from broker and NameServer.",
        [val('t', "topic", true, "topic name"), val('c', "clusterName", true, "delete topic from which cluster"),]
    ),
    spec!(
        "updateSubGroup",
        "Update or create subscription group",
        [
            val('b', "brokerAddr", false, "create subscription group to which broker"),
            val('c', "clusterName", false, "create subscription group to which cluster"),
            val('g', "groupName", true, "consumer group name"),
            val('s', "consumeEnable", false, "consume enable"),
            val('m', "consumeFromMinEnable", false, "from min offset"),
            val('d', "consumeBroadcastEnable", false, "broadcast"),
            val('q', "retryQueueNums", false, "retry queue nums"),
            val('r', "retryMaxTimes", false, "retry max times"),
            val('i', "brokerId", false, "consumer from which broker id"),
            val('w', "whichBrokerWhenConsumeSlowly", false, "which broker id when consume slowly"),
            val('a', "notifyConsumerIdsChanged", false, "notify consumerId changed"),
            val('o', "consumeOrderlyEnable", false, "consume orderly (5.x POP: FIFO per queue)"),
        ]
    ),
    spec!(
        "setConsumeMode",
        "set consume mode(PULL or POP) of a consumer group on a topic (5.x)",
        [
            val('b', "brokerAddr", false, "set which broker"),
            val('c', "clusterName", false, "set which cluster"),
            val('t', "topicName", true, "topic name"),
            val('g', "groupName", true, "consumer group name"),
            val('m', "mode", true, "consume mode: PULL or POP"),
            val('q', "popShareQueueNum", false, "POP: how many other clients' queues each client pops too"),
        ],
        one_of = ['b', 'c']
    ),
    spec!(
        "deleteSubGroup",
        "Delete subscription group from broker.",
        [
            val('b', "brokerAddr", false, "delete subscription group from which broker"),
            val('c', "clusterName", false, "delete subscription group from which cluster"),
            val('g', "groupName", true, "subscription group name"),
            val('r', "removeOffset", false, "remove offset"),
        ]
    ),
    spec!(
        "updateBrokerConfig",
        "Update broker's config",
        [
            val('b', "brokerAddr", false, "update which broker"),
            val('c', "clusterName", false, "update which cluster"),
            val('k', "key", true, "config key"),
            val('v', "value", true, "config value"),
        ]
    ),
    spec!(
        "updateTopicPerm",
        "Update topic perm",
        [
            val('b', "brokerAddr", false, "create topic to which broker"),
            val('c', "clusterName", false, "create topic to which cluster"),
            val('t', "topic", true, "topic name"),
            val('p', "perm", true, "set topic's permission(2|4|6), intro[2:W; 4:R; 6:RW]"),
        ],
        one_of = ['b', 'c']
    ),
    spec!(
        "topicRoute",
        "Examine topic route info",
        [val('t', "topic", true, "topic name"), flag('l', "list", "Use list format to print data"),]
    ),
    spec!("topicStatus", "Examine topic Status info", [val('t', "topic", true, "topic name")]),
    spec!("topicClusterList", "get cluster info for topic", [val('t', "topic", true, "topic name")]),
    spec!(
        "brokerStatus",
        "Fetch broker runtime status data",
        [val('b', "brokerAddr", false, "Broker address"), val('c', "clusterName", false, "which cluster"),]
    ),
    spec!(
        "queryMsgById",
        "Query Message by Id",
        [
            val('i', "msgId", true, "Message Id"),
            val('g', "consumerGroup", false, "consumer group name"),
            val('d', "clientId", false, "The consumer's client id"),
            val('s', "sendMessage", false, "resend message"),
            val('u', "unitName", false, "unit name"),
        ]
    ),
    spec!(
        "queryMsgByKey",
        "Query Message by Key",
        [val('t', "topic", true, "topic name"), val('k', "msgKey", true, "Message Key"),]
    ),
    spec!(
        "queryMsgByUniqueKey",
        "Query Message by Unique key",
        [
            val('i', "msgId", true, "Message Id"),
            val('g', "consumerGroup", false, "consumer group name"),
            val('d', "clientId", false, "The consumer's client id"),
            val('t', "topic", true, "The topic of msg"),
            flag('a', "showAll", "Print all message, the limit is 32"),
        ]
    ),
    spec!(
        "queryMsgByOffset",
        "Query Message by offset",
        [
            val('t', "topic", true, "topic name"),
            val('b', "brokerName", true, "Broker Name"),
            val('i', "queueId", true, "Queue Id"),
            val('o', "offset", true, "Queue Offset"),
        ]
    ),
    spec!(
        "brokerConsumeStats",
        "Fetch broker consume stats data",
        [
            val('b', "brokerAddr", true, "Broker address"),
            val('t', "timeoutMillis", false, "request timeout Millis"),
            val('l', "level", false, "threshold of print diff"),
            val('o', "order", false, "order topic"),
        ]
    ),
    spec!(
        "producerConnection",
        "Query producer's socket connection and client version",
        [val('g', "producerGroup", true, "producer group name"), val('t', "topic", true, "topic name"),]
    ),
    spec!(
        "consumerConnection",
        "Query consumer's socket connection, client version and subscription",
        [val('g', "consumerGroup", true, "consumer group name"), val('b', "brokerAddr", false, "broker address"),]
    ),
    spec!(
        "consumerProgress",
        "Query consumers's progress, speed",
        [
            val('g', "groupName", false, "consumer group name"),
            val('s', "showClientIP", false, "Show Client IP per Queue"),
        ]
    ),
    spec!(
        "consumerStatus",
        "Query consumer's internal data structure.",
        [
            val('g', "consumerGroup", true, "consumer group name"),
            val('i', "clientId", false, "The consumer's client id"),
            val('b', "brokerAddr", false, "broker address"),
            flag('s', "jstack", "Run jstack command in the consumer progress"),
        ]
    ),
    spec!(
        "cloneGroupOffset",
        "clone offset from other group.",
        [
            val('s', "srcGroup", true, "set source consumer group"),
            val('d', "destGroup", true, "set destination consumer group"),
            val('t', "topic", true, "set the topic"),
            val('o', "offline", false, "the group or the topic is offline"),
        ]
    ),
    spec!(
        "clusterList",
        "List all of clusters",
        [
            flag('m', "moreStats", "Print more stats"),
            val('i', "interval", false, "specify intervals numbers, it is in seconds"),
        ]
    ),
    spec!("topicList", "Fetch all topic list from name server", [flag('c', "clusterModel", "clusterModel")]),
    spec!(
        "updateKvConfig",
        "Create or update KV config.",
        [
            val('s', "namespace", true, "set the namespace"),
            val('k', "key", true, "set the key name"),
            val('v', "value", true, "set the key value"),
        ]
    ),
    spec!(
        "deleteKvConfig",
        "Delete KV config.",
        [val('s', "namespace", true, "set the namespace"), val('k', "key", true, "set the key name"),]
    ),
    spec!(
        "wipeWritePerm",
        "Wipe write perm of broker in all name server you defined in the -n param",
        [val('b', "brokerName", true, "broker name"),]
    ),
    spec!(
        "addWritePerm",
        "Add write perm of broker in all name server you defined in the -n param",
        [val('b', "brokerName", true, "broker name"),]
    ),
    spec!(
        "resetOffsetByTime",
        "Reset consumer offset by timestamp(without client restart).",
        [
            val('g', "group", true, "set the consumer group"),
            val('t', "topic", true, "set the topic"),
            val('s', "timestamp", true, "set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"),
            val('f', "force", false, "set the force rollback by timestamp switch[true|false]"),
            flag('c', "cplus", "reset c++ client offset"),
        ]
    ),
    spec!(
        "updateOrderConf",
        "Create or update or delete order conf",
        [
            val('t', "topic", true, "topic name"),
            val('v', "orderConf", false, "set order conf [eg. brokerName1:num;brokerName2:num]"),
            val('m', "method", true, "option type [eg. put|get|delete"),
        ]
    ),
    spec!(
        "cleanExpiredCQ",
        "Clean expired ConsumeQueue on broker.",
        [val('b', "brokerAddr", false, "Broker address"), val('c', "cluster", false, "clustername"),]
    ),
    spec!(
        "deleteExpiredCommitLog",
        "Delete expired CommitLog files",
        [val('b', "brokerAddr", false, "Broker address"), val('c', "cluster", false, "clustername"),]
    ),
    spec!(
        "cleanUnusedTopic",
        "Clean unused topic on broker.",
        [val('b', "brokerAddr", false, "Broker address"), val('c', "cluster", false, "cluster name"),]
    ),
    spec!(
        "statsAll",
        "Topic and Consumer tps stats.",
        [flag('a', "activeTopic", "print active topic only"), val('t', "topic", false, "print select topic only"),]
    ),
    spec!(
        "clusterRT",
        "List All clusters Message Send RT",
        [
            val('a', "amount", false, "message amount | default 100"),
            val('s', "size", false, "message size | default 128 Byte"),
            val('c', "cluster", false, "cluster name | default display all cluster"),
            val('p', "print log", false, "print as tlog | default false"),
            val('m', "machine room", false, "machine room name | default noname"),
            val('i', "interval", false, "print interval | default 10 seconds"),
        ]
    ),
    spec!("getNamesrvConfig", "Get configs of name server.", []),
    spec!(
        "updateNamesrvConfig",
        "Update configs of name server.",
        [val('k', "key", true, "config key"), val('v', "value", true, "config value"),]
    ),
    spec!(
        "getBrokerConfig",
        "Get broker config by cluster or special broker!",
        [val('b', "brokerAddr", false, "get which broker"), val('c', "clusterName", false, "get which cluster"),]
    ),
    spec!(
        "getSyncStateSet",
        "Fetch syncStateSet for target brokers.",
        [
            val('a', "controllerAddress", true, "the address of controller"),
            val('c', "clusterName", false, "which cluster"),
            val('b', "brokerName", false, "which broker to fetch"),
            val('i', "interval", false, "the interval(second) of get info"),
        ]
    ),
    spec!(
        "getBrokerEpoch",
        "Fetch broker epoch entries.",
        [
            val('c', "clusterName", false, "which cluster"),
            val('b', "brokerName", false, "which broker to fetch"),
            val('i', "interval", false, "the interval(second) of get info"),
        ]
    ),
    spec!(
        "getControllerMetaData",
        "Get controller cluster's metadata.",
        [val('a', "controllerAddress", true, "the address of controller")]
    ),
    spec!(
        "getControllerConfig",
        "Get controller config.",
        [val('a', "controllerAddress", true, "Controller address list, eg: 192.168.0.1:9878;192.168.0.2:9878")]
    ),
    spec!(
        "updateControllerConfig",
        "Update controller config.",
        [
            val('a', "controllerAddress", true, "Controller address list, eg: 192.168.0.1:9878;192.168.0.2:9878"),
            val('k', "key", true, "config key"),
            val('v', "value", true, "config value"),
        ]
    ),
    spec!(
        "cleanBrokerMetadata",
        "Clean metadata of broker on controller.",
        [
            val('a', "controllerAddress", true, "The address of controller"),
            val(
                'b',
                "brokerControllerIdsToClean",
                false,
                "The brokerController id list which requires to clean metadata. eg: 1;2;3"
            ),
            // Java's short name is `-bn` (rewritten to --brokerName before parsing).
            val('N', "brokerName", true, "The broker name of the replicas that require to be manipulated"),
            val('c', "clusterName", false, "the clusterName of broker"),
            flag('l', "cleanLivingBroker", "Whether clean up living brokers, default value is false"),
        ]
    ),
    spec!(
        "electMaster",
        "Re-elect the specified broker as master.",
        [
            val('a', "controllerAddress", true, "The address of controller"),
            val('b', "brokerId", true, "The id of the broker which requires to become master"),
            // Java's short name is `-bn`; rmq takes it (rewritten to
            // --brokerName before parsing) and lists it as -N.
            val('N', "brokerName", true, "The broker name of the replicas that require to be manipulated"),
            val('c', "clusterName", true, "the clusterName of broker"),
        ]
    ),
    spec!(
        "sendMessage",
        "Send a message",
        [
            val('t', "topic", true, "Topic name"),
            val('p', "body", true, "UTF-8 string format of the message body"),
            val('k', "key", false, "Message keys"),
            val('c', "tags", false, "Message tags"),
            val('b', "broker", false, "Send message to target broker"),
            val('i', "qid", false, "Send message to target queue"),
            val('m', "msgTraceEnable", false, "Message Trace Enable, Default: false"),
        ]
    ),
    spec!(
        "consumeMessage",
        "Consume message",
        [
            val('t', "topic", true, "Topic name"),
            val('b', "brokerName", false, "Broker name"),
            val('i', "queueId", false, "Queue Id"),
            val('o', "offset", false, "Queue offset"),
            val('g', "consumerGroup", false, "Consumer group name"),
            val('s', "beginTimestamp ", false, "Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"),
            val('e', "endTimestamp ", false, "End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"),
            val('c', "MessageNumber", false, "Number of message to be consumed"),
        ]
    ),
];

/// The sub-command called `name` (case-insensitive, as Java's lookup).
pub fn find(name: &str) -> Option<&'static Spec> {
    ALL.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

pub async fn run(spec: &Spec, ctx: &Ctx, args: &Args) -> Result<()> {
    match spec.name {
        "updateTopic" => topic::update_topic(ctx, args).await,
        "deleteTopic" => topic::delete_topic(ctx, args).await,
        "updateSubGroup" => group::update_sub_group(ctx, args).await,
        "deleteSubGroup" => group::delete_sub_group(ctx, args).await,
        "setConsumeMode" => group::set_consume_mode(ctx, args).await,
        "updateBrokerConfig" => broker::update_broker_config(ctx, args).await,
        "updateTopicPerm" => topic::update_topic_perm(ctx, args).await,
        "topicRoute" => topic::topic_route(ctx, args).await,
        "topicStatus" => topic::topic_status(ctx, args).await,
        "topicClusterList" => topic::topic_cluster_list(ctx, args).await,
        "brokerStatus" => broker::broker_status(ctx, args).await,
        "brokerConsumeStats" => broker::broker_consume_stats(ctx, args).await,
        "queryMsgById" => message::query_by_id(ctx, args).await,
        "queryMsgByKey" => message::query_by_key(ctx, args).await,
        "queryMsgByUniqueKey" => message::query_by_unique_key(ctx, args).await,
        "queryMsgByOffset" => message::query_by_offset(ctx, args).await,
        "producerConnection" => group::producer_connection(ctx, args).await,
        "consumerConnection" => group::consumer_connection(ctx, args).await,
        "consumerProgress" => group::consumer_progress(ctx, args).await,
        "consumerStatus" => group::consumer_status(ctx, args).await,
        "cloneGroupOffset" => group::clone_group_offset(ctx, args).await,
        "clusterList" => cluster::cluster_list(ctx, args).await,
        "topicList" => topic::topic_list(ctx, args).await,
        "updateKvConfig" => namesrv::update_kv(ctx, args).await,
        "deleteKvConfig" => namesrv::delete_kv(ctx, args).await,
        "wipeWritePerm" => namesrv::write_perm(ctx, args, true).await,
        "addWritePerm" => namesrv::write_perm(ctx, args, false).await,
        "resetOffsetByTime" => group::reset_offset_by_time(ctx, args).await,
        "updateOrderConf" => topic::update_order_conf(ctx, args).await,
        "cleanExpiredCQ" => broker::maintenance(ctx, args, rmq_protocol::RequestCode::CleanExpiredConsumequeue).await,
        "deleteExpiredCommitLog" => {
            broker::maintenance(ctx, args, rmq_protocol::RequestCode::DeleteExpiredCommitlog).await
        }
        "cleanUnusedTopic" => broker::maintenance(ctx, args, rmq_protocol::RequestCode::CleanUnusedTopic).await,
        "statsAll" => stats::stats_all(ctx, args).await,
        "clusterRT" => cluster::cluster_rt(ctx, args).await,
        "getNamesrvConfig" => namesrv::get_config(ctx, args).await,
        "updateNamesrvConfig" => namesrv::update_config(ctx, args).await,
        "getBrokerConfig" => broker::get_broker_config(ctx, args).await,
        "getSyncStateSet" => controller::get_sync_state_set(ctx, args).await,
        "getBrokerEpoch" => controller::get_broker_epoch(ctx, args).await,
        "getControllerMetaData" => controller::get_metadata(ctx, args).await,
        "getControllerConfig" => controller::get_config(ctx, args).await,
        "electMaster" => controller::elect_master(ctx, args).await,
        "updateControllerConfig" => controller::update_config(ctx, args).await,
        "cleanBrokerMetadata" => controller::clean_broker_metadata(ctx, args).await,
        "sendMessage" => message::send_message(ctx, args).await,
        "consumeMessage" => message::consume_message(ctx, args).await,
        other => Err(anyhow::anyhow!("The sub command {other} not exist.")),
    }
}

/// Parses a numeric option, naming it when it does not parse.
pub fn number<T: std::str::FromStr>(args: &Args, short: char) -> Result<Option<T>> {
    match args.get(short) {
        None => Ok(None),
        Some(text) => {
            text.parse().map(Some).map_err(|_| anyhow::anyhow!("option -{short} needs a number, not '{text}'"))
        }
    }
}
