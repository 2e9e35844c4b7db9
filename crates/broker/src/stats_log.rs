//! Java's per-minute statistics lines, which operators grep in `stats.log`:
//! `[TOPIC_PUT_NUMS] [TopicTest] Stats In One Minute, SUM: 1200 TPS: 20.00
//! AVGPT: 0.00`, and the same for `BROKER_PUT_NUMS`, `BROKER_GET_NUMS`
//! (keyed by cluster) and `GROUP_GET_NUMS` (keyed by `topic@group`). Keys
//! idle over the minute are left out. rmq does not count requests per key,
//! so `AVGPT` (Java's messages per request) is written as 0.00.

use std::time::Duration;

use crate::stats::BrokerStats;

/// The tracing target the binaries route to `stats.log`.
pub const TARGET: &str = "rmq::stats";

const MINUTE_MS: i64 = 60_000;

/// How long until the next whole minute, when Java prints too.
pub(crate) fn until_next_minute(now_ms: i64) -> Duration {
    Duration::from_millis((MINUTE_MS - now_ms.rem_euclid(MINUTE_MS)) as u64)
}

/// Writes one line per statistic and key with messages in the last minute.
pub(crate) fn print_minute(stats: &BrokerStats, cluster: &str, now_ms: i64) {
    let minute = |rate: f64| (rate * 60.0).round() as u64;
    let broker = [
        ("BROKER_PUT_NUMS", minute(stats.put_nums.rate(now_ms, MINUTE_MS))),
        ("BROKER_GET_NUMS", minute(stats.get_transferred.rate(now_ms, MINUTE_MS))),
    ];
    for (name, sum) in broker {
        line(name, cluster, sum);
    }
    for (topic, sum) in stats.topic_put.last_minute(now_ms) {
        line("TOPIC_PUT_NUMS", &topic, sum);
    }
    for (key, sum) in stats.group_get.last_minute(now_ms) {
        line("GROUP_GET_NUMS", &key, sum);
    }
}

fn line(name: &str, key: &str, sum: u64) {
    if sum > 0 {
        tracing::info!(
            target: TARGET,
            "[{name}] [{key}] Stats In One Minute, SUM: {sum} TPS: {:.2} AVGPT: 0.00",
            sum as f64 / 60.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_minute_starts_on_the_minute() {
        assert_eq!(until_next_minute(120_000), Duration::from_secs(60));
        assert_eq!(until_next_minute(120_001), Duration::from_millis(59_999));
        assert_eq!(until_next_minute(179_999), Duration::from_millis(1));
    }
}
