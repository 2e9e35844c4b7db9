//! Every typed request header read from a decoded frame's fields, as the
//! broker and NameServer read them before any handler runs.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_protocol::header::*;
use rmq_protocol::{RemotingCommand, frame};

macro_rules! read_all {
    ($cmd:expr, $($h:ty),* $(,)?) => {$(
        let _ = $cmd.header::<$h>();
    )*};
}

fn read_headers(cmd: &RemotingCommand) {
    read_all!(
        cmd,
        UnregisterClientRequestHeader, ConsumerGroupRequestHeader, GetConsumerRunningInfoRequestHeader,
        ConsumeMessageDirectlyRequestHeader, ResetClientOffsetRequestHeader, PopMessageRequestHeader,
        AckMessageRequestHeader, ChangeInvisibleTimeRequestHeader, NotificationRequestHeader,
        PollingInfoRequestHeader, PeekMessageRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
        ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader, CheckTransactionStateRequestHeader,
        PullMessageRequestHeader, PutKvConfigRequestHeader, KvConfigKeyRequestHeader,
        GetKvListByNamespaceRequestHeader, RegisterBrokerRequestHeader, UnregisterBrokerRequestHeader,
        QueryDataVersionRequestHeader, GetRouteInfoRequestHeader, BrokerPermRequestHeader,
        DeleteTopicFromNamesrvRequestHeader, GetTopicsByClusterRequestHeader, QueryConsumerOffsetRequestHeader,
        UpdateConsumerOffsetRequestHeader, QueueRequestHeader, SearchOffsetRequestHeader, ViewMessageRequestHeader,
        QueryMessageRequestHeader, CreateTopicRequestHeader, TopicRequestHeader, ProducerGroupRequestHeader,
        GetConsumeStatsRequestHeader, DeleteSubscriptionGroupRequestHeader, ResetOffsetRequestHeader,
        QueryConsumeTimeSpanRequestHeader, CloneGroupOffsetRequestHeader, QueryCorrectionOffsetRequestHeader,
        GetBrokerConsumeStatsRequestHeader, QueryConsumeQueueRequestHeader, ViewBrokerStatsDataRequestHeader,
        ResumeCheckHalfMessageRequestHeader, GetConsumerStatusRequestHeader, GetTopicConfigRequestHeader,
        GetSubscriptionGroupConfigRequestHeader,
    );
}

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(cmd)) = frame::decode(&mut buf, 1 << 20) {
        read_headers(&cmd);
    }
});
