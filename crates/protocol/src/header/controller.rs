//! Headers of RocketMQ 5's controller requests and responses (Java's
//! `remoting/protocol/header/controller/**`, `BrokerHeartbeatRequestHeader`
//! and `NotifyBrokerRoleChangedRequestHeader`), keyed by Java's field names.
//!
//! Java fills every numeric field of these headers with a boxed type that may
//! be null, so most fields here are optional: a missing one is `None`, never
//! a decoding failure; the controller decides what an absent value means.

use crate::command_header;

command_header! {
    /// CONTROLLER_ALTER_SYNC_STATE_SET (1001); the body is a `SyncStateSet`.
    pub struct AlterSyncStateSetRequestHeader {
        broker_name: String => "brokerName",
        master_broker_id: Option<i64> => "masterBrokerId",
        master_epoch: Option<i32> => "masterEpoch",
        invoke_time: Option<i64> => "invokeTime",
    }
}

command_header! {
    /// The answer to CONTROLLER_ALTER_SYNC_STATE_SET.
    pub struct AlterSyncStateSetResponseHeader {
        new_sync_state_set_epoch: Option<i32> => "newSyncStateSetEpoch",
    }
}

command_header! {
    /// CONTROLLER_ELECT_MASTER (1002). `brokerId` -1 (or absent) with
    /// `designateElect` false: the controller's own trigger; a broker asks
    /// with its own id; `mqadmin electMaster` sets `designateElect`.
    pub struct ElectMasterRequestHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: String => "brokerName",
        broker_id: Option<i64> => "brokerId",
        designate_elect: Option<bool> => "designateElect",
        invoke_time: Option<i64> => "invokeTime",
    }
}

command_header! {
    /// The answer to CONTROLLER_ELECT_MASTER; the body is an
    /// `ElectMasterResponseBody`.
    pub struct ElectMasterResponseHeader {
        master_broker_id: Option<i64> => "masterBrokerId",
        master_address: Option<String> => "masterAddress",
        master_epoch: Option<i32> => "masterEpoch",
        sync_state_set_epoch: Option<i32> => "syncStateSetEpoch",
    }
}

command_header! {
    /// CONTROLLER_REGISTER_BROKER (1003).
    pub struct RegisterBrokerToControllerRequestHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: String => "brokerName",
        broker_id: Option<i64> => "brokerId",
        broker_address: String => "brokerAddress",
        invoke_time: Option<i64> => "invokeTime",
    }
}

command_header! {
    /// The answer to CONTROLLER_REGISTER_BROKER; the master fields are set
    /// only while the group has a live master. The body is a `SyncStateSet`.
    pub struct RegisterBrokerToControllerResponseHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: Option<String> => "brokerName",
        master_broker_id: Option<i64> => "masterBrokerId",
        master_address: Option<String> => "masterAddress",
        master_epoch: Option<i32> => "masterEpoch",
        sync_state_set_epoch: Option<i32> => "syncStateSetEpoch",
    }
}

command_header! {
    /// CONTROLLER_GET_REPLICA_INFO (1004).
    pub struct GetReplicaInfoRequestHeader {
        broker_name: String => "brokerName",
    }
}

command_header! {
    /// The answer to CONTROLLER_GET_REPLICA_INFO; the body is a `SyncStateSet`.
    pub struct GetReplicaInfoResponseHeader {
        master_broker_id: Option<i64> => "masterBrokerId",
        master_address: Option<String> => "masterAddress",
        master_epoch: Option<i32> => "masterEpoch",
    }
}

command_header! {
    /// The answer to CONTROLLER_GET_METADATA_INFO (1005): the controller
    /// group, its leader and its peers (`id:address;` each).
    pub struct GetMetaDataResponseHeader {
        group: Option<String> => "group",
        controller_leader_id: Option<String> => "controllerLeaderId",
        controller_leader_address: Option<String> => "controllerLeaderAddress",
        is_leader: Option<bool> => "isLeader",
        peers: Option<String> => "peers",
    }
}

command_header! {
    /// NOTIFY_BROKER_ROLE_CHANGED (1008), controller to broker, oneway; the
    /// body is a `SyncStateSet`.
    pub struct NotifyBrokerRoleChangedRequestHeader {
        master_address: Option<String> => "masterAddress",
        master_epoch: Option<i32> => "masterEpoch",
        sync_state_set_epoch: Option<i32> => "syncStateSetEpoch",
        master_broker_id: Option<i64> => "masterBrokerId",
    }
}

command_header! {
    /// CLEAN_BROKER_DATA (1011). `brokerControllerIdsToClean` is
    /// `;`-separated; empty cleans the whole group.
    pub struct CleanControllerBrokerDataRequestHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: String => "brokerName",
        broker_controller_ids_to_clean: Option<String> => "brokerControllerIdsToClean",
        is_clean_living_broker: Option<bool> => "isCleanLivingBroker",
        invoke_time: Option<i64> => "invokeTime",
    }
}

command_header! {
    /// CONTROLLER_GET_NEXT_BROKER_ID (1012).
    pub struct GetNextBrokerIdRequestHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: String => "brokerName",
    }
}

command_header! {
    /// The answer to CONTROLLER_GET_NEXT_BROKER_ID.
    pub struct GetNextBrokerIdResponseHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: Option<String> => "brokerName",
        next_broker_id: Option<i64> => "nextBrokerId",
    }
}

command_header! {
    /// CONTROLLER_APPLY_BROKER_ID (1013). `registerCheckCode` is
    /// `address;timestamp`, so that a restarted broker may re-apply its id.
    pub struct ApplyBrokerIdRequestHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: String => "brokerName",
        applied_broker_id: i64 => "appliedBrokerId",
        register_check_code: String => "registerCheckCode",
    }
}

command_header! {
    /// The answer to CONTROLLER_APPLY_BROKER_ID.
    pub struct ApplyBrokerIdResponseHeader {
        cluster_name: Option<String> => "clusterName",
        broker_name: Option<String> => "brokerName",
    }
}

/// An rmq ext field of BROKER_HEARTBEAT, `true` from a broker with
/// `enableMasterLease`: oneway, it says the broker runs with master leases;
/// as a request it renews the master's lease, answered by the controller
/// leader for the group's current master only. Java's controllers ignore it.
pub const MASTER_LEASE_EXT: &str = "rmqMasterLease";

command_header! {
    /// BROKER_HEARTBEAT (904) as 5.x brokers send it to NameServers and
    /// controllers: the controller needs `brokerId`, and elects by `epoch`,
    /// `maxOffset` and `electionPriority`.
    pub struct BrokerHeartbeatRequestHeader {
        cluster_name: String => "clusterName",
        broker_addr: String => "brokerAddr",
        broker_name: String => "brokerName",
        broker_id: Option<i64> => "brokerId",
        epoch: Option<i32> => "epoch",
        max_offset: Option<i64> => "maxOffset",
        confirm_offset: Option<i64> => "confirmOffset",
        heartbeat_timeout_mills: Option<i64> => "heartbeatTimeoutMills",
        election_priority: Option<i32> => "electionPriority",
    }
}
