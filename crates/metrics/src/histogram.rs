//! Histograms recorded with two relaxed atomic adds and written at scrape
//! time, with Java's explicit bucket bounds.

use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Labels;
use crate::capped::OVERFLOW_LABEL;

/// Most bucket bounds a histogram may have (Java's longest list has 9).
pub const MAX_BOUNDS: usize = 15;

/// Counts per bucket (the last one past every bound) and the sum of the
/// values. Observing finds the bucket by a short scan of the bounds and
/// adds twice; nothing is allocated or locked.
#[derive(Debug, Default)]
pub struct AtomicHistogram {
    counts: [AtomicU64; MAX_BOUNDS + 1],
    sum: AtomicU64,
}

impl AtomicHistogram {
    /// Records `value` against `bounds` (ascending, at most [`MAX_BOUNDS`];
    /// the same bounds every time for one histogram).
    pub fn observe(&self, bounds: &[u64], value: u64) {
        self.observe_many(bounds, value, 1);
    }

    /// Records `value` `times` times at once (the messages of a batch).
    pub fn observe_many(&self, bounds: &[u64], value: u64, times: u64) {
        let bucket = bounds.iter().position(|&b| value <= b).unwrap_or(bounds.len()).min(MAX_BOUNDS);
        self.counts[bucket].fetch_add(times, Ordering::Relaxed);
        self.sum.fetch_add(value.saturating_mul(times), Ordering::Relaxed);
    }

    /// The sum of every value observed.
    pub fn sum(&self) -> u64 {
        self.sum.load(Ordering::Relaxed)
    }

    /// The counts now, for writing.
    pub fn snapshot(&self, bounds: &[u64]) -> HistogramSnapshot {
        let buckets = bounds.len().min(MAX_BOUNDS) + 1;
        HistogramSnapshot {
            counts: self.counts[..buckets].iter().map(|c| c.load(Ordering::Relaxed)).collect(),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// A histogram's counts at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Per bucket, not cumulative; one more than the bounds.
    pub counts: Vec<u64>,
    pub sum: u64,
}

impl HistogramSnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    fn add(&mut self, other: &HistogramSnapshot) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.sum += other.sum;
    }
}

/// A histogram family with at most `limit` labelled series, the rest summed
/// into the `otel_metric_overflow="true"` series, as [`crate::CappedFamily`]
/// does for counters and gauges.
#[derive(Debug)]
pub struct HistogramFamily {
    name: &'static str,
    help: &'static str,
    bounds: &'static [u64],
    limit: usize,
    rows: Vec<(Labels, HistogramSnapshot)>,
    overflow: Option<HistogramSnapshot>,
}

impl HistogramFamily {
    pub fn new(name: &'static str, help: &'static str, bounds: &'static [u64], limit: usize) -> HistogramFamily {
        HistogramFamily { name, help, bounds, limit: limit.max(1), rows: Vec::new(), overflow: None }
    }

    pub fn has_room(&self) -> bool {
        self.rows.len() < self.limit
    }

    /// Adds `histogram`'s series (nothing when it never observed a value).
    pub fn push(&mut self, labels: Labels, histogram: &AtomicHistogram) {
        let snapshot = histogram.snapshot(self.bounds);
        if snapshot.count() == 0 {
            return;
        }
        if self.has_room() {
            self.rows.push((labels, snapshot));
        } else {
            self.push_overflow(histogram);
        }
    }

    /// Adds `histogram` to the overflow series.
    pub fn push_overflow(&mut self, histogram: &AtomicHistogram) {
        let snapshot = histogram.snapshot(self.bounds);
        if snapshot.count() == 0 {
            return;
        }
        match self.overflow.as_mut() {
            Some(sum) => sum.add(&snapshot),
            None => self.overflow = Some(snapshot),
        }
    }

    pub fn encode(self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        if self.rows.is_empty() && self.overflow.is_none() {
            return Ok(());
        }
        let mut family = encoder.encode_descriptor(self.name, self.help, None, MetricType::Histogram)?;
        let overflow = self.overflow.map(|s| (vec![(OVERFLOW_LABEL, "true".to_owned())], s));
        for (labels, snapshot) in self.rows.into_iter().chain(overflow) {
            let buckets: Vec<(f64, u64)> = self
                .bounds
                .iter()
                .map(|&b| b as f64)
                .chain(std::iter::once(f64::MAX))
                .zip(snapshot.counts.iter().copied())
                .collect();
            family.encode_family(&labels)?.encode_histogram::<NoLabelSet>(
                snapshot.sum as f64,
                snapshot.count(),
                &buckets,
                None,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::collector::Collector;
    use prometheus_client::registry::Registry;

    const BOUNDS: &[u64] = &[1, 10];

    #[derive(Debug)]
    struct Latencies(Vec<AtomicHistogram>);

    impl Collector for Latencies {
        fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
            let mut family = HistogramFamily::new("rpc_latency", "Latency", BOUNDS, 1);
            for (i, h) in self.0.iter().enumerate() {
                family.push(vec![("code", i.to_string())], h);
            }
            family.encode(&mut encoder)
        }
    }

    #[test]
    fn buckets_are_cumulative_and_past_the_limit_merge() {
        let first = AtomicHistogram::default();
        for v in [0, 1, 5, 10, 11, 1_000] {
            first.observe(BOUNDS, v);
        }
        let second = AtomicHistogram::default();
        second.observe(BOUNDS, 2);
        let unused = AtomicHistogram::default();
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Latencies(vec![first, unused, second])));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("# TYPE rpc_latency histogram"), "{text}");
        assert!(text.contains(r#"rpc_latency_bucket{le="1.0",code="0"} 2"#), "{text}");
        assert!(text.contains(r#"rpc_latency_bucket{le="10.0",code="0"} 4"#), "{text}");
        assert!(text.contains(r#"rpc_latency_bucket{le="+Inf",code="0"} 6"#), "{text}");
        assert!(text.contains(r#"rpc_latency_sum{code="0"} 1027.0"#), "{text}");
        assert!(text.contains(r#"rpc_latency_count{code="0"} 6"#), "{text}");
        assert!(!text.contains(r#"code="1""#), "a histogram that saw nothing is left out: {text}");
        assert!(text.contains(r#"rpc_latency_bucket{le="10.0",otel_metric_overflow="true"} 1"#), "{text}");
    }
}
