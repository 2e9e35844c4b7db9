use rmq_model::record::NewMessage;
use rmq_protocol::header::{
    QueryConsumerOffsetRequestHeader, SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::handlers::fixture::{Fixture, ext};
use crate::message_log::MessageLog;

fn query(group: &str, set_zero: Option<bool>) -> RemotingCommand {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: "Ledger".into(),
        queue_id: 0,
        set_zero_if_not_found: set_zero,
    };
    RemotingCommand::request(RequestCode::QueryConsumerOffset, &header)
}

fn put_one(f: &Fixture) {
    let msg = NewMessage {
        topic: "Ledger",
        queue_id: 0,
        flag: 0,
        body: b"entry",
        properties: b"",
        sys_flag: 0,
        born_timestamp: 1,
        born_host: "10.0.0.9:50000".parse().unwrap(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
    };
    f.log.put(&msg).unwrap();
}

#[test]
fn a_new_group_starts_at_zero_while_the_queue_is_young_and_a_commit_is_read_back() {
    let f = Fixture::new();
    let offsets = f.offset_queries();
    let r = offsets.query_consumer_offset(&query("New", None));
    assert_eq!((r.response_code(), ext::<i64>(&r, "offset")), (ResponseCode::Success, 0));
    let r = offsets.query_consumer_offset(&query("New", Some(false)));
    assert_eq!(r.response_code(), ResponseCode::QueryNotFound, "a 5.x client asked not to be given 0");

    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: "Kept".into(),
        topic: "Ledger".into(),
        queue_id: 0,
        commit_offset: 7,
    };
    let r = offsets.update_consumer_offset(&RemotingCommand::request(RequestCode::UpdateConsumerOffset, &header));
    assert_eq!(r.response_code(), ResponseCode::Success);
    let r = offsets.query_consumer_offset(&query("Kept", Some(false)));
    assert_eq!(ext::<i64>(&r, "offset"), 7);
}

#[test]
fn queue_bounds_and_search_by_time() {
    let f = Fixture::new();
    put_one(&f);
    put_one(&f);
    let offsets = f.offset_queries();
    let bounds = rmq_protocol::header::QueueRequestHeader { topic: "Ledger".into(), queue_id: 0, committed: None };
    let r = offsets.max_offset(&RemotingCommand::request(RequestCode::GetMaxOffset, &bounds));
    assert_eq!(ext::<i64>(&r, "offset"), 2);
    let r = offsets.min_offset(&RemotingCommand::request(RequestCode::GetMinOffset, &bounds));
    assert_eq!(ext::<i64>(&r, "offset"), 0);
    let first = f.log.earliest_message_time_in_queue("Ledger", 0).unwrap();
    let search =
        SearchOffsetRequestHeader { topic: "Ledger".into(), queue_id: 0, timestamp: first + 1, boundary_type: None };
    let r = offsets.search_offset(&RemotingCommand::request(RequestCode::SearchOffsetByTimestamp, &search));
    assert_eq!(ext::<i64>(&r, "offset"), 1);
    let r = offsets.max_offset(&RemotingCommand::bare_request(RequestCode::GetMaxOffset));
    assert_eq!(r.response_code(), ResponseCode::SystemError, "a missing header field is named");
}
