//! rmq's NameServer and broker in this process: see `rmq_testkit`.

pub use rmq_testkit::broker::*;
pub use rmq_testkit::ports::free_broker_port;
