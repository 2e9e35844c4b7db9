//! Timer messages recalled and not yet due (RocketMQ 5.3's recall).
//!
//! A recall is a marker message in the timer topic carrying
//! `TIMER_DEL_UNIQKEY` = `<real topic>+<UNIQ_KEY>` of the message it
//! cancels, due at the same time (Java's `TimerMessageStore.buildDeleteKey`).
//! The marker in the CommitLog is what lasts: the timer notes its key here
//! when it takes the marker in, and again when it recovers its log after a
//! restart, and skips every message with a noted key when its slot is
//! delivered. Java instead collects the markers of a slot when the slot
//! comes due; a set of keys gives the same result without depending on
//! the order of a slot's entries.
//!
//! The RECALL_MESSAGE handler notes the key as well, just before it writes
//! the marker (and takes the note back if the write fails), so that a second
//! recall of the same handle is answered SUCCESS without a second marker
//! (Java stores another). A restart forgets these notes until the timer has
//! recovered its markers: a second recall in that window stores a second,
//! harmless marker, as in Java.

use std::collections::HashMap;
use std::sync::Mutex;

/// The key a recall marker names and a parked message is recalled by.
pub(crate) fn recall_key(real_topic: &str, unique_key: &str) -> String {
    format!("{real_topic}+{unique_key}")
}

/// Keys of recalled messages, each with the wall time (ms) until which it
/// must be kept: the end of the last slot its message or marker waits in.
#[derive(Debug, Default)]
pub(crate) struct Recalls {
    keys: Mutex<HashMap<String, i64>>,
}

impl Recalls {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes `key` as recalled until `until_ms` at least; whether it was new.
    pub(crate) fn note(&self, key: &str, until_ms: i64) -> bool {
        let mut keys = self.keys();
        match keys.get_mut(key) {
            Some(until) => {
                *until = (*until).max(until_ms);
                false
            }
            None => {
                keys.insert(key.to_owned(), until_ms);
                true
            }
        }
    }

    /// Takes back a note whose marker could not be stored.
    pub(crate) fn withdraw(&self, key: &str) {
        self.keys().remove(key);
    }

    /// Whether the message `unique_key` of `real_topic` was recalled. With
    /// nothing recalled (the usual case) no key is built for the question.
    pub(crate) fn is_recalled(&self, real_topic: &str, unique_key: &str) -> bool {
        let keys = self.keys();
        !keys.is_empty() && keys.contains_key(&recall_key(real_topic, unique_key))
    }

    /// Forgets the keys kept only until `slot_end_ms` or earlier: their
    /// slots were all delivered.
    pub(crate) fn forget_through(&self, slot_end_ms: i64) {
        let mut keys = self.keys();
        if !keys.is_empty() {
            keys.retain(|_, until| *until > slot_end_ms);
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_new_once_and_kept_until_its_slot_ended() {
        let r = Recalls::default();
        assert!(r.note("T+id", 5_000));
        assert!(!r.note("T+id", 7_000), "a second note of the same key");
        assert!(r.is_recalled("T", "id") && !r.is_recalled("T", "other"));
        r.forget_through(6_000);
        assert!(r.is_recalled("T", "id"), "the later note extended it");
        r.forget_through(7_000);
        assert!(!r.is_recalled("T", "id"));
        assert!(r.note("T+id", 1));
        r.withdraw("T+id");
        assert_eq!(r.len(), 0);
        assert_eq!(recall_key("TopicA", "7F00"), "TopicA+7F00");
    }
}
