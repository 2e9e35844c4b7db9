//! `TopicRouteData`, the body of GET_ROUTEINFO_BY_TOPIC ([Java source][java]),
//! and its parts `QueueData` and `BrokerData`, which GET_BROKER_CLUSTER_INFO
//! reuses.
//!
//! [java]: https://github.com/apache/rocketmq/blob/rocketmq-all-4.9.8/common/src/main/java/org/apache/rocketmq/common/protocol/route/TopicRouteData.java
//!
//! The NameServer writes a route in one of two JSON flavours, chosen per request
//! (standard for `version` ≥ 401 or `acceptStandardJsonOnly=true`): fastjson's
//! default, with broker ids as unquoted map keys (`{0:"10.0.0.1:10911"}`), which
//! old clients such as the Go client parse by hand; or standard JSON (quoted
//! keys, non-ASCII escaped), which Java 4.9.4+ clients ask for. Both parse back
//! here. Keys come out in alphabetical order, as fastjson writes bean fields.

use serde::{Deserialize, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use std::collections::BTreeMap;
use std::io;

use rmq_model::fastjson;

/// The id of a broker group's master in `brokerAddrs`; slaves have 1, 2, ...
pub const MASTER_ID: i64 = 0;

/// One broker group's share of a topic: its queue counts and permission.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    /// Permission bits ([`rmq_model::perm`]).
    pub perm: u32,
    pub read_queue_nums: u32,
    /// [`rmq_model::sysflag::topic`] bits: unit, unit-sub.
    pub topic_sys_flag: i32,
    pub write_queue_nums: u32,
}

/// A broker group: its cluster, its name and the address of each member by
/// broker id ([`MASTER_ID`] for the master).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    pub broker_addrs: BTreeMap<i64, String>,
    pub broker_name: String,
    pub cluster: String,
    /// 5.x. Always written: some clients (rocketmq-client-rust) fail to parse a
    /// BrokerData without it, and 4.x clients ignore it.
    pub enable_acting_master: bool,
    /// 5.x, optional.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    pub fn new(cluster: impl Into<String>, broker_name: impl Into<String>) -> BrokerData {
        BrokerData { cluster: cluster.into(), broker_name: broker_name.into(), ..BrokerData::default() }
    }

    /// The master's address, if the master is registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

/// Where a topic lives: which broker groups host queues for it and where
/// those brokers are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → its filter servers; always written, usually `{}`.
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// `"brokerName:queueNum;..."` for ordered topics (KV namespace
    /// `ORDER_TOPIC_CONFIG`), only when the NameServer has `orderMessageEnable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
}

/// Which JSON a route is written in (see [`RouteJson::for_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteJson {
    /// fastjson's default: integer map keys unquoted, not valid JSON.
    Fastjson,
    /// Valid JSON as fastjson writes it with `BrowserCompatible` and
    /// `QuoteFieldNames`: keys quoted, non-ASCII and `/` escaped.
    Standard,
}

impl RouteJson {
    /// The flavour Java's NameServer picks for a request of `version` that may
    /// carry `acceptStandardJsonOnly` (`ClientRequestProcessor`): standard JSON
    /// from V4_9_4 (401) on, or when asked for.
    pub fn for_request(version: i32, accept_standard_json_only: bool) -> RouteJson {
        if version >= 401 || accept_standard_json_only { RouteJson::Standard } else { RouteJson::Fastjson }
    }
}

impl TopicRouteData {
    pub fn encode(&self, flavour: RouteJson) -> Vec<u8> {
        match flavour {
            RouteJson::Fastjson => fastjson::to_vec(self),
            RouteJson::Standard => to_browser_compatible_json(self),
        }
    }

    /// Parses either flavour; unknown keys (5.x `topicQueueMappingByBroker`)
    /// are ignored.
    pub fn decode(body: &[u8]) -> Result<TopicRouteData, serde_json::Error> {
        fastjson::from_slice(body)
    }
}

/// Serializes as fastjson does with `BrowserCompatible`: standard JSON whose
/// strings escape `/` and every character from U+007F up as `\uXXXX`.
pub(crate) fn to_browser_compatible_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, BrowserCompatible);
    // Plain data into a Vec: serializing cannot fail.
    let _ = value.serialize(&mut ser);
    out
}

struct BrowserCompatible;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn write_unicode_escape<W: ?Sized + io::Write>(w: &mut W, unit: u16) -> io::Result<()> {
    let digits = [
        HEX[usize::from(unit >> 12)],
        HEX[usize::from((unit >> 8) & 0xF)],
        HEX[usize::from((unit >> 4) & 0xF)],
        HEX[usize::from(unit & 0xF)],
    ];
    w.write_all(b"\\u")?;
    w.write_all(&digits)
}

impl Formatter for BrowserCompatible {
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        let mut plain = 0;
        for (i, c) in fragment.char_indices() {
            if c != '/' && (c as u32) < 0x7F {
                continue;
            }
            w.write_all(&fragment.as_bytes()[plain..i])?;
            if c == '/' {
                w.write_all(b"\\/")?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write_unicode_escape(w, *unit)?;
                }
            }
            plain = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[plain..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, w: &mut W, escape: CharEscape) -> io::Result<()> {
        match escape {
            CharEscape::AsciiControl(byte) => write_unicode_escape(w, u16::from(byte)),
            other => CompactFormatter.write_char_escape(w, other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([
                    (0, "192.168.0.10:10911".to_owned()),
                    (1, "192.168.0.11:10911".to_owned()),
                ]),
                broker_name: "broker-a".into(),
                cluster: "DefaultCluster".into(),
                ..BrokerData::default()
            }],
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
        }
    }

    /// A master-and-slave route, as a 5.x NameServer writes it for a request of
    /// version ≥ 401 (`ClientRequestProcessor`, `TopicRouteData`).
    const STANDARD: &str = concat!(
        r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.10:10911","1":"192.168.0.11:10911"},"#,
        r#""brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"#,
        r#""filterServerTable":{},"#,
        r#""queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );

    #[test]
    fn standard_flavour_matches_java_bytes() {
        assert_eq!(String::from_utf8(sample().encode(RouteJson::Standard)).unwrap(), STANDARD);
        assert_eq!(TopicRouteData::decode(STANDARD.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn fastjson_flavour_leaves_broker_ids_unquoted() {
        let expected = STANDARD.replace(r#"{"0":"192.168.0.10:10911","1":"#, r#"{0:"192.168.0.10:10911",1:"#);
        assert_eq!(String::from_utf8(sample().encode(RouteJson::Fastjson)).unwrap(), expected);
        assert_eq!(TopicRouteData::decode(expected.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn order_conf_filter_servers_and_unknown_keys() {
        let mut route = sample();
        route.order_topic_conf = Some("broker-a:4".into());
        route.filter_server_table.insert("192.168.0.10:10911".into(), vec!["192.168.0.10:30000".into()]);
        let text = String::from_utf8(route.encode(RouteJson::Fastjson)).unwrap();
        assert!(text.contains(r#""filterServerTable":{"192.168.0.10:10911":["192.168.0.10:30000"]},"orderTopicConf":"broker-a:4","queueDatas""#), "{text}");
        let java5 =
            text.replace(r#""queueDatas""#, r#""topicQueueMappingByBroker":{"b":{"currIdMap":{0:0}}},"queueDatas""#);
        assert_eq!(TopicRouteData::decode(java5.as_bytes()).unwrap(), route);
        // 4.x JSON without enableActingMaster.
        let java4 = STANDARD.replace(r#","enableActingMaster":false"#, "");
        assert_eq!(TopicRouteData::decode(java4.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn browser_compatible_escapes() {
        let mut route = sample();
        route.broker_datas[0].cluster = "集群/a\u{1}".into();
        let text = String::from_utf8(route.encode(RouteJson::Standard)).unwrap();
        assert!(text.contains(r#""cluster":"\u96C6\u7FA4\/a\u0001""#), "{text}");
        assert_eq!(TopicRouteData::decode(text.as_bytes()).unwrap(), route);
    }

    #[test]
    fn flavour_by_version() {
        assert_eq!(RouteJson::for_request(317, false), RouteJson::Fastjson);
        assert_eq!(RouteJson::for_request(317, true), RouteJson::Standard);
        assert_eq!(RouteJson::for_request(401, false), RouteJson::Standard);
    }
}
