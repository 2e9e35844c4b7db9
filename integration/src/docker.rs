//! The Docker side: one engine client, the preflight every case runs first,
//! labels on everything we create, and the sweep that removes it.
//!
//! Engine API versions: bollard 0.21 (testcontainers' client) names API 1.53
//! but joins an absolute path onto it, so its requests go out unversioned and
//! an engine answers them at its own version; Debian's Docker 20.10 (API
//! 1.41) serves every call the suites make.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
};

/// The image the suites start; `RMQ_IMAGE` overrides it (`name:tag`).
pub fn image() -> (String, String) {
    let spec = std::env::var("RMQ_IMAGE").unwrap_or_else(|_| "rmq:local".to_owned());
    match spec.rsplit_once(':') {
        Some((name, tag)) if !name.is_empty() && !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (spec, "latest".to_owned()),
    }
}

/// Label on every container and network the suites create (value: the run id).
pub const LABEL_RUN: &str = "rmq.integration.run";
/// Label carrying the pid of the test process that created the resource.
pub const LABEL_PID: &str = "rmq.integration.pid";

static PREFLIGHT: OnceLock<Result<(), String>> = OnceLock::new();

/// Checks, once per process, that the engine answers and the image exists
/// (testcontainers would otherwise try to pull it), and removes what dead
/// test processes left behind. Panics with the reason if anything is missing.
pub fn preflight() {
    let outcome = PREFLIGHT.get_or_init(|| {
        // On a thread of its own: the caller is inside a runtime, which may
        // neither block on nor drop another one.
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for the preflight: {e}"))?;
            runtime.block_on(check())
        })
        .join()
        .unwrap_or_else(|_| Err("the preflight panicked".to_owned()))
    });
    if let Err(message) = outcome {
        panic!("{message}");
    }
}

/// A client of the engine (the one testcontainers uses: `DOCKER_HOST` or the
/// local socket), for what testcontainers has no call for: SIGKILL, network
/// disconnect, inspection, sweeping. Made per use: its connections belong to
/// the runtime that opens them, and every case has its own runtime.
pub fn docker() -> Docker {
    preflight();
    Docker::connect_with_defaults().unwrap_or_else(|e| panic!("cannot reach the Docker engine: {e}"))
}

async fn check() -> Result<(), String> {
    let docker = Docker::connect_with_defaults().map_err(|e| format!("cannot reach the Docker engine: {e}"))?;
    docker.ping().await.map_err(|e| format!("the Docker engine does not answer: {e}"))?;
    let (name, tag) = image();
    if docker.inspect_image(&format!("{name}:{tag}")).await.is_err() {
        return Err(format!("image {name}:{tag} not found: run scripts/build-image.sh first (or set RMQ_IMAGE)"));
    }
    sweep_dead_processes(&docker).await;
    Ok(())
}

/// Labels for a resource of run `run`.
pub fn labels(run: &str) -> HashMap<String, String> {
    HashMap::from([(LABEL_RUN.to_owned(), run.to_owned()), (LABEL_PID.to_owned(), std::process::id().to_string())])
}

/// Removes every container and network labelled with `key=value`; returns
/// how many resources it found.
pub async fn sweep(docker: &Docker, key: &str, value: &str) -> usize {
    let filter = HashMap::from([("label".to_owned(), vec![format!("{key}={value}")])]);
    let mut found = 0;
    let containers = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filter).build()))
        .await
        .unwrap_or_default();
    for c in containers {
        if let Some(id) = c.id {
            found += 1;
            let _ = docker
                .remove_container(&id, Some(RemoveContainerOptionsBuilder::new().force(true).v(true).build()))
                .await;
        }
    }
    let networks = docker
        .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filter).build()))
        .await
        .unwrap_or_default();
    for n in networks {
        if let Some(name) = n.name {
            found += 1;
            for attempt in 0..5 {
                if docker.remove_network(&name).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
            }
        }
    }
    found
}

/// Removes what test processes that no longer run left behind (a SIGKILLed
/// `cargo test`, say).
async fn sweep_dead_processes(docker: &Docker) {
    let filter = HashMap::from([("label".to_owned(), vec![LABEL_PID.to_owned()])]);
    let mut pids: Vec<String> = Vec::new();
    let containers = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filter).build()))
        .await
        .unwrap_or_default();
    pids.extend(containers.into_iter().filter_map(|c| c.labels.and_then(|mut l| l.remove(LABEL_PID))));
    let networks = docker
        .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filter).build()))
        .await
        .unwrap_or_default();
    pids.extend(networks.into_iter().filter_map(|n| n.labels.and_then(|mut l| l.remove(LABEL_PID))));
    pids.sort();
    pids.dedup();
    for pid in pids {
        if !Path::new("/proc").join(&pid).exists() {
            let n = sweep(docker, LABEL_PID, &pid).await;
            eprintln!("[rmq-it] removed {n} leftover resource(s) of dead test process {pid}");
        }
    }
}
