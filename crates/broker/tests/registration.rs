//! A broker started before its NameServer (`mqnamesrv & mqbroker` on one
//! machine: the broker boots first) is registered within seconds of the
//! NameServer coming up, not at the first 30 s period.

use std::time::{Duration, Instant};

use rmq_protocol::{RemotingCommand, RequestCode};
use rmq_testkit::broker::TestBroker;
use rmq_testkit::{namesrv, ports};

#[tokio::test]
async fn a_broker_that_boots_before_its_namesrv_registers_once_it_is_up() {
    let home = tempfile::tempdir().unwrap();
    let namesrv_port = ports::free_port();
    let broker = TestBroker::start(&format!("127.0.0.1:{namesrv_port}"), home.path(), &[]).await;
    // The boot registration has failed by now: nothing listens there.
    let ns = namesrv::start_with(|c| c.listen_port = namesrv_port).await;
    let asked = Instant::now();
    let registered = loop {
        let answer = ns.state().process(None, &RemotingCommand::request(RequestCode::GetBrokerClusterInfo, &()));
        let body = answer.body.to_bytes();
        if String::from_utf8_lossy(&body).contains(&broker.addr) {
            break true;
        }
        if asked.elapsed() > Duration::from_secs(5) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(registered, "the broker was not registered 5 s after its NameServer came up");
    broker.stop().await;
}
