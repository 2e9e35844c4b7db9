use std::fs::OpenOptions;

use rmq_protocol::header::{ApplyBrokerIdRequestHeader, BrokerHeartbeatRequestHeader, GetReplicaInfoRequestHeader};
use rmq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::*;

fn controller(log: EventLog) -> Controller {
    let mut config = ControllerConfig::default();
    config.apply("controllerDLegerPeers", "n0-127.0.0.1:9878").unwrap();
    config.apply("controllerDLegerSelfId", "n0").unwrap();
    let me = config.self_peer().unwrap();
    Controller::open(config, me, log, Vec::new())
}

fn apply_id(id: i64) -> RemotingCommand {
    let header = ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: "broker-a".into(),
        applied_broker_id: id,
        register_check_code: "127.0.0.1:30911;1".into(),
    };
    RemotingCommand::request(RequestCode::ControllerApplyBrokerId, &header)
}

#[tokio::test]
async fn a_store_that_cannot_be_written_refuses_the_change_and_keeps_the_state() {
    // /dev/full accepts the open and fails every write (ENOSPC).
    let full = OpenOptions::new().append(true).open("/dev/full").unwrap();
    let c = controller(EventLog::on_file("/dev/full".into(), full));
    let r = c.process(None, &apply_id(1), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    assert!(r.remark.unwrap_or_default().contains("cannot write the controller event log"));
    assert_eq!(c.state(), ReplicaState::default());
    let query = RemotingCommand::request(
        RequestCode::ControllerGetReplicaInfo,
        &GetReplicaInfoRequestHeader { broker_name: "broker-a".into() },
    );
    let r = c.process(None, &query, &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerBrokerMetadataNotExist);
}

#[tokio::test]
async fn bad_requests_get_java_answers_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = EventLog::open(dir.path()).unwrap();
    let c = controller(log);
    let beat = BrokerHeartbeatRequestHeader {
        cluster_name: "c".into(),
        broker_addr: "127.0.0.1:30911".into(),
        broker_name: "broker-a".into(),
        ..Default::default()
    };
    let r = c.process(None, &RemotingCommand::request(RequestCode::BrokerHeartbeat, &beat), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerInvalidRequest);
    assert_eq!(r.remark.as_deref(), Some("Heart beat with empty brokerId"));

    // A missing header field, a body that is not JSON, an unknown code.
    let r = c.process(None, &RemotingCommand::bare_request(RequestCode::ControllerElectMaster), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);
    let alter = RemotingCommand::bare_request(RequestCode::ControllerAlterSyncStateSet)
        .with_ext("brokerName", "broker-a")
        .with_body(b"{not json".to_vec());
    assert_eq!(c.process(None, &alter, &mut Vec::new()).await.response_code(), ResponseCode::SystemError);
    let r = c.process(None, &RemotingCommand::bare_request(RequestCode::GetBrokerEpochCache), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::RequestCodeNotSupported);
    let r =
        c.process(None, &RemotingCommand::bare_request(RequestCode::ControllerGetSyncStateData), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::SystemError);

    // The first id of a group is 1; a second group's first broker cannot take 2.
    assert_eq!(c.process(None, &apply_id(1), &mut Vec::new()).await.response_code(), ResponseCode::Success);
    let other = ApplyBrokerIdRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: "broker-b".into(),
        applied_broker_id: 2,
        register_check_code: "127.0.0.1:30921;1".into(),
    };
    let r =
        c.process(None, &RemotingCommand::request(RequestCode::ControllerApplyBrokerId, &other), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerBrokerIdInvalid);

    // UPDATE_CONTROLLER_CONFIG: black-listed keys refused, others applied.
    let update =
        |text: &str| RemotingCommand::bare_request(RequestCode::UpdateControllerConfig).with_body(text.to_owned());
    let r = c.process(None, &update("configStorePath=/tmp/x\n"), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::NoPermission);
    let r = c.process(None, &update("enableElectUncleanMaster=true\n"), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::Success);
    assert!(c.config().enable_elect_unclean_master);
}

fn beat(id: i64, epoch: i32) -> BrokerHeartbeatRequestHeader {
    BrokerHeartbeatRequestHeader {
        cluster_name: "c".into(),
        broker_addr: format!("127.0.0.1:3091{id}"),
        broker_name: "broker-a".into(),
        broker_id: Some(id),
        epoch: Some(epoch),
        heartbeat_timeout_mills: Some(60_000),
        ..Default::default()
    }
}

/// A master renewing its lease (BROKER_HEARTBEAT as a request) is
/// confirmed only while it is the group's master in its current epoch, and
/// then its closed connection does not make it inactive.
#[tokio::test]
async fn a_lease_is_renewed_for_the_master_of_the_current_epoch_only() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = EventLog::open(dir.path()).unwrap();
    let c = controller(log);
    let (master_conn, replica_conn) = (ConnectionId(1), ConnectionId(2));
    for (id, conn) in [(1, master_conn), (2, replica_conn)] {
        let apply = apply_id(id).with_ext("registerCheckCode", format!("127.0.0.1:3091{id};1"));
        assert_eq!(c.process(None, &apply, &mut Vec::new()).await.response_code(), ResponseCode::Success);
        let oneway = RemotingCommand::request(RequestCode::BrokerHeartbeat, &beat(id, -1)).into_oneway();
        c.process(Some(conn), &oneway, &mut Vec::new()).await;
        let register = rmq_protocol::header::RegisterBrokerToControllerRequestHeader {
            cluster_name: Some("c".into()),
            broker_name: "broker-a".into(),
            broker_id: Some(id),
            broker_address: format!("127.0.0.1:3091{id}"),
            invoke_time: None,
        };
        let register = RemotingCommand::request(RequestCode::ControllerRegisterBroker, &register);
        assert_eq!(c.process(None, &register, &mut Vec::new()).await.response_code(), ResponseCode::Success);
    }
    let elect = rmq_protocol::header::ElectMasterRequestHeader {
        cluster_name: Some("c".into()),
        broker_name: "broker-a".into(),
        broker_id: Some(1),
        designate_elect: Some(false),
        invoke_time: None,
    };
    let r =
        c.process(None, &RemotingCommand::request(RequestCode::ControllerElectMaster, &elect), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);
    let (master, epoch) = c.state().master_with_epoch("broker-a").unwrap();
    assert_eq!(master, 1);

    let renew = |id, epoch| {
        RemotingCommand::request(RequestCode::BrokerHeartbeat, &beat(id, epoch))
            .with_ext(rmq_protocol::header::MASTER_LEASE_EXT, "true")
    };
    // A plain heartbeat request (no lease asked) is answered as ever.
    let plain = RemotingCommand::request(RequestCode::BrokerHeartbeat, &beat(2, epoch));
    assert_eq!(c.process(Some(replica_conn), &plain, &mut Vec::new()).await.response_code(), ResponseCode::Success);
    let r = c.process(Some(replica_conn), &renew(2, epoch), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerFencedMasterEpoch, "a replica gets no lease");
    let r = c.process(Some(master_conn), &renew(1, epoch - 1), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::ControllerFencedMasterEpoch, "nor a master of an older epoch");
    let r = c.process(Some(master_conn), &renew(1, epoch), &mut Vec::new()).await;
    assert_eq!(r.response_code(), ResponseCode::Success, "{:?}", r.remark);

    // The lease holder's connection closes: no election, it stays alive
    // until its heartbeat timeout. (So does the replica, which said it runs
    // with leases; heartbeat.rs tests a plain broker's closed connection.)
    assert!(c.connection_closed(master_conn).await.is_empty());
    assert_eq!(c.state().master_with_epoch("broker-a"), Some((1, epoch)));
    let who = |id| BrokerIdentity { cluster_name: "c".into(), broker_name: "broker-a".into(), broker_id: id };
    assert!(lock(&c.live).is_alive(&who(1), Controller::now()));
    assert!(c.connection_closed(replica_conn).await.is_empty());
    assert!(lock(&c.live).is_alive(&who(2), Controller::now()));
}
