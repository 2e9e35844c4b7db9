//! `mqadmin` given bad input: the list of commands, help, unknown
//! sub-commands, missing or unknown options, no or an unreachable
//! NameServer, a topic that does not exist. Each failure is one line on
//! stderr naming the problem (usage on stdout where it helps) and a non-zero
//! exit; never a stack trace.

mod admin_common;

use admin_common::{Servers, assert_golden, run_mqadmin};
use std::net::TcpListener;

fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn command_list_help_and_unknown_commands() {
    let h = home();
    let list = run_mqadmin(&[], h.path());
    assert_eq!(list.code, 0);
    assert_golden("commands.txt", &list.stdout);
    let help = run_mqadmin(&["help", "updateTopic"], h.path());
    assert_eq!(help.code, 0);
    assert_golden("help-updateTopic.txt", &help.stdout);
    let dash_h = run_mqadmin(&["topicStatus", "-h"], h.path());
    assert_eq!(dash_h.code, 0);
    assert!(dash_h.stdout.starts_with("usage: mqadmin topicStatus [-h] [-n <arg>] -t <arg>\n"), "{}", dash_h.stdout);
    for args in [&["nope"][..], &["help", "nope"][..]] {
        let unknown = run_mqadmin(args, h.path());
        assert_eq!(unknown.code, 1, "{unknown:?}");
        assert_eq!(unknown.stdout, "The sub command nope not exist.\n");
    }
    // Java looks sub-commands up ignoring case.
    assert_eq!(run_mqadmin(&["TOPICSTATUS", "-h"], h.path()).code, 0);
}

#[test]
fn bad_options_print_the_problem_and_the_usage() {
    let h = home();
    let missing = run_mqadmin(&["topicStatus", "-n", "127.0.0.1:9876"], h.path());
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr, "mqadmin topicStatus: Missing required option: t\n");
    assert!(missing.stdout.starts_with("usage: mqadmin topicStatus"), "{}", missing.stdout);
    let group = run_mqadmin(&["updateTopic", "-t", "T"], h.path());
    assert_eq!(group.code, 1);
    assert_eq!(group.stderr, "mqadmin updateTopic: Missing required option: [b, c]\n");
    let unknown = run_mqadmin(&["topicStatus", "-t", "T", "-z"], h.path());
    assert_eq!(unknown.code, 1);
    assert_eq!(unknown.stderr.lines().count(), 1, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("-z"), "{}", unknown.stderr);
    let not_a_number = run_mqadmin(&["updateTopic", "-c", "C", "-t", "T", "-r", "many", "-n", "127.0.0.1:1"], h.path());
    assert_eq!(not_a_number.code, 1);
    assert_eq!(not_a_number.stderr, "updateTopic command failed: option -r needs a number, not 'many'\n");
}

#[test]
fn no_or_unreachable_name_server() {
    let h = home();
    let none = run_mqadmin(&["clusterList"], h.path());
    assert_eq!(none.code, 1);
    assert_eq!(none.stderr, "clusterList command failed: no NameServer address: give -n, or set NAMESRV_ADDR\n");
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let addr = closed.to_string();
    let unreachable = run_mqadmin(&["topicList", "-n", &addr], h.path());
    assert_eq!(unreachable.code, 1);
    assert_eq!(unreachable.stderr.lines().count(), 1, "{}", unreachable.stderr);
    assert!(
        unreachable.stderr.starts_with(&format!("topicList command failed: connect to {addr} failed")),
        "{}",
        unreachable.stderr
    );
    // NAMESRV_ADDR is honoured like -n.
    let out = std::process::Command::new(admin_common::MQADMIN)
        .args(["clusterList"])
        .env("NAMESRV_ADDR", &addr)
        .env("HOME", h.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("connect to {addr} failed")));
    // As lenient as Java's commons-cli: a stray word is ignored, and of a
    // repeated option the first value counts.
    let lenient = run_mqadmin(&["topicList", "-c", "DefaultCluster", "-n", &addr, "-n", "127.0.0.1:2"], h.path());
    assert_eq!(lenient.code, 1);
    assert!(
        lenient.stderr.starts_with(&format!("topicList command failed: connect to {addr} failed")),
        "{}",
        lenient.stderr
    );
}

#[test]
fn topics_groups_and_messages_that_do_not_exist() {
    let s = Servers::start();
    for cmd in ["topicStatus", "topicRoute", "topicClusterList"] {
        let run = s.mqadmin(&[cmd, "-t", "NoSuchTopic"]);
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(
            run.stderr,
            format!("{cmd} command failed: No topic route info in name server for the topic: NoSuchTopic\n")
        );
    }
    let progress = s.mqadmin(&["consumerProgress", "-g", "NoSuchGroup"]);
    assert_eq!(progress.code, 1);
    assert!(progress.stderr.contains("%RETRY%NoSuchGroup"), "{}", progress.stderr);
    let cluster = s.mqadmin(&["updateTopic", "-c", "NoSuchCluster", "-t", "T"]);
    assert_eq!(cluster.code, 1);
    assert!(cluster.stderr.contains("Make sure the specified clusterName exists"), "{}", cluster.stderr);
    let key = s.mqadmin(&["queryMsgByKey", "-t", "TBW102", "-k", "nothing"]);
    assert_eq!(key.code, 1);
    assert_eq!(key.stderr, "queryMsgByKey command failed: query message by key finished, but no message.\n");
    let id = s.mqadmin(&["queryMsgById", "-i", "zz"]);
    assert_eq!(id.code, 1);
    assert!(id.stderr.contains("must be 32 (IPv4) or 56 (IPv6) hex characters"), "{}", id.stderr);
    let refused = s.mqadmin(&["updateTopic", "-b", &s.broker, "-t", "bad topic!"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("CODE: 1  DESC: The specified topic contains illegal characters"),
        "{}",
        refused.stderr
    );
    // Like Java's producer, a send to an unknown topic creates it through TBW102.
    let created = s.mqadmin(&["sendMessage", "-t", "MadeOnSend", "-p", "x"]);
    assert_eq!(created.code, 0, "{created:?}");
    assert!(created.stdout.contains("SEND_OK"));
    for run in [&progress, &cluster, &key, &id, &refused] {
        assert!(!run.stderr.contains("panicked") && run.stderr.lines().count() == 1, "{}", run.stderr);
    }
}
