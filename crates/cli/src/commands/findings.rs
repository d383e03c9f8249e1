//! `poolsight findings`: list and show the stored findings, and record what
//! people decided (ack, resolve, suppress, reopen) with who, when and why.

use anyhow::{bail, Result};
use chrono::Utc;
use poolsight_config::Config;
use poolsight_detect::findings::load_findings;
use poolsight_detect::lifecycle::{find, load_audit, set_status, STATUSES};
use poolsight_lake::{Lake, LakeError};

use crate::cli::{FindingsAction, FindingsArgs};
use crate::output::{terminal_safe, write_lake_findings};

pub fn run(args: &FindingsArgs, config: &Config) -> Result<u8> {
    let lake_dir = config.lake_or(args.lake.as_deref());
    let lake = Lake::open(&lake_dir)?;
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, step) = match &args.action {
        FindingsAction::List(list) => {
            let mut wanted: Vec<String> = list
                .status
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            for status in &wanted {
                if status != "all" && !STATUSES.contains(&status.as_str()) {
                    bail!(
                        "--status {status:?}: not a status (one of {}, or all)",
                        STATUSES.join(", ")
                    );
                }
            }
            if wanted.is_empty() {
                wanted = vec!["open".into(), "acknowledged".into()];
            }
            let only: Vec<String> = list
                .only
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let mut findings: Vec<_> = load_findings(&lake)?
                .into_iter()
                .filter(|f| wanted.iter().any(|w| w == "all" || *w == f.status))
                .filter(|f| {
                    only.is_empty() || only.iter().any(|o| *o == f.detection || *o == f.category)
                })
                .collect();
            findings.sort_by(poolsight_detect::findings::Finding::by_priority);
            write_lake_findings(
                &mut std::io::stdout().lock(),
                &findings,
                list.format,
                config,
                &lake_dir,
            )?;
            return Ok(0);
        }
        FindingsAction::Show { id } => {
            let findings = load_findings(&lake)?;
            let finding = find(&findings, id)?;
            let audit: Vec<_> = load_audit(&lake)?
                .into_iter()
                .filter(|e| e.finding_id == finding.finding_id)
                .collect();
            // Where it went: the outbox's entries for it (`notify`).
            let deliveries: Vec<_> = poolsight_notify::outbox::Outbox::load(&lake)?
                .entries()
                .iter()
                .filter(|e| e.finding_id == finding.finding_id)
                .cloned()
                .collect();
            let mut value = serde_json::to_value(finding)?;
            value["audit"] = serde_json::to_value(&audit)?;
            value["deliveries"] = serde_json::to_value(&deliveries)?;
            // JSON escapes control characters: attacker text cannot reach the terminal raw.
            println!("{}", serde_json::to_string_pretty(&value)?);
            return Ok(0);
        }
        FindingsAction::Ack(step) => ("acknowledged", step),
        FindingsAction::Resolve(step) => ("resolved", step),
        FindingsAction::Suppress(step) => ("suppressed", step),
        FindingsAction::Reopen(step) => ("open", step),
    };
    let by = step
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let lock = match lake.lock() {
        Ok(lock) => lock,
        Err(LakeError::Locked { path, lock }) => {
            return Ok(crate::output::lake_busy(
                "findings",
                &path,
                &lock,
                "nothing changed. Try again when it ends.",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let finding = set_status(&lake, &lock, &step.id, status, &step.reason, &by, &now)?;
    println!(
        "{} is {} ({} by {})",
        finding.finding_id,
        finding.status,
        terminal_safe(&step.reason),
        terminal_safe(&by)
    );
    Ok(0)
}
