//! Headers of the NameServer's requests and responses (as Java's
//! `DefaultRequestProcessor` reads and writes them).

use crate::command_header;

command_header! {
    /// PUT_KV_CONFIG (100).
    pub struct PutKvConfigRequestHeader {
        namespace: String => "namespace",
        key: String => "key",
        value: String => "value",
    }
}

command_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102).
    pub struct KvConfigKeyRequestHeader {
        namespace: String => "namespace",
        key: String => "key",
    }
}

command_header! {
    /// The answer to GET_KV_CONFIG.
    pub struct GetKvConfigResponseHeader {
        value: Option<String> => "value",
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219).
    pub struct GetKvListByNamespaceRequestHeader {
        namespace: String => "namespace",
    }
}

command_header! {
    /// REGISTER_BROKER (103). `brokerAddr` is `brokerIP1:listenPort`,
    /// `haServerAddr` is `brokerIP2:haListenPort`.
    pub struct RegisterBrokerRequestHeader {
        broker_name: String => "brokerName",
        broker_addr: String => "brokerAddr",
        cluster_name: String => "clusterName",
        ha_server_addr: Option<String> => "haServerAddr",
        broker_id: i64 => "brokerId",
        /// 5.x: how long the NameServer keeps the broker without news.
        heartbeat_timeout_millis: Option<i64> => "heartbeatTimeoutMillis",
        enable_acting_master: Option<bool> => "enableActingMaster",
        /// The body is zlib-compressed (`compressedRegister`).
        compressed: Option<bool> => "compressed",
        /// CRC32 of the body; 0 or absent means unchecked.
        body_crc32: Option<i32> => "bodyCrc32",
    }
}

command_header! {
    /// The answer to REGISTER_BROKER: for a slave, where its master is.
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: Option<String> => "haServerAddr",
        master_addr: Option<String> => "masterAddr",
    }
}

command_header! {
    /// UNREGISTER_BROKER (104).
    pub struct UnregisterBrokerRequestHeader {
        broker_name: String => "brokerName",
        broker_addr: String => "brokerAddr",
        cluster_name: String => "clusterName",
        broker_id: i64 => "brokerId",
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322); the body is the broker's DataVersion.
    pub struct QueryDataVersionRequestHeader {
        broker_name: String => "brokerName",
        broker_addr: String => "brokerAddr",
        cluster_name: String => "clusterName",
        broker_id: i64 => "brokerId",
    }
}

command_header! {
    /// The answer to QUERY_DATA_VERSION.
    pub struct QueryDataVersionResponseHeader {
        changed: bool => "changed",
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105).
    pub struct GetRouteInfoRequestHeader {
        topic: String => "topic",
        /// Asks for standard JSON (quoted numeric keys) whatever the version.
        accept_standard_json_only: Option<bool> => "acceptStandardJsonOnly",
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) and ADD_WRITE_PERM_OF_BROKER (327).
    pub struct BrokerPermRequestHeader {
        broker_name: String => "brokerName",
    }
}

command_header! {
    /// The answer to WIPE_WRITE_PERM_OF_BROKER.
    pub struct WipeWritePermResponseHeader {
        wipe_topic_count: i32 => "wipeTopicCount",
    }
}

command_header! {
    /// The answer to ADD_WRITE_PERM_OF_BROKER.
    pub struct AddWritePermResponseHeader {
        add_topic_count: i32 => "addTopicCount",
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216).
    pub struct DeleteTopicFromNamesrvRequestHeader {
        topic: String => "topic",
        /// 5.x: only this cluster's brokers lose the topic.
        cluster_name: Option<String> => "clusterName",
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224).
    pub struct GetTopicsByClusterRequestHeader {
        cluster: String => "cluster",
    }
}
