//! Wall-clock time as RocketMQ stamps it: milliseconds since the Unix epoch
//! (Java's `System.currentTimeMillis()`), for born and store timestamps,
//! expiry and statistics.

/// Milliseconds since the Unix epoch; 0 if the clock is set before it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
