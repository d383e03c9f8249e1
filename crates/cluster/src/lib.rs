//! The detections and `sql` on a Ballista cluster (`[engine] ballista =
//! "df://host:50050"`, or `--engine df://…`).
//!
//! Ballista's own scheduler and executor binaries do not know poolsight's
//! functions (GeoIP, `ip_network`, the pool-settings and JSON functions,
//! `is_judged`) nor how to reach a bucket with `[aws]`'s credentials. So
//! poolsight embeds them: `poolsight cluster scheduler` ([`run_scheduler`])
//! and `poolsight cluster executor` ([`run_executor`]) run Ballista with
//!
//! - the same function registry as a local session (`poolsight_detect::register_functions`),
//! - [`codec`]: in-memory tables inline, `is_judged` with its spans,
//! - [`stores`]: `s3://` through the AWS SDK.
//!
//! [`BallistaEngine`] is the client side: the session `detect` and `sql`
//! plan on, whose queries the scheduler splits into stages for executors.
//! Deployment: `docs/cluster.md`.

pub mod codec;
mod engine;
pub mod file_statistics;
pub mod pushdown;
pub mod stores;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::{SessionConfig, SessionContext};
use poolsight_detect::geoip::GeoIp;
use poolsight_detect::DetectError;

use codec::{PoolsightLogicalCodec, PoolsightPhysicalCodec};
use stores::LakeStores;

/// Errors of the cluster processes.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("ballista: {0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error("{0}")]
    Invalid(String),
}

/// The Ballista session config with poolsight's codecs.
pub fn session_config() -> SessionConfig {
    cluster_settings(
        SessionConfig::new_with_ballista()
            .with_ballista_logical_extension_codec(Arc::new(PoolsightLogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(PoolsightPhysicalCodec::default()))
            .with_information_schema(true),
    )
}

/// What every cluster session needs on top of its own settings.
///
/// - Ballista 55's static distributed planner. Its adaptive planner and
///   adaptive joins rewrite a stage per task on the executors; with
///   poolsight's many-join detection plans the rewritten stages report a
///   different number of operators than the scheduler planned, the
///   scheduler rejects the task statuses and the job never ends.
/// - No per-file statistics. Every task carries its whole stage plan, and
///   with statistics each of the stage's files brings min/max/null counts
///   of every column: on a 10M-event lake (3,798 files) the scheduler
///   grew to 7.6 GB encoding them, and a task grew past what gRPC takes
///   ("h2 protocol error"), so Ballista declared the executors lost and
///   failed the job. Files are still pruned by their partition folder, and
///   row groups by their own statistics on the executors.
fn cluster_settings(config: SessionConfig) -> SessionConfig {
    config
        .set_bool(
            ballista_core::config::BALLISTA_ADAPTIVE_PLANNER_ENABLED,
            false,
        )
        .set_bool(ballista_core::config::BALLISTA_ADAPTIVE_JOIN_ENABLED, false)
        .with_collect_statistics(false)
}

/// A session state over `config` with poolsight's functions, stores and
/// physical rules ([`physical_rules`]).
pub fn session_state(
    config: SessionConfig,
    stores: Arc<LakeStores>,
    geoip: Arc<GeoIp>,
    memory_limit: Option<u64>,
) -> Result<SessionState, ClusterError> {
    let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(stores);
    if let Some(bytes) = memory_limit {
        // Shared fairly by the operators that can spill (sorts,
        // aggregations, sort-merge joins: Ballista's joins); they spill to
        // the OS temporary folder past their share instead of growing.
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
    }
    let runtime = runtime.build_arc()?;
    // As Ballista's default session builder, plus poolsight's functions.
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_optimizer_rules(logical_rules())
        .with_scalar_functions(ballista_core::extension::ballista_scalar_functions())
        .with_aggregate_functions(ballista_core::extension::ballista_aggregate_functions())
        .with_window_functions(ballista_core::extension::ballista_window_functions())
        .with_physical_optimizer_rules(physical_rules())
        .build();
    let mut ctx = SessionContext::new_with_state(state);
    poolsight_detect::register_functions(&mut ctx, geoip, None)?;
    Ok(ctx.state())
}

/// Ballista's logical optimizer rules, then scans planned with shared file
/// statistics ([`file_statistics`]): without it the
/// scheduler held ~7 GB of equal copies planning one detection on a
/// 10M-event lake. Only sessions that plan physically use these (the
/// scheduler's); a client's plan must stay encodable.
fn logical_rules() -> Vec<Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync>> {
    let mut rules = ballista_core::optimizer::ballista_default_optimizer_rules();
    rules.push(Arc::new(file_statistics::ShareFileStatistics));
    rules
}

/// DataFusion's physical optimizer rules, with the sort-merge join guard
/// ([`pushdown`]).
fn physical_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    pushdown::guard_rules(PhysicalOptimizer::new().rules)
}

/// How long the scheduler keeps a finished job's state (Ballista: 3600 s).
const FINISHED_JOB_STATE_SECONDS: u64 = 60;

/// Where the scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// The host executors and clients reach it at.
    pub external_host: String,
}

/// Runs a scheduler until the process ends.
pub async fn run_scheduler(
    config: &poolsight_config::Config,
    options: SchedulerOptions,
) -> Result<(), ClusterError> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let stores = Arc::new(LakeStores::new(config).await);
    let geoip = Arc::new(GeoIp::from_config(config)?);
    let builder_stores = Arc::clone(&stores);
    let builder_geoip = Arc::clone(&geoip);
    let mut scheduler = SchedulerConfig::default()
        .with_hostname(options.external_host.clone())
        .with_port(options.bind.port())
        .with_override_config_producer(Arc::new(session_config))
        .with_override_session_builder(Arc::new(move |config: SessionConfig| {
            session_state(
                config,
                Arc::clone(&builder_stores),
                Arc::clone(&builder_geoip),
                None,
            )
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
        }));
    scheduler.bind_host = options.bind.ip().to_string();
    // A finished job's execution graph (every stage's plan, every file) is
    // kept an hour by default: a detect run is dozens of jobs, and on the
    // 10M-event lake the scheduler passed 10 GB within one detection. The
    // client has its results' locations once the job is done.
    scheduler.finished_job_state_clean_up_interval_seconds = FINISHED_JOB_STATE_SECONDS;
    scheduler.override_logical_codec = Some(Arc::new(PoolsightLogicalCodec::default()));
    scheduler.override_physical_codec = Some(Arc::new(PoolsightPhysicalCodec::default()));
    let cluster = BallistaCluster::new_from_config(&scheduler).await?;
    tracing::info!(bind = %options.bind, "poolsight cluster scheduler");
    ballista_scheduler::scheduler_process::start_server(cluster, options.bind, Arc::new(scheduler))
        .await?;
    Ok(())
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub scheduler_host: String,
    pub scheduler_port: u16,
    pub bind_host: String,
    /// The host the scheduler and other executors reach it at.
    pub external_host: Option<String>,
    /// Arrow Flight (shuffle data) port.
    pub port: u16,
    /// gRPC (tasks) port.
    pub grpc_port: u16,
    /// Task slots (default: the cores).
    pub vcores: Option<usize>,
    /// Shuffle files (default: a temporary folder).
    pub work_dir: Option<PathBuf>,
    /// Bytes of memory the tasks share before spilling (default: none).
    pub memory_limit: Option<u64>,
}

/// Runs an executor until the process ends (or the scheduler stops it).
pub async fn run_executor(
    config: &poolsight_config::Config,
    options: ExecutorOptions,
) -> Result<(), ClusterError> {
    use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
    let stores = Arc::new(LakeStores::new(config).await);
    let geoip = Arc::new(GeoIp::from_config(config)?);
    let state = session_state(
        session_config(),
        Arc::clone(&stores),
        geoip,
        options.memory_limit,
    )?;
    let runtime = state.runtime_env().clone();
    let mut process = ExecutorProcessConfig {
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        bind_host: options.bind_host,
        external_host: options.external_host,
        port: options.port,
        grpc_port: options.grpc_port,
        // Started with the scheduler (compose, a test): wait for it.
        scheduler_connect_timeout_seconds: 60,
        work_dir: options
            .work_dir
            .map(|dir| dir.to_string_lossy().into_owned()),
        override_function_registry: Some(Arc::new((&state).into())),
        override_execution_engine: Some(Arc::new(engine::WithoutOperatorMetrics::default())),
        override_runtime_producer: Some(Arc::new(move |_| Ok(Arc::clone(&runtime)))),
        override_config_producer: Some(Arc::new(session_config)),
        override_logical_codec: Some(Arc::new(PoolsightLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PoolsightPhysicalCodec::default())),
        ..Default::default()
    };
    if let Some(vcores) = options.vcores {
        process.vcores = vcores.max(1);
    }
    tracing::info!(
        scheduler = %format!("{}:{}", process.scheduler_host, process.scheduler_port),
        port = process.port,
        grpc_port = process.grpc_port,
        vcores = process.vcores,
        memory_limit = ?options.memory_limit,
        "poolsight cluster executor"
    );
    start_executor_process(Arc::new(process)).await?;
    Ok(())
}

/// The client side: sessions whose queries run on the cluster at `url`
/// (`df://host:port`).
#[derive(Debug)]
pub struct BallistaEngine {
    url: String,
    stores: Arc<LakeStores>,
}

impl BallistaEngine {
    pub async fn connect(
        url: &str,
        config: &poolsight_config::Config,
    ) -> Result<Self, ClusterError> {
        if !url.starts_with("df://") {
            return Err(ClusterError::Invalid(format!(
                "{url:?} is not a Ballista scheduler (df://host:50050)"
            )));
        }
        Ok(Self {
            url: url.to_string(),
            stores: Arc::new(LakeStores::new(config).await),
        })
    }
}

#[async_trait::async_trait]
impl poolsight_detect::Engine for BallistaEngine {
    async fn session(&self, config: SessionConfig) -> Result<SessionContext, DetectError> {
        // The session's own settings (partitions, pushdown), made Ballista's.
        let merged = cluster_settings(
            config
                .upgrade_for_ballista()
                .with_ballista_logical_extension_codec(Arc::new(PoolsightLogicalCodec::default()))
                .with_ballista_physical_extension_codec(
                    Arc::new(PoolsightPhysicalCodec::default()),
                ),
        );
        let runtime = RuntimeEnvBuilder::new()
            .with_object_store_registry(Arc::clone(&self.stores) as _)
            .build_arc()
            .map_err(DetectError::from)?;
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(merged)
            .with_runtime_env(runtime)
            .with_physical_optimizer_rules(physical_rules())
            .build();
        Ok(SessionContext::remote_with_state(&self.url, state).await?)
    }

    fn name(&self) -> &str {
        &self.url
    }
}
