//! Client-made message ids (`UNIQ_KEY`, Java's
//! `MessageClientIDSetter.createUniqID`): what `SendResult.msgId` shows and
//! what `queryMsgByUniqueKey` looks up.
//!
//! 32 hex characters: the client's IPv4 address (4 bytes), its pid (2), a
//! random per-process number standing for Java's class-loader hash (4), the
//! milliseconds since the start of the current month (4) and a counter (2).

use chrono::{Datelike, Local, TimeZone};
use rmq_model::clock::now_ms;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[derive(Debug)]
pub struct UniqIdGenerator {
    /// The first 20 hex characters, fixed for the process.
    prefix: [u8; 20],
    counter: AtomicU16,
    /// (start of this month, start of next month), ms.
    month: Mutex<(i64, i64)>,
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xF)]);
    }
}

fn month_bounds(now_ms: i64) -> (i64, i64) {
    let now = Local.timestamp_millis_opt(now_ms).single().unwrap_or_else(Local::now);
    let start = Local.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single();
    let (y, m) = if now.month() == 12 { (now.year() + 1, 1) } else { (now.year(), now.month() + 1) };
    let next = Local.with_ymd_and_hms(y, m, 1, 0, 0, 0).single();
    match (start, next) {
        (Some(s), Some(n)) => (s.timestamp_millis(), n.timestamp_millis()),
        _ => (now_ms, now_ms + 86_400_000),
    }
}

impl UniqIdGenerator {
    pub fn new(ip: [u8; 4]) -> UniqIdGenerator {
        let mut fixed = Vec::with_capacity(10);
        fixed.extend_from_slice(&ip);
        fixed.extend_from_slice(&(std::process::id() as u16).to_be_bytes());
        let salt = std::collections::hash_map::RandomState::new();
        let random = std::hash::BuildHasher::hash_one(&salt, std::process::id()) as u32;
        fixed.extend_from_slice(&random.to_be_bytes());
        let mut hex = Vec::with_capacity(20);
        push_hex(&mut hex, &fixed);
        let mut prefix = [0u8; 20];
        prefix.copy_from_slice(&hex);
        UniqIdGenerator { prefix, counter: AtomicU16::new(0), month: Mutex::new(month_bounds(now_ms())) }
    }

    /// The next id.
    pub fn next_id(&self) -> String {
        let now = now_ms();
        let start = {
            let mut month = self.month.lock().unwrap_or_else(|e| e.into_inner());
            if now >= month.1 || now < month.0 {
                *month = month_bounds(now);
            }
            month.0
        };
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(&self.prefix);
        push_hex(&mut out, &((now - start) as i32).to_be_bytes());
        push_hex(&mut out, &self.counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_and_distinct() {
        let g = UniqIdGenerator::new([127, 0, 0, 1]);
        let (a, b) = (g.next_id(), g.next_id());
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("7F000001"));
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }
}
