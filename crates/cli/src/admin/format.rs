//! Java's ways of printing values, which `mqadmin`'s output is made of:
//! `String.format` paddings are Rust's `{:<n}`/`{:>n}`, the rest lives here
//! (times, version names, `HashMap.toString`, fastjson's pretty JSON).

use chrono::{Local, NaiveDateTime, TimeZone};
use rmq_model::{Properties, java};
use rmq_protocol::body::route::TopicRouteData;
use std::fmt::Write;

/// `UtilAll.timeMillisToHumanString2`: `yyyy-MM-dd HH:mm:ss,SSS`, local time.
pub fn human_time(ms: i64) -> String {
    Local.timestamp_millis_opt(ms).single().map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S,%3f").to_string())
}

/// `UtilAll.timeMillisToHumanString`: `yyyyMMddHHmmssSSS`, local time, as
/// Java's `ProcessQueueInfo.toString` prints its timestamps.
pub fn compact_time(ms: i64) -> String {
    Local.timestamp_millis_opt(ms).single().map_or_else(String::new, |t| t.format("%Y%m%d%H%M%S%3f").to_string())
}

/// `yyyy-MM-dd HH:mm:ss`, local time (`UtilAll.YYYY_MM_DD_HH_MM_SS`).
pub fn date_time(ms: i64) -> String {
    Local.timestamp_millis_opt(ms).single().map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// Parses `yyyy-MM-dd#HH:mm:ss:SSS` (local time) into ms, as mqadmin's
/// timestamp options accept besides plain milliseconds.
pub fn parse_java_date(text: &str) -> Option<i64> {
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%d#%H:%M:%S:%3f").ok()?;
    Local.from_local_datetime(&parsed).earliest().map(|t| t.timestamp_millis())
}

/// A timestamp option: milliseconds or `yyyy-MM-dd#HH:mm:ss:SSS`.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok().or_else(|| parse_java_date(text.trim()))
}

/// `UtilAll.frontStringAtLeast`: at most `size` characters.
pub fn front(text: &str, size: usize) -> &str {
    match text.char_indices().nth(size) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Java's `String.format("%.<decimals>f", value)`: Java rounds the shortest
/// decimal form of the double half up (3.125 → `3.13`, 2.675 → `2.68`),
/// where Rust's `{:.2}` rounds the exact binary value half to even (`3.12`,
/// `2.67`).
pub fn java_fixed(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return match value {
            v if v.is_nan() => "NaN".to_owned(),
            v if v > 0.0 => "Infinity".to_owned(),
            _ => "-Infinity".to_owned(),
        };
    }
    let shortest = value.abs().to_string();
    let (int, frac) = shortest.split_once('.').unwrap_or((&shortest, ""));
    let kept = &frac[..decimals.min(frac.len())];
    let mut digits: Vec<u8> = format!("{int}{kept:0<decimals$}").into_bytes();
    if frac.as_bytes().get(decimals).is_some_and(|d| *d >= b'5') {
        round_up(&mut digits);
    }
    let point = digits.len() - decimals;
    let (whole, fraction) = digits.split_at(point);
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let whole = String::from_utf8_lossy(whole);
    if decimals == 0 {
        return format!("{sign}{whole}");
    }
    format!("{sign}{whole}.{}", String::from_utf8_lossy(fraction))
}

/// Adds one to a string of decimal digits, carrying into a new leading `1`.
fn round_up(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

/// Java's `Boolean.parseBoolean`.
pub fn java_bool(text: &str) -> bool {
    text.trim().eq_ignore_ascii_case("true")
}

/// `MQVersion.getVersionDesc` of 4.9.8: the name of a version ordinal.
pub fn version_desc(ordinal: i32) -> String {
    const FIRST: [&str; 16] = [
        "V3_0_0_SNAPSHOT",
        "V3_0_0_ALPHA1",
        "V3_0_0_BETA1",
        "V3_0_0_BETA2",
        "V3_0_0_BETA3",
        "V3_0_0_BETA4",
        "V3_0_0_BETA5",
        "V3_0_0_BETA6_SNAPSHOT",
        "V3_0_0_BETA6",
        "V3_0_0_BETA7_SNAPSHOT",
        "V3_0_0_BETA7",
        "V3_0_0_BETA8_SNAPSHOT",
        "V3_0_0_BETA8",
        "V3_0_0_BETA9_SNAPSHOT",
        "V3_0_0_BETA9",
        "V3_0_0_FINAL",
    ];
    let Ok(ordinal) = usize::try_from(ordinal) else { return FIRST[0].to_owned() };
    if let Some(name) = FIRST.get(ordinal) {
        return (*name).to_owned();
    }
    // Then a SNAPSHOT and a release of each version, in this order.
    let mut versions: Vec<(u32, u32, u32)> = (1..=15).map(|p| (3, 0, p)).collect();
    versions.extend((0..=9).map(|p| (3, 1, p)));
    versions.extend((0..=9).map(|p| (3, 2, p)));
    for minor in 3..=9 {
        versions.extend((1..=9).map(|p| (3, minor, p)));
    }
    for major in 4..=5 {
        for minor in 0..=9 {
            versions.extend((0..=9).map(|p| (major, minor, p)));
        }
    }
    let i = ordinal - FIRST.len();
    match versions.get(i / 2) {
        Some((a, b, c)) if i.is_multiple_of(2) => format!("V{a}_{b}_{c}_SNAPSHOT"),
        Some((a, b, c)) => format!("V{a}_{b}_{c}"),
        None => "HIGHER_VERSION".to_owned(),
    }
}

/// A message's properties as Java's `HashMap.toString` prints them:
/// `{K=V, K2=V2}`, in the order a `HashMap` built from them iterates.
pub fn properties_to_string(props: &Properties) -> String {
    let pairs: Vec<(&str, &str)> = props.iter().collect();
    let mut capacity = 16usize;
    while pairs.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |key: &str| {
        let h = java::string_hash_code(key) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut order: Vec<(usize, usize)> = pairs.iter().enumerate().map(|(i, (k, _))| (bucket(k), i)).collect();
    order.sort();
    let mut out = String::from("{");
    for (n, (_, i)) in order.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}={}", pairs[*i].0, pairs[*i].1);
    }
    out.push('}');
    out
}

/// A route as 4.9.8's `TopicRouteData.toJson(true)` prints it: fastjson's
/// pretty form, tabs, maps opened on the key's line, 4.9.8's field names.
pub fn route_pretty(route: &TopicRouteData) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut out = String::from("{\n\t\"brokerDatas\":[");
    for (i, b) in route.broker_datas.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str("\t\t{\n\t\t\t\"brokerAddrs\":{");
        for (j, (id, addr)) in b.broker_addrs.iter().enumerate() {
            if j > 0 {
                out.push_str(",\n\t\t\t");
            }
            let _ = write!(out, "{id}:{}", q(addr));
        }
        out.push_str(if b.broker_addrs.is_empty() { "}" } else { "\n\t\t\t}" });
        let _ =
            write!(out, ",\n\t\t\t\"brokerName\":{},\n\t\t\t\"cluster\":{}\n\t\t}}", q(&b.broker_name), q(&b.cluster));
    }
    out.push_str(if route.broker_datas.is_empty() { "]" } else { "\n\t]" });
    out.push_str(",\n\t\"filterServerTable\":{");
    for (i, (addr, servers)) in route.filter_server_table.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n\t");
        }
        let list: Vec<String> = servers.iter().map(|s| q(s)).collect();
        let _ = write!(out, "{}:[{}]", q(addr), list.join(","));
    }
    out.push_str(if route.filter_server_table.is_empty() { "}" } else { "\n\t}" });
    if let Some(conf) = &route.order_topic_conf {
        let _ = write!(out, ",\n\t\"orderTopicConf\":{}", q(conf));
    }
    out.push_str(",\n\t\"queueDatas\":[");
    for (i, d) in route.queue_datas.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        let _ = write!(
            out,
            "\t\t{{\n\t\t\t\"brokerName\":{},\n\t\t\t\"perm\":{},\n\t\t\t\"readQueueNums\":{},\n\t\t\t\"topicSysFlag\":{},\n\t\t\t\"writeQueueNums\":{}\n\t\t}}",
            q(&d.broker_name),
            d.perm,
            d.read_queue_nums,
            d.topic_sys_flag,
            d.write_queue_nums
        );
    }
    out.push_str(if route.queue_datas.is_empty() { "]" } else { "\n\t]" });
    out.push_str("\n}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_protocol::body::route::{BrokerData, QueueData};

    #[test]
    fn versions_by_ordinal() {
        // Ordinals of 4.9.8's MQVersion.Version.
        assert_eq!(version_desc(0), "V3_0_0_SNAPSHOT");
        assert_eq!(version_desc(15), "V3_0_0_FINAL");
        assert_eq!(version_desc(16), "V3_0_1_SNAPSHOT");
        assert_eq!(version_desc(137), "V3_5_8");
        assert_eq!(version_desc(213), "V4_0_0");
        assert_eq!(version_desc(409), "V4_9_8");
        assert_eq!(version_desc(413), "V5_0_0");
        assert_eq!(version_desc(611), "V5_9_9");
        assert_eq!(version_desc(612), "HIGHER_VERSION");
        assert_eq!(version_desc(9999), "HIGHER_VERSION");
    }

    #[test]
    fn java_helpers() {
        assert_eq!(front("abcdef", 3), "abc");
        assert_eq!(front("ab", 3), "ab");
        assert!(java_bool(" TRUE") && !java_bool("yes"));
        let ms = parse_java_date("2024-01-02#03:04:05:006").unwrap();
        assert_eq!(human_time(ms), "2024-01-02 03:04:05,006");
        assert_eq!(date_time(ms), "2024-01-02 03:04:05");
        assert_eq!(compact_time(ms), "20240102030405006");
        assert_eq!(parse_timestamp("1700000000000"), Some(1700000000000));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn fixed_point_as_java_rounds() {
        // String.format("%.2f", …) in Java.
        assert_eq!(java_fixed(3.125, 2), "3.13");
        assert_eq!(java_fixed(2.675, 2), "2.68");
        assert_eq!(java_fixed(1.005, 2), "1.01");
        assert_eq!(java_fixed(0.0, 2), "0.00");
        assert_eq!(java_fixed(99.999, 2), "100.00");
        assert_eq!(java_fixed(-0.001, 2), "-0.00");
        assert_eq!(java_fixed(12.5, 0), "13");
        assert_eq!(java_fixed(1e21, 2), "1000000000000000000000.00");
        assert_eq!(java_fixed(f64::NAN, 2), "NaN");
    }

    #[test]
    fn properties_in_hash_map_order() {
        // java.util.HashMap iterates these keys in this order.
        let props: Properties =
            [("UNIQ_KEY", "X"), ("CLUSTER", "DefaultCluster"), ("KEYS", "k"), ("WAIT", "true"), ("TAGS", "t")]
                .into_iter()
                .collect();
        assert_eq!(properties_to_string(&props), "{KEYS=k, UNIQ_KEY=X, CLUSTER=DefaultCluster, WAIT=true, TAGS=t}");
    }

    #[test]
    fn route_like_fastjson_pretty() {
        let mut broker = BrokerData::new("DefaultCluster", "broker-a");
        broker.broker_addrs.insert(0, "127.0.0.1:10911".into());
        let route = TopicRouteData {
            broker_datas: vec![broker],
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 4,
                topic_sys_flag: 0,
                write_queue_nums: 4,
            }],
            ..TopicRouteData::default()
        };
        let expected = "{\n\t\"brokerDatas\":[\n\t\t{\n\t\t\t\"brokerAddrs\":{0:\"127.0.0.1:10911\"\n\t\t\t},\n\t\t\t\"brokerName\":\"broker-a\",\n\t\t\t\"cluster\":\"DefaultCluster\"\n\t\t}\n\t],\n\t\"filterServerTable\":{},\n\t\"queueDatas\":[\n\t\t{\n\t\t\t\"brokerName\":\"broker-a\",\n\t\t\t\"perm\":6,\n\t\t\t\"readQueueNums\":4,\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":4\n\t\t}\n\t]\n}";
        assert_eq!(route_pretty(&route), expected);
    }
}
