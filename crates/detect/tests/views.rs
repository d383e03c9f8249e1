//! The shared views and state tables tested as data: each
//! `queries/{views,state}/tests/<name>.slt` (sqllogictest) runs against a lake
//! holding `<name>.jsonl` beside it (CloudTrail records), with the state
//! tables built as `detect` builds them. A failing record prints the query,
//! the expected and the actual rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use poolsight_detect::catalog::Catalog;
use poolsight_detect::geoip::GeoIp;
use poolsight_detect::{DetectError, LakeSession, SessionOptions};
use poolsight_ingest::{ingest_paths, IngestOptions};
use sqllogictest::{DBOutput, DefaultColumnType};

fn queries_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries")
}

fn options() -> SessionOptions {
    SessionOptions {
        geoip: Some(Arc::new(GeoIp::test_databases().unwrap())),
        ..Default::default()
    }
}

/// One lake session as a sqllogictest database.
struct LakeDb(Arc<LakeSession>);

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for LakeDb {
    type Error = DetectError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DetectError> {
        let batches = self.0.query(sql).await?;
        let Some(first) = batches.first() else {
            return Ok(DBOutput::Rows {
                types: vec![],
                rows: vec![],
            });
        };
        let types = vec![DefaultColumnType::Any; first.num_columns()];
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters = batch
                .columns()
                .iter()
                .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(datafusion::error::DataFusionError::from)?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| match f.value(row).to_string() {
                            empty if empty.is_empty() => "(empty)".to_string(),
                            text => text,
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}
}

/// Every `.slt` under `queries/<folder>/tests`.
fn scripts(folder: &str) -> Vec<PathBuf> {
    let dir = queries_dir().join(folder).join("tests");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "slt"))
                .collect()
        })
        .unwrap_or_default();
    scripts.sort();
    scripts
}

async fn run_script(script: &Path) {
    let events = script.with_extension("jsonl");
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let summary = ingest_paths(
        std::slice::from_ref(&events),
        &lake,
        IngestOptions::default(),
        &|_, _| {},
    )
    .unwrap_or_else(|e| panic!("{}: {e}", events.display()));
    assert_eq!(
        summary.quarantined,
        0,
        "{}: test events must all be valid records",
        events.display()
    );
    let catalog = Catalog::from_dir(&queries_dir()).unwrap();
    let handle = poolsight_lake::Lake::open(&lake).unwrap();
    poolsight_detect::state::update(&lake, &options(), &catalog, &handle.lock().unwrap())
        .await
        .unwrap();
    let session = Arc::new(
        LakeSession::open_with(&lake, &options(), &catalog)
            .await
            .unwrap(),
    );
    let mut runner = sqllogictest::Runner::new(move || {
        let session = Arc::clone(&session);
        async move { Ok(LakeDb(session)) }
    });
    // Every record runs, so that one run shows every mismatch.
    let records =
        sqllogictest::parse_file(script).unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    let mut failures = Vec::new();
    for record in records {
        if let Err(error) = runner.run_async(record).await {
            failures.push(error.display(false).to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        script.display(),
        failures.join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_behave_as_their_scripts_say() {
    let scripts = scripts("views");
    assert!(!scripts.is_empty(), "queries/views/tests holds the scripts");
    for script in scripts {
        run_script(&script).await;
    }
}
