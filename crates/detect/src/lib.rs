//! The query layer: a DataFusion session over the lake, the shared views
//! and the detections of `queries/`.
//!
//! [`LakeSession`] registers the `events` table (Hive-partitioned Parquet,
//! `event_date` pruned from the path; with a time window, a view over it
//! whose partition filter prunes files), `quarantine`, `findings`, the
//! `configured_pools` of the config, JSON functions
//! (`datafusion-functions-json`: `json_get_str`, `->>`, …) and the views of
//! the [`catalog`]. [`detect`] runs the detections into [`findings`].

pub mod catalog;
pub mod explain;
pub mod findings;
pub mod geoip;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::collections::BTreeMap;

use arrow::array::{Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use poolsight_lake::{Lake, LakeError};

/// Errors of the query layer.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// Not a `source`: the explained text says it all, once (a chain
    /// would repeat DataFusion's list of every column).
    #[error("query failed: {}", explain::explain_query_error(.0))]
    Query(DataFusionError),
    #[error("{path}: {reason}")]
    Path { path: PathBuf, reason: String },
    #[error("queries/{path}: {reason}")]
    Catalog { path: String, reason: String },
    #[error("detection {id} (queries/{path}): {source}")]
    Detection {
        id: String,
        path: String,
        #[source]
        source: DataFusionError,
    },
    #[error("view {name} (queries/{path}): {source}")]
    View {
        name: String,
        path: String,
        #[source]
        source: DataFusionError,
    },
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

impl From<DataFusionError> for DetectError {
    fn from(error: DataFusionError) -> Self {
        DetectError::Query(error)
    }
}

/// What a session sees beyond the raw tables.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// The account's own pools (`[detect] own_pools`); empty: inferred.
    pub own_pools: Vec<String>,
    /// Only events at or after this time (`--since`).
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time (`--until`).
    pub until: Option<DateTime<Utc>>,
    /// GeoIP/ASN databases (`[geoip]`); none: the functions return NULL.
    pub geoip: Option<Arc<geoip::GeoIp>>,
}

/// A DataFusion session with the lake's tables registered.
pub struct LakeSession {
    ctx: SessionContext,
    lake: Lake,
}

impl LakeSession {
    /// Opens the lake at `lake_dir` (which must exist and hold `events/`)
    /// with the built-in views and no time window.
    pub async fn open(lake_dir: &Path) -> Result<Self, DetectError> {
        Self::open_with(
            lake_dir,
            &SessionOptions::default(),
            &catalog::Catalog::embedded()?,
        )
        .await
    }

    /// Opens the lake with a time window, the config's pools and `catalog`'s views.
    pub async fn open_with(
        lake_dir: &Path,
        options: &SessionOptions,
        catalog: &catalog::Catalog,
    ) -> Result<Self, DetectError> {
        let lake = Lake::open(lake_dir)?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            );
        let mut ctx = SessionContext::new_with_config(config);
        datafusion_functions_json::register_all(&mut ctx)?;
        geoip::register(
            &ctx,
            options
                .geoip
                .clone()
                .unwrap_or_else(|| Arc::new(geoip::GeoIp::default())),
        )?;
        let windowed = options.since.is_some() || options.until.is_some();
        register_parquet_table(
            &ctx,
            if windowed { "lake_events" } else { "events" },
            &lake.events_dir(),
            poolsight_model::event_schema(),
            poolsight_model::PARTITION_COLUMN,
        )
        .await?;
        register_parquet_table(
            &ctx,
            "insights",
            &lake.insights_dir(),
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
        let findings_file = findings::findings_file(&lake);
        if findings_file.is_file() {
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()));
            let config = ListingTableConfig::new(listing_url(&findings_file)?)
                .with_listing_options(options)
                .with_schema(findings::findings_schema());
            ctx.register_table("findings", Arc::new(ListingTable::try_new(config)?))?;
        } else {
            let empty = MemTable::try_new(findings::findings_schema(), vec![vec![]])?;
            ctx.register_table("findings", Arc::new(empty))?;
        }
        if windowed {
            let mut filters = Vec::new();
            if let Some(since) = options.since {
                filters.push(format!(
                    "event_date >= '{}' AND event_time >= to_timestamp_micros({})",
                    since.format("%Y-%m-%d"),
                    since.timestamp_micros()
                ));
            }
            if let Some(until) = options.until {
                filters.push(format!(
                    "event_date <= '{}' AND event_time < to_timestamp_micros({})",
                    until.format("%Y-%m-%d"),
                    until.timestamp_micros()
                ));
            }
            ctx.sql(&format!(
                "CREATE VIEW events AS SELECT * FROM lake_events WHERE {}",
                filters.join(" AND ")
            ))
            .await?;
        }
        let pools_schema = Arc::new(Schema::new(vec![Field::new(
            "identity_pool_id",
            DataType::Utf8,
            false,
        )]));
        let pools = RecordBatch::try_new(
            Arc::clone(&pools_schema),
            vec![Arc::new(StringArray::from(options.own_pools.clone()))],
        )?;
        ctx.register_table(
            "configured_pools",
            Arc::new(MemTable::try_new(pools_schema, vec![vec![pools]])?),
        )?;
        for view in &catalog.views {
            let frame = ctx
                .sql(&view.sql)
                .await
                .map_err(|source| DetectError::View {
                    name: view.name.clone(),
                    path: view.path.clone(),
                    source,
                })?;
            ctx.register_table(view.name.as_str(), frame.into_view())?;
        }
        Ok(Self { ctx, lake })
    }

    /// The time of the newest event in the lake (relative windows count back from it).
    pub async fn newest_event_time(&self) -> Result<Option<DateTime<Utc>>, DetectError> {
        let batches = self
            .query("SELECT CAST(max(event_time) AS BIGINT) AS newest FROM events")
            .await?;
        let newest = batches.first().and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .filter(|a| !a.is_null(0))
                .map(|a| a.value(0))
        });
        Ok(newest.and_then(DateTime::from_timestamp_micros))
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

/// The listing URL of a local folder or file, built from the path itself:
/// `[`, `*`, `?`, spaces and non-ASCII in it are names, never a glob.
fn listing_url(path: &Path) -> Result<ListingTableUrl, DetectError> {
    let absolute = std::fs::canonicalize(path).map_err(|e| LakeError::io(path, e))?;
    let url = if absolute.is_dir() {
        url::Url::from_directory_path(&absolute)
    } else {
        url::Url::from_file_path(&absolute)
    }
    .map_err(|()| DetectError::Path {
        path: absolute.clone(),
        reason: "cannot be written as a file URL".into(),
    })?;
    Ok(ListingTableUrl::try_new(url, None)?)
}

/// Registers the Parquet files under `dir` (Hive-partitioned by
/// `partition_column`) as `name`; a folder that does not exist yet is an
/// empty table (nothing is created: readers do not write).
async fn register_parquet_table(
    ctx: &SessionContext,
    name: &str,
    dir: &Path,
    schema: arrow::datatypes::SchemaRef,
    partition_column: &str,
) -> Result<(), DetectError> {
    if !dir.is_dir() {
        let mut fields: Vec<arrow::datatypes::FieldRef> = schema.fields().iter().cloned().collect();
        fields.push(Arc::new(arrow::datatypes::Field::new(
            partition_column,
            DataType::Utf8,
            true,
        )));
        let empty = MemTable::try_new(
            Arc::new(arrow::datatypes::Schema::new(fields)),
            vec![vec![]],
        )?;
        ctx.register_table(name, Arc::new(empty))?;
        return Ok(());
    }
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(partition_column.to_string(), DataType::Utf8)]);
    let config = ListingTableConfig::new(listing_url(dir)?)
        .with_listing_options(options)
        .with_schema(schema);
    let table = ListingTable::try_new(config)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Which detections to run, with what tunables.
#[derive(Debug, Clone, Default)]
pub struct DetectOptions {
    /// Detection ids or categories; empty: all.
    pub only: Vec<String>,
    /// Per detection id, tunable overrides (`[detect.tunables.<id>]`).
    pub tunables: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

/// One detection's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DetectionRun {
    pub id: String,
    pub category: String,
    pub findings: usize,
    pub seconds: f64,
    pub error: Option<String>,
}

/// Runs the selected detections; a failing detection is reported and the
/// others go on.
pub async fn detect(
    session: &LakeSession,
    catalog: &catalog::Catalog,
    options: &DetectOptions,
) -> Result<(Vec<findings::Finding>, Vec<DetectionRun>), DetectError> {
    for wanted in &options.only {
        if catalog.detection(wanted).is_none() && !catalog::CATEGORIES.contains(&wanted.as_str()) {
            return Err(DetectError::Catalog {
                path: "detections/".into(),
                reason: format!(
                    "no detection or category is named {wanted:?} (detections: {})",
                    catalog
                        .detections
                        .iter()
                        .map(|d| d.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    for id in options.tunables.keys() {
        if catalog.detection(id).is_none() {
            return Err(DetectError::Catalog {
                path: "detections/".into(),
                reason: format!("[detect.tunables.{id}] names no detection"),
            });
        }
    }
    let detected_at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut all = Vec::new();
    let mut runs = Vec::new();
    let empty = BTreeMap::new();
    for detection in &catalog.detections {
        if !options.only.is_empty()
            && !options
                .only
                .iter()
                .any(|o| o == &detection.id || o == &detection.category)
        {
            continue;
        }
        let started = std::time::Instant::now();
        let tunables = options.tunables.get(&detection.id).unwrap_or(&empty);
        match findings::run_detection(session, detection, tunables, &detected_at).await {
            Ok(found) => {
                runs.push(DetectionRun {
                    id: detection.id.clone(),
                    category: detection.category.clone(),
                    findings: found.len(),
                    seconds: started.elapsed().as_secs_f64(),
                    error: None,
                });
                all.extend(found);
            }
            Err(error) => {
                tracing::error!(detection = %detection.id, error = %error, "detection failed");
                runs.push(DetectionRun {
                    id: detection.id.clone(),
                    category: detection.category.clone(),
                    findings: 0,
                    seconds: started.elapsed().as_secs_f64(),
                    error: Some(error.to_string()),
                });
            }
        }
    }
    Ok((all, runs))
}

/// Plans every detection against the lake's schema without running it and
/// checks it returns the finding columns (`poolsight lint`).
pub async fn lint(
    session: &LakeSession,
    catalog: &catalog::Catalog,
    tunables: &BTreeMap<String, BTreeMap<String, toml::Value>>,
) -> Vec<(String, Result<(), DetectError>)> {
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for detection in &catalog.detections {
        let result = async {
            let sql = detection.sql(tunables.get(&detection.id).unwrap_or(&empty))?;
            let frame =
                session
                    .context()
                    .sql(&sql)
                    .await
                    .map_err(|source| DetectError::Detection {
                        id: detection.id.clone(),
                        path: detection.path.clone(),
                        source,
                    })?;
            let plan = frame
                .into_optimized_plan()
                .map_err(|source| DetectError::Detection {
                    id: detection.id.clone(),
                    path: detection.path.clone(),
                    source,
                })?;
            findings::check_columns(detection, plan.schema().as_arrow())
        }
        .await;
        out.push((detection.id.clone(), result));
    }
    out
}
