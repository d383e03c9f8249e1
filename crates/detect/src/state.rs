//! State tables: what detections and dashboards read instead of raw events.
//!
//! `queries/state/*.sql` declares them; they live in the lake as Parquet
//! any engine reads (`<lake>/state/<name>/`) and are kept up to date by
//! every `detect` run before the detections, from the rows that arrived
//! since the last one:
//!
//! - **hourly** tables (`identity_hourly`, `pool_hourly`, …): the hours
//!   the new rows touch are computed again from every event of those hours
//!   and replace their rows; one file per day, `event_date=YYYY-MM-DD/hourly.parquet`.
//! - **accumulating** tables (`identity_profile`, `role_actions`): the new
//!   rows' aggregates are added as a part file (`part-<arrival>.parquet`);
//!   readers see one row per key (`first_seen` min, `last_seen` max, the
//!   rest summed). `_manifest.json` lists the live parts; past
//!   [`MAX_PARTS`] they are merged into one. A file not in the manifest
//!   (a crash between writing and listing it) is ignored and removed.
//!
//! `_state/state_progress.json` records up to which arrival the tables are
//! built and a fingerprint of their SQL and the views; when that changes,
//! or with [`rebuild`] (`poolsight state rebuild`), they are built again
//! from `events`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use poolsight_lake::{Lake, LakeError, LakeLock};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, StateKind, StateTable};
use crate::plan::Span;
use crate::{DetectError, LakeSession, SessionOptions};

/// The folder of the state tables in a lake.
pub const STATE_TABLES_DIR: &str = "state";
/// Parts of an accumulating table before they are merged into one.
pub const MAX_PARTS: usize = 16;
const PROGRESS_FILE: &str = "state_progress.json";
const MANIFEST: &str = "_manifest.json";
const HOURLY_FILE: &str = "hourly.parquet";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StateProgress {
    fingerprint: String,
    built_through: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    parts: Vec<String>,
}

/// What an update did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StateReport {
    /// `rebuilt`, `updated` or `up_to_date`.
    pub mode: String,
    /// Hours computed again (hourly tables).
    pub hours: usize,
    /// Rows written, per table.
    pub rows: BTreeMap<String, usize>,
    pub seconds: f64,
}

/// The folder of one state table.
pub fn table_dir(lake: &Lake, name: &str) -> PathBuf {
    lake.root().join(STATE_TABLES_DIR).join(name)
}

fn fingerprint(catalog: &Catalog) -> String {
    let mut text = String::new();
    for table in &catalog.state_tables {
        text.push_str(&table.sql);
        text.push('\u{1f}');
    }
    for view in &catalog.views {
        text.push_str(&view.sql);
        text.push('\u{1f}');
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

fn read_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> Result<T, DetectError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| DetectError::Path {
            path: path.to_path_buf(),
            reason: format!("damaged ({e}); run `poolsight state rebuild`"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(LakeError::io(path, e).into()),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), DetectError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| DetectError::Path {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    poolsight_lake::write_atomically(path, &bytes)?;
    Ok(())
}

fn write_parquet(
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<usize, DetectError> {
    Ok(poolsight_lake::write_parquet_file(path, schema, batches)?)
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, DetectError> {
    Ok(poolsight_lake::read_parquet_file(path)?.unwrap_or_default())
}

/// The live part files of an accumulating table.
fn parts(lake: &Lake, table: &str) -> Result<Vec<PathBuf>, DetectError> {
    let dir = table_dir(lake, table);
    let manifest: Manifest = read_json(&dir.join(MANIFEST))?;
    Ok(manifest.parts.iter().map(|p| dir.join(p)).collect())
}

/// The SQL of a state table for rows that arrived after `arrived_after` (µs).
fn table_sql(table: &StateTable, arrived_after: i64) -> Result<String, DetectError> {
    crate::template::fill_with(&table.sql, |name| match name {
        "arrived_after" => Ok(crate::template::timestamp_literal(arrived_after)),
        other => Err(format!(
            "unknown placeholder {{{{{other}}}}} (a state table has only {{{{arrived_after}}}})"
        )),
    })
    .map_err(|reason| DetectError::Catalog {
        path: table.path.clone(),
        reason,
    })
}

/// The columns of a state table's files (what its SQL returns).
pub async fn table_schema(
    session: &LakeSession,
    table: &StateTable,
) -> Result<SchemaRef, DetectError> {
    let (_, schema) = plan_table(session.context(), table, 0).await?;
    Ok(schema)
}

/// The query reading an accumulating table's parts (registered as `raw`)
/// as one row per key, columns in the table's order: `first_seen` the
/// earliest, `last_seen` the latest, every other column summed.
pub(crate) fn merged_sql(table: &StateTable, schema: &SchemaRef, raw: &str) -> String {
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .map(|field| {
            let name = field.name();
            if table.keys.contains(name) {
                name.clone()
            } else {
                match name.as_str() {
                    "first_seen" => "min(first_seen) AS first_seen".into(),
                    "last_seen" => "max(last_seen) AS last_seen".into(),
                    other => format!("sum({other}) AS {other}"),
                }
            }
        })
        .collect();
    format!(
        "SELECT {} FROM {raw} GROUP BY {}",
        columns.join(", "),
        table.keys.join(", ")
    )
}

/// A state table's query for the rows that arrived after `arrived_after`,
/// planned, with the schema it returns.
async fn plan_table(
    ctx: &datafusion::prelude::SessionContext,
    table: &StateTable,
    arrived_after: i64,
) -> Result<(datafusion::dataframe::DataFrame, SchemaRef), DetectError> {
    let frame = ctx
        .sql(&table_sql(table, arrived_after)?)
        .await
        .map_err(|source| DetectError::View {
            name: table.name.clone(),
            path: table.path.clone(),
            source,
        })?;
    let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
    Ok((frame, schema))
}

/// Registers every state table on a session: hourly tables over their
/// day files, accumulating ones as one row per key over their parts. A
/// table not built yet is empty (with the columns its SQL returns).
pub async fn register(session: &LakeSession, catalog: &Catalog) -> Result<(), DetectError> {
    let ctx = session.context();
    for table in &catalog.state_tables {
        let (_, schema) = plan_table(ctx, table, 0).await?;
        let dir = table_dir(session.lake(), &table.name);
        match table.kind {
            StateKind::Hourly => {
                crate::register_parquet_table(
                    ctx,
                    &table.name,
                    &dir,
                    schema,
                    crate::PARTITION_OF_STATE,
                )
                .await?;
            }
            StateKind::Accumulating => {
                let files = parts(session.lake(), &table.name)?;
                let raw = format!("{}_parts", table.name);
                crate::register_files(ctx, &raw, &files, Arc::clone(&schema)).await?;
                let frame = ctx.sql(&merged_sql(table, &schema, &raw)).await?;
                ctx.register_table(table.name.as_str(), frame.into_view())?;
            }
        }
    }
    Ok(())
}

/// Builds the state tables again from every event.
pub async fn rebuild(
    lake_dir: &Path,
    options: &SessionOptions,
    catalog: &Catalog,
    lock: &LakeLock,
) -> Result<StateReport, DetectError> {
    let lake = Lake::open(lake_dir)?;
    let _ = std::fs::remove_file(lake.state_dir().join(PROGRESS_FILE));
    update(lake_dir, options, catalog, lock).await
}

/// Brings the state tables up to date with the rows that arrived since
/// the last update (all of them when none was made, or the SQL changed).
pub async fn update(
    lake_dir: &Path,
    options: &SessionOptions,
    catalog: &Catalog,
    lock: &LakeLock,
) -> Result<StateReport, DetectError> {
    let started = std::time::Instant::now();
    // State tables are built in this process (they are written here).
    let options = &SessionOptions {
        engine: None,
        ..options.clone()
    };
    let lake = Lake::open(lake_dir)?;
    let progress_path = lake.state_dir().join(PROGRESS_FILE);
    let progress: StateProgress = read_json(&progress_path)?;
    let fingerprint = fingerprint(catalog);
    let whole = LakeSession::open_with(lake_dir, options, catalog).await?;
    let Some(newest) = crate::detector::newest_arrival(&whole).await? else {
        return Ok(StateReport {
            mode: "up_to_date".into(),
            ..Default::default()
        });
    };
    let rebuilding = progress.fingerprint != fingerprint;
    if !rebuilding && newest <= progress.built_through {
        return Ok(StateReport {
            mode: "up_to_date".into(),
            seconds: started.elapsed().as_secs_f64(),
            ..Default::default()
        });
    }
    let mut report = StateReport {
        mode: if rebuilding { "rebuilt" } else { "updated" }.into(),
        ..Default::default()
    };
    let (session, touched, arrived_after) = if rebuilding {
        let root = lake.root().join(STATE_TABLES_DIR);
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(|e| LakeError::io(&root, e))?;
        }
        (whole, None, i64::MIN / 2)
    } else {
        let touched = crate::detector::arrivals_since(&whole, progress.built_through).await?;
        let session = LakeSession::open_with(
            lake_dir,
            &SessionOptions {
                spans: Some(touched.clone()),
                ..options.clone()
            },
            catalog,
        )
        .await?;
        (session, Some(touched), progress.built_through)
    };
    for table in &catalog.state_tables {
        let (frame, schema) = plan_table(session.context(), table, arrived_after).await?;
        let batches = frame.collect().await?;
        let rows = match table.kind {
            StateKind::Hourly => {
                let (rows, hours) =
                    replace_hours(&lake, &table.name, schema, &batches, touched.as_deref())?;
                report.hours = report.hours.max(hours);
                rows
            }
            StateKind::Accumulating => {
                add_part(&lake, &session, table, schema, &batches, newest).await?
            }
        };
        report.rows.insert(table.name.clone(), rows);
    }
    write_json(
        &progress_path,
        &StateProgress {
            fingerprint,
            built_through: newest,
        },
    )?;
    let _ = lock;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Brings the state tables up to date when the lake's writer lock is free:
/// what a reader (the dashboard) calls before it reads them. `Ok(None)`
/// when another process holds the lock; the tables are then read as they
/// are (that writer's `detect` updates them).
pub async fn update_if_free(
    lake_dir: &Path,
    options: &SessionOptions,
    catalog: &Catalog,
) -> Result<Option<StateReport>, DetectError> {
    let lake = Lake::open(lake_dir)?;
    let lock = match lake.lock() {
        Ok(lock) => lock,
        Err(LakeError::Locked { .. }) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    update(lake_dir, options, catalog, &lock).await.map(Some)
}

fn date_of(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

/// The `hour` column as microseconds.
fn hours_of(batch: &RecordBatch) -> Result<Int64Array, DetectError> {
    let column = batch
        .column_by_name("hour")
        .ok_or_else(|| DetectError::Catalog {
            path: "state/".into(),
            reason: "an hourly state table must return an `hour` column".into(),
        })?;
    let micros = arrow::compute::cast(column, &DataType::Int64)?;
    Ok(micros
        .as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .unwrap_or_else(|| Int64Array::from(Vec::<i64>::new())))
}

/// Writes the recomputed rows of the touched hours into their day files,
/// keeping the other hours' rows. Returns (rows written, hours).
fn replace_hours(
    lake: &Lake,
    table: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
    touched: Option<&[Span]>,
) -> Result<(usize, usize), DetectError> {
    let dir = table_dir(lake, table);
    // New rows by day.
    let mut by_day: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    let mut hours_seen = BTreeSet::new();
    for batch in batches {
        let hours = hours_of(batch)?;
        let days: Vec<String> = (0..hours.len()).map(|i| date_of(hours.value(i))).collect();
        let distinct: BTreeSet<&String> = days.iter().collect();
        for day in distinct {
            let mask: BooleanArray = days.iter().map(|d| Some(d == day)).collect();
            by_day
                .entry(day.clone())
                .or_default()
                .push(arrow::compute::filter_record_batch(batch, &mask)?);
        }
        hours_seen.extend(hours.iter().flatten());
    }
    // Days touched without new rows still lose their old rows of those hours.
    if let Some(touched) = touched {
        for span in touched {
            let mut hour = span.from;
            while hour < span.to {
                by_day.entry(date_of(hour)).or_default();
                hour += 3_600_000_000;
            }
        }
    }
    let mut written = 0;
    for (day, mut fresh) in by_day {
        let path = dir
            .join(format!("{}={day}", crate::PARTITION_OF_STATE))
            .join(HOURLY_FILE);
        if let Some(touched) = touched {
            for old in read_parquet(&path)? {
                let hours = hours_of(&old)?;
                let keep: BooleanArray = hours
                    .iter()
                    .map(|h| Some(h.is_none_or(|h| !touched.iter().any(|s| s.contains(h)))))
                    .collect();
                let kept = arrow::compute::filter_record_batch(&old, &keep)?;
                if kept.num_rows() > 0 {
                    fresh.push(kept);
                }
            }
        }
        let fresh: Vec<RecordBatch> = fresh.into_iter().filter(|b| b.num_rows() > 0).collect();
        if fresh.is_empty() {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let aligned = fresh
            .iter()
            .map(|b| RecordBatch::try_new(Arc::clone(&schema), b.columns().to_vec()))
            .collect::<Result<Vec<_>, _>>()?;
        written += write_parquet(&path, Arc::clone(&schema), &aligned)?;
    }
    Ok((written, hours_seen.len()))
}

/// Adds the new rows of an accumulating table as a part; merges the parts
/// when there are too many. Returns the rows written.
async fn add_part(
    lake: &Lake,
    session: &LakeSession,
    table: &StateTable,
    schema: SchemaRef,
    batches: &[RecordBatch],
    arrival: i64,
) -> Result<usize, DetectError> {
    let dir = table_dir(lake, &table.name);
    let manifest_path = dir.join(MANIFEST);
    let mut manifest: Manifest = read_json(&manifest_path)?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows > 0 {
        let name = format!("part-{arrival}.parquet");
        write_parquet(&dir.join(&name), Arc::clone(&schema), batches)?;
        if !manifest.parts.contains(&name) {
            manifest.parts.push(name);
        }
        write_json(&manifest_path, &manifest)?;
    }
    if manifest.parts.len() > MAX_PARTS {
        // Merge: one row per key over every part, written as one part.
        let files: Vec<PathBuf> = manifest.parts.iter().map(|p| dir.join(p)).collect();
        let raw = format!("{}_merging", table.name);
        crate::register_files(session.context(), &raw, &files, Arc::clone(&schema)).await?;
        let merged = session
            .context()
            .sql(&merged_sql(table, &schema, &raw))
            .await?
            .collect()
            .await?;
        session.context().deregister_table(raw.as_str())?;
        let name = format!("part-{arrival}-merged.parquet");
        let aligned = merged
            .iter()
            .map(|b| RecordBatch::try_new(Arc::clone(&schema), b.columns().to_vec()))
            .collect::<Result<Vec<_>, _>>()?;
        write_parquet(&dir.join(&name), Arc::clone(&schema), &aligned)?;
        let old = std::mem::replace(&mut manifest.parts, vec![name]);
        write_json(&manifest_path, &manifest)?;
        for part in old {
            let _ = std::fs::remove_file(dir.join(part));
        }
    }
    // Parts a crash left out of the manifest.
    let live: HashSet<&String> = manifest.parts.iter().collect();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("part-") && name.ends_with(".parquet") && !live.contains(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(rows)
}
