//! A guard around DataFusion 55's physical `ProjectionPushdown` for the
//! sort-merge joins a Ballista session plans.
//!
//! Ballista prefers sort-merge joins (they spill; DataFusion's hash join
//! does not). In DataFusion 55.2 pushing a projection below a
//! `SortMergeJoinExec` keeps the join's filter as it was, so a filter
//! column can point at another column of the narrowed input
//! (apache/datafusion#24414, fixed upstream after 55.2): wrong rows, or
//! "column types must match schema types" when the types differ — what
//! `identity_id_enumeration` hit on the cluster.
//!
//! [`GuardedProjectionPushdown`] runs DataFusion's rule and keeps its
//! result only when every sort-merge join filter still reads columns of the
//! name and type it was planned with; otherwise it keeps the plan as it was
//! before the rule (correct, a few more columns carried). Remove it when
//! the workspace moves to a DataFusion with the fix (its test says when).

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::JoinSide;
use datafusion::error::Result;
use datafusion::physical_optimizer::projection_pushdown::ProjectionPushdown;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::SortMergeJoinExec;
use datafusion::physical_plan::ExecutionPlan;

/// DataFusion's `ProjectionPushdown`, undone for a plan where it left a
/// sort-merge join filter reading the wrong columns.
#[derive(Debug, Default)]
pub struct GuardedProjectionPushdown {
    inner: ProjectionPushdown,
}

impl PhysicalOptimizerRule for GuardedProjectionPushdown {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let pushed = self.inner.optimize(Arc::clone(&plan), config)?;
        if join_filters_consistent(&pushed)? {
            Ok(pushed)
        } else {
            tracing::debug!("projection pushdown skipped: it broke a sort-merge join filter");
            Ok(plan)
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn schema_check(&self) -> bool {
        self.inner.schema_check()
    }
}

/// `rules` with DataFusion's `ProjectionPushdown` replaced by the guarded one.
pub fn guard_rules(
    rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>>,
) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    rules
        .into_iter()
        .map(|rule| {
            if (rule.as_ref() as &dyn std::any::Any).is::<ProjectionPushdown>() {
                Arc::new(GuardedProjectionPushdown::default()) as _
            } else {
                rule
            }
        })
        .collect()
}

/// Whether every sort-merge join filter of `plan` reads, for each of its
/// columns, an input column of the same name and type.
fn join_filters_consistent(plan: &Arc<dyn ExecutionPlan>) -> Result<bool> {
    let mut consistent = true;
    plan.apply(|node| {
        let Some(join) = node.downcast_ref::<SortMergeJoinExec>() else {
            return Ok(TreeNodeRecursion::Continue);
        };
        let Some(filter) = join.filter() else {
            return Ok(TreeNodeRecursion::Continue);
        };
        let (left, right) = (join.left().schema(), join.right().schema());
        for (expected, column) in filter.schema().fields().iter().zip(filter.column_indices()) {
            let input = match column.side {
                JoinSide::Left => &left,
                _ => &right,
            };
            let matches = input.fields().get(column.index).is_some_and(|field| {
                field.name() == expected.name() && field.data_type() == expected.data_type()
            });
            if !matches {
                consistent = false;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(consistent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// apache/datafusion#24414: the join keeps `(1, 1)` only if its filter
    /// `t1.column1 > t2.column1` reads the right columns.
    const QUERY: &str = "SELECT t1.column2 AS left_b, t2.column2 AS right_b \
        FROM (VALUES (100, 1, 0)) t1 JOIN (VALUES (10, 1)) t2 \
        ON t1.column2 = t2.column2 AND t1.column1 > t2.column1";

    async fn rows(guarded: bool) -> String {
        let config = SessionConfig::new()
            .with_target_partitions(2)
            .with_repartition_joins(true)
            .set_bool("datafusion.optimizer.prefer_hash_join", false);
        let rules = PhysicalOptimizer::new().rules;
        let rules = if guarded { guard_rules(rules) } else { rules };
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .with_physical_optimizer_rules(rules)
            .build();
        let ctx = SessionContext::new_with_state(state);
        let batches = ctx
            .sql(QUERY)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        pretty_format_batches(&batches).expect("format").to_string()
    }

    #[tokio::test]
    async fn a_sort_merge_join_filter_reads_its_own_columns() {
        let guarded = rows(true).await;
        assert!(guarded.contains("| 1      | 1       |"), "{guarded}");
    }

    #[tokio::test]
    async fn datafusion_still_needs_the_guard() {
        // When this fails, DataFusion fixed #24414: drop this module.
        let unguarded = rows(false).await;
        assert!(!unguarded.contains("| 1      | 1       |"), "{unguarded}");
    }

    #[test]
    fn only_projection_pushdown_is_replaced() {
        let before = PhysicalOptimizer::new().rules;
        let after = guard_rules(before.clone());
        assert_eq!(before.len(), after.len());
        let replaced = after
            .iter()
            .filter(|rule| (rule.as_ref() as &dyn std::any::Any).is::<GuardedProjectionPushdown>())
            .count();
        let originals = before
            .iter()
            .filter(|rule| (rule.as_ref() as &dyn std::any::Any).is::<ProjectionPushdown>())
            .count();
        assert!(originals >= 1);
        assert_eq!(replaced, originals);
    }
}
