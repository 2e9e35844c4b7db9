//! The send time a fixed-rate producer writes at the start of each body, so
//! that a consumer on the same machine measures end to end in microseconds
//! (the messages' own timestamps are milliseconds): `RMQT` then the
//! scheduled send time, microseconds since the Unix epoch, big-endian.

const MARK: &[u8; 4] = b"RMQT";
/// Bytes a stamp takes; bodies shorter than this are sent unstamped.
pub const LEN: usize = 12;

/// Microseconds since the Unix epoch now.
pub fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Writes the stamp of `at_us` into the start of `body`, if it is long enough.
pub fn write(body: &mut [u8], at_us: u64) {
    if body.len() >= LEN {
        body[..4].copy_from_slice(MARK);
        body[4..LEN].copy_from_slice(&at_us.to_be_bytes());
    }
}

/// The stamp at the start of `body`, if it has one.
pub fn read(body: &[u8]) -> Option<u64> {
    (body.len() >= LEN && &body[..4] == MARK).then(|| u64::from_be_bytes(body[4..LEN].try_into().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_short_bodies() {
        let mut body = vec![b'a'; 16];
        write(&mut body, 1_700_000_000_123_456);
        assert_eq!(read(&body), Some(1_700_000_000_123_456));
        let mut short = vec![b'a'; 8];
        write(&mut short, 1);
        assert_eq!(read(&short), None);
        assert_eq!(read(b"aaaaaaaaaaaaaaaa"), None);
    }
}
