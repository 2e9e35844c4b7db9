//! RocketMQ 5's topic attributes (`TopicConfig.attributes`): what
//! `mqadmin updateTopic -a +message.type=FIFO,-reserve.time` asks for, how
//! it changes a topic's current attributes, and the message type a topic
//! accepts. Java's `AttributeParser`, `AttributeUtil` and `TopicAttributes`
//! are the reference for the rules and texts.

use std::collections::BTreeMap;

/// The attribute holding a topic's message type.
pub const MESSAGE_TYPE: &str = "message.type";

/// A modification that cannot be applied; the text is Java's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AttributeError(pub String);

fn fail(text: impl Into<String>) -> AttributeError {
    AttributeError(text.into())
}

/// What a topic holds: `message.type` (Java's `TopicMessageType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicMessageType {
    Unspecified,
    Normal,
    Fifo,
    Delay,
    Transaction,
    Mixed,
}

impl TopicMessageType {
    pub const ALL: [TopicMessageType; 6] = [
        TopicMessageType::Unspecified,
        TopicMessageType::Normal,
        TopicMessageType::Fifo,
        TopicMessageType::Delay,
        TopicMessageType::Transaction,
        TopicMessageType::Mixed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TopicMessageType::Unspecified => "UNSPECIFIED",
            TopicMessageType::Normal => "NORMAL",
            TopicMessageType::Fifo => "FIFO",
            TopicMessageType::Delay => "DELAY",
            TopicMessageType::Transaction => "TRANSACTION",
            TopicMessageType::Mixed => "MIXED",
        }
    }

    /// Exact names only, as Java's `valueOf`.
    pub fn parse(text: &str) -> Option<TopicMessageType> {
        TopicMessageType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// A topic's type by its attributes: NORMAL without the attribute (or
    /// with a value rmq does not know), as Java's `TopicConfig` reads it.
    pub fn of_topic(attributes: &BTreeMap<String, String>) -> TopicMessageType {
        attributes.get(MESSAGE_TYPE).and_then(|v| TopicMessageType::parse(v)).unwrap_or(TopicMessageType::Normal)
    }

    /// Whether a topic of this type takes a message of type `message`
    /// (Java's `DefaultTopicMessageTypeValidator`).
    pub fn accepts(self, message: TopicMessageType) -> bool {
        message != TopicMessageType::Unspecified && (self == message || self == TopicMessageType::Mixed)
    }
}

/// What values an attribute takes.
enum Values {
    OneOf(&'static [&'static str]),
    Range(i64, i64),
}

/// The attributes a topic may carry (Java's `TopicAttributes.ALL`): name,
/// whether it may change after creation, its values.
const KNOWN: [(&str, bool, Values); 4] = [
    ("queue.type", false, Values::OneOf(&["BatchCQ", "SimpleCQ"])),
    ("cleanup.policy", false, Values::OneOf(&["DELETE", "COMPACTION"])),
    (MESSAGE_TYPE, true, Values::OneOf(&["UNSPECIFIED", "NORMAL", "FIFO", "DELAY", "TRANSACTION", "MIXED"])),
    ("reserve.time", true, Values::Range(-1, i64::MAX)),
];

/// Parses `+key=value,+key2=value2,-key3` into its entries, signs kept.
pub fn parse_modification(text: &str) -> Result<BTreeMap<String, String>, AttributeError> {
    let mut out = BTreeMap::new();
    if text.is_empty() {
        return Ok(out);
    }
    for kv in text.split(',') {
        let (key, value) = match kv.split_once('=') {
            Some((key, value)) => {
                if !key.contains('+') {
                    return Err(fail(format!("add/alter attribute format is wrong: {key}")));
                }
                // Java keeps what lies between the first and a second '='.
                (key, value.split('=').next().unwrap_or_default())
            }
            None => {
                if !kv.contains('-') {
                    return Err(fail(format!("delete attribute format is wrong: {kv}")));
                }
                (kv, "")
            }
        };
        if out.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(fail(format!("key duplication: {key}")));
        }
    }
    Ok(out)
}

fn verify(key: &str, value: &str, values: &Values) -> Result<(), AttributeError> {
    match values {
        Values::OneOf(allowed) if !allowed.contains(&value) => {
            Err(fail(format!("value is not in set: {allowed:?}, key: {key}, value: {value}")))
        }
        Values::Range(min, max) => match value.parse::<i64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(()),
            _ => Err(fail(format!("value is not in range({min}, {max}), key: {key}, value: {value}"))),
        },
        _ => Ok(()),
    }
}

/// The attributes a topic has after `modification` (from
/// [`parse_modification`]); `create` when the topic does not exist yet, in
/// which case only additions are allowed.
pub fn alter(
    create: bool,
    current: &BTreeMap<String, String>,
    modification: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AttributeError> {
    let mut result = current.clone();
    let mut deletes = Vec::new();
    for (signed, value) in modification {
        let (sign, key) = signed.split_at(signed.chars().next().map_or(0, char::len_utf8));
        if key.is_empty() || key.contains('+') || key.contains('-') {
            return Err(fail("kv string format wrong."));
        }
        let adding = match sign {
            "+" => true,
            "-" if !create => false,
            _ if create => {
                return Err(fail(format!("only add attribute is supported while creating topic. key: {key}")));
            }
            _ => return Err(fail(format!("wrong format key: {key}"))),
        };
        if !adding && !current.contains_key(key) {
            return Err(fail(format!("attempt to delete a nonexistent key: {key}")));
        }
        let Some((_, changeable, values)) = KNOWN.iter().find(|(name, _, _)| *name == key) else {
            return Err(fail(format!("unsupported key: {key}")));
        };
        if !create && !changeable {
            return Err(fail(format!("attempt to update an unchangeable attribute. key: {key}")));
        }
        if adding {
            verify(key, value, values)?;
            result.insert(key.to_owned(), value.clone());
        } else {
            deletes.push(key);
        }
    }
    for key in deletes {
        result.remove(key);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn parses_javas_format_and_refuses_the_rest() {
        let m = parse_modification("+message.type=FIFO,-reserve.time").unwrap();
        assert_eq!(m, map(&[("+message.type", "FIFO"), ("-reserve.time", "")]));
        assert_eq!(parse_modification("").unwrap(), BTreeMap::new());
        assert!(parse_modification("message.type=FIFO").is_err(), "no sign");
        assert!(parse_modification("reserve.time").is_err(), "a delete without '-'");
        assert!(parse_modification("+a=1,+a=2").is_err(), "duplicate");
    }

    #[test]
    fn creation_then_changes() {
        let none = BTreeMap::new();
        let fifo = alter(true, &none, &parse_modification("+message.type=FIFO").unwrap()).unwrap();
        assert_eq!(fifo, map(&[("message.type", "FIFO")]));
        let bad = |create, current: &BTreeMap<String, String>, text: &str| {
            alter(create, current, &parse_modification(text).unwrap()).unwrap_err().0
        };
        assert_eq!(
            bad(true, &none, "-message.type"),
            "only add attribute is supported while creating topic. key: message.type"
        );
        assert_eq!(bad(true, &none, "+color=red"), "unsupported key: color");
        assert!(bad(true, &none, "+message.type=ORDERLY").starts_with("value is not in set"));
        assert_eq!(bad(false, &fifo, "-reserve.time"), "attempt to delete a nonexistent key: reserve.time");
        assert_eq!(
            bad(false, &fifo, "+queue.type=BatchCQ"),
            "attempt to update an unchangeable attribute. key: queue.type"
        );
        let mixed = alter(false, &fifo, &parse_modification("+message.type=MIXED").unwrap()).unwrap();
        assert_eq!(TopicMessageType::of_topic(&mixed), TopicMessageType::Mixed);
        let gone = alter(false, &mixed, &parse_modification("-message.type").unwrap()).unwrap();
        assert_eq!(TopicMessageType::of_topic(&gone), TopicMessageType::Normal, "no attribute: NORMAL");
    }

    #[test]
    fn which_topic_takes_which_message() {
        use TopicMessageType::*;
        assert!(Normal.accepts(Normal) && Fifo.accepts(Fifo) && Mixed.accepts(Transaction));
        assert!(!Normal.accepts(Fifo) && !Fifo.accepts(Normal) && !Unspecified.accepts(Normal));
        assert!(!Mixed.accepts(Unspecified));
    }
}
