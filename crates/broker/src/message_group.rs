//! 5.x message groups (FIFO): every message of a group (`__SHARDINGKEY`)
//! goes to one queue of the topic, picked from the group's name as Java's
//! proxy picks it (`String.hashCode` modulo the write queues), so a group's
//! order holds whichever queue the producer chose.

/// Java's `String.hashCode`: over UTF-16 code units, wrapping.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32))
}

/// The queue of `group` among `write_queues` queues.
pub(crate) fn queue_of(group: &str, write_queues: u32) -> i32 {
    let n = write_queues.max(1) as i64;
    (java_hash(group) as i64 % n).abs() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_java_hashes() {
        assert_eq!(java_hash("abc"), 96354);
        assert_eq!(java_hash(""), 0);
        assert_eq!(queue_of("abc", 8), 96354 % 8);
        // Negative hashes give a queue in range.
        let q = queue_of("polygenelubricants", 7);
        assert!((0..7).contains(&q));
        assert_eq!(java_hash("polygenelubricants"), i32::MIN);
    }
}
