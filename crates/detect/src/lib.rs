//! The query layer: a DataFusion session over the lake.
//!
//! [`LakeSession`] registers the `events` table (Hive-partitioned Parquet,
//! `event_date` pruned from the path) and `quarantine`, and runs SQL. The
//! demo report lives in [`report`]; detections (SQL files in `queries/`)
//! build on the same session.

pub mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use poolsight_lake::{Lake, LakeError};

/// Errors of the query layer.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("query failed: {0}")]
    Query(#[from] DataFusionError),
    #[error("{path}: {reason}")]
    Path { path: PathBuf, reason: String },
}

/// A DataFusion session with the lake's tables registered.
pub struct LakeSession {
    ctx: SessionContext,
    lake: Lake,
}

impl LakeSession {
    /// Opens the lake at `lake_dir` (which must exist and hold `events/`).
    pub async fn open(lake_dir: &Path) -> Result<Self, DetectError> {
        let lake = Lake::open(lake_dir)?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            );
        let ctx = SessionContext::new_with_config(config);
        register_parquet_table(
            &ctx,
            "events",
            &lake.events_dir(),
            poolsight_model::event_schema(),
            poolsight_model::PARTITION_COLUMN,
        )
        .await?;
        register_parquet_table(
            &ctx,
            "quarantine",
            &lake.quarantine_dir(),
            poolsight_lake::quarantine::quarantine_schema(),
            "ingest_date",
        )
        .await?;
        Ok(Self { ctx, lake })
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// Runs one SQL statement and collects its result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, DetectError> {
        let frame = self.ctx.sql(sql).await?;
        Ok(frame.collect().await?)
    }
}

async fn register_parquet_table(
    ctx: &SessionContext,
    name: &str,
    dir: &Path,
    schema: arrow::datatypes::SchemaRef,
    partition_column: &str,
) -> Result<(), DetectError> {
    std::fs::create_dir_all(dir).map_err(|e| LakeError::io(dir, e))?;
    let absolute = std::fs::canonicalize(dir).map_err(|e| LakeError::io(dir, e))?;
    let mut url_text = absolute.display().to_string();
    if !url_text.ends_with('/') {
        url_text.push('/');
    }
    let url = ListingTableUrl::parse(&url_text)?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(partition_column.to_string(), DataType::Utf8)]);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(schema);
    let table = ListingTable::try_new(config)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}
