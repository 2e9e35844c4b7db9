//! The receipt handle of a popped message (Java's `POP_CK` property, built
//! by `ExtraInfoUtil`) and the per-queue offset lists a POP response
//! carries, from which clients build it.
//!
//! A handle is eight space-separated fields:
//! `<ckStartOffset> <popTime> <invisibleTime> <reviveQid> <retryFlag>
//! <brokerName> <queueId> <queueOffset>`. The retry flag says in which topic
//! the message really lies: `0` the topic itself, `1` the group's POP retry
//! topic `%RETRY%<group>_<topic>`, `2` the 5.x form `%RETRY%<group>+<topic>`.

use rmq_model::topic::RETRY_GROUP_TOPIC_PREFIX;
use std::fmt::Write;

/// The revive queue id that marks a FIFO (orderly) pop: no checkpoint.
pub const ORDER_REVIVE_QUEUE: i32 = 999;

/// Where a popped message lies relative to the topic it was popped for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryFlag {
    Normal,
    /// `%RETRY%<group>_<topic>`.
    RetryV1,
    /// `%RETRY%<group>+<topic>`.
    RetryV2,
}

impl RetryFlag {
    /// The flag of a topic name as it is stored.
    pub fn of(topic: &str) -> RetryFlag {
        match topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
            Some(rest) if rest.contains('+') => RetryFlag::RetryV2,
            Some(_) => RetryFlag::RetryV1,
            None => RetryFlag::Normal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RetryFlag::Normal => "0",
            RetryFlag::RetryV1 => "1",
            RetryFlag::RetryV2 => "2",
        }
    }

    pub fn parse(s: &str) -> Option<RetryFlag> {
        match s {
            "0" => Some(RetryFlag::Normal),
            "1" => Some(RetryFlag::RetryV1),
            "2" => Some(RetryFlag::RetryV2),
            _ => None,
        }
    }

    /// The topic the message really lies in, for a pop of `topic` by `group`.
    pub fn real_topic(self, topic: &str, group: &str) -> String {
        match self {
            RetryFlag::Normal => topic.to_owned(),
            RetryFlag::RetryV1 => pop_retry_topic(topic, group),
            RetryFlag::RetryV2 => format!("{RETRY_GROUP_TOPIC_PREFIX}{group}+{topic}"),
        }
    }
}

/// The topic where a POP group's unacked messages of `topic` come back
/// (Java's `KeyBuilder.buildPopRetryTopicV1`).
pub fn pop_retry_topic(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{topic}")
}

/// The topic a POP retry topic stands for: `%RETRY%<group>_<topic>` and
/// `%RETRY%<group>+<topic>` give `<topic>`; anything else is itself.
pub fn original_topic<'a>(topic: &'a str, group: &str) -> &'a str {
    topic
        .strip_prefix(RETRY_GROUP_TOPIC_PREFIX)
        .and_then(|rest| rest.strip_prefix(group))
        .and_then(|rest| rest.strip_prefix('_').or_else(|| rest.strip_prefix('+')))
        .unwrap_or(topic)
}

/// A parsed `POP_CK`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// First offset the checkpoint of this pop covers.
    pub ck_offset: i64,
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    pub retry: RetryFlag,
    pub broker_name: String,
    pub queue_id: i32,
    /// The message's own queue offset; old handles have seven fields and leave it out.
    pub offset: Option<i64>,
}

/// A `POP_CK` that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("illegal receipt handle '{0}'")]
pub struct IllegalReceipt(pub String);

impl ReceiptHandle {
    pub fn parse(s: &str) -> Result<ReceiptHandle, IllegalReceipt> {
        let bad = || IllegalReceipt(s.to_owned());
        let f: Vec<&str> = s.split(' ').collect();
        if f.len() != 7 && f.len() != 8 {
            return Err(bad());
        }
        let int = |i: usize| f[i].parse::<i64>().map_err(|_| bad());
        Ok(ReceiptHandle {
            ck_offset: int(0)?,
            pop_time: int(1)?,
            invisible_time: int(2)?,
            revive_qid: f[3].parse().map_err(|_| bad())?,
            retry: RetryFlag::parse(f[4]).ok_or_else(bad)?,
            broker_name: f[5].to_owned(),
            queue_id: f[6].parse().map_err(|_| bad())?,
            offset: f.get(7).map(|o| o.parse()).transpose().map_err(|_| bad())?,
        })
    }

    /// Whether the pop was a FIFO pop (no checkpoint behind it).
    pub fn is_order(&self) -> bool {
        self.revive_qid == ORDER_REVIVE_QUEUE
    }
}

impl std::fmt::Display for ReceiptHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {} {}",
            self.ck_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            self.retry.as_str(),
            self.broker_name,
            self.queue_id
        )?;
        if let Some(offset) = self.offset {
            write!(f, " {offset}")?;
        }
        Ok(())
    }
}

/// The receipt handles of one POP answer's messages, as a client builds
/// them: the `POP_CK` the broker wrote into a message when it did, else one
/// made from the answer's `popTime`, `invisibleTime`, `reviveQid` and the
/// start offset of the message's queue (`startOffsetInfo`).
#[derive(Clone, Debug)]
pub struct PopHandles {
    pop_time: i64,
    invisible_time: i64,
    revive_qid: i32,
    broker_name: String,
    /// `(retry flag, queue id)` → first offset the checkpoint covers.
    starts: std::collections::HashMap<(String, i32), i64>,
}

impl PopHandles {
    pub fn new(header: &crate::header::PopMessageResponseHeader, broker_name: &str) -> PopHandles {
        let starts = header
            .start_offset_info
            .as_deref()
            .unwrap_or("")
            .split(';')
            .filter_map(|part| {
                let mut f = part.split(' ');
                let flag = f.next()?.to_owned();
                let queue = f.next()?.parse().ok()?;
                let start = f.next()?.parse().ok()?;
                Some(((flag, queue), start))
            })
            .collect();
        PopHandles {
            pop_time: header.pop_time,
            invisible_time: header.invisible_time,
            revive_qid: header.revive_qid,
            broker_name: broker_name.to_owned(),
            starts,
        }
    }

    /// The handle of the message at `queue_offset` of `topic`'s queue
    /// `queue_id`, carrying `pop_ck` (its `POP_CK` property) if any.
    pub fn handle(&self, pop_ck: Option<&str>, topic: &str, queue_id: i32, queue_offset: i64) -> ReceiptHandle {
        if let Some(mut handle) = pop_ck.and_then(|ck| ReceiptHandle::parse(ck).ok()) {
            handle.offset.get_or_insert(queue_offset);
            return handle;
        }
        let retry = RetryFlag::of(topic);
        ReceiptHandle {
            ck_offset: self.starts.get(&(retry.as_str().to_owned(), queue_id)).copied().unwrap_or(queue_offset),
            pop_time: self.pop_time,
            invisible_time: self.invisible_time,
            revive_qid: self.revive_qid,
            retry,
            broker_name: self.broker_name.clone(),
            queue_id,
            offset: Some(queue_offset),
        }
    }
}

/// The per-queue lists of a POP response (`startOffsetInfo`,
/// `msgOffsetInfo`, `orderCountInfo`), appended queue by queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PopOffsetInfo {
    pub start_offsets: String,
    pub msg_offsets: String,
    pub order_counts: String,
}

impl PopOffsetInfo {
    /// Adds one queue the pop took messages from.
    pub fn add_queue(&mut self, topic: &str, queue_id: i32, start: i64, offsets: &[i64]) {
        let flag = RetryFlag::of(topic).as_str();
        separate(&mut self.start_offsets);
        let _ = write!(self.start_offsets, "{flag} {queue_id} {start}");
        separate(&mut self.msg_offsets);
        let _ = write!(self.msg_offsets, "{flag} {queue_id} ");
        for (i, o) in offsets.iter().enumerate() {
            if i > 0 {
                self.msg_offsets.push(',');
            }
            let _ = write!(self.msg_offsets, "{o}");
        }
    }

    /// FIFO: how often the message at `offset` was delivered before
    /// (Java's `buildQueueOffsetOrderCountInfo`, key `<flag> qo<queue>%<offset>`).
    pub fn add_order_count(&mut self, topic: &str, queue_id: i32, offset: i64, count: u32) {
        separate(&mut self.order_counts);
        let _ = write!(self.order_counts, "{} qo{queue_id}%{offset} {count}", RetryFlag::of(topic).as_str());
    }
}

fn separate(s: &mut String) {
    if !s.is_empty() {
        s.push(';');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_refuse_garbage() {
        let s = "12 1700000000000 30000 3 1 broker-a 0 14";
        let h = ReceiptHandle::parse(s).unwrap();
        assert_eq!(h.retry, RetryFlag::RetryV1);
        assert_eq!((h.ck_offset, h.offset, h.queue_id), (12, Some(14), 0));
        assert_eq!(h.to_string(), s);
        assert_eq!(h.retry.real_topic("T", "G"), "%RETRY%G_T");
        let seven = ReceiptHandle::parse("12 1 2 3 0 b 4").unwrap();
        assert_eq!(seven.offset, None);
        for bad in ["", "1 2 3", "x 1 2 3 0 b 4 5", "1 2 3 4 9 b 4 5", "1 2 3 4 0 b 4 5 6", "1 2 3 4 0 b 4 z"] {
            assert!(ReceiptHandle::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offset_info_is_java_shaped() {
        let mut info = PopOffsetInfo::default();
        info.add_queue("T", 1, 10, &[10, 12]);
        info.add_queue("%RETRY%G_T", 0, 3, &[3]);
        assert_eq!(info.start_offsets, "0 1 10;1 0 3");
        assert_eq!(info.msg_offsets, "0 1 10,12;1 0 3");
        info.add_order_count("T", 1, 10, 2);
        assert_eq!(info.order_counts, "0 qo1%10 2");
        assert_eq!(original_topic("%RETRY%G_T", "G"), "T");
        assert_eq!(original_topic("%RETRY%G+T", "G"), "T");
        assert_eq!(original_topic("T", "G"), "T");
    }
}
