//! `poolsight inventory`: snapshot the identity pools, their roles and
//! policies, and the trails into the lake (`poolsight_collect::inventory`).

use anyhow::{Context, Result};
use poolsight_config::Config;
use poolsight_lake::{Lake, LakeError};

use crate::cli::InventoryArgs;
use crate::output::terminal_safe;

pub fn run(args: &InventoryArgs, config: &Config) -> Result<u8> {
    let root = config.lake_or(args.lake.as_deref());
    let lake =
        Lake::create(&root).with_context(|| format!("lake {}", crate::output::lake_name(&root)))?;
    let lock = match lake.lock() {
        Ok(lock) => lock,
        Err(LakeError::Locked { path, lock }) => {
            return Ok(crate::output::lake_busy(
                "inventory",
                &path,
                &lock,
                "nothing done",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let report = poolsight_collect::inventory::run_inventory(
        config,
        &lake,
        &lock,
        args.from_file.as_deref(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "inventory {}: {} account(s), regions {}: {} pools, {} roles ({} policy statements), {} trails; {} API calls in {:.2} s",
            report.snapshot_id,
            report.accounts,
            report.regions.join(", "),
            report.pools,
            report.roles,
            report.statements,
            report.trails,
            report.api_calls,
            report.seconds
        );
        for error in &report.errors {
            println!(
                "  ! {} {}{}: {} {}",
                error.operation,
                error
                    .region
                    .as_deref()
                    .map(|r| format!("[{r}] "))
                    .unwrap_or_default(),
                terminal_safe(error.resource.as_deref().unwrap_or("")),
                terminal_safe(&error.code),
                terminal_safe(&error.message)
            );
        }
    }
    // Calls that failed leave a partial snapshot: stored, and said.
    Ok(if report.errors.is_empty() {
        0
    } else {
        crate::exit::PARTIAL
    })
}
