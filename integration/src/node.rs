//! One server container (a NameServer or a broker) and the faults a case can
//! inject through it: stop, SIGKILL, pause, network cut, restart.

use std::time::{Duration, Instant};

use testcontainers::bollard::Docker;
use testcontainers::bollard::models::{NetworkConnectRequest, NetworkDisconnectRequest};
use testcontainers::bollard::query_parameters::KillContainerOptionsBuilder;
use testcontainers::{ContainerAsync, GenericImage};

/// What every server prints on stdout once it serves (RocketMQ's boot lines).
pub const BOOT_LINE: &str = "boot success";

/// How long a (re)started server may take to print its boot line.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// A running (or stopped, killed, paused, cut off) server container. Dropping
/// it removes the container.
pub struct Node {
    name: String,
    network: String,
    docker: Docker,
    container: ContainerAsync<GenericImage>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("name", &self.name).field("id", &self.container.id()).finish()
    }
}

impl Node {
    pub(crate) fn new(name: String, network: String, docker: Docker, container: ContainerAsync<GenericImage>) -> Node {
        Node { name, network, docker, container }
    }

    /// The container's name, which is also its host name on the network.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container's address on the cluster's network, if it has one now
    /// (not while stopped or cut off). The host reaches it directly (Linux).
    pub async fn ip(&self) -> Option<String> {
        let info = self.docker.inspect_container(&self.name, None).await.ok()?;
        let networks = info.network_settings?.networks?;
        networks.get(&self.network)?.ip_address.clone().filter(|ip| !ip.is_empty())
    }

    /// `ip:port`, waiting up to 10 s for the container to have an address.
    pub async fn addr(&self, port: u16) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(ip) = self.ip().await {
                return format!("{ip}:{port}");
            }
            assert!(Instant::now() < deadline, "{} has no address on {}", self.name, self.network);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The host port published for `port`; read it again after a restart.
    pub async fn host_port(&self, port: u16) -> u16 {
        self.container
            .get_host_port_ipv4(port)
            .await
            .unwrap_or_else(|e| panic!("{}: no host port for {port}: {e}", self.name))
    }

    /// `docker stop`: SIGTERM, then SIGKILL after 20 s. The server shuts down
    /// cleanly (flush, unregister).
    pub async fn stop(&self) {
        self.container.stop_with_timeout(Some(20)).await.unwrap_or_else(|e| panic!("stop {}: {e}", self.name));
    }

    /// SIGKILL: no flush, no unregister, no goodbye on any socket the kernel
    /// does not close by itself.
    pub async fn kill(&self) {
        let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        self.docker
            .kill_container(&self.name, Some(options))
            .await
            .unwrap_or_else(|e| panic!("kill {}: {e}", self.name));
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.is_running().await {
            assert!(Instant::now() < deadline, "{} still runs 10 s after SIGKILL", self.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Freezes every process of the container (SIGSTOP-like, cgroup freezer):
    /// its sockets stay open and answer nothing.
    pub async fn pause(&self) {
        self.container.pause().await.unwrap_or_else(|e| panic!("pause {}: {e}", self.name));
    }

    pub async fn unpause(&self) {
        self.container.unpause().await.unwrap_or_else(|e| panic!("unpause {}: {e}", self.name));
    }

    /// Cuts the container off the cluster's network (the process keeps running).
    pub async fn disconnect(&self) {
        let request = NetworkDisconnectRequest { container: self.name.clone(), force: Some(true) };
        self.docker
            .disconnect_network(&self.network, request)
            .await
            .unwrap_or_else(|e| panic!("disconnect {} from {}: {e}", self.name, self.network));
    }

    /// Drops every packet between this container and `peers` (addresses on
    /// the cluster's network), both ways, while everything else (the host, so
    /// the test's clients) still reaches it: a partial partition. The rules
    /// live in the container's own network namespace (entered from the host
    /// with `nsenter`; needs root and `iptables` on the host, as Docker does),
    /// and go with it.
    pub async fn isolate_from(&self, peers: &[String]) {
        for peer in peers {
            self.iptables(&["-I", "INPUT", "-s", peer, "-j", "DROP"]).await;
            self.iptables(&["-I", "OUTPUT", "-d", peer, "-j", "DROP"]).await;
        }
    }

    /// Undoes [`isolate_from`](Self::isolate_from).
    pub async fn heal(&self) {
        self.iptables(&["-F", "INPUT"]).await;
        self.iptables(&["-F", "OUTPUT"]).await;
    }

    async fn iptables(&self, args: &[&str]) {
        let info = self.docker.inspect_container(&self.name, None).await;
        let pid = info.ok().and_then(|i| i.state?.pid).filter(|pid| *pid > 0);
        let pid = pid.unwrap_or_else(|| panic!("{} has no process to partition", self.name)).to_string();
        let argv: Vec<String> =
            ["-t", &pid, "-n", "iptables", "-w"].iter().chain(args).map(|a| a.to_string()).collect();
        let run = tokio::task::spawn_blocking(move || std::process::Command::new("nsenter").args(argv).output());
        let out = run
            .await
            .expect("the nsenter task")
            .unwrap_or_else(|e| panic!("nsenter (needed to partition {}): {e}", self.name));
        assert!(
            out.status.success(),
            "iptables {args:?} in {}'s network namespace: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Attaches the container to the cluster's network again (it may get
    /// another address).
    pub async fn reconnect(&self) {
        let request = NetworkConnectRequest { container: self.name.clone(), endpoint_config: None };
        self.docker
            .connect_network(&self.network, request)
            .await
            .unwrap_or_else(|e| panic!("reconnect {} to {}: {e}", self.name, self.network));
    }

    /// Starts a stopped or killed container again (same store, same
    /// configuration) and waits for a new boot line.
    pub async fn start(&self) {
        let booted_before = self.boot_lines().await;
        self.container.start().await.unwrap_or_else(|e| panic!("start {}: {e}", self.name));
        let deadline = Instant::now() + BOOT_TIMEOUT;
        while self.boot_lines().await <= booted_before {
            if Instant::now() > deadline || !self.is_running().await {
                panic!("{} did not boot again within {BOOT_TIMEOUT:?}:\n{}", self.name, self.logs().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// [`stop`](Self::stop) then [`start`](Self::start).
    pub async fn restart(&self) {
        self.stop().await;
        self.start().await;
    }

    pub async fn is_running(&self) -> bool {
        self.container.is_running().await.unwrap_or(false)
    }

    /// How many boot lines the container has printed in its lifetime.
    async fn boot_lines(&self) -> usize {
        let out = self.container.stdout_to_vec().await.unwrap_or_default();
        String::from_utf8_lossy(&out).matches(BOOT_LINE).count()
    }

    /// Everything the container printed (stdout, then stderr), for failure messages.
    pub async fn logs(&self) -> String {
        let out = self.container.stdout_to_vec().await.unwrap_or_default();
        let err = self.container.stderr_to_vec().await.unwrap_or_default();
        format!(
            "--- {} stdout ---\n{}--- {} stderr ---\n{}",
            self.name,
            String::from_utf8_lossy(&out),
            self.name,
            String::from_utf8_lossy(&err)
        )
    }
}
