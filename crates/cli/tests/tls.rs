//! A real `mqnamesrv` and `mqbroker` with `-Dtls.server.mode=enforcing
//! -Dtls.enable=true` in `JAVA_OPT`: the broker registers with the
//! NameServer over TLS, `mqadmin` (TLS too) creates a topic, sends and pulls
//! a message, and a plaintext `mqadmin` is turned away.

mod admin_common;

use admin_common::{Run, Servers, run_mqadmin_with};
use std::time::{Duration, Instant};

const TLS_EVERYWHERE: &str = "-Dtls.server.mode=enforcing -Dtls.enable=true";

fn ok(run: &Run) -> &str {
    assert_eq!(run.code, 0, "mqadmin failed: {run:?}");
    &run.stdout
}

#[test]
fn an_enforcing_pair_registers_and_serves_send_and_pull_over_tls() {
    // `start_with` returns once `clusterList` over TLS shows the broker: its
    // registration went through the NameServer's enforcing port.
    let s = Servers::start_with_java_opt(TLS_EVERYWHERE);

    ok(&s.mqadmin(&["updateTopic", "-b", &s.broker, "-t", "TlsTopic", "-r", "4", "-w", "4"]));
    s.wait_for_route("TlsTopic");
    let sent =
        ok(&s.mqadmin(&["sendMessage", "-t", "TlsTopic", "-p", "over-tls", "-b", "broker-a", "-i", "2"])).to_owned();
    assert!(sent.contains("SEND_OK"), "{sent}");
    // The message becomes pullable once dispatched to its queue, just after the send returns.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pulled =
            ok(&s.mqadmin(&["consumeMessage", "-t", "TlsTopic", "-b", "broker-a", "-i", "2", "-o", "0"])).to_owned();
        if pulled.contains("BODY: over-tls") {
            break;
        }
        assert!(Instant::now() < deadline, "never pulled: {pulled}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Plaintext clients get nothing from either enforcing port.
    let plain_ns = run_mqadmin_with(&["clusterList", "-n", &s.namesrv], s.home.path(), "");
    assert!(!plain_ns.stdout.contains(&s.broker), "a plaintext client read the cluster: {plain_ns:?}");
    let plain_broker = run_mqadmin_with(&["brokerStatus", "-b", &s.broker, "-n", &s.namesrv], s.home.path(), "");
    assert_ne!(plain_broker.code, 0, "{plain_broker:?}");
}

#[test]
fn a_broken_tls_setting_stops_mqadmin_with_the_key_named() {
    let home = tempfile::tempdir().unwrap();
    let run = run_mqadmin_with(
        &["clusterList", "-n", "127.0.0.1:1"],
        home.path(),
        "-Dtls.enable=true -Dtls.test.mode.enable=false -Dtls.client.authServer=true",
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("tls.client.trustCertPath"), "{run:?}");
}

#[test]
fn a_missing_certificate_stops_mqnamesrv_and_mqbroker_at_start() {
    let home = tempfile::tempdir().unwrap();
    let java_opt = format!(
        "-Duser.home={} -Dtls.server.certPath=/nonexistent/server.pem -Dtls.server.keyPath=/nonexistent/server.key",
        home.path().display()
    );
    for bin in [admin_common::MQNAMESRV, admin_common::MQBROKER] {
        let out = std::process::Command::new(bin)
            .args(["-n", "127.0.0.1:1"].iter().take(if bin == admin_common::MQBROKER { 2 } else { 0 }))
            .env("JAVA_OPT", &java_opt)
            .env_remove("NAMESRV_ADDR")
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bin} started anyway");
        assert!(
            stderr.contains("tls.server.certPath") && stderr.contains("/nonexistent/server.pem"),
            "{bin}: {stderr}"
        );
    }
}
