//! The receipt handle a 5.x client holds: the broker's `POP_CK` (eight
//! fields) and, as Java's proxy appends it, the message's CommitLog offset,
//! which a forward to the dead-letter queue needs.

use rmq_protocol::receipt::ReceiptHandle;
use std::fmt;

use crate::pb::Code;
use crate::status::Refusal;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientHandle {
    pub handle: ReceiptHandle,
    /// -1 when a client hands back a handle without it.
    pub commit_log_offset: i64,
}

impl ClientHandle {
    pub fn parse(text: &str) -> Result<ClientHandle, Refusal> {
        let bad = || Refusal::new(Code::InvalidReceiptHandle, format!("receipt handle '{text}' is not valid"));
        let fields = text.split(' ').count();
        let (pop_ck, commit_log_offset) = match fields {
            9 => {
                let (head, tail) = text.rsplit_once(' ').ok_or_else(bad)?;
                (head, tail.parse().map_err(|_| bad())?)
            }
            8 => (text, -1),
            _ => return Err(bad()),
        };
        let handle = ReceiptHandle::parse(pop_ck).map_err(|_| bad())?;
        if handle.offset.is_none() {
            return Err(bad());
        }
        Ok(ClientHandle { handle, commit_log_offset })
    }

    /// When the message becomes visible again, ms since the epoch.
    pub fn next_visible(&self) -> i64 {
        self.handle.pop_time + self.handle.invisible_time
    }

    /// The message's queue offset (always present in a parsed handle).
    pub fn offset(&self) -> i64 {
        self.handle.offset.unwrap_or(-1)
    }
}

impl fmt::Display for ClientHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.handle, self.commit_log_offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_junk() {
        let text = "123 1700000000000 60000 0 0 broker-a 3 456 789012";
        let h = ClientHandle::parse(text).unwrap();
        assert_eq!((h.handle.broker_name.as_str(), h.offset(), h.commit_log_offset), ("broker-a", 456, 789012));
        assert_eq!(h.to_string(), text);
        assert_eq!(h.next_visible(), 1_700_000_060_000);
        assert_eq!(ClientHandle::parse("123 1700000000000 60000 0 0 broker-a 3 456").unwrap().commit_log_offset, -1);
        for junk in ["", "x", "1 2 3 4 5 b 6 7 x", "1 2 3 4 5 b 6"] {
            assert!(ClientHandle::parse(junk).is_err(), "{junk}");
        }
    }
}
