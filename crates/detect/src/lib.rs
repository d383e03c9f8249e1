//! The query layer: a DataFusion session over the lake, the shared views
//! and the detections of `queries/`.
//!
//! [`LakeSession`] registers the `events` table (Hive-partitioned Parquet,
//! `event_date` pruned from the path; with a time window, a view over it
//! whose partition filter prunes files), `quarantine`, `findings`, the
//! `configured_pools` of the config, JSON functions
//! (`datafusion-functions-json`: `json_get_str`, `->>`, …) and the views of
//! the [`catalog`]. [`detect`] runs the detections into [`findings`].

pub mod athena;
pub mod cached;
pub mod catalog;
pub mod coverage;
pub mod detector;
pub mod explain;
pub mod findings;
pub mod geoip;
pub mod judged;
pub mod lifecycle;
pub mod merge;
pub mod network;
pub mod plan;
pub mod pool_settings;
pub mod progress;
pub mod report;
pub mod state;
pub mod template;
pub mod window;

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
    /// A request that cannot be run as given (`--since` after `--until`, …).
    #[error("{0}")]
    Request(String),
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
    /// Only events inside these spans of event time (incremental
    /// detection); replaces `since`/`until` when set.
    pub spans: Option<Vec<plan::Span>>,
    /// What a detection judges (`is_judged(t)`); `None`: everything.
    pub judged: Option<Vec<plan::Span>>,
    /// GeoIP/ASN databases (`[geoip]`); none: the functions return NULL.
    pub geoip: Option<Arc<geoip::GeoIp>>,
    /// Where queries run (a Ballista cluster); none: in this process.
    pub engine: Option<Arc<dyn Engine>>,
}

/// How long before a call its credentials may have been issued: 12 hours,
/// the longest `AssumeRoleWithWebIdentity` session (`GetCredentialsForIdentity`
/// gives one hour). The `issuance_events` table reaches this far before a
/// session's spans, so that calls are attributed through their access key.
pub const ISSUANCE_LOOKBACK_MICROS: i64 = 12 * 3600 * 1_000_000;

impl SessionOptions {
    /// The event-time spans the session is cut to; `None`: the whole lake.
    fn effective_spans(&self) -> Option<Vec<plan::Span>> {
        if let Some(spans) = &self.spans {
            return Some(spans.clone());
        }
        if self.since.is_none() && self.until.is_none() {
            return None;
        }
        Some(vec![plan::Span::new(
            self.since.map_or(plan::EARLIEST, |t| t.timestamp_micros()),
            self.until.map_or(plan::LATEST, |t| t.timestamp_micros()),
        )])
    }
}

/// The `WHERE` condition of a view over `lake_events` cut to `spans`: a
/// condition on the `event_date` partition alone (so files are pruned by
/// path) and one on `event_time`. No spans: nothing matches.
fn span_filter(spans: &[plan::Span]) -> String {
    if spans.is_empty() {
        return "FALSE".into();
    }
    let date = |micros: i64| {
        DateTime::from_timestamp_micros(micros)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| {
                if micros < 0 {
                    "0000-01-01".into()
                } else {
                    "9999-12-31".into()
                }
            })
    };
    let dates: Vec<String> = spans
        .iter()
        .map(|s| {
            format!(
                "(event_date >= '{}' AND event_date <= '{}')",
                date(s.from),
                date(s.to.saturating_sub(1))
            )
        })
        .collect();
    let times: Vec<String> = spans
        .iter()
        .map(|s| {
            format!(
                "(event_time >= to_timestamp_micros({}) AND event_time < to_timestamp_micros({}))",
                s.from, s.to
            )
        })
        .collect();
    format!("({}) AND ({})", dates.join(" OR "), times.join(" OR "))
}

/// Registers poolsight's SQL functions on `ctx`: the JSON functions,
/// GeoIP (`geoip_country`, `geoip_asn`, …), `ip_network`, the pool-settings
/// functions and `is_judged` (judging `judged`; `None`: everything). Local
/// sessions and the cluster's scheduler and executors all call this.
pub fn register_functions(
    ctx: &mut SessionContext,
    geoip: Arc<geoip::GeoIp>,
    judged: Option<Vec<plan::Span>>,
) -> Result<(), DetectError> {
    datafusion_functions_json::register_all(ctx)?;
    geoip::register(ctx, geoip)?;
    network::register(ctx);
    pool_settings::register(ctx);
    ctx.register_udf(judged::udf(judged));
    Ok(())
}

/// Where queries run when not in this process: a Ballista cluster
/// (`poolsight-cluster`). Its sessions plan here and run on executors.
#[async_trait::async_trait]
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// A session with `config` whose queries run on the engine.
    async fn session(&self, config: SessionConfig) -> Result<SessionContext, DetectError>;
    /// How to name it (the scheduler's URL).
    fn name(&self) -> &str;
}

/// Maps the working folder of a lake in S3 to the bucket, for sessions
/// whose executors cannot read the folder.
#[derive(Debug)]
struct RemoteLocator {
    root: PathBuf,
    url: String,
}

impl RemoteLocator {
    fn new(root: &Path, url: &str) -> Self {
        Self {
            root: std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// `s3://…/<relative>` of a file or folder under the working folder.
    fn url_of(&self, path: &Path) -> Option<String> {
        let absolute = std::fs::canonicalize(path).ok()?;
        let relative = absolute.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut url = format!("{}/{}", self.url, parts.join("/"));
        if absolute.is_dir() {
            url.push('/');
        }
        Some(url)
    }
}

/// The listing URL of a table file or folder in `ctx`: in the bucket when
/// the session's executors are elsewhere, else the local path.
fn table_url(ctx: &SessionContext, path: &Path) -> Result<ListingTableUrl, DetectError> {
    if let Some(locator) = ctx.state().config().get_extension::<RemoteLocator>() {
        if let Some(url) = locator.url_of(path) {
            return Ok(ListingTableUrl::parse(url)?);
        }
    }
    listing_url(path)
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
        let mut config = SessionConfig::new()
            .with_information_schema(true)
            .with_target_partitions(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            );
        if options.effective_spans().is_some() {
            // A session cut to a few hours reads whole day files whose rows
            // are not in time order: filtering while decoding (the time
            // column first) skips decoding the other columns of the rest.
            let parquet = &mut config.options_mut().execution.parquet;
            parquet.pushdown_filters = true;
            parquet.reorder_filters = true;
        }
        if let (Some(_), Some(remote)) = (&options.engine, lake.remote()) {
            // Executors elsewhere cannot read the working folder: every
            // table is read in the bucket (the state was published).
            config = config.with_extension(Arc::new(RemoteLocator::new(lake.root(), &remote.url)));
        }
        let mut ctx = match &options.engine {
            Some(engine) => engine.session(config).await?,
            None => SessionContext::new_with_config(config),
        };
        if let Some(remote) = lake.remote() {
            // A lake in S3: its append-only tables are read in the bucket.
            let bucket = url::Url::parse(&remote.bucket_url()).map_err(|e| DetectError::Path {
                path: lake.root().to_path_buf(),
                reason: format!("{}: {e}", remote.url),
            })?;
            ctx.register_object_store(&bucket, Arc::clone(&remote.store));
        }
        register_functions(
            &mut ctx,
            options
                .geoip
                .clone()
                .unwrap_or_else(|| Arc::new(geoip::GeoIp::default())),
            options.judged.clone(),
        )?;
        let spans = options.effective_spans();
        for (name, table, schema, partition_column) in [
            (
                "lake_events",
                poolsight_lake::EVENTS_DIR,
                poolsight_model::event_schema(),
                poolsight_model::PARTITION_COLUMN,
            ),
            (
                "insights",
                poolsight_lake::INSIGHTS_DIR,
                poolsight_model::event_schema(),
                poolsight_model::PARTITION_COLUMN,
            ),
            (
                "quarantine",
                poolsight_lake::QUARANTINE_DIR,
                poolsight_lake::quarantine::quarantine_schema(),
                "ingest_date",
            ),
        ] {
            match lake.remote() {
                Some(remote) => {
                    register_remote_table(
                        &ctx,
                        name,
                        &remote.table_url(table),
                        schema,
                        partition_column,
                    )?;
                }
                None => {
                    register_parquet_table(
                        &ctx,
                        name,
                        &lake.root().join(table),
                        schema,
                        partition_column,
                    )
                    .await?;
                }
            }
        }
        for (name, file, schema) in [
            (
                "findings",
                findings::findings_file(&lake),
                findings::findings_schema(),
            ),
            (
                "finding_audit",
                lifecycle::audit_file(&lake),
                lifecycle::audit_schema(),
            ),
        ] {
            if file.is_file() {
                let options = ListingOptions::new(Arc::new(ParquetFormat::default()));
                let config = ListingTableConfig::new(table_url(&ctx, &file)?)
                    .with_listing_options(options)
                    .with_schema(schema);
                ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
            } else {
                ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
            }
        }
        // `notify_outbox`: what went (or goes) to which target; its schema
        // is the notify crate's, read from the file once `notify` wrote it.
        let outbox = lake.notify_dir().join("outbox.parquet");
        if outbox.is_file() {
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()));
            let config = ListingTableConfig::new(table_url(&ctx, &outbox)?)
                .with_listing_options(options)
                .infer_schema(&ctx.state())
                .await?;
            ctx.register_table("notify_outbox", Arc::new(ListingTable::try_new(config)?))?;
        }
        register_inventory(&ctx, &lake).await?;
        match &spans {
            None => {
                ctx.sql(&format!("CREATE VIEW events AS {}", events_select()))
                    .await?;
                ctx.sql(&format!(
                    "CREATE VIEW issuance_events AS {}",
                    events_select()
                ))
                .await?;
            }
            Some(spans) => {
                ctx.sql(&format!(
                    "CREATE VIEW events AS {} WHERE {}",
                    events_select(),
                    span_filter(spans)
                ))
                .await?;
                let reaching_back = plan::merge(
                    spans
                        .iter()
                        .map(|s| {
                            plan::Span::new(s.from.saturating_sub(ISSUANCE_LOOKBACK_MICROS), s.to)
                        })
                        .collect(),
                );
                ctx.sql(&format!(
                    "CREATE VIEW issuance_events AS {} WHERE {}",
                    events_select(),
                    span_filter(&reaching_back)
                ))
                .await?;
            }
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
            // A cached view is computed here; on a cluster it is a plain view.
            if view.cached && options.engine.is_none() {
                ctx.register_table(
                    view.name.as_str(),
                    Arc::new(cached::CachedView::new(frame.into_unoptimized_plan())),
                )?;
            } else {
                ctx.register_table(view.name.as_str(), frame.into_view())?;
            }
        }
        let session = Self { ctx, lake };
        state::register(&session, catalog).await?;
        Ok(session)
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

/// What `events` and `issuance_events` select from `lake_events`: every
/// column in order, with `event_id` falling back to `event_key` (the content
/// hash of a record without an `eventID`), so that every row can be named as
/// evidence. (Spelled out: DataFusion 55 loses a `SELECT * REPLACE` when a
/// view over this one expands `e.*` inside a `UNION ALL`.)
fn events_select() -> String {
    let mut columns: Vec<String> = poolsight_model::event_schema()
        .fields()
        .iter()
        .map(|field| match field.name().as_str() {
            "event_id" => "coalesce(event_id, event_key) AS event_id".to_string(),
            name => format!("\"{name}\""),
        })
        .collect();
    columns.push(format!("\"{}\"", poolsight_model::PARTITION_COLUMN));
    format!("SELECT {} FROM lake_events", columns.join(", "))
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

/// The partition column of the hourly state tables.
pub const PARTITION_OF_STATE: &str = "event_date";

/// Registers exactly `files` (Parquet, one schema) as `name`; none: an empty table.
async fn register_files(
    ctx: &SessionContext,
    name: &str,
    files: &[PathBuf],
    schema: arrow::datatypes::SchemaRef,
) -> Result<(), DetectError> {
    let existing: Vec<&PathBuf> = files.iter().filter(|f| f.is_file()).collect();
    if existing.is_empty() {
        ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
        return Ok(());
    }
    let urls = existing
        .iter()
        .map(|f| table_url(ctx, f))
        .collect::<Result<Vec<_>, _>>()?;
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()));
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
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
    let config = ListingTableConfig::new(table_url(ctx, dir)?)
        .with_listing_options(options)
        .with_schema(schema);
    let table = ListingTable::try_new(config)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Registers a Hive-partitioned table of a lake in S3 (`s3://…/table/`);
/// an empty prefix is an empty table.
fn register_remote_table(
    ctx: &SessionContext,
    name: &str,
    url: &str,
    schema: arrow::datatypes::SchemaRef,
    partition_column: &str,
) -> Result<(), DetectError> {
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(vec![(partition_column.to_string(), DataType::Utf8)]);
    let config = ListingTableConfig::new(ListingTableUrl::parse(url)?)
        .with_listing_options(options)
        .with_schema(schema);
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(())
}

/// Registers the inventory tables (every snapshot, Hive-partitioned by
/// `snapshot_date`) and, for each, a view over every account's newest
/// snapshot (`identity_pools`, `role_statements`, `trails`, …).
async fn register_inventory(ctx: &SessionContext, lake: &Lake) -> Result<(), DetectError> {
    for table in poolsight_inventory::TABLES {
        register_parquet_table(
            ctx,
            table.name,
            &poolsight_inventory::tables::table_dir(lake, table.name),
            table.schema(),
            poolsight_inventory::tables::PARTITION_COLUMN,
        )
        .await?;
    }
    let newest = "(SELECT account_id, max(snapshot_id) AS snapshot_id FROM inventory_snapshots GROUP BY account_id)";
    for table in poolsight_inventory::TABLES {
        let sql = format!(
            "CREATE VIEW {} AS SELECT t.* FROM {} t JOIN {newest} n ON t.account_id = n.account_id AND t.snapshot_id = n.snapshot_id",
            table.current, table.name
        );
        ctx.sql(&sql).await?;
    }
    Ok(())
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
