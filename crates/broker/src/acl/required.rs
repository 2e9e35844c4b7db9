//! What each request code needs under ACL, in one table ([`required`]), and
//! where a request names the topics and groups it needs permissions on
//! ([`named_resources`]).
//!
//! Java 4.9 checks resource permissions for a dozen client codes and admin
//! for five; every other code passes with any valid signature, so any
//! account could rewrite the topic table (UPDATE_AND_CREATE_TOPIC_LIST),
//! reset or clone another group's offsets, run store maintenance or read any
//! record by its offset. Here a code is open only when it is listed: a code
//! missing from the table needs admin, so a newly served code is closed until
//! someone classifies it. docs/compatibility.md (ACL) holds the same table
//! beside Java's choices.

use rmq_model::fastjson;
use rmq_protocol::body::assignment::QueryAssignmentRequestBody;
use rmq_protocol::body::heartbeat::HeartbeatData;
use rmq_protocol::body::lock::LockBatchRequestBody;
use rmq_protocol::body::pop::BatchAckMessageRequestBody;
use rmq_protocol::{RemotingCommand, RequestCode};

use rmq_acl::{ANY, PUB, RETRY_PREFIX, SUB};

/// What a request needs beyond a valid signature (or a white-listed address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Required {
    /// Nothing more: the request changes nothing and reads nothing of a
    /// tenant's (client configuration checks, the fixed system topic list).
    Signature,
    /// An admin account: changes to tables, offsets, configuration or the
    /// store, dumps of every tenant's metadata, relays that act on clients.
    Admin,
    /// Permissions on the topics and groups the request names.
    Named(&'static [Name]),
    /// SUB on the topic of the stored record the request returns. The record
    /// names its topic, not the request, so the handler asks
    /// ([`super::Acl::check_record_topic`]) once it has looked it up.
    RecordTopic,
}

/// Where a request names a resource, and the permission it needs there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Name {
    /// The topic in this header field needs this permission (a retry topic
    /// is its group's resource). An absent or empty field needs nothing.
    Topic(&'static str, u8),
    /// The group in this header field needs SUB.
    Group(&'static str),
    /// The topic a send goes to: PUB, or for a retry topic SUB on the
    /// group it belongs to (a consumer re-sending).
    SendTopic(&'static str),
    /// The topic a consumer reads (field `topic`) for the group in the
    /// field given: SUB, except the group's own retry topics
    /// (`%RETRY%<group>`, 5.x POP's `%RETRY%<group>_<topic>`), which the
    /// SUB on the group covers.
    ConsumedTopic(&'static str),
    /// HEART_BEAT's body: SUB on each consumer group and subscribed topic.
    HeartbeatBody,
    /// BATCH_ACK_MESSAGE's body: SUB on each ack's group and topic.
    BatchAckBody,
    /// QUERY_ASSIGNMENT's body: SUB on its group and topic.
    AssignmentBody,
    /// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ's body: SUB on the group and on the
    /// topic of each queue (5.x's choice: a stranger could otherwise hold an
    /// orderly group's queues and stall it).
    LockBody,
}

/// The table: what request `code` needs. Codes not listed need admin.
pub(crate) fn required(code: RequestCode) -> Required {
    use Name::*;
    use RequestCode::*;
    use Required::*;
    const CONSUMING: &[Name] = &[ConsumedTopic("consumerGroup"), Group("consumerGroup")];
    match code {
        // Producers.
        SendMessage => Named(&[SendTopic("topic")]),
        SendMessageV2 | SendBatchMessage => Named(&[SendTopic("b")]),
        // 5.x clients name the topic; 4.9 clients do not (then only the
        // half message's producer group, checked by the handler, guards it).
        EndTransaction => Named(&[Topic("topic", PUB)]),
        // 5.x ACL 2.0: PUB on the topic, as for a send.
        RecallMessage => Named(&[Topic("topic", PUB)]),
        // Consumers.
        PullMessage
        | LitePullMessage
        | PopMessage
        | PeekMessage
        | AckMessage
        | ChangeMessageInvisibletime
        | Notification
        | PollingInfo => Named(CONSUMING),
        BatchAckMessage => Named(&[BatchAckBody]),
        QueryAssignment => Named(&[AssignmentBody]),
        // And, asked by the handler, SUB on the topic of the record handed
        // back (as for RecordTopic): else any group could copy any record
        // into its retry topic and pull it from there.
        ConsumerSendMsgBack => Named(&[Group("group")]),
        HeartBeat => Named(&[HeartbeatBody]),
        UnregisterClient | GetConsumerListByGroup | GetConsumerConnectionList => Named(&[Group("consumerGroup")]),
        UpdateConsumerOffset | QueryConsumerOffset => Named(&[Group("consumerGroup"), Topic("topic", SUB)]),
        LockBatchMq | UnlockBatchMq => Named(&[LockBody]),
        GetSubscriptionGroupConfig => Named(&[Group("group")]),
        GetConsumeStats => Named(&[Group("consumerGroup"), Topic("topic", SUB)]),
        QueryConsumeTimeSpan => Named(&[Group("group"), Topic("topic", SUB)]),
        QueryConsumeQueue => Named(&[Group("consumerGroup"), Topic("topic", SUB)]),
        // Reads of one topic's queues and config: producers ask too (Java's
        // producer offers maxOffset, searchOffset, earliestMsgStoreTime).
        GetMaxOffset
        | GetMinOffset
        | GetEarliestMsgStoretime
        | SearchOffsetByTimestamp
        | GetTopicStatsInfo
        | GetTopicConfig
        | QueryTopicConsumeByWho => Named(&[Topic("topic", ANY)]),
        // Messages themselves.
        QueryMessage => Named(&[Topic("topic", SUB)]),
        ViewMessageById => RecordTopic,
        // Nothing of a tenant's.
        CheckClientConfig | GetSystemTopicListFromBroker => Signature,
        // Everything else, among them (listed so that the choice shows):
        // topic and group tables, their dumps (which slaves also fetch:
        // white-list slave addresses, they do not sign), configuration,
        // offsets rewritten or read for every group, store maintenance,
        // broker-wide statistics and connections, relays to clients.
        UpdateAndCreateTopic
        | UpdateAndCreateTopicList
        | DeleteTopicInBroker
        | GetAllTopicConfig
        | UpdateAndCreateSubscriptionGroup
        | DeleteSubscriptionGroup
        | GetAllSubscriptionGroupConfig
        | GetAllConsumerOffset
        | GetAllDelayOffset
        | UpdateBrokerConfig
        | GetBrokerConfig
        | GetBrokerRuntimeInfo
        | InvokeBrokerToResetOffset
        | CloneGroupOffset
        | QueryCorrectionOffset
        | CleanExpiredConsumequeue
        | CleanUnusedTopic
        | DeleteExpiredCommitlog
        | GetAllProducerInfo
        | GetProducerConnectionList
        | GetBrokerConsumeStats
        | ViewBrokerStatsData
        | GetConsumerRunningInfo
        | ConsumeMessageDirectly
        | InvokeBrokerToGetConsumerStatus
        | SetMessageRequestMode
        | GetAllMessageRequestMode => Admin,
        _ => Admin,
    }
}

/// The resources `names` point at in `request`, each with the permission it
/// needs (groups as `%RETRY%<group>`, as Java keeps them). Bodies that do not
/// parse name nothing: the handler refuses them anyway.
pub(crate) fn named_resources(request: &RemotingCommand, names: &[Name]) -> Vec<(String, u8)> {
    let ext = |key: &str| request.ext(key).filter(|v| !v.is_empty()).map(str::to_owned);
    let retry = |group: &str| format!("{RETRY_PREFIX}{group}");
    let body = || request.body.to_bytes();
    let mut needs = Vec::new();
    for name in names {
        match *name {
            Name::Topic(field, perm) => needs.extend(ext(field).map(|t| (t, perm))),
            Name::Group(field) => needs.extend(ext(field).map(|g| (retry(&g), SUB))),
            Name::SendTopic(field) => needs.extend(ext(field).map(|t| {
                let perm = if t.starts_with(RETRY_PREFIX) { SUB } else { PUB };
                (t, perm)
            })),
            Name::ConsumedTopic(group_field) => {
                let own = ext(group_field).map(|g| retry(&g));
                let is_own_retry = |t: &str| {
                    own.as_deref()
                        .is_some_and(|own| t == own || t.strip_prefix(own).is_some_and(|rest| rest.starts_with('_')))
                };
                needs.extend(ext("topic").filter(|t| !is_own_retry(t)).map(|t| (t, SUB)));
            }
            Name::HeartbeatBody => {
                if let Ok(data) = fastjson::from_slice::<HeartbeatData>(&body()) {
                    for consumer in data.consumer_data_set {
                        needs.push((retry(&consumer.group_name), SUB));
                        needs.extend(consumer.subscription_data_set.into_iter().map(|s| (s.topic, SUB)));
                    }
                }
            }
            Name::BatchAckBody => {
                if let Ok(batch) = fastjson::from_slice::<BatchAckMessageRequestBody>(&body()) {
                    for ack in batch.acks {
                        let own = retry(&ack.consumer_group);
                        if !ack.topic.starts_with(&own) {
                            needs.push((ack.topic, SUB));
                        }
                        needs.push((own, SUB));
                    }
                }
            }
            Name::AssignmentBody => {
                if let Ok(ask) = fastjson::from_slice::<QueryAssignmentRequestBody>(&body()) {
                    needs.push((retry(&ask.consumer_group), SUB));
                    needs.push((ask.topic, SUB));
                }
            }
            Name::LockBody => {
                if let Ok(lock) = fastjson::from_slice::<LockBatchRequestBody>(&body()) {
                    needs.push((retry(&lock.consumer_group), SUB));
                    needs.extend(lock.mq_set.into_iter().map(|q| (q.topic, SUB)));
                }
            }
        }
    }
    needs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code the broker knows, by number.
    fn known_codes() -> impl Iterator<Item = RequestCode> {
        (0..1_000).chain(200_000..200_200).map(RequestCode::from).filter(|c| !matches!(c, RequestCode::Unknown(_)))
    }

    #[test]
    fn admin_codes_of_java_stay_admin() {
        // Java's Permission.ADMIN_CODE (4.9.8, 5.x ACL 1.0).
        for code in [17, 25, 215, 200, 207] {
            assert_eq!(required(RequestCode::from(code)), Required::Admin, "{}", RequestCode::from(code));
        }
    }

    #[test]
    fn only_listed_codes_are_open() {
        let open: Vec<i32> =
            known_codes().filter(|c| required(*c) != Required::Admin).map(RequestCode::to_i32).collect();
        assert_eq!(
            open,
            [
                10, 11, 12, 14, 15, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 41, 42, 46, 202, 203, 208, 300, 303, 305,
                310, 320, 321, 351, 352, 361, 370, 400, 200050, 200051, 200052, 200053, 200054, 200055, 200151
            ],
            "a code changed class: update docs/compatibility.md's table too"
        );
        assert_eq!(required(RequestCode::Unknown(4242)), Required::Admin);
    }

    #[test]
    fn a_consumer_reads_its_own_retry_topics_by_its_group() {
        let pull = |topic: &str| {
            let mut r = RemotingCommand::bare_request(RequestCode::PullMessage);
            r.ext_fields.insert("topic", topic);
            r.ext_fields.insert("consumerGroup", "g");
            let Required::Named(names) = required(r.request_code()) else { panic!() };
            named_resources(&r, names)
        };
        assert_eq!(pull("%RETRY%g"), [("%RETRY%g".to_owned(), SUB)]);
        assert_eq!(pull("%RETRY%g_T"), [("%RETRY%g".to_owned(), SUB)]);
        // Another group's retry topic is that group's resource.
        assert_eq!(pull("%RETRY%gx"), [("%RETRY%gx".to_owned(), SUB), ("%RETRY%g".to_owned(), SUB)]);
        assert_eq!(pull("T"), [("T".to_owned(), SUB), ("%RETRY%g".to_owned(), SUB)]);
    }
}
