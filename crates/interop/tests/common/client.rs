//! The runtime rocketmq-client-rust 1.0 needs, and its known quirks.
//!
//! Quirks of this client that are not broker bugs (see docs/interop.md):
//! * tag expressions must not contain spaces (`TagA||TagB`): it hashes the
//!   untrimmed tags;
//! * on 2 cores its listener lane admits 4 running + 16 queued calls, so
//!   [`Harness::new_tuned`] raises it, or consumption turns into send-backs;
//! * heartbeat and route-poll intervals cannot go below 10 s.
//!
//! The 1.0.0 client never creates its own Tokio runtime: the application must own a
//! `rocketmq_runtime::RuntimeOwner`, derive a `ClientRuntime` from it, and pass
//! `Arc<ClientRuntime>` to every producer/consumer/admin builder.

use std::sync::Arc;

use rocketmq_client_rust::ClientError;
use rocketmq_client_rust::ClientResult;
use rocketmq_client_rust::ClientRuntime;
use rocketmq_client_rust::ClientRuntimeConfig;
use rocketmq_observability::TelemetryRuntimeGuard;
use rocketmq_runtime::RuntimeConfig;
use rocketmq_runtime::RuntimeOwner;

pub const NAMESRV: &str = "127.0.0.1:9876";

/// Owns the client's Tokio runtime + ClientRuntime. Create one per test process (or per test).
pub struct Harness {
    owner: RuntimeOwner,
    client_runtime: Arc<ClientRuntime>,
    telemetry: TelemetryRuntimeGuard,
}

impl Harness {
    /// Default profile. On a 2-core box the "metadata-io" blocking lane, which runs every
    /// *synchronous* listener call (push consumer listeners, transaction check-backs), only
    /// admits 4 concurrent + 16 queued tasks (queue wait <= 5 s, then the consume attempt
    /// fails and the batch is treated as RECONSUME_LATER). `Harness::new_tuned` raises it.
    pub fn new(name: &str) -> ClientResult<Self> {
        let config = RuntimeConfig { thread_name: format!("rmq-interop-{name}"), ..Default::default() };
        Self::with_config(config)
    }

    /// Raised blocking-lane limits: the knob behind "its consume queue holds 16 tasks by
    /// default on 2 cores". Fields are `RuntimeConfig::blocking_lane_policies.metadata_io.
    /// {max_concurrency,max_queue_depth,queue_timeout}` plus `max_blocking_threads`.
    pub fn new_tuned(name: &str) -> ClientResult<Self> {
        let mut config = RuntimeConfig { thread_name: format!("rmq-interop-{name}"), ..Default::default() };
        // Global managed blocking capacity (default = 4 * cores, clamped to [3, 512]).
        config.max_blocking_threads = 64;
        config.blocking_lane_policies.metadata_io.max_concurrency = 32;
        config.blocking_lane_policies.metadata_io.max_queue_depth = 4096;
        config.blocking_lane_policies.metadata_io.queue_timeout = std::time::Duration::from_secs(60);
        Self::with_config(config)
    }

    pub fn with_config(config: RuntimeConfig) -> ClientResult<Self> {
        let owner = RuntimeOwner::plan(config)
            .map_err(|e| ClientError::internal("validate runtime config", e))?
            .build()
            .map_err(|e| ClientError::internal("build runtime owner", e))?;
        // noop telemetry: installs NO tracing subscriber and no exporters.
        let telemetry = TelemetryRuntimeGuard::noop();
        let client_runtime = ClientRuntime::try_new(
            owner.root_context().component("client"),
            ClientRuntimeConfig::default(),
            telemetry.handle(),
        )?;
        Ok(Self { owner, client_runtime, telemetry })
    }

    pub fn client_runtime(&self) -> Arc<ClientRuntime> {
        Arc::clone(&self.client_runtime)
    }

    /// Use from a plain (non-async) `fn main` / `#[test]`: runs `fut` on the owned runtime.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.owner.block_on(fut)
    }

    /// Shutdown from inside an async context (`#[tokio::main]` / `#[tokio::test]`).
    /// Shut producers/consumers down first, then call this.
    pub async fn shutdown_async(self) {
        let report = self.client_runtime.shutdown().await;
        if !report.is_healthy() {
            eprintln!("client runtime shutdown unhealthy: {}", report.to_json());
        }
        let report = self.owner.shutdown_tasks().await;
        if !report.is_healthy() {
            eprintln!("runtime tasks shutdown unhealthy: {}", report.to_json());
        }
        // Never drop a Tokio runtime inside async context: hand it to the background.
        let _ = self.owner.shutdown_background();
        let _ = self.telemetry.shutdown();
    }

    /// Shutdown from a plain (non-async) context after `block_on` use.
    pub fn shutdown_blocking(self) {
        let client_runtime = Arc::clone(&self.client_runtime);
        let report = self.owner.block_on(async move { client_runtime.shutdown().await });
        if !report.is_healthy() {
            eprintln!("client runtime shutdown unhealthy: {}", report.to_json());
        }
        match self.owner.shutdown_runtime_blocking() {
            Ok(r) if !r.is_healthy() => eprintln!("runtime shutdown unhealthy: {}", r.to_json()),
            Ok(_) => {}
            Err(e) => eprintln!("runtime shutdown error: {e}"),
        }
        let _ = self.telemetry.shutdown();
    }
}

/// Optional: see the client's own `tracing` output (it logs nothing unless a subscriber exists).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
}
