//! `mqadmin statsAll` against a real broker: a topic with sends and no
//! consumer shows its day total and NO_CONSUMER; once a group has pulled,
//! its row shows what it took and its backlog, in Java's columns.

mod admin_common;

use admin_common::{Run, Servers};
use rmq_client::{Client, ClientOptions, PullConsumer};
use std::time::{Duration, Instant};

/// Pulls `count` messages of `topic`'s only queue as `group` and commits the offset.
fn pull_and_commit(namesrv: &str, topic: &str, group: &str, count: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let consumer = PullConsumer::new(Client::new(ClientOptions::new(namesrv)), group);
        let mq = consumer.queues(topic).await.unwrap().remove(0);
        let mut puller = consumer.puller(mq.clone(), "*", 0).with_batch_size(count as i32);
        let mut taken = 0;
        while taken < count {
            taken += puller.next_batch().await.unwrap().len();
        }
        consumer.commit_offset(&mq, taken as i64).await.unwrap();
    });
}

fn ok(run: &Run) -> &str {
    assert_eq!(run.code, 0, "mqadmin failed: {run:?}");
    &run.stdout
}

/// The columns of `topic`'s row for `group` ("" for the NO_CONSUMER row).
fn row(out: &str, topic: &str, group: &str) -> Option<Vec<String>> {
    out.lines().find_map(|line| {
        let cols: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let matches = cols.first().is_some_and(|t| t == topic)
            && (group.is_empty() && cols.last().is_some_and(|c| c == "NO_CONSUMER")
                || cols.get(1).is_some_and(|g| g == group));
        matches.then_some(cols)
    })
}

#[test]
fn stats_all_shows_sends_backlog_and_consumption() {
    let s = Servers::start();
    ok(&s.mqadmin(&["updateTopic", "-b", &s.broker, "-t", "StatsAllTopic", "-r", "1", "-w", "1"]));
    s.wait_for_route("StatsAllTopic");
    for i in 0..5 {
        ok(&s.mqadmin(&["sendMessage", "-t", "StatsAllTopic", "-p", &format!("m{i}")]));
    }
    let out = ok(&s.mqadmin(&["statsAll", "-t", "StatsAllTopic"])).to_owned();
    assert!(out.starts_with("#Topic"), "{out}");
    let cols = row(&out, "StatsAllTopic", "").unwrap_or_else(|| panic!("no NO_CONSUMER row: {out}"));
    // Topic, accumulation 0, in-TPS, day total, NO_CONSUMER.
    assert_eq!(cols[1], "0", "{out}");
    assert_eq!(cols[3], "5", "five messages today: {out}");
    assert!(cols[2].parse::<f64>().unwrap() > 0.0, "{out}");

    // A group pulls 3 of the 5 and commits: its row shows 2 left and 3 out.
    pull_and_commit(&s.namesrv, "StatsAllTopic", "StatsAllGroup", 3);
    let deadline = Instant::now() + Duration::from_secs(10);
    let cols = loop {
        let out = ok(&s.mqadmin(&["statsAll", "-t", "StatsAllTopic"])).to_owned();
        if let Some(cols) = row(&out, "StatsAllTopic", "StatsAllGroup") {
            break cols;
        }
        assert!(Instant::now() < deadline, "no row for the group: {out}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(cols[2], "2", "backlog: {cols:?}");
    assert_eq!(cols[5], "5", "in today: {cols:?}");
    assert_eq!(cols[6], "3", "out today: {cols:?}");
    // `-a` keeps active topics only: the idle TBW102 is gone.
    let active = ok(&s.mqadmin(&["statsAll", "-a"])).to_owned();
    assert!(active.contains("StatsAllTopic") && !active.contains("TBW102"), "{active}");
}
