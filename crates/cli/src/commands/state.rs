//! `poolsight state rebuild`: build the state tables again from `events`.

use anyhow::Result;
use poolsight_config::Config;
use poolsight_detect::detector::Detector;
use poolsight_lake::LakeError;

use crate::cli::{StateAction, StateArgs};

pub fn run(args: &StateArgs, config: &Config) -> Result<u8> {
    let lake = config.lake_or(args.lake.as_deref());
    let detector = Detector::from_config(config, &lake)?;
    let runtime = super::runtime()?;
    match args.action {
        StateAction::Rebuild => match runtime.block_on(detector.rebuild_state(None)) {
            Ok(report) => {
                let rows: Vec<String> = report
                    .rows
                    .iter()
                    .map(|(table, rows)| format!("{table}: {rows}"))
                    .collect();
                println!(
                    "state tables {} in {:.2} s ({} hours; rows {})",
                    report.mode,
                    report.seconds,
                    report.hours,
                    rows.join(", ")
                );
                Ok(0)
            }
            Err(poolsight_detect::DetectError::Lake(LakeError::Locked { path, lock })) => Ok(
                crate::output::lake_busy("state", &path, &lock, "nothing changed."),
            ),
            Err(error) => Err(error.into()),
        },
    }
}
