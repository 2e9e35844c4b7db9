//! Remarks Java's servers put into responses, which clients and tools match
//! on or show to users as they are.

/// Appended to "topic not exist", "group not exist" and "no route" answers
/// (Java's `FAQUrl.suggestTodo`).
pub const FAQ_SUFFIX: &str = "\nSee http://rocketmq.apache.org/docs/faq/ for further details.";

/// The remark of SYSTEM_BUSY when a request queue is full; Java's clients
/// back off when they see `[OVERLOAD]`.
pub const OVERLOAD: &str = "[OVERLOAD]system busy, start flow control for a while";
