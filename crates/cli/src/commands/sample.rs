//! `poolsight sample --out DIR [--events N] [--seed S] [--labels FILE]`.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use poolsight_sample::{generate, SampleOptions};

use crate::cli::SampleArgs;

pub fn run(args: &SampleArgs) -> Result<u8> {
    let start = NaiveDate::parse_from_str(&args.start, "%Y-%m-%d")
        .with_context(|| format!("--start {:?}: expected YYYY-MM-DD", args.start))?
        .and_hms_opt(0, 0, 0)
        .context("midnight")?
        .and_utc();
    let options = SampleOptions {
        events: args.events,
        seed: args.seed,
        start,
        days: args.days,
        attacks: !args.no_attacks,
        other_sources: args.other_sources,
    };
    let summary = generate(&args.out, &options)
        .with_context(|| format!("write sample to {}", args.out.display()))?;
    if let Some(path) = &args.labels {
        let lines: String = summary
            .labels
            .iter()
            .map(|label| format!("{}\n", label.to_json()))
            .collect();
        std::fs::write(path, lines)
            .with_context(|| format!("write labels to {}", path.display()))?;
    }
    println!(
        "wrote {} events ({} of them attacks and traps) in {} files, {:.1} MB gzipped, under {}{}",
        summary.events,
        summary.attack_events,
        summary.files,
        summary.bytes as f64 / 1e6,
        args.out.display(),
        if summary.copies > 0 {
            format!(
                "; {} copies via CloudWatch Logs / EventBridge",
                summary.copies
            )
        } else {
            String::new()
        }
    );
    Ok(0)
}
