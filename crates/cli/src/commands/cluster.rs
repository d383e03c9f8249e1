//! `poolsight cluster scheduler|executor`: Ballista's scheduler and
//! executor with poolsight's functions, codec and S3 store
//! (`poolsight_cluster`). They run until stopped (SIGTERM, Ctrl-C).

use anyhow::{Context, Result};
use poolsight_config::Config;

use crate::cli::{ClusterArgs, ClusterRole};

pub fn run(args: &ClusterArgs, config: &Config) -> Result<u8> {
    // Ballista's planner recurses deeply on large plans.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()?;
    match &args.role {
        ClusterRole::Scheduler {
            bind,
            external_host,
        } => runtime
            .block_on(poolsight_cluster::run_scheduler(
                config,
                poolsight_cluster::SchedulerOptions {
                    bind: *bind,
                    external_host: external_host.clone(),
                },
            ))
            .context("cluster scheduler")?,
        ClusterRole::Executor {
            scheduler,
            bind_host,
            external_host,
            port,
            grpc_port,
            vcores,
            work_dir,
            memory_limit_mib,
        } => {
            let (host, scheduler_port) = scheduler
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host.to_string(), port.parse::<u16>().ok()?)))
                .with_context(|| format!("--scheduler {scheduler:?}: expected host:port"))?;
            runtime
                .block_on(poolsight_cluster::run_executor(
                    config,
                    poolsight_cluster::ExecutorOptions {
                        scheduler_host: host,
                        scheduler_port,
                        bind_host: bind_host.clone(),
                        external_host: external_host.clone(),
                        port: *port,
                        grpc_port: *grpc_port,
                        vcores: *vcores,
                        work_dir: work_dir.clone(),
                        memory_limit: memory_limit_mib.map(|mib| mib.saturating_mul(1 << 20)),
                    },
                ))
                .context("cluster executor")?
        }
    }
    Ok(0)
}
