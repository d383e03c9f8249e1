//! One copy of each distinct per-file statistics in a scan's plan.
//!
//! DataFusion 55 gives every file a listing scan plans its own
//! [`Statistics`]: one column entry per column of the table, plus the
//! partition column, even when statistics are not collected (then every
//! entry is "unknown" and the copies are all equal). poolsight's `events`
//! table has ~100 columns, so each copy is ~40 KB. A detection mentions
//! the events dozens of times (its views are inlined), and a 10M-event lake
//! is ~3,800 files: a heap profile of the cluster's scheduler planning
//! `access_denial` showed 7.4 GB held by these copies (193,700 of them),
//! and the scheduler never gave the memory back.
//!
//! [`ShareFileStatistics`] is a logical optimizer rule (appended last) that
//! wraps each listing table a query scans in [`SharedStatisticsTable`]: the
//! same table, whose scans keep one `Arc` per distinct statistics among
//! the files of each partition value. Equal statistics are shared, unequal
//! ones are kept as they are, so what the plan says about every file is
//! unchanged; only the copies go.
//!
//! The cluster's scheduler uses it: its sessions collect no statistics
//! (`cluster_settings` in `lib.rs`), so a day's files all share one
//! copy. A Ballista client does not, since its logical plan is sent to the
//! scheduler and must stay a plain `ListingTable` to be encoded. Nor do
//! sessions in process: they collect statistics from each file's footer,
//! the copies all differ and there is nothing to share (their cost at 10M
//! is a known open item, `bench/README.md`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Constraints, Result, ScalarValue, Statistics};
use datafusion::datasource::listing::ListingTable;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::{provider_as_source, source_as_provider, TableType};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown, TableScan};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_plan::ExecutionPlan;

/// Distinct statistics compared per partition value before a file's are
/// kept as they are (files with statistics of their own all differ).
const CANDIDATES_PER_PARTITION: usize = 4;

/// The rule: listing-table scans planned with shared file statistics.
#[derive(Debug, Default)]
pub struct ShareFileStatistics;

impl OptimizerRule for ShareFileStatistics {
    fn name(&self) -> &str {
        "poolsight_share_file_statistics"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::TableScan(scan) = plan else {
            return Ok(Transformed::no(plan));
        };
        let Ok(provider) = source_as_provider(&scan.source) else {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        };
        if provider.downcast_ref::<ListingTable>().is_none() {
            return Ok(Transformed::no(LogicalPlan::TableScan(scan)));
        }
        let source = provider_as_source(Arc::new(SharedStatisticsTable { inner: provider }));
        Ok(Transformed::yes(LogicalPlan::TableScan(TableScan {
            source,
            ..scan
        })))
    }
}

/// A listing table whose scans share equal per-file statistics.
#[derive(Debug)]
pub struct SharedStatisticsTable {
    inner: Arc<dyn TableProvider>,
}

#[async_trait::async_trait]
impl TableProvider for SharedStatisticsTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.inner.constraints()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn get_table_definition(&self) -> Option<&str> {
        self.inner.get_table_definition()
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        self.inner.get_logical_plan()
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.inner.get_column_default(column)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        share_in_plan(plan)
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> Result<ScanResult> {
        let result = self.inner.scan_with_args(state, args).await?;
        Ok(ScanResult::new(share_in_plan(result.into_inner())?))
    }
}

/// Every file scan in `plan` with its files' equal statistics shared.
fn share_in_plan(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(exec) = node.downcast_ref::<DataSourceExec>() else {
            return Ok(Transformed::no(node));
        };
        let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() else {
            return Ok(Transformed::no(node));
        };
        let mut config = config.clone();
        config.file_groups = share_statistics(std::mem::take(&mut config.file_groups));
        let shared: Arc<dyn ExecutionPlan> =
            Arc::new(exec.clone().with_data_source(Arc::new(config)));
        Ok(Transformed::yes(shared))
    })
    .map(|transformed| transformed.data)
}

/// `groups` with one `Arc` per distinct statistics among the files of each
/// partition value.
pub fn share_statistics(groups: Vec<FileGroup>) -> Vec<FileGroup> {
    let mut seen: HashMap<Vec<ScalarValue>, Vec<Arc<Statistics>>> = HashMap::new();
    groups
        .into_iter()
        .map(|group| {
            let group_statistics = group.file_statistics(None).cloned();
            let files = group
                .into_inner()
                .into_iter()
                .map(|mut file| {
                    if let Some(statistics) = file.statistics.take() {
                        let candidates = seen.entry(file.partition_values.clone()).or_default();
                        file.statistics = Some(
                            match candidates.iter().find(|known| **known == statistics) {
                                Some(known) => Arc::clone(known),
                                None => {
                                    if candidates.len() < CANDIDATES_PER_PARTITION {
                                        candidates.push(Arc::clone(&statistics));
                                    }
                                    statistics
                                }
                            },
                        );
                    }
                    file
                })
                .collect();
            let shared = FileGroup::new(files);
            match group_statistics {
                Some(statistics) => shared.with_statistics(Arc::new(statistics)),
                None => shared,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::stats::Precision;
    use datafusion::datasource::listing::PartitionedFile;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Int64, true),
        ]))
    }

    fn file(name: &str, day: &str, statistics: Statistics) -> PartitionedFile {
        PartitionedFile::new(name, 10)
            .with_partition_values(vec![ScalarValue::from(day)])
            .with_statistics(Arc::new(statistics))
    }

    #[test]
    fn equal_statistics_of_a_partition_are_one_copy() {
        let unknown = Statistics::new_unknown(&schema());
        let groups = vec![
            FileGroup::new(vec![
                file("d1/1", "d1", unknown.clone()),
                file("d1/2", "d1", unknown.clone()),
            ]),
            FileGroup::new(vec![
                file("d1/3", "d1", unknown.clone()),
                file("d2/1", "d2", unknown.clone()),
            ]),
        ];
        let before: Vec<Statistics> = groups
            .iter()
            .flat_map(|g| g.iter().map(|f| f.statistics.as_deref().cloned().unwrap()))
            .collect();
        let shared = share_statistics(groups);
        let files: Vec<&PartitionedFile> = shared.iter().flat_map(|g| g.iter()).collect();
        let arc = |i: usize| files[i].statistics.as_ref().unwrap();
        assert!(Arc::ptr_eq(arc(0), arc(1)));
        assert!(Arc::ptr_eq(arc(0), arc(2)));
        // Another day's partition column statistics differ: its own copy.
        assert!(!Arc::ptr_eq(arc(0), arc(3)));
        let after: Vec<Statistics> = files
            .iter()
            .map(|f| f.statistics.as_deref().cloned().unwrap())
            .collect();
        assert_eq!(
            before, after,
            "what the plan says about each file is unchanged"
        );
    }

    /// The scans of a partitioned listing table planned in a session with
    /// the rule: one statistics copy per day, and the same rows as without.
    #[tokio::test]
    async fn a_session_with_the_rule_plans_shared_statistics() -> Result<()> {
        use datafusion::datasource::file_format::parquet::ParquetFormat;
        use datafusion::datasource::listing::{
            ListingOptions, ListingTableConfig, ListingTableUrl,
        };
        use datafusion::prelude::{SessionConfig, SessionContext};
        let dir = tempfile::tempdir()?;
        let writer = SessionContext::new();
        for (day, file, value) in [
            ("d1", "1", 1),
            ("d1", "2", 2),
            ("d1", "3", 3),
            ("d2", "1", 4),
        ] {
            let path = dir.path().join(format!("day={day}/{file}.parquet"));
            writer
                .sql(&format!(
                    "COPY (SELECT {value} AS v) TO '{}' STORED AS PARQUET",
                    path.display()
                ))
                .await?
                .collect()
                .await?;
        }
        let rows_and_plan = |with_rule: bool| {
            let root = dir.path().to_path_buf();
            async move {
                // Statistics not collected, as on the cluster: all unknown.
                let ctx = SessionContext::new_with_config(
                    SessionConfig::new()
                        .with_collect_statistics(false)
                        .with_target_partitions(2),
                );
                if with_rule {
                    ctx.add_optimizer_rule(Arc::new(ShareFileStatistics));
                }
                let url = ListingTableUrl::parse(format!("{}/", root.display()))?;
                let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                    .with_table_partition_cols(vec![("day".into(), DataType::Utf8)]);
                let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
                let table = ListingTable::try_new(
                    ListingTableConfig::new(url)
                        .with_listing_options(options)
                        .with_schema(schema),
                )?;
                ctx.register_table("t", Arc::new(table))?;
                let frame = ctx
                    .sql("SELECT day, sum(v) AS s FROM t GROUP BY day ORDER BY day")
                    .await?;
                let plan = frame.clone().create_physical_plan().await?;
                let rows = datafusion::arrow::util::pretty::pretty_format_batches(
                    &frame.collect().await?,
                )?
                .to_string();
                Ok::<_, datafusion::error::DataFusionError>((rows, plan))
            }
        };
        let (plain_rows, plain_plan) = rows_and_plan(false).await?;
        let (rows, plan) = rows_and_plan(true).await?;
        assert_eq!(rows, plain_rows);
        assert!(rows.contains("| d1  | 6 |"), "{rows}");
        let copies = |plan: Arc<dyn ExecutionPlan>| {
            let mut files: Vec<(Vec<ScalarValue>, Arc<Statistics>)> = Vec::new();
            plan.apply(|node| {
                if let Some(exec) = node.downcast_ref::<DataSourceExec>() {
                    if let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() {
                        for file in config.file_groups.iter().flat_map(|g| g.iter()) {
                            files.push((
                                file.partition_values.clone(),
                                Arc::clone(file.statistics.as_ref().unwrap()),
                            ));
                        }
                    }
                }
                Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
            })
            .unwrap();
            assert_eq!(files.len(), 4, "every file planned");
            let mut distinct: Vec<*const Statistics> =
                files.iter().map(|(_, s)| Arc::as_ptr(s)).collect();
            distinct.sort();
            distinct.dedup();
            distinct.len()
        };
        assert_eq!(copies(plain_plan), 4, "DataFusion plans a copy per file");
        assert_eq!(copies(plan), 2, "one per day with the rule");
        Ok(())
    }

    #[test]
    fn files_with_statistics_of_their_own_keep_them() {
        let mut one = Statistics::new_unknown(&schema());
        one.num_rows = Precision::Exact(1);
        let mut two = Statistics::new_unknown(&schema());
        two.num_rows = Precision::Exact(2);
        let shared = share_statistics(vec![FileGroup::new(vec![
            file("d1/1", "d1", one),
            file("d1/2", "d1", two),
        ])]);
        let rows: Vec<Precision<usize>> = shared[0]
            .iter()
            .map(|f| f.statistics.as_ref().unwrap().num_rows)
            .collect();
        assert_eq!(rows, vec![Precision::Exact(1), Precision::Exact(2)]);
    }
}
