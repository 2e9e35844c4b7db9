//! A NameServer and a broker in this process, on free loopback ports.
#![allow(dead_code)]

use rmq_broker::Settings;
use rmq_remoting::CancellationToken;
use rmq_testkit::namesrv::TestNameServer;
use std::net::TcpListener;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A port p with p-2 (VIP), p and p+1 (HA) free.
pub fn free_broker_port() -> u16 {
    for _ in 0..200 {
        let p = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0);
        if !(1026..=65000).contains(&p) {
            continue;
        }
        if [p - 2, p, p + 1].iter().all(|q| TcpListener::bind(("0.0.0.0", *q)).is_ok()) {
            return p;
        }
    }
    panic!("no free port triple");
}

pub struct Cluster {
    pub namesrv: TestNameServer,
    pub broker_addr: String,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), rmq_broker::BrokerError>>>,
    _home: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> Cluster {
        let namesrv = rmq_testkit::namesrv::start().await;
        let home = tempfile::tempdir().expect("home");
        let port = free_broker_port();
        let mut settings = Settings::new(home.path());
        let (port_text, ns) = (port.to_string(), namesrv.addr_string());
        settings
            .apply_all([
                ("brokerName", "broker-a"),
                ("brokerIP1", "127.0.0.1"),
                ("listenPort", port_text.as_str()),
                ("namesrvAddr", ns.as_str()),
                ("mappedFileSizeCommitLog", "67108864"),
                ("mappedFileSizeConsumeQueue", "600000"),
                ("maxIndexNum", "100000"),
                ("maxHashSlotNum", "20000"),
            ])
            .expect("settings");
        settings.resolve().expect("resolve");
        let shutdown = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            rmq_broker::run(settings, token, move |_| {
                let _ = tx.send(());
            })
            .await
        });
        tokio::time::timeout(Duration::from_secs(30), rx).await.expect("boots in time").expect("boots");
        Cluster { namesrv, broker_addr: format!("127.0.0.1:{port}"), shutdown, task: Some(task), _home: home }
    }

    pub fn namesrv_addr(&self) -> String {
        self.namesrv.addr_string()
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
