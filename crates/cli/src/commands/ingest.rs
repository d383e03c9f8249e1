//! `poolsight ingest PATH... --lake DIR`.

use std::time::Instant;

use anyhow::{bail, Result};
use poolsight_config::Config;
use poolsight_ingest::IngestSummary;

use crate::cli::IngestArgs;

pub fn run(args: &IngestArgs, config: &Config) -> Result<u8> {
    // A path that does not exist is a usage error: said before anything
    // (a lake included) is created.
    for path in &args.paths {
        if std::fs::symlink_metadata(path).is_err() {
            bail!(
                "{}: no such file or folder (nothing was ingested; check the path)",
                path.display()
            );
        }
    }
    let lake = config.lake_or(args.lake.as_deref());
    let mut options = super::ingest_options(config);
    if let Some(bytes) = args.max_record_bytes {
        options.max_record_bytes = bytes;
    }
    if let Some(workers) = args.workers {
        options.workers = workers.max(1);
    }
    let started = Instant::now();
    let summary = match crate::output::ingest_with_progress(&args.paths, &lake, options) {
        Ok(summary) => summary,
        Err(error) => {
            if let Some(poolsight_ingest::IngestError::Lake(poolsight_lake::LakeError::Locked {
                path,
                lock,
            })) = error.downcast_ref::<poolsight_ingest::IngestError>()
            {
                return Ok(crate::output::lake_busy(
                    "ingest",
                    path,
                    lock,
                    "nothing was ingested",
                ));
            }
            return Err(error);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let mut value = serde_json::to_value(&summary)?;
        value["seconds"] = serde_json::json!((seconds * 1000.0).round() / 1000.0);
        println!("{value}");
    } else {
        println!("{}", crate::output::summary_line(&summary, seconds));
        if summary.quarantined > 0 {
            println!(
                "quarantined records are in {}/quarantine/ (query them: poolsight sql --lake {} \"SELECT source_uri, position, reason FROM quarantine\")",
                crate::output::lake_name(&lake),
                crate::output::lake_name(&lake)
            );
        }
    }
    exit_code(&summary)
}

/// 0 unless nothing could be read.
pub fn exit_code(summary: &IngestSummary) -> Result<u8> {
    if summary.files == 0 && summary.files_failed == 0 {
        bail!("no input files found (looked for .json, .json.gz, .jsonl, .ndjson, .log, .txt)");
    }
    if summary.records == 0 && summary.files_failed > 0 && summary.files_failed >= summary.files {
        eprintln!("error: nothing could be read; see the quarantine for the reasons");
        return Ok(crate::exit::ERROR);
    }
    Ok(0)
}
