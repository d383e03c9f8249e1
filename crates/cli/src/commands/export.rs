//! `poolsight export ocsf`: the stored findings as OCSF Parquet in the
//! Security Lake custom-source layout (`poolsight_notify::export`).

use anyhow::{anyhow, Result};
use poolsight_config::Config;
use poolsight_notify::export::ExportOptions;

use crate::cli::{ExportArgs, ExportWhat};
use crate::output::terminal_safe;

pub fn run(args: &ExportArgs, config: &Config) -> Result<u8> {
    let ExportWhat::Ocsf(args) = &args.what;
    let lake = config.lake_or(args.lake.as_deref());
    poolsight_lake::Lake::open(&lake)?;
    let since = match &args.since {
        Some(text) => Some(
            poolsight_model::time::parse_instant(text)
                .or_else(|| {
                    poolsight_model::time::parse_span(text).map(|span| chrono::Utc::now() - span)
                })
                .ok_or_else(|| {
                    anyhow!(
                        "--since {text:?}: not a time (RFC 3339, YYYY-MM-DD) nor a span (24h, 7d)"
                    )
                })?,
        ),
        None => None,
    };
    let options = ExportOptions {
        out: args.out.clone(),
        since,
        default_account: args.account.clone(),
        default_region: args.region.clone(),
    };
    let report = super::runtime()?.block_on(poolsight_notify::export::export_ocsf(
        config, &lake, &options,
    ))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let rows: usize = report.files.iter().map(|f| f.rows).sum();
        println!(
            "exported {} finding(s) as {rows} OCSF Detection Finding row(s) in {} file(s) to {}",
            report.findings,
            report.files.len(),
            terminal_safe(&report.destination)
        );
        for file in &report.files {
            println!(
                "  {} ({} rows, {} bytes)",
                terminal_safe(&file.key),
                file.rows,
                file.bytes
            );
        }
    }
    Ok(0)
}
