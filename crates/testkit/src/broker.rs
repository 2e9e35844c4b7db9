//! A broker in this process on free loopback ports, alone or with a
//! NameServer ([`Cluster`]).

use crate::namesrv::TestNameServer;
use crate::ports::free_broker_port;
use rmq_broker::Settings;
use rmq_remoting::CancellationToken;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;

/// A broker running in this process.
#[derive(Debug)]
pub struct TestBroker {
    pub addr: String,
    pub port: u16,
    pub store_root: PathBuf,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), rmq_broker::BrokerError>>>,
}

impl TestBroker {
    /// Starts a broker registering with `namesrv`, its store under `home`;
    /// `configure` may set any broker or store key.
    pub async fn start(namesrv: &str, home: &Path, configure: &[(&str, &str)]) -> TestBroker {
        let port = free_broker_port();
        let mut settings = Settings::new(home);
        let port_text = port.to_string();
        let mut pairs = vec![
            ("brokerName", "broker-a"),
            ("brokerIP1", "127.0.0.1"),
            ("listenPort", port_text.as_str()),
            ("namesrvAddr", namesrv),
            // Small files keep test stores light.
            ("mappedFileSizeCommitLog", "67108864"),
            ("mappedFileSizeConsumeQueue", "600000"),
            ("maxIndexNum", "100000"),
            ("maxHashSlotNum", "20000"),
        ];
        pairs.extend_from_slice(configure);
        settings.apply_all(pairs).expect("test settings");
        settings.resolve().expect("resolve");
        let store_root = settings.store.store_path_root_dir.clone();
        let shutdown = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            rmq_broker::run(settings, token, move |_| {
                let _ = tx.send(());
            })
            .await
        });
        tokio::time::timeout(Duration::from_secs(30), rx).await.expect("broker boots in time").expect("broker boots");
        TestBroker { addr: format!("127.0.0.1:{port}"), port, store_root, shutdown, task: Some(task) }
    }

    /// Shuts the broker down cleanly and waits for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("broker task").expect("clean broker shutdown");
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A NameServer and one broker, both fresh.
#[derive(Debug)]
pub struct Cluster {
    pub namesrv: TestNameServer,
    pub broker: TestBroker,
    pub home: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(configure: &[(&str, &str)]) -> Cluster {
        let namesrv = crate::namesrv::start().await;
        let home = tempfile::tempdir().expect("temp home");
        let broker = TestBroker::start(&namesrv.addr_string(), home.path(), configure).await;
        Cluster { namesrv, broker, home }
    }

    pub fn namesrv_addr(&self) -> String {
        self.namesrv.addr_string()
    }
}
