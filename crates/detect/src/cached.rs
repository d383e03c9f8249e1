//! A view computed once per session, on first use, and kept in memory.
//!
//! DataFusion inlines a view wherever a query names it, and a view named in
//! several branches of another (as `issued_keys` is, in `identity_activity`
//! and `credentials`) is computed once per mention and per query. A view
//! whose metadata says `cached = true` is small and joined by almost every
//! detection: it is planned when the session opens, run the first time a
//! query scans it, and every later scan reads the batches it returned.

use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use tokio::sync::OnceCell;

/// A view's plan and, once scanned, its rows.
#[derive(Debug)]
pub struct CachedView {
    plan: LogicalPlan,
    /// The plan's schema with every field nullable: the rows fit it
    /// whatever the physical plan decided about nullability.
    schema: SchemaRef,
    rows: OnceCell<Vec<RecordBatch>>,
}

impl CachedView {
    pub fn new(plan: LogicalPlan) -> Self {
        let fields: Vec<Field> = plan
            .schema()
            .fields()
            .iter()
            .map(|field| field.as_ref().clone().with_nullable(true))
            .collect();
        Self {
            plan,
            schema: Arc::new(Schema::new(fields)),
            rows: OnceCell::new(),
        }
    }

    async fn rows(&self, state: &dyn Session) -> Result<&Vec<RecordBatch>> {
        self.rows
            .get_or_try_init(|| async {
                let physical = state.create_physical_plan(&self.plan).await?;
                let batches =
                    datafusion::physical_plan::collect(physical, state.task_ctx()).await?;
                batches
                    .into_iter()
                    .map(|batch| {
                        RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())
                            .map_err(Into::into)
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .await
    }
}

#[async_trait::async_trait]
impl TableProvider for CachedView {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let rows = self.rows(state).await?.clone();
        MemTable::try_new(Arc::clone(&self.schema), vec![rows])?
            .scan(state, projection, filters, limit)
            .await
    }
}
