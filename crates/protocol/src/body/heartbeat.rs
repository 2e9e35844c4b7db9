//! HEART_BEAT bodies and their parts (Java's `HeartbeatData`, `ProducerData`,
//! `ConsumerData`, `SubscriptionData`): which producer and consumer groups a
//! client has, and what each consumer group subscribes to.

use rmq_model::java;
use serde::{Deserialize, Serialize};

/// A client's heartbeat: its id and its groups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub consumer_data_set: Vec<ConsumerData>,
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x heartbeat v2: non-zero selects the fingerprinted form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_fingerprint: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_sub: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

/// One consumer group of a client.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub group_name: String,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// Pull (`CONSUME_ACTIVELY`), push (`CONSUME_PASSIVELY`) or 5.x pop. The
/// enums of this module list their variants in Java's order, so that a body
/// naming them by ordinal reads as Java reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsumeType {
    #[serde(rename = "CONSUME_ACTIVELY")]
    ConsumeActively,
    #[default]
    #[serde(rename = "CONSUME_PASSIVELY")]
    ConsumePassively,
    #[serde(rename = "CONSUME_POP")]
    ConsumePop,
}

impl ConsumeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumeType::ConsumeActively => "CONSUME_ACTIVELY",
            ConsumeType::ConsumePassively => "CONSUME_PASSIVELY",
            ConsumeType::ConsumePop => "CONSUME_POP",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageModel {
    #[serde(rename = "BROADCASTING")]
    Broadcasting,
    #[default]
    #[serde(rename = "CLUSTERING")]
    Clustering,
}

impl MessageModel {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageModel::Broadcasting => "BROADCASTING",
            MessageModel::Clustering => "CLUSTERING",
        }
    }
}

/// Where a new consumer group starts. Deprecated 3.x names still parse.
/// Variants in Java's declaration order: clients that write enums as
/// ordinals (the C++ client) send `0` for CONSUME_FROM_LAST_OFFSET and `4`
/// for CONSUME_FROM_FIRST_OFFSET.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsumeFromWhere {
    #[default]
    #[serde(rename = "CONSUME_FROM_LAST_OFFSET")]
    LastOffset,
    #[serde(rename = "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST")]
    LastOffsetAndFromMinWhenBootFirst,
    #[serde(rename = "CONSUME_FROM_MIN_OFFSET")]
    MinOffset,
    #[serde(rename = "CONSUME_FROM_MAX_OFFSET")]
    MaxOffset,
    #[serde(rename = "CONSUME_FROM_FIRST_OFFSET")]
    FirstOffset,
    #[serde(rename = "CONSUME_FROM_TIMESTAMP")]
    Timestamp,
}

impl ConsumeFromWhere {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumeFromWhere::LastOffset => "CONSUME_FROM_LAST_OFFSET",
            ConsumeFromWhere::FirstOffset => "CONSUME_FROM_FIRST_OFFSET",
            ConsumeFromWhere::Timestamp => "CONSUME_FROM_TIMESTAMP",
            ConsumeFromWhere::LastOffsetAndFromMinWhenBootFirst => {
                "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST"
            }
            ConsumeFromWhere::MinOffset => "CONSUME_FROM_MIN_OFFSET",
            ConsumeFromWhere::MaxOffset => "CONSUME_FROM_MAX_OFFSET",
        }
    }
}

/// Subscribe to every tag.
pub const SUB_ALL: &str = "*";
/// Expression type of tag subscriptions.
pub const EXPRESSION_TAG: &str = "TAG";
/// Expression type of SQL92 property filters.
pub const EXPRESSION_SQL92: &str = "SQL92";

/// What a consumer group subscribes to on one topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    pub topic: String,
    /// `*`, `TagA || TagB`, or an SQL92 expression.
    pub sub_string: String,
    pub tags_set: Vec<String>,
    pub code_set: Vec<i32>,
    /// Milliseconds timestamp; a pull naming a newer version than the
    /// registered one gets SUBSCRIPTION_NOT_LATEST.
    pub sub_version: i64,
    pub expression_type: String,
}

impl Default for SubscriptionData {
    fn default() -> SubscriptionData {
        SubscriptionData {
            class_filter_mode: false,
            topic: String::new(),
            sub_string: SUB_ALL.to_owned(),
            tags_set: Vec::new(),
            code_set: Vec::new(),
            sub_version: 0,
            expression_type: EXPRESSION_TAG.to_owned(),
        }
    }
}

impl SubscriptionData {
    /// Builds a tag subscription the way Java's `FilterAPI.buildSubscriptionData`
    /// does: `*` or empty subscribes to all, otherwise the expression is split
    /// on `||`, each tag trimmed, blanks dropped, and each tag's Java hash kept.
    pub fn tags(topic: &str, expression: &str, version: i64) -> SubscriptionData {
        let mut data =
            SubscriptionData { topic: topic.to_owned(), sub_version: version, ..SubscriptionData::default() };
        let expression = expression.trim();
        if expression.is_empty() || expression == SUB_ALL {
            data.sub_string = SUB_ALL.to_owned();
            return data;
        }
        data.sub_string = expression.to_owned();
        for tag in expression.split("||").map(str::trim).filter(|t| !t.is_empty()) {
            data.tags_set.push(tag.to_owned());
            data.code_set.push(java::string_hash_code(tag));
        }
        data
    }

    /// Whether the subscription takes every tag.
    pub fn is_all(&self) -> bool {
        self.sub_string.trim() == SUB_ALL || self.sub_string.trim().is_empty()
    }

    /// Whether the expression is a tag expression (not SQL92).
    pub fn is_tag_type(&self) -> bool {
        self.expression_type.is_empty() || self.expression_type.eq_ignore_ascii_case(EXPRESSION_TAG)
    }
}

/// The body of GET_CONSUMER_LIST_BY_GROUP's answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerIdList {
    pub consumer_id_list: Vec<String>,
}

/// The body of CHECK_CLIENT_CONFIG (46).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientRequestBody {
    pub client_id: String,
    pub group: String,
    pub subscription_data: Option<SubscriptionData>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_model::fastjson;

    #[test]
    fn parses_a_java_heartbeat() {
        let java = r#"{"clientID":"192.168.0.2@1234","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"g","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"TopicTest"},{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000001,"tagsSet":[],"topic":"%RETRY%g"}],"unitMode":false}],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}]}"#;
        let hb: HeartbeatData = fastjson::from_str(java).unwrap();
        assert_eq!(hb.client_id, "192.168.0.2@1234");
        let c = &hb.consumer_data_set[0];
        assert_eq!(c.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(c.subscription_data_set[0], SubscriptionData::tags("TopicTest", "TagA", 1700000000000));
        assert!(c.subscription_data_set[1].is_all());
        assert_eq!(hb.producer_data_set[0].group_name, "CLIENT_INNER_PRODUCER");
    }

    #[test]
    fn tag_expressions_tolerate_spaces() {
        let s = SubscriptionData::tags("T", " TagA ||TagB||  ", 1);
        assert_eq!(s.tags_set, vec!["TagA", "TagB"]);
        assert_eq!(s.code_set.len(), 2);
        assert!(SubscriptionData::tags("T", "", 1).is_all());
    }

    #[test]
    fn enums_by_java_ordinal() {
        let consumer: ConsumerData =
            fastjson::from_str(r#"{"consumeType":1,"messageModel":1,"consumeFromWhere":4}"#).unwrap();
        assert_eq!(consumer.consume_type, ConsumeType::ConsumePassively);
        assert_eq!(consumer.message_model, MessageModel::Clustering);
        assert_eq!(consumer.consume_from_where, ConsumeFromWhere::FirstOffset);
        let java_order = [
            "CONSUME_FROM_LAST_OFFSET",
            "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
            "CONSUME_FROM_MIN_OFFSET",
            "CONSUME_FROM_MAX_OFFSET",
            "CONSUME_FROM_FIRST_OFFSET",
            "CONSUME_FROM_TIMESTAMP",
        ];
        for (ordinal, name) in java_order.iter().enumerate() {
            let by_ordinal: ConsumeFromWhere = fastjson::from_str(&ordinal.to_string()).unwrap();
            assert_eq!(by_ordinal.as_str(), *name);
        }
        for (ordinal, name) in ["CONSUME_ACTIVELY", "CONSUME_PASSIVELY", "CONSUME_POP"].iter().enumerate() {
            assert_eq!(fastjson::from_str::<ConsumeType>(&ordinal.to_string()).unwrap().as_str(), *name);
        }
        for (ordinal, name) in ["BROADCASTING", "CLUSTERING"].iter().enumerate() {
            assert_eq!(fastjson::from_str::<MessageModel>(&ordinal.to_string()).unwrap().as_str(), *name);
        }
    }

    #[test]
    fn the_cpp_clients_heartbeat() {
        // Captured from rocketmq-client-cpp 2.x: enums as ordinals, subVersion
        // as a string, a trailing newline.
        let cpp = "{\"clientID\":\"19803-127.0.0.1@DEFAULT\",\"consumerDataSet\":[{\"consumeFromWhere\":0,\"consumeType\":1,\"groupName\":\"SNIFF_CG\",\"messageModel\":1,\"subscriptionDataSet\":[{\"subString\":\"*\",\"subVersion\":\"1796488531996\",\"topic\":\"%RETRY%SNIFF_CG\"},{\"subString\":\"*\",\"subVersion\":\"1796488531996\",\"topic\":\"SNIFF_T\"}]}]}\n";
        let hb: HeartbeatData = fastjson::from_str(cpp).unwrap();
        let c = &hb.consumer_data_set[0];
        assert_eq!((c.consume_type, c.message_model), (ConsumeType::ConsumePassively, MessageModel::Clustering));
        assert_eq!(c.consume_from_where, ConsumeFromWhere::LastOffset);
        assert_eq!(c.subscription_data_set[1], SubscriptionData::tags("SNIFF_T", "*", 1796488531996));
    }

    #[test]
    fn unknown_enum_names_are_errors_not_panics() {
        let r: Result<ConsumerData, _> = fastjson::from_str(r#"{"consumeType":"CONSUME_SOMEHOW"}"#);
        assert!(r.is_err());
    }
}
