//! A NameServer and a broker in this process, on free loopback ports
//! (`rmq_testkit::broker::Cluster`), under the names these suites use.
#![allow(dead_code, unused_imports)]

pub use rmq_testkit::ports::free_broker_port;

pub struct Cluster {
    inner: rmq_testkit::broker::Cluster,
    pub broker_addr: String,
}

impl Cluster {
    pub async fn start() -> Cluster {
        Cluster::start_with(&[]).await
    }

    /// With broker config pairs on top of the test defaults.
    pub async fn start_with(configure: &[(&str, &str)]) -> Cluster {
        let inner = rmq_testkit::broker::Cluster::start(configure).await;
        let broker_addr = inner.broker.addr.clone();
        Cluster { inner, broker_addr }
    }

    pub fn namesrv_addr(&self) -> String {
        self.inner.namesrv_addr()
    }

    pub async fn stop(self) {
        self.inner.broker.stop().await;
    }
}
