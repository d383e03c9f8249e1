//! `poolsight compact`: merge each events partition's small files (see
//! `poolsight_lake::compact` for the crash-safe protocol).

use anyhow::{Context, Result};
use poolsight_config::Config;
use poolsight_lake::compact::{compact, CompactOptions};
use poolsight_lake::{Lake, LakeError};

use crate::cli::CompactArgs;

pub fn run(args: &CompactArgs, config: &Config) -> Result<u8> {
    let root = config.lake_or(args.lake.as_deref());
    let lake = Lake::open(&root)?;
    let lock = match lake.lock() {
        Ok(lock) => lock,
        Err(LakeError::Locked { path, lock }) => {
            return Ok(crate::output::lake_busy(
                "compact",
                &path,
                &lock,
                "nothing done",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let options = CompactOptions {
        min_files: args.min_files,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let summary = compact(&lake, &lock, &options)
        .with_context(|| format!("compact {}", crate::output::lake_name(&root)))?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "compacted {} partitions: {} files → {} ({} rows) in {:.2} s{}",
            summary.partitions,
            summary.files_before,
            summary.files_after,
            summary.rows,
            started.elapsed().as_secs_f64(),
            if summary.recovered > 0 {
                format!(
                    "; finished {} interrupted compaction(s) first",
                    summary.recovered
                )
            } else {
                String::new()
            }
        );
    }
    Ok(0)
}
