//! A consumer's running info as its client answers GET_CONSUMER_RUNNING_INFO
//! (Java's `ConsumerRunningInfo`), read as leniently as Java's tool reads it,
//! and printed as Java prints it: `formatString` and the `analyze*` checks
//! that `consumerStatus` runs over a whole group.
//!
//! This is the reading side. `rmq_protocol::body::admin::ConsumerRunningInfo`
//! is the proxy's writing side, which only ever writes empty queue tables;
//! the bodies of 4.x clients hold `mqTable`/`mqPopTable` keyed by inline
//! `MessageQueue` objects, which only a reader needs to understand.

use rmq_model::{MessageQueue, fastjson};
use rmq_protocol::body::admin::{PROP_CONSUME_ORDERLY, PROP_CONSUME_TYPE, PROP_CONSUMER_START_TIMESTAMP};
use rmq_protocol::body::heartbeat::SubscriptionData;
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

use crate::admin::format::{compact_time, java_bool, java_fixed};

/// How long a push consumer must have run before its subscription is
/// compared with its group's (Java: two minutes, rebalancing settles first).
const SETTLED_AFTER_MS: i64 = 2 * 60 * 1000;
/// How long a queue with cached messages may go unconsumed before Java
/// calls it blocked.
const BLOCKED_AFTER_MS: i64 = 60 * 1000;

/// One consumer's running info.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunningInfo {
    /// `properties`, in the order the client wrote them (see [`PropertyList`]).
    #[serde(skip)]
    pub properties: Vec<(String, String)>,
    pub subscription_set: Vec<SubscriptionData>,
    #[serde(deserialize_with = "fastjson::object_key::map")]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    #[serde(deserialize_with = "fastjson::object_key::map")]
    pub mq_pop_table: BTreeMap<MessageQueue, PopProcessQueueInfo>,
    pub status_table: BTreeMap<String, ConsumeStatus>,
    pub user_consumer_info: BTreeMap<String, String>,
    /// The client's thread stacks, when they were asked for.
    pub jstack: Option<String>,
}

/// Java's `ProcessQueueInfo`: a pushed queue's state in the client.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessQueueInfo {
    pub commit_offset: i64,
    pub cached_msg_min_offset: i64,
    pub cached_msg_max_offset: i64,
    pub cached_msg_count: i64,
    #[serde(rename = "cachedMsgSizeInMiB")]
    pub cached_msg_size_in_mib: i64,
    pub transaction_msg_min_offset: i64,
    pub transaction_msg_max_offset: i64,
    pub transaction_msg_count: i64,
    pub locked: bool,
    pub try_unlock_times: i64,
    pub last_lock_timestamp: i64,
    pub droped: bool,
    pub last_pull_timestamp: i64,
    pub last_consume_timestamp: i64,
}

/// Java's `PopProcessQueueInfo`: a popped queue's state in the client.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PopProcessQueueInfo {
    pub wait_ack_count: i64,
    pub droped: bool,
    pub last_pop_timestamp: i64,
}

/// Java's `ConsumeStatus`: a topic's pull and consume rates in the client.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsumeStatus {
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
}

impl fmt::Display for ProcessQueueInfo {
    /// Java's `ProcessQueueInfo.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ProcessQueueInfo [commitOffset={}, cachedMsgMinOffset={}, cachedMsgMaxOffset={}, cachedMsgCount={}, cachedMsgSizeInMiB={}, transactionMsgMinOffset={}, transactionMsgMaxOffset={}, transactionMsgCount={}, locked={}, tryUnlockTimes={}, lastLockTimestamp={}, droped={}, lastPullTimestamp={}, lastConsumeTimestamp={}]",
            self.commit_offset,
            self.cached_msg_min_offset,
            self.cached_msg_max_offset,
            self.cached_msg_count,
            self.cached_msg_size_in_mib,
            self.transaction_msg_min_offset,
            self.transaction_msg_max_offset,
            self.transaction_msg_count,
            self.locked,
            self.try_unlock_times,
            compact_time(self.last_lock_timestamp),
            self.droped,
            compact_time(self.last_pull_timestamp),
            compact_time(self.last_consume_timestamp)
        )
    }
}

impl fmt::Display for PopProcessQueueInfo {
    /// Java's `PopProcessQueueInfo.toString`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PopProcessQueueInfo [waitAckCount:{}, droped:{}, lastPopTimestamp:{}]",
            self.wait_ack_count, self.droped, self.last_pop_timestamp
        )
    }
}

/// Java's `MessageQueue.toString`.
fn queue_text(mq: &MessageQueue) -> String {
    format!("MessageQueue [topic={}, brokerName={}, queueId={}]", mq.topic, mq.broker_name, mq.queue_id)
}

/// A JSON object's entries in the order they were written, values as Java's
/// `toString` prints what fastjson read (strings bare, numbers and booleans
/// as written). Java's tool reads `properties` into a hash table, which
/// iterates in hash order; the client wrote them from a hash table of the
/// same size, so the written order is the order Java's tool prints (up to
/// keys sharing a bucket) whatever the client's JDK. A sorted map would lose it.
#[derive(Debug, Default)]
struct PropertyList(Vec<(String, String)>);

impl<'de> Deserialize<'de> for PropertyList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PropertyList, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = PropertyList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of properties")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<PropertyList, E> {
                Ok(PropertyList::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<PropertyList, A::Error> {
                let mut out = Vec::new();
                while let Some((key, value)) = access.next_entry::<String, serde_json::Value>()? {
                    let text = match value {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.push((key, text));
                }
                Ok(PropertyList(out))
            }
        }
        deserializer.deserialize_any(Entries)
    }
}

/// Just the `properties` of a body, for [`PropertyList`]'s order.
#[derive(Deserialize)]
struct PropertiesOnly {
    #[serde(default)]
    properties: PropertyList,
}

impl RunningInfo {
    /// Reads a client's answer; an error says what in it is malformed.
    pub fn parse(text: &str) -> Result<RunningInfo, serde_json::Error> {
        let mut info: RunningInfo = fastjson::from_str(text)?;
        let only: PropertiesOnly = serde_json::from_str(&fastjson::normalize(text))?;
        info.properties = only.properties.0;
        Ok(info)
    }

    fn property(&self, key: &str) -> Option<&str> {
        self.properties.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A push consumer (`CONSUME_PASSIVELY`). Java throws on a body without
    /// the property (a 5.x consumer behind Java's proxy); here such a
    /// consumer counts as not pushed, so the checks below skip it.
    fn is_push(&self) -> bool {
        self.property(PROP_CONSUME_TYPE) == Some("CONSUME_PASSIVELY")
    }

    /// Whether the consumer started more than [`SETTLED_AFTER_MS`] ago. Java
    /// throws on a missing or malformed start time; here it counts as not
    /// settled, which skips the comparison Java could not make either.
    fn settled(&self, now_ms: i64) -> bool {
        let started = self.property(PROP_CONSUMER_START_TIMESTAMP).and_then(|t| t.trim().parse::<i64>().ok());
        started.is_some_and(|at| now_ms - at > SETTLED_AFTER_MS)
    }

    /// The subscriptions as Java's `TreeSet<SubscriptionData>` holds them:
    /// ordered and told apart by `topic@subString` only (its `compareTo`).
    fn subscriptions(&self) -> BTreeMap<String, &SubscriptionData> {
        self.subscription_set.iter().map(|s| (format!("{}@{}", s.topic, s.sub_string), s)).collect()
    }

    /// Java's `ConsumerRunningInfo.formatString`: every section, in order.
    pub fn format_string(&self) -> String {
        let mut out = String::new();
        self.write_properties(&mut out);
        self.write_subscriptions(&mut out);
        self.write_offsets(&mut out);
        self.write_queue_details(&mut out);
        self.write_pop_details(&mut out);
        self.write_rates(&mut out);
        self.write_user_info(&mut out);
        if let Some(jstack) = &self.jstack {
            out.push_str("\n\n#Consumer jstack#\n");
            out.push_str(jstack);
        }
        out
    }

    fn write_properties(&self, out: &mut String) {
        out.push_str("#Consumer Properties#\n");
        for (key, value) in &self.properties {
            let _ = writeln!(out, "{key:<40}: {value}");
        }
    }

    fn write_subscriptions(&self, out: &mut String) {
        out.push_str("\n\n#Consumer Subscription#\n");
        for (i, sub) in self.subscriptions().values().enumerate() {
            let _ = writeln!(
                out,
                "{:03} Topic: {:<40} ClassFilter: {:<8} SubExpression: {}",
                i + 1,
                sub.topic,
                sub.class_filter_mode,
                sub.sub_string
            );
        }
    }

    fn write_offsets(&self, out: &mut String) {
        out.push_str("\n\n#Consumer Offset#\n");
        let _ = writeln!(out, "{:<64}  {:<32}  {:<4}  {:<20}", "#Topic", "#Broker Name", "#QID", "#Consumer Offset");
        // Java pads the topic to 32 here, not to the header's 64.
        for (mq, pq) in &self.mq_table {
            let _ =
                writeln!(out, "{:<32}  {:<32}  {:<4}  {:<20}", mq.topic, mq.broker_name, mq.queue_id, pq.commit_offset);
        }
    }

    fn write_queue_details(&self, out: &mut String) {
        out.push_str("\n\n#Consumer MQ Detail#\n");
        let _ = writeln!(out, "{:<64}  {:<32}  {:<4}  {:<20}", "#Topic", "#Broker Name", "#QID", "#ProcessQueueInfo");
        for (mq, pq) in &self.mq_table {
            let _ = writeln!(out, "{:<64}  {:<32}  {:<4}  {pq}", mq.topic, mq.broker_name, mq.queue_id);
        }
    }

    fn write_pop_details(&self, out: &mut String) {
        out.push_str("\n\n#Consumer Pop Detail#\n");
        let _ = writeln!(out, "{:<32}  {:<32}  {:<4}  {:<20}", "#Topic", "#Broker Name", "#QID", "#ProcessQueueInfo");
        for (mq, pq) in &self.mq_pop_table {
            let _ = writeln!(out, "{:<32}  {:<32}  {:<4}  {pq}", mq.topic, mq.broker_name, mq.queue_id);
        }
    }

    fn write_rates(&self, out: &mut String) {
        out.push_str("\n\n#Consumer RT&TPS#\n");
        let _ = writeln!(
            out,
            "{:<64}  {:>14} {:>14} {:>14} {:>14} {:>18} {:>25}",
            "#Topic",
            "#Pull RT",
            "#Pull TPS",
            "#Consume RT",
            "#ConsumeOK TPS",
            "#ConsumeFailed TPS",
            "#ConsumeFailedMsgsInHour"
        );
        for (topic, s) in &self.status_table {
            let _ = writeln!(
                out,
                "{topic:<32}  {:>14} {:>14} {:>14} {:>14} {:>18} {:>25}",
                java_fixed(s.pull_rt, 2),
                java_fixed(s.pull_tps, 2),
                java_fixed(s.consume_rt, 2),
                java_fixed(s.consume_ok_tps, 2),
                java_fixed(s.consume_failed_tps, 2),
                s.consume_failed_msgs
            );
        }
    }

    fn write_user_info(&self, out: &mut String) {
        out.push_str("\n\n#User Consume Info#\n");
        for (key, value) in &self.user_consumer_info {
            let _ = writeln!(out, "{key:<40}: {value}");
        }
    }
}

/// Java's `ConsumerRunningInfo.analyzeSubscription`: whether the group's
/// consumers subscribe alike. Compared only when the first consumer (by
/// client id) is a push consumer that has run for a while, as in Java.
pub fn same_subscription(by_client: &BTreeMap<String, RunningInfo>, now_ms: i64) -> bool {
    let Some(first) = by_client.values().next() else { return true };
    if !(first.is_push() && first.settled(now_ms)) {
        return true;
    }
    let expected: BTreeSet<String> = first.subscriptions().into_keys().collect();
    by_client.values().all(|info| info.subscriptions().into_keys().collect::<BTreeSet<_>>() == expected)
}

/// Java's `ConsumerRunningInfo.analyzeProcessQueue`: one line per queue of
/// a push consumer that looks stuck (an orderly queue it cannot lock or
/// unlock, a concurrent queue with cached messages it has not consumed for
/// a minute); empty when all is well.
pub fn stuck_queues(client_id: &str, info: &RunningInfo, now_ms: i64) -> String {
    let mut out = String::new();
    if !info.is_push() {
        return out;
    }
    let orderly = info.property(PROP_CONSUME_ORDERLY).is_some_and(java_bool);
    for (mq, pq) in &info.mq_table {
        let mq = queue_text(mq);
        if orderly {
            if !pq.locked {
                let _ = writeln!(out, "{client_id} {mq} can't lock for a while, {}ms", now_ms - pq.last_lock_timestamp);
            } else if pq.droped && pq.try_unlock_times > 0 {
                let _ = writeln!(out, "{client_id} {mq} unlock {} times, still failed", pq.try_unlock_times);
            }
        } else {
            let idle = now_ms - pq.last_consume_timestamp;
            if idle > BLOCKED_AFTER_MS && pq.cached_msg_count > 0 {
                let _ = writeln!(out, "{client_id} {mq} can't consume for a while, maybe blocked, {idle}ms");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Checked against Java's `ConsumerRunningInfo.formatString`,
    //! `analyzeSubscription` and `analyzeProcessQueue`.
    use super::*;

    const STARTED: i64 = 1_700_000_000_000;

    /// A 4.9.x push consumer's answer as fastjson writes it: queue tables
    /// keyed by inline `MessageQueue` objects, properties in the client's
    /// hash order, one of them a number.
    fn body_4x(last_consume: i64, cached: i64) -> String {
        let pq = |offset: i64| {
            format!(
                r#"{{"cachedMsgCount":{cached},"cachedMsgMaxOffset":{},"cachedMsgMinOffset":{offset},"cachedMsgSizeInMiB":0,"commitOffset":{offset},"droped":false,"lastConsumeTimestamp":{last_consume},"lastLockTimestamp":0,"lastPullTimestamp":{STARTED},"locked":false,"transactionMsgCount":0,"transactionMsgMaxOffset":0,"transactionMsgMinOffset":0,"tryUnlockTimes":0}}"#,
                offset + 1
            )
        };
        format!(
            concat!(
                r#"{{"mqPopTable":{{}},"mqTable":{{"#,
                r#"{{"brokerName":"broker-b","queueId":0,"topic":"TopicTest"}}:{},"#,
                r#"{{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}}:{}}},"#,
                r#""properties":{{"PROP_CONSUMEORDERLY":"false","consumerGroup":"G","PROP_CONSUME_TYPE":"CONSUME_PASSIVELY","#,
                r#""pullBatchSize":32,"PROP_CONSUMER_START_TIMESTAMP":"{}"}},"#,
                r#""statusTable":{{"TopicTest":{{"consumeFailedMsgs":7,"consumeFailedTPS":0.0,"consumeOKTPS":3.125,"#,
                r#""consumeRT":2.675,"pullRT":1.5,"pullTPS":12.0}}}},"#,
                r#""subscriptionSet":[{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","#,
                r#""subVersion":1,"tagsSet":[],"topic":"TopicTest"}},{{"classFilterMode":false,"codeSet":[],"#,
                r#""expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"%RETRY%G"}}],"#,
                r#""userConsumerInfo":{{"owner":"ops"}}}}"#
            ),
            pq(20),
            pq(10),
            STARTED
        )
    }

    /// What rmq's proxy answers for a 5.x consumer: properties it knows,
    /// the subscriptions and, when asked, the stacks; empty queue tables.
    const BODY_5X: &str = concat!(
        r#"{"jstack":"\"main\" RUNNABLE\n","mqTable":{},"properties":{"PROP_CLIENT_VERSION":"V5_0_7","#,
        r#""PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"},"statusTable":{},"#,
        r#""subscriptionSet":[{"classFilterMode":false,"subString":"TagA || TagB","topic":"T5"}]}"#
    );

    fn parsed(text: &str) -> RunningInfo {
        RunningInfo::parse(text).expect("a valid body")
    }

    #[test]
    fn formats_a_4x_body_as_java() {
        let text = parsed(&body_4x(STARTED, 2)).format_string();
        let pq = |offset: i64| {
            format!(
                "ProcessQueueInfo [commitOffset={offset}, cachedMsgMinOffset={offset}, cachedMsgMaxOffset={}, cachedMsgCount=2, cachedMsgSizeInMiB=0, transactionMsgMinOffset=0, transactionMsgMaxOffset=0, transactionMsgCount=0, locked=false, tryUnlockTimes=0, lastLockTimestamp={}, droped=false, lastPullTimestamp={}, lastConsumeTimestamp={}]",
                offset + 1,
                compact_time(0),
                compact_time(STARTED),
                compact_time(STARTED)
            )
        };
        let expected = [
            "#Consumer Properties#".to_owned(),
            format!("{:<40}: false", "PROP_CONSUMEORDERLY"),
            format!("{:<40}: G", "consumerGroup"),
            format!("{:<40}: CONSUME_PASSIVELY", "PROP_CONSUME_TYPE"),
            format!("{:<40}: 32", "pullBatchSize"),
            format!("{:<40}: {STARTED}", "PROP_CONSUMER_START_TIMESTAMP"),
            String::new(),
            String::new(),
            "#Consumer Subscription#".to_owned(),
            format!("001 Topic: {:<40} ClassFilter: false    SubExpression: *", "%RETRY%G"),
            format!("002 Topic: {:<40} ClassFilter: false    SubExpression: *", "TopicTest"),
            String::new(),
            String::new(),
            "#Consumer Offset#".to_owned(),
            format!("{:<64}  {:<32}  #QID  #Consumer Offset    ", "#Topic", "#Broker Name"),
            format!("{:<32}  {:<32}  1     {:<20}", "TopicTest", "broker-a", 10),
            format!("{:<32}  {:<32}  0     {:<20}", "TopicTest", "broker-b", 20),
            String::new(),
            String::new(),
            "#Consumer MQ Detail#".to_owned(),
            format!("{:<64}  {:<32}  #QID  #ProcessQueueInfo   ", "#Topic", "#Broker Name"),
            format!("{:<64}  {:<32}  1     {}", "TopicTest", "broker-a", pq(10)),
            format!("{:<64}  {:<32}  0     {}", "TopicTest", "broker-b", pq(20)),
            String::new(),
            String::new(),
            "#Consumer Pop Detail#".to_owned(),
            format!("{:<32}  {:<32}  #QID  #ProcessQueueInfo   ", "#Topic", "#Broker Name"),
            String::new(),
            String::new(),
            "#Consumer RT&TPS#".to_owned(),
            format!(
                "{:<64}        #Pull RT      #Pull TPS    #Consume RT #ConsumeOK TPS #ConsumeFailed TPS  #ConsumeFailedMsgsInHour",
                "#Topic"
            ),
            format!(
                "{:<32}            1.50          12.00           2.68           3.13               0.00                         7",
                "TopicTest"
            ),
            String::new(),
            String::new(),
            "#User Consume Info#".to_owned(),
            format!("{:<40}: ops", "owner"),
            String::new(),
        ]
        .join("\n");
        assert_eq!(text, expected);
    }

    #[test]
    fn formats_a_proxied_5x_body_as_java() {
        let text = parsed(BODY_5X).format_string();
        let expected = [
            "#Consumer Properties#".to_owned(),
            format!("{:<40}: V5_0_7", "PROP_CLIENT_VERSION"),
            format!("{:<40}: CONSUME_PASSIVELY", "PROP_CONSUME_TYPE"),
            String::new(),
            String::new(),
            "#Consumer Subscription#".to_owned(),
            format!("001 Topic: {:<40} ClassFilter: false    SubExpression: TagA || TagB", "T5"),
            String::new(),
            String::new(),
            "#Consumer Offset#".to_owned(),
            format!("{:<64}  {:<32}  #QID  #Consumer Offset    ", "#Topic", "#Broker Name"),
            String::new(),
            String::new(),
            "#Consumer MQ Detail#".to_owned(),
            format!("{:<64}  {:<32}  #QID  #ProcessQueueInfo   ", "#Topic", "#Broker Name"),
            String::new(),
            String::new(),
            "#Consumer Pop Detail#".to_owned(),
            format!("{:<32}  {:<32}  #QID  #ProcessQueueInfo   ", "#Topic", "#Broker Name"),
            String::new(),
            String::new(),
            "#Consumer RT&TPS#".to_owned(),
            format!(
                "{:<64}        #Pull RT      #Pull TPS    #Consume RT #ConsumeOK TPS #ConsumeFailed TPS  #ConsumeFailedMsgsInHour",
                "#Topic"
            ),
            String::new(),
            String::new(),
            "#User Consume Info#".to_owned(),
            String::new(),
            String::new(),
            "#Consumer jstack#".to_owned(),
            "\"main\" RUNNABLE".to_owned(),
            String::new(),
        ]
        .join("\n");
        assert_eq!(text, expected);
    }

    #[test]
    fn pop_queues_as_java_prints_them() {
        let body = r#"{"mqPopTable":{{"brokerName":"b","queueId":3,"topic":"P"}:{"droped":true,"lastPopTimestamp":5,"waitAckCount":2}}}"#;
        let text = parsed(body).format_string();
        let line = format!(
            "{:<32}  {:<32}  3     PopProcessQueueInfo [waitAckCount:2, droped:true, lastPopTimestamp:5]\n",
            "P", "b"
        );
        assert!(text.contains(&line), "{text}");
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        for bad in
            ["", "not json", "[1,2]", r#"{"mqTable":{"not a queue":{}}}"#, r#"{"statusTable":{"T":{"pullRT":"fast"}}}"#]
        {
            assert!(RunningInfo::parse(bad).is_err(), "{bad}");
        }
        let empty = parsed("{}").format_string();
        assert!(empty.starts_with("#Consumer Properties#\n\n\n#Consumer Subscription#\n"), "{empty}");
        assert!(!empty.contains("#Consumer jstack#"));
    }

    fn group(bodies: &[(&str, String)]) -> BTreeMap<String, RunningInfo> {
        bodies.iter().map(|(id, body)| ((*id).to_owned(), parsed(body))).collect()
    }

    #[test]
    fn subscriptions_compared_once_push_consumers_settled() {
        let settled = STARTED + SETTLED_AFTER_MS + 1;
        let other = body_4x(STARTED, 0).replace(r#""topic":"TopicTest""#, r#""topic":"Other""#);
        let differ = group(&[("a@1", body_4x(STARTED, 0)), ("b@1", other)]);
        assert!(!same_subscription(&differ, settled));
        assert!(same_subscription(&differ, STARTED + 1000), "not settled yet: not compared");
        let alike = group(&[("a@1", body_4x(STARTED, 0)), ("b@1", body_4x(STARTED, 5))]);
        assert!(same_subscription(&alike, settled));
        // A body without a start time (Java throws) is not compared.
        let proxied = group(&[("a@1", BODY_5X.to_owned()), ("b@1", body_4x(STARTED, 0))]);
        assert!(same_subscription(&proxied, settled));
    }

    #[test]
    fn stuck_queues_as_java_reports_them() {
        let now = STARTED + BLOCKED_AFTER_MS + 1;
        let info = parsed(&body_4x(STARTED, 2));
        let expected = format!(
            "c@1 MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=1] can't consume for a while, maybe blocked, {}ms\n\
             c@1 MessageQueue [topic=TopicTest, brokerName=broker-b, queueId=0] can't consume for a while, maybe blocked, {}ms\n",
            BLOCKED_AFTER_MS + 1,
            BLOCKED_AFTER_MS + 1
        );
        assert_eq!(stuck_queues("c@1", &info, now), expected);
        assert_eq!(stuck_queues("c@1", &parsed(&body_4x(STARTED, 0)), now), "", "nothing cached");
        assert_eq!(stuck_queues("c@1", &info, STARTED + 1000), "", "consumed recently");
        let orderly =
            parsed(&body_4x(STARTED, 0).replace(r#""PROP_CONSUMEORDERLY":"false""#, r#""PROP_CONSUMEORDERLY":"true""#));
        let lines = stuck_queues("c@1", &orderly, now);
        assert_eq!(lines.lines().count(), 2, "{lines}");
        assert!(lines.ends_with(&format!("queueId=0] can't lock for a while, {now}ms\n")), "{lines}");
        assert_eq!(stuck_queues("c@1", &parsed(BODY_5X), now), "", "no queues");
    }
}
