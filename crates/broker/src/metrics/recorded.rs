//! What the broker records on a request's path for its metrics, because no
//! counter it keeps anyway holds it: RPC latencies, message sizes, and the
//! messages and bytes each `topic@group` was delivered.
//!
//! Each is a [`SlotTable`] of atomics allocated at start: a request pays a
//! hash of its key and relaxed atomic adds, never a lock or an allocation
//! (but on a key's first use). Entries are never forgotten, so counters stay
//! monotonic for the broker's life (Prometheus sees no reset); past
//! `metricsOtelCardinalityLimit` keys, values go to one overflow series.
//!
//! With no exporter (`metricsExporterType=DISABLE`, Java's default) nothing is
//! recorded at all: a request pays one predictable branch, as Java's no-op
//! meters cost nothing when its metrics are off.

use rmq_metrics::{AtomicHistogram, SlotTable};
use rmq_model::properties::{Properties, keys};
use std::sync::atomic::{AtomicU64, Ordering};

/// Java's `metricsOtelCardinalityLimit` default.
pub(crate) const DEFAULT_SERIES_LIMIT: usize = 50_000;
/// `request_code` × `response_code` pairs kept apart. Codes come from the
/// wire, so a client sending garbage codes only grows the overflow series.
const RPC_PAIRS: usize = 1_024;

/// Java's `rocketmq_rpc_latency` buckets (`RemotingMetricsManager`), ms.
pub(crate) const RPC_LATENCY_BOUNDS_MS: &[u64] = &[1, 3, 5, 7, 10, 100, 1_000, 2_000, 3_000];
/// Java's `rocketmq_message_size` buckets (`BrokerMetricsManager`), bytes:
/// 1 KiB, 4 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB.
pub(crate) const MESSAGE_SIZE_BOUNDS: &[u64] = &[1 << 10, 4 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20];

/// Java's `TopicMessageType` as `BrokerMetricsManager.getMessageType` tells
/// it from a send's properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum MessageType {
    Normal = 0,
    Fifo = 1,
    Delay = 2,
    Transaction = 3,
}

impl MessageType {
    /// The order Java tests: a prepared transaction, then a sharding key
    /// (FIFO), then any delay or timer property.
    pub(crate) fn of(props: &Properties) -> MessageType {
        let delay_keys = [
            "__STARTDELIVERTIME",
            keys::DELAY_TIME_LEVEL,
            keys::TIMER_DELIVER_MS,
            keys::TIMER_DELAY_SEC,
            keys::TIMER_DELAY_MS,
        ];
        if props.get(keys::TRANSACTION_PREPARED).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            MessageType::Transaction
        } else if props.get(keys::SHARDING_KEY).is_some() {
            MessageType::Fifo
        } else if delay_keys.iter().any(|k| props.get(k).is_some()) {
            MessageType::Delay
        } else {
            MessageType::Normal
        }
    }

    pub(crate) fn label(code: u8) -> &'static str {
        match code {
            1 => "fifo",
            2 => "delay",
            3 => "transaction",
            _ => "normal",
        }
    }
}

/// Messages and bytes delivered to one `topic@group` by pulls and pops.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    pub messages: AtomicU64,
    pub bytes: AtomicU64,
}

/// The broker's request-path recorders.
#[derive(Debug)]
pub(crate) struct RequestMetrics {
    /// Whether anything is recorded (an exporter is configured).
    enabled: bool,
    pub rpc_latency: SlotTable<(i32, i32), AtomicHistogram>,
    pub message_size: SlotTable<(String, u8), AtomicHistogram>,
    pub delivered: SlotTable<(String, String), Delivered>,
}

impl Default for RequestMetrics {
    fn default() -> RequestMetrics {
        RequestMetrics::new(DEFAULT_SERIES_LIMIT)
    }
}

impl RequestMetrics {
    /// Tables for at most `series_limit` topics (sizes) and `topic@group`s
    /// (deliveries): 16 bytes a slot are allocated now.
    pub(crate) fn new(series_limit: usize) -> RequestMetrics {
        RequestMetrics {
            enabled: true,
            rpc_latency: SlotTable::new(RPC_PAIRS),
            message_size: SlotTable::new(series_limit),
            delivered: SlotTable::new(series_limit),
        }
    }

    /// Tables that record nothing and allocate one slot each, for a broker
    /// that exports no metrics.
    pub(crate) fn disabled() -> RequestMetrics {
        RequestMetrics { enabled: false, ..RequestMetrics::new(1) }
    }

    /// Whether requests are recorded: callers skip the work of measuring
    /// (reading the clock, telling a message's type) when they are not.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// A request answered `response_code` after `elapsed_ms`.
    pub(crate) fn rpc(&self, request_code: i32, response_code: i32, elapsed_ms: u64) {
        if !self.enabled {
            return;
        }
        self.rpc_latency.get(&(request_code, response_code)).observe(RPC_LATENCY_BOUNDS_MS, elapsed_ms);
    }

    /// `count` messages of `kind` stored in `topic`, `bytes` in all.
    pub(crate) fn stored(&self, topic: &str, kind: MessageType, count: u32, bytes: u64) {
        if !self.enabled || count == 0 {
            return;
        }
        let each = bytes / u64::from(count);
        self.message_size.get(&(topic, kind as u8)).observe_many(MESSAGE_SIZE_BOUNDS, each, u64::from(count));
    }

    /// `count` messages of `bytes` in all handed to `group` from `topic`.
    pub(crate) fn delivered(&self, topic: &str, group: &str, count: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        let entry = self.delivered.get(&(topic, group));
        entry.messages.fetch_add(count, Ordering::Relaxed);
        entry.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Properties {
        Properties::decode(text)
    }

    #[test]
    fn message_types_as_java_tells_them() {
        assert_eq!(MessageType::of(&props("KEYS\u{1}k\u{2}")), MessageType::Normal);
        assert_eq!(MessageType::of(&props("TRAN_MSG\u{1}true\u{2}__SHARDINGKEY\u{1}a\u{2}")), MessageType::Transaction);
        assert_eq!(MessageType::of(&props("__SHARDINGKEY\u{1}a\u{2}DELAY\u{1}3\u{2}")), MessageType::Fifo);
        assert_eq!(MessageType::of(&props("DELAY\u{1}3\u{2}")), MessageType::Delay);
        assert_eq!(MessageType::of(&props("TIMER_DELAY_MS\u{1}100\u{2}")), MessageType::Delay);
        assert_eq!(MessageType::of(&props("TRAN_MSG\u{1}false\u{2}")), MessageType::Normal);
    }

    #[test]
    fn deliveries_stay_monotonic_and_bounded() {
        let m = RequestMetrics::new(2);
        m.delivered("T", "g", 3, 300);
        m.delivered("T", "g", 2, 200);
        for g in 0..10 {
            m.delivered("T", &format!("other{g}"), 1, 10);
        }
        let g = m.delivered.get(&("T", "g"));
        assert_eq!((g.messages.load(Ordering::Relaxed), g.bytes.load(Ordering::Relaxed)), (5, 500));
        assert!(m.delivered.entries().count() <= 2);
        let all: u64 = m.delivered.entries().map(|(_, d)| d.messages.load(Ordering::Relaxed)).sum::<u64>()
            + m.delivered.overflow().messages.load(Ordering::Relaxed);
        assert_eq!(all, 15);
    }

    #[test]
    fn disabled_records_nothing() {
        let m = RequestMetrics::disabled();
        m.rpc(10, 0, 1);
        m.stored("T", MessageType::Normal, 1, 1024);
        m.delivered("T", "g", 1, 1024);
        assert!(!m.enabled());
        assert_eq!(m.rpc_latency.entries().count() + m.message_size.entries().count(), 0);
        assert_eq!(m.delivered.entries().count(), 0);
    }
}
