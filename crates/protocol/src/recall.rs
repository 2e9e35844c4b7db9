//! The recall handle of a timer message (RocketMQ 5.3's
//! `RecallMessageHandle.HandleV1`): the broker answers a timer message's
//! send with it, and RECALL_MESSAGE hands it back to cancel the message
//! before it is due.
//!
//! A handle is URL-safe base64 (padded, as Java's `Base64.getUrlEncoder`)
//! of five space-separated fields: `v1 <topic> <brokerName> <timestamp>
//! <messageId>`. The timestamp is the message's `TIMER_OUT_MS` plus one (it
//! rounds down to the same timer tick again); the message id is its
//! `UNIQ_KEY`. Clients treat the handle as opaque, so the fields are only
//! ever read by brokers and proxies.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const VERSION_1: &str = "v1";

/// Java's URL decoder: padding optional, stray trailing bits ignored.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why a handle could not be read. Its text is the remark Java gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("recall handle is invalid")]
pub struct InvalidHandle;

/// A decoded version-1 handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecallHandle {
    pub topic: String,
    pub broker_name: String,
    /// Milliseconds, kept as text: Java checks it only when recalling, and a
    /// handle with a bad number is refused there as a time passed.
    pub timestamp: String,
    /// The message's `UNIQ_KEY`.
    pub message_id: String,
}

impl RecallHandle {
    /// The handle for a timer message parked with `TIMER_OUT_MS` `out_ms`.
    pub fn for_timer(topic: &str, broker_name: &str, out_ms: i64, message_id: &str) -> RecallHandle {
        RecallHandle {
            topic: topic.to_owned(),
            broker_name: broker_name.to_owned(),
            timestamp: out_ms.saturating_add(1).to_string(),
            message_id: message_id.to_owned(),
        }
    }

    /// The handle as clients carry it.
    pub fn encode(&self) -> String {
        let raw = [VERSION_1, &self.topic, &self.broker_name, &self.timestamp, &self.message_id].join(" ");
        base64::engine::general_purpose::URL_SAFE.encode(raw)
    }

    /// Reads a handle as Java does: fields past the fifth are ignored.
    pub fn decode(handle: &str) -> Result<RecallHandle, InvalidHandle> {
        if handle.is_empty() {
            return Err(InvalidHandle);
        }
        let raw = LENIENT_URL_SAFE.decode(handle).map_err(|_| InvalidHandle)?;
        let raw = String::from_utf8_lossy(&raw);
        // Java's `split(" ")`: empty fields inside count, trailing ones do not.
        let mut items: Vec<&str> = raw.split(' ').collect();
        while items.last() == Some(&"") {
            items.pop();
        }
        match items.as_slice() {
            [VERSION_1, topic, broker_name, timestamp, message_id, ..] => Ok(RecallHandle {
                topic: (*topic).to_owned(),
                broker_name: (*broker_name).to_owned(),
                timestamp: (*timestamp).to_owned(),
                message_id: (*message_id).to_owned(),
            }),
            _ => Err(InvalidHandle),
        }
    }

    /// The timestamp as a number; `None` for one Java would read as -1.
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.timestamp.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_java_does() {
        // Java 5.3: HandleV1.buildHandle("TopicA", "broker-a", "1700000005001", "7F00...")
        // is the URL-safe base64 of "v1 TopicA broker-a 1700000005001 7F0000010001".
        let h = RecallHandle::for_timer("TopicA", "broker-a", 1_700_000_005_000, "7F0000010001");
        let encoded = h.encode();
        assert_eq!(encoded, "djEgVG9waWNBIGJyb2tlci1hIDE3MDAwMDAwMDUwMDEgN0YwMDAwMDEwMDAx");
        assert_eq!(RecallHandle::decode(&encoded), Ok(h));
    }

    #[test]
    fn padding_is_written_and_optional_when_read() {
        let h = RecallHandle::for_timer("T", "b", 9, "id1");
        let encoded = h.encode();
        assert!(encoded.ends_with('='), "{encoded}");
        assert_eq!(RecallHandle::decode(encoded.trim_end_matches('=')), Ok(h));
    }

    #[test]
    fn garbage_is_invalid() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE.encode(s);
        for bad in [
            String::new(),
            "not base64 at all!".to_owned(),
            "+/+/".to_owned(),
            b64("v2 T b 1 id"),
            b64("v1 T b 1"),
            b64("v1 T b 1 "),
            b64(""),
        ] {
            assert_eq!(RecallHandle::decode(&bad), Err(InvalidHandle), "{bad:?}");
        }
        assert_eq!(InvalidHandle.to_string(), "recall handle is invalid");
    }

    #[test]
    fn extra_fields_are_ignored_and_the_timestamp_is_checked_later() {
        let h = RecallHandle::decode(&base64::engine::general_purpose::URL_SAFE.encode("v1 T b soon id more")).unwrap();
        assert_eq!((h.topic.as_str(), h.broker_name.as_str(), h.message_id.as_str()), ("T", "b", "id"));
        assert_eq!(h.timestamp_ms(), None);
    }
}
