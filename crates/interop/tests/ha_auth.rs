//! `haAuthEnable` (rmq's own) with a master and its slave as real processes
//! (conf/2m-2s-async, ACL on): a slave whose account is not an admin of
//! `plain_acl.yml` gets nothing over the HA port and is counted as refused;
//! restarted with an admin account it replicates the CommitLog; a master with
//! `haAuthEnable` but no ACL does not start.
//!
//! Needs the binaries: `cargo build -p rmq-cli`, then
//! `cargo test -p rmq-interop --test ha_auth`.

mod common;
#[path = "common/processes.rs"]
mod processes;

use processes::{Broker, Namesrv, admin, repo_conf};
use std::time::Duration;

const TOPIC: &str = "HaAuthTopic";

/// 127.0.0.1 is white-listed, so the test's unsigned admin calls pass; the
/// HA challenge asks for an account whatever the address.
const RULES: &str = "globalWhiteRemoteAddresses:\n  - 127.0.0.1\naccounts:\n  \
  - accessKey: rmq-ha-slave\n    secretKey: slave-secret-1\n    admin: true\n  \
  - accessKey: rmq-reader\n    secretKey: reader-secret-1\n    admin: false\n    defaultTopicPerm: SUB\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_slave_with_an_admin_account_replicates() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    std::fs::write(home.path().join("conf/plain_acl.yml"), RULES).unwrap();
    let rocketmq_home = home.path().to_str().unwrap().to_owned();
    let ns = Namesrv::start(home.path());
    let master = Broker::start(
        home.path(),
        &repo_conf("2m-2s-async/broker-a.properties"),
        &ns.addr,
        &[("aclEnable", "true"), ("rocketmqHome", &rocketmq_home), ("haAuthEnable", "true")],
    );
    let client = admin::client();
    admin::create_topic(&client, &master.addr, TOPIC, 4).await;
    for i in 0..20 {
        admin::send(&client, &master.addr, TOPIC, i % 4, &format!("k{i}"), b"replicate me").await;
    }
    let master_end = admin::info_i64(&client, &master.addr, "commitLogMaxOffset").await;
    assert!(master_end > 0);

    let slave_conf = repo_conf("2m-2s-async/broker-a-s.properties");
    let reader = [("haAuthAccessKey", "rmq-reader"), ("haAuthSecretKey", "reader-secret-1")];
    let slave = Broker::start(home.path(), &slave_conf, &ns.addr, &reader);
    // Refusals before the slave's registration reached the master count too,
    // so wait for a few, then give the reader time it would need to catch up.
    admin::wait_until("the master refuses the reader", Duration::from_secs(20), || async {
        admin::info_i64(&client, &master.addr, "haRefusedConnections").await >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(admin::info_i64(&client, &slave.addr, "commitLogMaxOffset").await, 0, "nothing streamed");
    assert_eq!(admin::info_i64(&client, &master.addr, "haConnectionCount").await, 0);
    drop(slave);

    let admin_account = [("haAuthAccessKey", "rmq-ha-slave"), ("haAuthSecretKey", "slave-secret-1")];
    let slave = Broker::start(home.path(), &slave_conf, &ns.addr, &admin_account);
    admin::wait_until("the admin slave catches up", Duration::from_secs(30), || async {
        admin::info_i64(&client, &slave.addr, "commitLogMaxOffset").await == master_end
    })
    .await;
    assert_eq!(admin::info_i64(&client, &master.addr, "haConnectionCount").await, 1);
}

#[test]
fn ha_auth_without_acl_stops_the_master() {
    let home = tempfile::tempdir().unwrap();
    let ns = Namesrv::start(home.path());
    let (code, output) = Broker::run_to_exit(
        home.path(),
        &repo_conf("2m-2s-async/broker-a.properties"),
        &ns.addr,
        &[("haAuthEnable", "true")],
    );
    assert_ne!(code, Some(0), "{output}");
    assert!(output.contains("haAuthEnable") && output.contains("aclEnable"), "{output}");
}
