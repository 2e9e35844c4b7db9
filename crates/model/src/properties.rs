//! A message's user and system properties and their string encoding.
//!
//! On the wire and on disk the properties travel as one string: every pair is
//! `name` U+0001 `value` U+0002, the last one terminated too. Decoding follows
//! Java's `MessageDecoder.string2messageProperties`: a pair is kept only when
//! both name and value are non-empty, so the two always round-trip the same way.

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminates every name/value pair.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Property names with a meaning to the broker or the clients (`MessageConst`).
pub mod keys {
    pub const KEYS: &str = "KEYS";
    pub const TAGS: &str = "TAGS";
    pub const WAIT_STORE_MSG_OK: &str = "WAIT";
    pub const DELAY_TIME_LEVEL: &str = "DELAY";
    pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
    pub const REAL_TOPIC: &str = "REAL_TOPIC";
    pub const REAL_QUEUE_ID: &str = "REAL_QID";
    pub const TRANSACTION_PREPARED: &str = "TRAN_MSG";
    pub const PRODUCER_GROUP: &str = "PGROUP";
    pub const MIN_OFFSET: &str = "MIN_OFFSET";
    pub const MAX_OFFSET: &str = "MAX_OFFSET";
    pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
    pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
    pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
    pub const MSG_REGION: &str = "MSG_REGION";
    pub const TRACE_SWITCH: &str = "TRACE_ON";
    pub const UNIQ_CLIENT_MESSAGE_ID_KEYIDX: &str = "UNIQ_KEY";
    pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
    pub const CLUSTER: &str = "CLUSTER";
    pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
    pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
    pub const TRANSACTION_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
    pub const TRANSACTION_ID: &str = "__transactionId__";
    pub const INSTANCE_ID: &str = "INSTANCE_ID";
    pub const CORRELATION_ID: &str = "CORRELATION_ID";
    pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
    pub const MESSAGE_TYPE: &str = "MSG_TYPE";
    /// 5.x POP: the receipt handle ("extra info") of a popped message.
    pub const POP_CK: &str = "POP_CK";
    pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
    /// 5.x POP: when a revived message was first popped.
    pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
    /// 5.x message group (FIFO): messages of one group go to one queue.
    pub const SHARDING_KEY: &str = "__SHARDINGKEY";
    /// 5.x timer messages: absolute delivery time, or a delay from now.
    pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
    pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
    pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
    /// 5.x timer bookkeeping, written by the broker.
    pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
    pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
    pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
    pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
    pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
    /// 4.x (ONS) start-deliver-time: an absolute delivery time in ms.
    pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
    /// rmq's mark on a timer message's delivered copy: the CommitLog offset
    /// of the parked message it was made from (exactly-once delivery).
    pub const TIMER_DELIVERED_FROM: &str = "__RMQ_TIMER_FROM";
    /// 5.x: when the message was born, written by the proxy and on recall markers.
    pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
    /// 5.x: the client's tracing context (empty on recall markers).
    pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
}

/// An ordered set of message properties. Order is kept so that a string decoded
/// and encoded again comes out unchanged; Java itself does not care for order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties {
    pairs: Vec<(String, String)>,
}

impl Properties {
    pub fn new() -> Properties {
        Properties::default()
    }

    /// Decodes the wire/disk form, dropping malformed pairs as Java does.
    pub fn decode(s: &str) -> Properties {
        let pairs = s
            .split(PROPERTY_SEPARATOR)
            .filter_map(|pair| {
                let (name, value) = pair.split_once(NAME_VALUE_SEPARATOR)?;
                (!name.is_empty() && !value.is_empty()).then(|| (name.to_owned(), value.to_owned()))
            })
            .collect();
        Properties { pairs }
    }

    /// Encodes into the wire/disk form.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        for (name, value) in &self.pairs {
            out.push_str(name);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(value);
            out.push(PROPERTY_SEPARATOR);
        }
        out
    }

    /// Length in bytes of [`Properties::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        self.pairs.iter().map(|(n, v)| n.len() + v.len() + 2).sum()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Sets a property, replacing an existing value in place. Empty names or
    /// values would not survive encoding, so they remove the property instead.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        if name.is_empty() || value.is_empty() {
            self.remove(&name);
            return;
        }
        match self.pairs.iter_mut().find(|(n, _)| *n == name) {
            Some(pair) => pair.1 = value,
            None => self.pairs.push((name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<String> {
        let at = self.pairs.iter().position(|(n, _)| n == name)?;
        Some(self.pairs.remove(at).1)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The `TAGS` property.
    pub fn tags(&self) -> Option<&str> {
        self.get(keys::TAGS)
    }

    /// The business keys of `KEYS`, split on single spaces, empty ones dropped.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.get(keys::KEYS).unwrap_or("").split(' ').filter(|k| !k.is_empty())
    }

    /// The client-made unique id (`UNIQ_KEY`): the msgId applications see.
    pub fn unique_key(&self) -> Option<&str> {
        self.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }

    /// The delay level (`DELAY`), if set to a positive number.
    pub fn delay_level(&self) -> Option<u32> {
        self.delay_level_checked().ok().flatten()
    }

    /// The delay level (`DELAY`): `None` when absent, empty or not positive;
    /// an error holding the text when it is no number at all (Java's
    /// `Integer.parseInt` fails the send then).
    pub fn delay_level_checked(&self) -> Result<Option<u32>, &str> {
        match self.get(keys::DELAY_TIME_LEVEL) {
            None => Ok(None),
            Some(text) if crate::fastjson::scalar::is_null_text(text) => Ok(None),
            Some(text) => match crate::fastjson::scalar::integer_as::<i64>(text) {
                Some(level) => Ok(u32::try_from(level).ok().filter(|l| *l > 0)),
                None => Err(text),
            },
        }
    }

    /// `WAIT`: whether the sender waits for flush and replication. True when
    /// absent; otherwise read as Java's `Boolean.parseBoolean` with
    /// fastjson's spellings (`true`, `1`, `Y`, `T` in any case).
    pub fn wait_store_msg_ok(&self) -> bool {
        self.get(keys::WAIT_STORE_MSG_OK).is_none_or(|v| crate::fastjson::scalar::boolean(v) == Some(true))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Properties {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_like_java() {
        let p: Properties = [("KEYS", "order-1"), ("TAGS", "TagA"), ("WAIT", "true")].into_iter().collect();
        assert_eq!(p.encode(), "KEYS\u{1}order-1\u{2}TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}");
        assert_eq!(p.encoded_len(), p.encode().len());
    }

    #[test]
    fn decode_drops_malformed_pairs() {
        let p = Properties::decode("A\u{1}1\u{2}\u{1}x\u{2}B\u{1}\u{2}noseparator\u{2}C\u{1}3");
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("A", "1"), ("C", "3")]);
    }

    #[test]
    fn well_known_accessors() {
        let p = Properties::decode("KEYS\u{1}k1  k2\u{2}DELAY\u{1}3\u{2}WAIT\u{1}false\u{2}");
        assert_eq!(p.keys().collect::<Vec<_>>(), vec!["k1", "k2"]);
        assert_eq!(p.delay_level(), Some(3));
        assert!(!p.wait_store_msg_ok());
        assert!(Properties::new().wait_store_msg_ok());
    }

    #[test]
    fn delay_and_wait_as_other_clients_write_them() {
        let with = |k: &str, v: &str| Properties::from_iter([(k.to_owned(), v.to_owned())]);
        assert_eq!(with("DELAY", " 3 ").delay_level_checked(), Ok(Some(3)));
        assert_eq!(with("DELAY", "0").delay_level_checked(), Ok(None));
        assert_eq!(with("DELAY", "-2").delay_level_checked(), Ok(None));
        assert_eq!(with("DELAY", "").delay_level_checked(), Ok(None));
        assert_eq!(with("DELAY", "abc").delay_level_checked(), Err("abc"));
        for (text, wait) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("false", false),
            ("FALSE", false),
            ("0", false),
            ("no", false),
        ] {
            assert_eq!(with("WAIT", text).wait_store_msg_ok(), wait, "{text}");
        }
    }

    proptest! {
        #[test]
        fn round_trips(pairs in proptest::collection::vec(("[A-Za-z_]{1,8}", "[^\u{1}\u{2}]{1,12}"), 0..8)) {
            let p: Properties = pairs.into_iter().collect();
            prop_assert_eq!(Properties::decode(&p.encode()), p);
        }
    }
}
