//! A master and its slave (conf/2m-2s-async) as real processes with
//! `tls.server.mode=enforcing` and `useTLS=true` in their properties: the
//! slave's metadata sync reaches its master's enforcing VIP port over TLS,
//! and both register with the (permissive) NameServer over TLS. The HA port
//! stays plaintext, as in Java, so the CommitLog replicates as before.
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test ha_tls`.

mod common;
#[path = "common/processes.rs"]
mod processes;

use processes::{Broker, Namesrv, admin, repo_conf};
use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_remoting::{Client, ClientConfig, ClientTls, RejectAll, TlsSettings};
use std::sync::Arc;
use std::time::Duration;

const TOPIC: &str = "HaTlsTopic";
const TLS_ONLY: &[(&str, &str)] = &[("tls.server.mode", "enforcing"), ("useTLS", "true")];

fn tls_client() -> Client {
    let settings = TlsSettings { client_enable: true, ..TlsSettings::default() };
    let tls = ClientTls::from_settings(&settings).expect("client TLS");
    Client::new(ClientConfig { tls, ..ClientConfig::default() }, Arc::new(RejectAll))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_syncs_metadata_from_an_enforcing_master_over_tls() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let master = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a.properties"), &ns.addr, TLS_ONLY);
    let slave = Broker::start(home.path(), &repo_conf("2m-2s-async/broker-a-s.properties"), &ns.addr, TLS_ONLY);
    let client = tls_client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    admin::wait_replicating(&client, &master.addr, &slave.addr, TOPIC).await;

    let group_json = r#"{"groupName":"ha-tls-cg","consumeEnable":true,"retryQueueNums":1,"retryMaxTimes":16}"#;
    let create = RemotingCommand::bare_request(RequestCode::UpdateAndCreateSubscriptionGroup)
        .with_body(group_json.as_bytes().to_vec());
    assert_eq!(admin::call(&client, &master.addr, create).await, 0);
    admin::wait_until("the slave synced the group from its master", Duration::from_secs(25), || async {
        admin::all_of(&client, &slave.addr, RequestCode::GetAllSubscriptionGroupConfig).await.contains("ha-tls-cg")
    })
    .await;

    let plain = admin::client();
    let refused = plain
        .invoke(&master.addr, RemotingCommand::bare_request(RequestCode::GetBrokerRuntimeInfo), Duration::from_secs(3))
        .await;
    assert!(refused.is_err(), "a plaintext client was served by an enforcing broker: {refused:?}");
    let cluster = admin::all_of(&client, &ns.addr, RequestCode::GetBrokerClusterInfo).await;
    assert!(cluster.contains(&master.addr) && cluster.contains(&slave.addr), "both registered over TLS: {cluster}");
}
