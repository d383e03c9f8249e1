//! The executors' execution engine: Ballista's, without per-operator
//! metrics in task statuses.
//!
//! Ballista 55 checks that a finished task reports one metrics set per
//! operator of the stage the scheduler planned. A stage with a union whose
//! inputs differ in nullability comes back from protobuf on the executor
//! with more operators than the scheduler's copy: `UnionExec::try_new`
//! (what decoding calls) puts a casting `ProjectionExec` over such an
//! input, and since a cast's target nullability is not encoded, every
//! further round trip adds another (seen on `pool_access_widened`: a
//! nullable `CASE` column in union with a `CAST` literal). No plan is a
//! fixed point of the round trip, so planning the scheduler's copy "as
//! decoded" cannot fix it (tried). The scheduler then rejects the task's
//! status and the job never finishes. Without operator metrics (which
//! poolsight does not read) the check is skipped and the job completes;
//! shuffle locations and statistics are reported as usual.

use ballista_core::serde::protobuf::{ShuffleWritePartition, TaskColumnStats};
use ballista_core::JobId;
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use datafusion::error::Result;
use datafusion::execution::context::TaskContext;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use std::sync::Arc;

/// Ballista's default engine, stages wrapped. (Without Ballista's
/// shuffle-client pool, which its crate keeps private: each shuffle read
/// connects anew.)
#[derive(Default)]
pub struct WithoutOperatorMetrics {
    inner: DefaultExecutionEngine,
}

impl ExecutionEngine for WithoutOperatorMetrics {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let inner = self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(Stage(inner)))
    }
}

#[derive(Debug)]
struct Stage(Arc<dyn QueryStageExecutor>);

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for Stage {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(
        &self,
    ) -> Vec<ballista_core::serde::protobuf::RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(
        &self,
    ) -> Result<Vec<ballista_core::serde::protobuf::WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.0.collect_column_stats()
    }
}
