//! Every `mqadmin` sub-command against a real `mqnamesrv` and `mqbroker`,
//! with the layouts of their output checked against golden files
//! (`tests/golden/`, 4.9.8's printf formats; `RMQ_UPDATE_GOLDEN=1` rewrites
//! them). One server pair serves the whole sequence, which builds on itself.

mod admin_common;

use admin_common::{Servers, assert_golden, mask_times};
use rmq_client::{Client, ClientOptions};
use rmq_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData, SubscriptionData,
};
use std::time::{Duration, Instant};

/// Masks what changes from run to run (addresses, ids, times), keeping each
/// masked value's width so that columns stay where the real output had them.
fn masked(s: &Servers, text: &str, ids: &[&str]) -> String {
    let mut out = mask_times(text);
    out = mask_keep_width(&out, &s.broker, "<BROKER>");
    out = mask_keep_width(&out, &s.namesrv, "<NAMESRV>");
    for id in ids {
        out = mask_keep_width(&out, id, "<MSGID>");
    }
    out
}

/// Replaces `needle` with `placeholder` padded with `.` to the needle's width.
fn mask_keep_width(text: &str, needle: &str, placeholder: &str) -> String {
    let padded = format!("{placeholder:.<width$}", width = needle.len());
    text.replace(needle, &padded)
}

/// Masks the value part (from column 21) of the named `label: value` lines.
fn mask_values(text: &str, labels: &[&str]) -> String {
    text.split('\n')
        .map(|l| {
            if labels.iter().any(|k| l.starts_with(k)) && l.len() > 21 {
                format!("{}<VALUE>", &l[..21])
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ok(run: &admin_common::Run) -> &str {
    assert_eq!(run.code, 0, "mqadmin failed: {run:?}");
    &run.stdout
}

/// A consumer of group `group` online (this test process), subscribed to `topic`.
fn consumer_online(rt: &tokio::runtime::Runtime, s: &Servers, group: &str, topic: &str) -> Client {
    let mut options = ClientOptions::new(&s.namesrv);
    options.instance_name = Some("admin-test".into());
    let client = Client::new(options);
    let data = HeartbeatData {
        client_id: client.client_id().to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.to_owned(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::FirstOffset,
            subscription_data_set: vec![SubscriptionData::tags(topic, "*", 1)],
            unit_mode: false,
        }],
        producer_data_set: vec![ProducerData { group_name: "PG_admin".into() }],
        ..HeartbeatData::default()
    };
    rt.block_on(client.heartbeat(&s.broker, &data)).expect("heartbeat");
    client
}

/// The `#Version` column of the group's one consumer in `consumerConnection`.
fn connection_version(s: &Servers) -> String {
    let conn = ok(&s.mqadmin(&["consumerConnection", "-g", "AdminGroup"])).to_owned();
    conn.lines().nth(1).and_then(|l| l.split_whitespace().nth(3)).unwrap().to_owned()
}

/// `consumerStatus` (Java's `ConsumerStatusSubCommand`) for AdminGroup,
/// whose one member is this process's `rmq_client`, which answers the
/// relayed GET_CONSUMER_RUNNING_INFO with a minimal body.
fn consumer_status(s: &Servers, client_id: &str, version: &str) {
    let one = ok(&s.mqadmin(&["consumerStatus", "-g", "AdminGroup", "-i", client_id])).to_owned();
    assert_golden("consumerStatus-i.txt", &one);
    let with_stacks =
        ok(&s.mqadmin(&["consumerStatus", "-g", "AdminGroup", "-i", client_id, "-s", "-b", &s.broker])).to_owned();
    assert_eq!(with_stacks, one, "-s and -b are accepted; this client has no stacks to add");

    let cwd = tempfile::tempdir().unwrap();
    let all = s.mqadmin_in(cwd.path(), &["consumerStatus", "-g", "AdminGroup"]);
    assert_eq!(all.code, 0, "{all:?}");
    let mut lines = all.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(
            format!("{:<10} {:<40} {:<20} {}", "#Index", "#ClientId", "#Version", "#ConsumerRunningInfoFile").as_str()
        )
    );
    let row = lines.next().unwrap();
    let path = row.rsplit(' ').next().unwrap();
    assert_eq!(row, format!("{:<10} {client_id:<40} {version:<20} {path}", 1));
    assert!(
        path.ends_with(&format!("/{client_id}")) && path.split('/').next().unwrap().parse::<i64>().is_ok(),
        "{path}"
    );
    assert_eq!(
        std::fs::read_to_string(cwd.path().join(path)).unwrap(),
        one,
        "the file holds the client's formatString"
    );
    let rest: Vec<&str> = lines.collect();
    assert_eq!(rest, ["", "", "Same subscription in the same group of consumer", "", "Rebalance OK"], "{}", all.stdout);

    let offline = s.mqadmin(&["consumerStatus", "-g", "AdminGroup", "-i", "10.9.9.9@1"]);
    assert_eq!(offline.code, 1, "{offline:?}");
    assert!(offline.stderr.starts_with("consumerStatus command failed: "), "{offline:?}");
    let nobody = s.mqadmin(&["consumerStatus", "-g", "NoSuchGroup"]);
    assert_ne!(nobody.code, 0, "{nobody:?}");
}

#[test]
fn every_sub_command_against_real_servers() {
    let s = Servers::start();
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Cluster and broker views.
    let list = ok(&s.mqadmin(&["clusterList"])).to_owned();
    let header = list.lines().next().unwrap();
    assert_golden("clusterList.header.txt", &format!("{header}\n"));
    let row = list.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!(
            "{:<16}  {:<22}  {:<4}  {:<22} {:<16}",
            "DefaultCluster", "broker-a", "0", s.broker, "V4_9_8"
        )),
        "{row}"
    );
    let more = ok(&s.mqadmin(&["clusterList", "-m"])).to_owned();
    assert_golden("clusterList-m.txt", &masked(&s, &more, &[]));
    let status = ok(&s.mqadmin(&["brokerStatus", "-b", &s.broker])).to_owned();
    let line = status.lines().find(|l| l.starts_with("commitLogMaxOffset")).expect("commitLogMaxOffset line");
    assert!(line.starts_with(&format!("{:<32}: ", "commitLogMaxOffset")), "{line}");
    let by_cluster = ok(&s.mqadmin(&["brokerStatus", "-c", "DefaultCluster"])).to_owned();
    assert!(by_cluster.lines().all(|l| l.starts_with(&format!("{:<24} ", s.broker))), "{by_cluster}");
    let config = ok(&s.mqadmin(&["getBrokerConfig", "-b", &s.broker])).to_owned();
    assert!(config.starts_with(&format!("============{}============\n", s.broker)));
    assert!(config.contains(&format!("{:<50}=  broker-a\n", "brokerName")), "{config}");
    let cluster_config = ok(&s.mqadmin(&["getBrokerConfig", "-c", "DefaultCluster"])).to_owned();
    assert!(cluster_config.starts_with(&format!("============Master: {}============\n", s.broker)));
    let updated =
        ok(&s.mqadmin(&["updateBrokerConfig", "-b", &s.broker, "-k", "autoCreateSubscriptionGroup", "-v", "true"]))
            .to_owned();
    assert_eq!(updated, format!("update broker config success, {}\n", s.broker));
    ok(&s.mqadmin(&["updateBrokerConfig", "-c", "DefaultCluster", "-k", "autoCreateSubscriptionGroup", "-v", "true"]));

    // Topics.
    let created =
        ok(&s.mqadmin(&["updateTopic", "-c", "DefaultCluster", "-t", "AdminTopic", "-r", "4", "-w", "4"])).to_owned();
    assert_golden("updateTopic-c.txt", &masked(&s, &created, &[]));
    let created = ok(&s.mqadmin(&["updateTopic", "-b", &s.broker, "-t", "OrderTopic", "-o", "true"])).to_owned();
    assert_golden("updateTopic-b-order.txt", &masked(&s, &created, &[]));
    s.wait_for_route("AdminTopic");
    let topics = ok(&s.mqadmin(&["topicList"])).to_owned();
    assert!(topics.lines().any(|l| l == "AdminTopic") && topics.lines().any(|l| l == "TBW102"), "{topics}");
    let route = ok(&s.mqadmin(&["topicRoute", "-t", "AdminTopic"])).to_owned();
    assert_golden("topicRoute.txt", &masked(&s, &route, &[]));
    let route = ok(&s.mqadmin(&["topicRoute", "-t", "AdminTopic", "-l"])).to_owned();
    assert_golden("topicRoute-l.txt", &masked(&s, &route, &[]));
    assert_eq!(ok(&s.mqadmin(&["topicClusterList", "-t", "AdminTopic"])), "DefaultCluster\n");
    // updateTopicPerm: read-only on the broker, then back through the cluster.
    let perm = ok(&s.mqadmin(&["updateTopicPerm", "-b", &s.broker, "-t", "AdminTopic", "-p", "4"])).to_owned();
    assert_eq!(
        perm,
        format!(
            "update topic perm from 6 to 4 in {} success.\nTopicConfig [topicName=AdminTopic, readQueueNums=4, writeQueueNums=4, perm=R--, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false].\n",
            s.broker
        )
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let same = loop {
        let run = ok(&s.mqadmin(&["updateTopicPerm", "-b", &s.broker, "-t", "AdminTopic", "-p", "4"])).to_owned();
        if run.starts_with("new perm") || std::time::Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(same, "new perm equals to the old one!\n", "once the route shows the new perm");
    let back = ok(&s.mqadmin(&["updateTopicPerm", "-c", "DefaultCluster", "-t", "AdminTopic", "-p", "6"])).to_owned();
    assert!(back.starts_with("update topic perm from 4 to 6 in ") && back.ends_with(" success.\n"), "{back}");
    let not_master = s.mqadmin(&["updateTopicPerm", "-b", "127.0.0.1:1", "-t", "AdminTopic", "-p", "4"]);
    assert_eq!(not_master.code, 1);
    assert!(not_master.stderr.contains("broker not exit or broker is not master"), "{}", not_master.stderr);
    let order = ok(&s.mqadmin(&["updateOrderConf", "-t", "OrderTopic", "-m", "get"])).to_owned();
    assert_eq!(order, "get orderConf success. topic=[OrderTopic], orderConf=[broker-a:8] ");
    ok(&s.mqadmin(&["updateOrderConf", "-t", "OrderTopic", "-m", "put", "-v", "broker-a:4"]));
    assert_eq!(
        ok(&s.mqadmin(&["updateOrderConf", "-t", "OrderTopic", "-m", "delete"])),
        "delete orderConf success. topic=[OrderTopic]"
    );

    // Messages.
    // The queue is picked at random; the layout is what matters here.
    let sent = ok(&s.mqadmin(&["sendMessage", "-t", "RandomTopic", "-p", "anywhere"])).to_owned();
    let row = sent.lines().nth(1).expect("result row");
    let (queue, id) = (row.split_whitespace().nth(1).unwrap(), row.split_whitespace().last().unwrap());
    assert_golden("sendMessage.txt", &masked(&s, &sent, &[id]).replace(&format!("  {queue:<4}  "), "  <Q>   "));
    // Into known queues from here on, so that offsets are the same every run.
    let mut ids = Vec::new();
    for i in 0..4 {
        let (body, key, queue) = (format!("body-{i}"), format!("key-{i}"), i.to_string());
        let args =
            ["sendMessage", "-t", "AdminTopic", "-p", &body, "-k", &key, "-c", "TagA", "-b", "broker-a", "-i", &queue];
        let sent = ok(&s.mqadmin(&args)).to_owned();
        let row = sent.lines().nth(1).expect("result row");
        assert!(row.contains("SEND_OK"), "{sent}");
        ids.push(row.split_whitespace().last().unwrap().to_owned());
    }
    let to_queue =
        ok(&s.mqadmin(&["sendMessage", "-t", "AdminTopic", "-p", "q3", "-b", "broker-a", "-i", "3"])).to_owned();
    assert!(
        to_queue.lines().nth(1).unwrap().starts_with(&format!("{:<32}  {:<4}  {:<20}", "broker-a", "3", "SEND_OK")),
        "{to_queue}"
    );
    let consumed = ok(&s.mqadmin(&["consumeMessage", "-t", "AdminTopic", "-g", "AdminReader", "-c", "10"])).to_owned();
    for i in 0..4 {
        assert!(consumed.contains(&format!(" BODY: body-{i}\n")), "body-{i} missing in {consumed}");
    }
    let by_queue =
        ok(&s.mqadmin(&["consumeMessage", "-t", "AdminTopic", "-b", "broker-a", "-i", "3", "-o", "0"])).to_owned();
    assert!(by_queue.contains("BODY: q3"), "{by_queue}");
    assert!(
        by_queue.contains(
            "MessageQueue [topic=AdminTopic, brokerName=broker-a, queueId=3] print msg finished. status=NO_NEW_MSG"
        ),
        "{by_queue}"
    );

    let stats = ok(&s.mqadmin(&["topicStatus", "-t", "AdminTopic"])).to_owned();
    assert_golden("topicStatus.txt", &masked(&s, &stats, &[]));
    let by_key = ok(&s.mqadmin(&["queryMsgByKey", "-t", "AdminTopic", "-k", "key-1"])).to_owned();
    assert_eq!(by_key.lines().next().unwrap(), format!("{:<50} {:>4} {:>40}", "#Message ID", "#QID", "#Offset"));
    let fields: Vec<&str> = by_key.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(fields[0], ids[1]);
    let row = format!("{:<50} {:>4} {:>40}", ids[1], fields[1], fields[2]);
    assert_eq!(by_key.lines().nth(1).unwrap(), row);
    let unique = ok(&s.mqadmin(&["queryMsgByUniqueKey", "-t", "AdminTopic", "-i", &ids[2]])).to_owned();
    assert!(unique.starts_with("Topic:               AdminTopic\n"), "{unique}");
    assert!(
        unique.contains("Keys:                [key-2]\n") && unique.contains("Tags:                [TagA]\n"),
        "{unique}"
    );
    let body_path = unique.lines().find_map(|l| l.strip_prefix("Message Body Path:   ")).unwrap();
    assert_eq!(std::fs::read(body_path).unwrap(), b"body-2");
    let by_offset =
        ok(&s.mqadmin(&["queryMsgByOffset", "-t", "AdminTopic", "-b", "broker-a", "-i", "3", "-o", "0"])).to_owned();
    let offset_id = by_offset
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("OffsetID:"))
        .map(str::trim)
        .expect("OffsetID line")
        .to_owned();
    let by_id = ok(&s.mqadmin(&["queryMsgById", "-i", &offset_id])).to_owned();
    assert_golden(
        "queryMsgById.txt",
        &mask_values(
            &masked(&s, &by_id, &[&offset_id]),
            &["Born Host", "Queue Offset", "CommitLog Offset", "Properties", "Message Body Path"],
        ),
    );

    // Groups, connections, progress, offsets.
    let sub = ok(&s.mqadmin(&["updateSubGroup", "-c", "DefaultCluster", "-g", "AdminGroup", "-r", "3"])).to_owned();
    assert_golden("updateSubGroup-c.txt", &masked(&s, &sub, &[]));
    let member = consumer_online(&rt, &s, "AdminGroup", "AdminTopic");
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.mqadmin(&["consumerConnection", "-g", "AdminGroup"]).code != 0 {
        assert!(Instant::now() < deadline, "the %RETRY% route never appeared");
        std::thread::sleep(Duration::from_millis(100));
    }
    let conn = ok(&s.mqadmin(&["consumerConnection", "-g", "AdminGroup"])).to_owned();
    let client_addr = conn.lines().nth(1).and_then(|l| l.split_whitespace().nth(1)).unwrap().to_owned();
    let conn = conn
        .replace(&format!("{:<36}", member.client_id()), &format!("{:<36}", "<CLIENT>"))
        .replace(&format!("{client_addr:<22}"), &format!("{:<22}", "<ADDR>"));
    assert_golden("consumerConnection.txt", &conn);
    consumer_status(&s, member.client_id(), &connection_version(&s));
    let producers = ok(&s.mqadmin(&["producerConnection", "-g", "PG_admin", "-t", "AdminTopic"])).to_owned();
    assert!(producers.starts_with(&format!("0001  {:<32} ", member.client_id())), "{producers}");
    let reset = ok(&s.mqadmin(&["resetOffsetByTime", "-g", "AdminGroup", "-t", "AdminTopic", "-s", "0"])).to_owned();
    assert_golden("resetOffsetByTime.txt", &reset);
    let deadline = Instant::now() + Duration::from_secs(5);
    while member.take_offset_resets().is_empty() {
        assert!(Instant::now() < deadline, "the broker did not push the reset to the consumer");
        std::thread::sleep(Duration::from_millis(20));
    }
    let progress = ok(&s.mqadmin(&["consumerProgress", "-g", "AdminGroup"])).to_owned();
    assert_golden("consumerProgress-g.txt", &masked(&s, &progress, &[]));
    let shown = ok(&s.mqadmin(&["consumerProgress", "-g", "AdminGroup", "-s", "true"])).to_owned();
    assert!(
        shown.starts_with(&format!(
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} ",
            "#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Client IP"
        )),
        "{shown}"
    );
    let all = ok(&s.mqadmin(&["consumerProgress"])).to_owned();
    let group_line = all.lines().find(|l| l.starts_with("AdminGroup ")).expect("AdminGroup listed");
    assert_eq!(
        group_line,
        format!(
            "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
            "AdminGroup", 1, "V4_9_8", "PUSH", "CLUSTERING", 0, 5
        )
    );
    let cloned =
        ok(&s.mqadmin(&["cloneGroupOffset", "-s", "AdminGroup", "-d", "AdminClone", "-t", "AdminTopic", "-o", "true"]))
            .to_owned();
    assert_eq!(cloned, "clone group offset success. srcGroup[AdminGroup], destGroup=[AdminClone], topic[AdminTopic]");
    let track = ok(&s.mqadmin(&["queryMsgById", "-i", &offset_id])).to_owned();
    assert!(
        track.contains("MessageTrack [consumerGroup=AdminGroup, trackType=NOT_CONSUME_YET, exceptionDesc=null]"),
        "{track}"
    );
    member.close();
    // Offline: mqadmin commits the offsets itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    let old = loop {
        let run = s.mqadmin(&["resetOffsetByTime", "-g", "AdminGroup", "-t", "AdminTopic", "-s", "now"]);
        if run.stdout.contains("consumerGroup[AdminGroup]") || Instant::now() > deadline {
            break run;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_golden("resetOffsetByTime-offline.txt", &mask_times(ok(&old)));
    // brokerConsumeStats: every group's queues, now all caught up.
    let header = format!(
        "{:<64}  {:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20}  {}\n",
        "#Topic", "#Group", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff", "#LastTime"
    );
    let stats = ok(&s.mqadmin(&["brokerConsumeStats", "-b", &s.broker])).to_owned();
    assert!(stats.starts_with(&header), "{stats}");
    let rows: Vec<&str> = stats.lines().filter(|l| l.starts_with("AdminTopic ")).collect();
    assert_eq!(rows.len(), 4, "{stats}");
    assert!(rows.iter().all(|r| r.split_whitespace().nth(1) == Some("AdminGroup")), "{stats}");
    assert!(stats.ends_with("\nDiff Total: 0\n"), "{stats}");
    let lagging = ok(&s.mqadmin(&["brokerConsumeStats", "-b", &s.broker, "-l", "1"])).to_owned();
    assert_eq!(lagging, format!("{header}\nDiff Total: 0\n"), "no queue lags by 1 or more");
    let deleted = ok(&s.mqadmin(&["deleteSubGroup", "-b", &s.broker, "-g", "AdminClone", "-r", "true"])).to_owned();
    assert_eq!(deleted, format!("delete subscription group [AdminClone] from broker [{}] success.\n", s.broker));
    let deleted = ok(&s.mqadmin(&["deleteSubGroup", "-c", "DefaultCluster", "-g", "AdminGroup"])).to_owned();
    assert_golden("deleteSubGroup-c.txt", &masked(&s, &deleted, &[]));

    // NameServer: KV, permissions, config.
    assert_eq!(
        ok(&s.mqadmin(&["updateKvConfig", "-s", "NS", "-k", "k", "-v", "v"])),
        "create or update kv config to namespace success.\n"
    );
    assert_eq!(
        ok(&s.mqadmin(&["deleteKvConfig", "-s", "NS", "-k", "k"])),
        "delete kv config from namespace success.\n"
    );
    let wiped = ok(&s.mqadmin(&["wipeWritePerm", "-b", "broker-a"])).to_owned();
    assert!(
        wiped.starts_with(&format!("wipe write perm of broker[broker-a] in name server[{}] OK, ", s.namesrv)),
        "{wiped}"
    );
    let added = ok(&s.mqadmin(&["addWritePerm", "-b", "broker-a"])).to_owned();
    assert!(
        added.starts_with(&format!("add write perm of broker[broker-a] in name server[{}] OK, ", s.namesrv)),
        "{added}"
    );
    let ns_config = ok(&s.mqadmin(&["getNamesrvConfig"])).to_owned();
    assert!(ns_config.starts_with(&format!("============{}============\n", s.namesrv)));
    assert!(ns_config.contains(&format!("{:<50}=  ", "listenPort")), "{ns_config}");
    let ns_updated = ok(&s.mqadmin(&["updateNamesrvConfig", "-k", "orderMessageEnable", "-v", "true"])).to_owned();
    assert_eq!(ns_updated, format!("update name server config success![{}]\norderMessageEnable : true\n", s.namesrv));

    // Store maintenance, send RT, topic deletion.
    for cmd in ["cleanExpiredCQ", "deleteExpiredCommitLog", "cleanUnusedTopic"] {
        assert_eq!(ok(&s.mqadmin(&[cmd, "-b", &s.broker])), "success");
    }
    let mut rt_run = std::process::Command::new(admin_common::MQADMIN)
        .args(["clusterRT", "-a", "3", "-i", "60", "-n", &s.namesrv])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(rt_run.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        lines.push(line);
    }
    let _ = rt_run.kill();
    let _ = rt_run.wait();
    assert_eq!(
        lines[0],
        format!(
            "{:<24}  {:<24}  {:<4}  {:<8}  {:<8}\n",
            "#Cluster Name", "#Broker Name", "#RT", "#successCount", "#failCount"
        )
    );
    assert!(lines[1].starts_with(&format!("{:<24}  {:<24}  ", "DefaultCluster", "broker-a")), "{}", lines[1]);
    assert!(lines[1].contains(&format!("  {:<16}  {:<16}", 3, 0)), "all three sends succeed: {}", lines[1]);
    let gone = ok(&s.mqadmin(&["deleteTopic", "-c", "DefaultCluster", "-t", "OrderTopic"])).to_owned();
    assert_eq!(
        gone,
        "delete topic [OrderTopic] from cluster [DefaultCluster] success.\ndelete topic [OrderTopic] from NameServer success.\n"
    );
    let clustered = ok(&s.mqadmin(&["topicList", "-c"])).to_owned();
    assert!(
        clustered.lines().any(|l| l.starts_with(&format!("{:<20}  {:<64}  ", "DefaultCluster", "AdminTopic"))),
        "{clustered}"
    );
    assert!(!clustered.contains("OrderTopic"), "{clustered}");
}
