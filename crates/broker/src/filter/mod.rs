//! Message filters the broker applies on pulls: tag codes, and, with
//! `enablePropertyFilter`, SQL92 expressions over message properties.
//!
//! A tag filter works on the consume-queue entry's tag hash alone; an SQL92
//! filter reads the stored record's properties ([`sql`] parses, [`eval`]
//! evaluates). Expressions are refused when a consumer subscribes
//! (CHECK_CLIENT_CONFIG, SUBSCRIPTION_PARSE_FAILED) and when it pulls, never
//! silently at delivery.

pub(crate) mod eval;
pub(crate) mod sql;

use rmq_model::record;
use rmq_protocol::body::heartbeat::{EXPRESSION_SQL92, SubscriptionData};
use rmq_protocol::{RemotingCommand, ResponseCode};
use rmq_store::MessageFilter;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::handlers::reply;

/// The filter of one pull: tag codes, or a compiled SQL92 expression.
#[derive(Clone, Debug)]
pub(crate) enum PullFilter {
    Tags(TagFilter),
    Sql(Arc<SqlFilter>),
}

impl MessageFilter for PullFilter {
    fn matches_tags_code(&self, tags_code: i64) -> bool {
        match self {
            PullFilter::Tags(f) => f.matches_tags_code(tags_code),
            PullFilter::Sql(f) => f.matches_tags_code(tags_code),
        }
    }

    fn matches_record(&self, stored: &[u8]) -> bool {
        match self {
            PullFilter::Tags(f) => f.matches_record(stored),
            PullFilter::Sql(f) => f.matches_record(stored),
        }
    }
}

/// SQL92 expressions compiled once per subscription (topic, expression,
/// version), not on every pull: a consumer pulls thousands of times with one
/// subscription. Bounded: past [`CompiledFilters::LIMIT`] entries the cache
/// starts afresh, so clients cannot grow it without end.
#[derive(Debug, Default)]
pub(crate) struct CompiledFilters {
    compiled: Mutex<HashMap<(String, String, i64), Arc<SqlFilter>>>,
}

impl CompiledFilters {
    const LIMIT: usize = 4096;

    fn sql(&self, sub: &SubscriptionData) -> Result<Arc<SqlFilter>, String> {
        let key = (sub.topic.clone(), sub.sub_string.clone(), sub.sub_version);
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(filter) = compiled.get(&key) {
            return Ok(filter.clone());
        }
        let filter = Arc::new(SqlFilter::compile(sub)?);
        if compiled.len() >= Self::LIMIT {
            compiled.clear();
        }
        compiled.insert(key, filter.clone());
        Ok(filter)
    }

    /// The filter a pull with `sub` uses, or the refusal Java answers: 23
    /// when the expression does not parse, 1 when property filtering
    /// (`enablePropertyFilter`) is off.
    pub(crate) fn for_subscription(
        &self,
        property_filter_enabled: bool,
        sub: &SubscriptionData,
    ) -> Result<PullFilter, RemotingCommand> {
        if sub.is_tag_type() {
            return Ok(PullFilter::Tags(TagFilter::new(sub)));
        }
        let filter = self.sql(sub).map_err(|e| {
            tracing::warn!("parse the consumer's subscription[{}] of topic {} failed: {e}", sub.sub_string, sub.topic);
            reply(ResponseCode::SubscriptionParseFailed, format!("parse the consumer's subscription failed: {e}"))
        })?;
        if !property_filter_enabled {
            return Err(not_enabled(sub));
        }
        Ok(PullFilter::Sql(filter))
    }
}

/// CHECK_CLIENT_CONFIG's verdict on a subscription: `None` if it is fine.
/// In Java's order: tags always pass; other types need
/// `enablePropertyFilter` (else 1), then an expression that parses (else 23
/// with the parser's message).
pub(crate) fn check_subscription(property_filter_enabled: bool, sub: &SubscriptionData) -> Option<RemotingCommand> {
    if sub.is_tag_type() {
        return None;
    }
    if !property_filter_enabled {
        return Some(not_enabled(sub));
    }
    match SqlFilter::compile(sub) {
        Ok(_) => None,
        Err(e) => {
            tracing::warn!("a client subscribes to {} with a bad expression {:?}: {e}", sub.topic, sub.sub_string);
            Some(reply(ResponseCode::SubscriptionParseFailed, e))
        }
    }
}

fn not_enabled(sub: &SubscriptionData) -> RemotingCommand {
    reply(
        ResponseCode::SystemError,
        format!("The broker does not support consumer to filter message by {}", sub.expression_type),
    )
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

/// Accepts messages for which an SQL92 expression over their properties
/// (TAGS and KEYS included) is TRUE.
#[derive(Clone, Debug)]
pub struct SqlFilter {
    expr: sql::Expr,
}

impl SqlFilter {
    /// Parses the subscription's expression; only the `SQL92` type exists.
    pub fn compile(sub: &SubscriptionData) -> Result<SqlFilter, String> {
        if sub.expression_type != EXPRESSION_SQL92 {
            return Err(format!("Unsupported filter expression type: {}", sub.expression_type));
        }
        sql::parse(&sub.sub_string).map(|expr| SqlFilter { expr }).map_err(|e| e.to_string())
    }
}

impl MessageFilter for SqlFilter {
    fn matches_tags_code(&self, _tags_code: i64) -> bool {
        true
    }

    fn matches_record(&self, stored: &[u8]) -> bool {
        let Ok(view) = record::decode_message(stored, false) else {
            return false;
        };
        eval::matches(&self.expr, &|name| view.property(name).map(|v| String::from_utf8_lossy(v).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_model::record::{NewMessage, Placement};

    #[test]
    fn sql_filters_are_compiled_once_per_subscription_version() {
        let cache = CompiledFilters::default();
        let first = cache.for_subscription(true, &sql("a > 1")).unwrap();
        let again = cache.for_subscription(true, &sql("a > 1")).unwrap();
        let (PullFilter::Sql(first), PullFilter::Sql(again)) = (first, again) else { panic!("SQL filters") };
        assert!(Arc::ptr_eq(&first, &again));
        let mut newer = sql("a > 1");
        newer.sub_version = 2;
        let PullFilter::Sql(newer) = cache.for_subscription(true, &newer).unwrap() else { panic!() };
        assert!(!Arc::ptr_eq(&first, &newer));
        assert!(cache.for_subscription(false, &sql("a > 1")).is_err());
        assert!(cache.for_subscription(true, &sql("a >")).is_err());
    }

    #[test]
    fn tag_codes() {
        let f = TagFilter::new(&SubscriptionData::tags("T", "TagA||TagB", 1));
        assert!(f.matches_tags_code(2598919));
        assert!(!f.matches_tags_code(0));
        assert!(TagFilter::new(&SubscriptionData::tags("T", "*", 1)).matches_tags_code(42));
    }

    fn sql(expression: &str) -> SubscriptionData {
        SubscriptionData {
            topic: "T".into(),
            sub_string: expression.into(),
            expression_type: EXPRESSION_SQL92.into(),
            ..SubscriptionData::default()
        }
    }

    #[test]
    fn sql_filters_read_the_stored_properties() {
        let host = "127.0.0.1:10911".parse().unwrap();
        let msg = NewMessage {
            topic: "T",
            queue_id: 0,
            flag: 0,
            body: b"b",
            properties: b"TAGS\x01TagA\x02a\x012\x02",
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        };
        let at = Placement { queue_offset: 0, physical_offset: 0, store_timestamp: 0, store_host: host };
        let stored = record::encode(&msg, &at).unwrap();
        let yes = SqlFilter::compile(&sql("TAGS = 'TagA' AND a BETWEEN 1 AND 3")).unwrap();
        let no = SqlFilter::compile(&sql("a > 2 OR b IS NOT NULL")).unwrap();
        assert!(yes.matches_record(&stored));
        assert!(!no.matches_record(&stored));
        assert!(!yes.matches_record(b"garbage"));
        assert!(SqlFilter::compile(&sql("a >")).is_err());
        let mut other = sql("a = 1");
        other.expression_type = "CLASS".into();
        assert!(SqlFilter::compile(&other).is_err());
    }
}
