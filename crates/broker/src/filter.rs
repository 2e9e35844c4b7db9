//! Message filters the broker applies on pulls: tag codes (and, with
//! `enablePropertyFilter`, SQL92 expressions).

use rmq_protocol::body::heartbeat::SubscriptionData;
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_store::MessageFilter;

use crate::broker::Broker;
use crate::handlers::reply;

/// The filter a pull with `sub` uses, or the refusal Java answers when the
/// subscription's expression type is not served.
pub(crate) fn for_subscription(
    _broker: &Broker,
    sub: &SubscriptionData,
) -> Result<Box<dyn MessageFilter + Send + Sync>, RemotingCommand> {
    if sub.is_tag_type() {
        return Ok(Box::new(TagFilter::new(sub)));
    }
    Err(reply(
        ResponseCode::SystemError,
        format!("The broker does not support consumer to filter message by {}", sub.expression_type),
    ))
}

/// CHECK_CLIENT_CONFIG's verdict on a subscription: `None` if it is fine.
pub(crate) fn check_subscription(_broker: &Broker, sub: &SubscriptionData) -> Option<RemotingCommand> {
    if sub.is_tag_type() {
        return None;
    }
    Some(reply(
        ResponseCode::SystemError,
        format!("The broker does not support consumer to filter message by {}", sub.expression_type),
    ))
}

/// Accepts messages whose consume-queue tag code is one of the subscription's
/// codes, or every message for `*`. Clients re-check the tag string itself,
/// since different tags can share a hash code.
#[derive(Clone, Debug)]
pub struct TagFilter {
    all: bool,
    codes: Vec<i64>,
}

impl TagFilter {
    pub fn new(sub: &SubscriptionData) -> TagFilter {
        TagFilter { all: sub.is_all(), codes: sub.code_set.iter().map(|c| i64::from(*c)).collect() }
    }
}

impl MessageFilter for TagFilter {
    fn matches_tags_code(&self, tags_code: i64) -> bool {
        self.all || self.codes.contains(&tags_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_codes() {
        let f = TagFilter::new(&SubscriptionData::tags("T", "TagA||TagB", 1));
        assert!(f.matches_tags_code(2598919));
        assert!(!f.matches_tags_code(0));
        assert!(TagFilter::new(&SubscriptionData::tags("T", "*", 1)).matches_tags_code(42));
    }
}
