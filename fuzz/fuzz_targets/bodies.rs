//! Request and response bodies, read in fastjson's dialect: the first byte
//! picks the body type, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_model::fastjson;
use rmq_protocol::body::admin::*;
use rmq_protocol::body::assignment::*;
use rmq_protocol::body::cluster::ClusterInfo;
use rmq_protocol::body::heartbeat::*;
use rmq_protocol::body::kv::KvTable;
use rmq_protocol::body::lock::*;
use rmq_protocol::body::pop::*;
use rmq_protocol::body::register::{RegisterBrokerBody, decode_data_version};
use rmq_protocol::body::route::TopicRouteData;
use rmq_protocol::body::topic_list::TopicList;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which % 16 {
        0 => drop(fastjson::from_slice::<HeartbeatData>(body)),
        1 => drop(fastjson::from_slice::<LockBatchRequestBody>(body)),
        2 => drop(fastjson::from_slice::<QueryAssignmentRequestBody>(body)),
        3 => drop(fastjson::from_slice::<SetMessageRequestModeRequestBody>(body)),
        4 => drop(fastjson::from_slice::<BatchAckMessageRequestBody>(body)),
        5 => drop(fastjson::from_slice::<CheckClientRequestBody>(body)),
        6 => drop(RegisterBrokerBody::decode(body, false, 0)),
        7 => drop(RegisterBrokerBody::decode(body, true, 0)),
        8 => drop(RegisterBrokerBody::decode(body, false, 500)),
        9 => drop(decode_data_version(body)),
        10 => drop(TopicRouteData::decode(body)),
        11 => drop(ClusterInfo::decode(body)),
        12 => drop(KvTable::decode(body)),
        13 => drop(TopicList::decode(body)),
        14 => drop(ResetOffsetBody::decode(body)),
        _ => drop(ConsumeStats::decode(body)),
    }
});
