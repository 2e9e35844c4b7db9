//! One metric family written at scrape time with a bounded number of series.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::Labels;

/// The label of the one series that sums every series past the limit (the
/// attribute OpenTelemetry's SDK, and so Java's broker, puts on it).
pub const OVERFLOW_LABEL: &str = "otel_metric_overflow";

/// The kinds of family servers write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    /// A gauge with a fractional value (a rate, a ratio), as the 4.x
    /// exporter's gauges are.
    FloatGauge,
}

/// A series' value: whole for counters and gauges, fractional for float gauges.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    Whole(i64),
    Fraction(f64),
}

impl Number {
    fn add(self, other: Number) -> Number {
        match (self, other) {
            (Number::Whole(a), Number::Whole(b)) => Number::Whole(a.saturating_add(b)),
            (a, b) => Number::Fraction(a.as_f64() + b.as_f64()),
        }
    }

    fn max(self, other: Number) -> Number {
        if other.as_f64() > self.as_f64() { other } else { self }
    }

    fn as_f64(self) -> f64 {
        match self {
            Number::Whole(v) => v as f64,
            Number::Fraction(v) => v,
        }
    }
}

/// A counter or gauge family with at most `limit` labelled series. Rows past
/// the limit are added into one overflow series (`otel_metric_overflow="true"`)
/// and their labels dropped at once, so a scrape's memory is bounded by the
/// limit, not by how many topics or groups exist. Sums stay right: `sum()`
/// over the family still counts every message.
///
/// ```
/// use rmq_metrics::CappedFamily;
/// let mut lag = CappedFamily::gauge("rocketmq_consumer_lag_messages", "Messages not consumed yet", 1);
/// lag.push(vec![("topic", "T1".to_owned())], 5);
/// lag.push(vec![("topic", "T2".to_owned())], 7); // past the limit: into the overflow series
/// assert_eq!(lag.len(), 1);
/// ```
#[derive(Debug)]
pub struct CappedFamily {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    limit: usize,
    rows: Vec<(Labels, Number)>,
    overflow: Option<Number>,
}

impl CappedFamily {
    /// A counter: `name` is written with Prometheus' `_total` suffix.
    pub fn counter(name: &'static str, help: &'static str, limit: usize) -> CappedFamily {
        CappedFamily::new(name, help, Kind::Counter, limit)
    }

    pub fn gauge(name: &'static str, help: &'static str, limit: usize) -> CappedFamily {
        CappedFamily::new(name, help, Kind::Gauge, limit)
    }

    /// A gauge whose values are fractional ([`CappedFamily::push_fraction`]).
    pub fn float_gauge(name: &'static str, help: &'static str, limit: usize) -> CappedFamily {
        CappedFamily::new(name, help, Kind::FloatGauge, limit)
    }

    fn new(name: &'static str, help: &'static str, kind: Kind, limit: usize) -> CappedFamily {
        CappedFamily { name, help, kind, limit: limit.max(1), rows: Vec::new(), overflow: None }
    }

    /// Whether another labelled series fits; callers may skip building
    /// labels when not (and call [`CappedFamily::push_overflow`]).
    pub fn has_room(&self) -> bool {
        self.rows.len() < self.limit
    }

    /// Adds a series, or its value to the overflow series past the limit.
    pub fn push(&mut self, labels: Labels, value: i64) {
        self.push_number(labels, Number::Whole(value));
    }

    /// Adds a series with a fractional value (a rate); the overflow series
    /// sums them as [`CappedFamily::push`] does.
    pub fn push_fraction(&mut self, labels: Labels, value: f64) {
        self.push_number(labels, Number::Fraction(value));
    }

    fn push_number(&mut self, labels: Labels, value: Number) {
        if self.has_room() {
            self.rows.push((labels, value));
        } else {
            self.overflow = Some(self.overflow.map_or(value, |sum| sum.add(value)));
        }
    }

    /// Adds `value` to the overflow series.
    pub fn push_overflow(&mut self, value: i64) {
        let value = Number::Whole(value);
        self.overflow = Some(self.overflow.map_or(value, |sum| sum.add(value)));
    }

    /// Keeps the larger of the overflow series and `value`: for gauges
    /// such as ages, whose sum means nothing.
    pub fn push_overflow_max(&mut self, value: i64) {
        let value = Number::Whole(value);
        self.overflow = Some(self.overflow.map_or(value, |held| held.max(value)));
    }

    /// Labelled series held (the overflow series not counted).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.overflow.is_none()
    }

    /// Writes the family; nothing at all when it has no series, as a family
    /// with no samples tells a reader nothing.
    pub fn encode(self, encoder: &mut DescriptorEncoder<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        let kind = match self.kind {
            Kind::Counter => MetricType::Counter,
            Kind::Gauge | Kind::FloatGauge => MetricType::Gauge,
        };
        let mut family = encoder.encode_descriptor(self.name, self.help, None, kind)?;
        let overflow = self.overflow.map(|v| (vec![(OVERFLOW_LABEL, "true".to_owned())], v));
        for (labels, value) in self.rows.into_iter().chain(overflow) {
            let series = family.encode_family(&labels)?;
            match (self.kind, value) {
                (Kind::FloatGauge, value) => ConstGauge::new(value.as_f64()).encode(series)?,
                (_, Number::Fraction(v)) => ConstGauge::new(v).encode(series)?,
                (Kind::Counter, Number::Whole(v)) => ConstCounter::new(v.max(0) as u64).encode(series)?,
                (Kind::Gauge, Number::Whole(v)) => ConstGauge::new(v).encode(series)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::collector::Collector;
    use prometheus_client::registry::Registry;

    #[derive(Debug)]
    struct Topics(usize);

    impl Collector for Topics {
        fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
            let mut msgs = CappedFamily::counter("rocketmq_messages_in", "Messages in", 2);
            for i in 0..self.0 {
                msgs.push(vec![("topic", format!("T{i}"))], 10);
            }
            msgs.encode(&mut encoder)?;
            CappedFamily::gauge("rocketmq_empty", "Nothing", 2).encode(&mut encoder)
        }
    }

    fn render(topics: usize) -> String {
        let mut registry = Registry::with_labels([("cluster".into(), "C".into())].into_iter());
        registry.register_collector(Box::new(Topics(topics)));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn series_past_the_limit_sum_into_one() {
        let text = render(5);
        assert!(text.contains("# TYPE rocketmq_messages_in counter"), "{text}");
        assert!(text.contains(r#"rocketmq_messages_in_total{cluster="C",topic="T0"} 10"#), "{text}");
        assert!(text.contains(r#"rocketmq_messages_in_total{cluster="C",topic="T1"} 10"#), "{text}");
        assert!(!text.contains("T2"), "{text}");
        assert!(text.contains(r#"rocketmq_messages_in_total{cluster="C",otel_metric_overflow="true"} 30"#), "{text}");
        assert!(!text.contains("rocketmq_empty"), "a family without series is left out: {text}");
    }

    #[test]
    fn within_the_limit_no_overflow_series() {
        let text = render(2);
        assert!(!text.contains(OVERFLOW_LABEL), "{text}");
    }
}
