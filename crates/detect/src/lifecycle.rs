//! What people decide about findings, and the record of it.
//!
//! A finding is `open` when found. People move it with `poolsight
//! findings ack|resolve|suppress|reopen ID --reason TEXT`
//! ([`set_status`]); config rules (`[[detect.suppress]]`) suppress
//! matching findings as they are found ([`Suppressor`]). Every change is
//! kept — who, when, from what to what, why — in
//! `findings/audit.parquet` (table `finding_audit`). A resolved finding
//! that gains evidence is open again (see [`crate::merge`]).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, RecordBatch, StringArray, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use poolsight_config::SuppressRule;
use poolsight_lake::{Lake, LakeError, LakeLock};
use serde::Serialize;

use crate::findings::{load_findings, to_batch, write_findings_file, Finding};
use crate::DetectError;

/// The statuses a finding can have.
pub const STATUSES: &[&str] = &["open", "acknowledged", "resolved", "suppressed"];

/// One change of a finding's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub finding_id: String,
    pub at: String,
    /// A person (`$USER`, `--by`) or `config` for suppression rules.
    pub by: String,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
}

/// `findings/audit.parquet`.
pub fn audit_file(lake: &Lake) -> std::path::PathBuf {
    lake.findings_dir().join("audit.parquet")
}

/// The schema of the audit trail.
pub fn audit_schema() -> SchemaRef {
    let string = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        string("finding_id"),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        string("by"),
        string("from_status"),
        string("to_status"),
        string("reason"),
    ]))
}

/// Every recorded change, oldest first.
pub fn load_audit(lake: &Lake) -> Result<Vec<AuditEntry>, DetectError> {
    let path = audit_file(lake);
    let damaged = |e: &dyn std::fmt::Display| DetectError::Path {
        path: path.clone(),
        reason: format!(
            "the findings' audit trail cannot be read ({e}); move it aside to start a new one"
        ),
    };
    let batches = match poolsight_lake::read_parquet_file(&path) {
        Ok(Some(batches)) => batches,
        Ok(None) => return Ok(Vec::new()),
        Err(error @ LakeError::Io { .. }) => return Err(error.into()),
        Err(error) => return Err(damaged(&error)),
    };
    let mut entries = Vec::new();
    for batch in batches {
        let column = |name: &str| -> Result<StringArray, DetectError> {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| damaged(&format!("no column {name}")))?;
            let cast = arrow::compute::cast(array, &DataType::Utf8)?;
            Ok(cast
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .unwrap_or_else(|| StringArray::from(Vec::<Option<String>>::new())))
        };
        let at = batch
            .column_by_name("at")
            .ok_or_else(|| damaged(&"no column at"))?;
        let at = arrow::compute::cast(at, &DataType::Int64)?;
        let at = at
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .ok_or_else(|| damaged(&"at is not a time"))?
            .clone();
        let (ids, by, from, to, reason) = (
            column("finding_id")?,
            column("by")?,
            column("from_status")?,
            column("to_status")?,
            column("reason")?,
        );
        for row in 0..batch.num_rows() {
            entries.push(AuditEntry {
                finding_id: ids.value(row).to_string(),
                at: DateTime::from_timestamp_micros(at.value(row))
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default(),
                by: by.value(row).to_string(),
                from_status: from.value(row).to_string(),
                to_status: to.value(row).to_string(),
                reason: reason.value(row).to_string(),
            });
        }
    }
    Ok(entries)
}

/// Appends `more` to the audit trail (atomic rewrite), under the writer lock.
pub fn append_audit(lake: &Lake, more: &[AuditEntry], _lock: &LakeLock) -> Result<(), DetectError> {
    if more.is_empty() {
        return Ok(());
    }
    let mut all = load_audit(lake)?;
    all.extend(more.iter().cloned());
    let strings = |get: &dyn Fn(&AuditEntry) -> &str| -> ArrayRef {
        let mut b = StringBuilder::new();
        for e in &all {
            b.append_value(get(e));
        }
        Arc::new(b.finish())
    };
    let mut at = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for e in &all {
        at.append_value(poolsight_model::time::parse_event_time(&e.at).unwrap_or(0));
    }
    let batch = RecordBatch::try_new(
        audit_schema(),
        vec![
            strings(&|e| &e.finding_id),
            Arc::new(at.finish()),
            strings(&|e| &e.by),
            strings(&|e| &e.from_status),
            strings(&|e| &e.to_status),
            strings(&|e| &e.reason),
        ],
    )?;
    poolsight_lake::write_parquet_file(&audit_file(lake), batch.schema(), &[batch])?;
    Ok(())
}

/// The short id tables show: the first 8 hex digits of the id's hash.
pub fn short_id(finding_id: &str) -> &str {
    let hash = finding_id.rsplit('-').next().unwrap_or(finding_id);
    &hash[..hash.len().min(8)]
}

/// The finding `id` names: its full id, or a start of it or of its hash
/// (the short id) that only it has.
pub fn find<'a>(findings: &'a [Finding], id: &str) -> Result<&'a Finding, DetectError> {
    if let Some(exact) = findings.iter().find(|f| f.finding_id == id) {
        return Ok(exact);
    }
    let matching: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            !id.is_empty()
                && (f.finding_id.starts_with(id)
                    || f.finding_id
                        .rsplit('-')
                        .next()
                        .is_some_and(|h| h.starts_with(id)))
        })
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(DetectError::Request(format!(
            "no finding has the id {id:?} (list them: poolsight findings list)"
        ))),
        many => Err(DetectError::Request(format!(
            "{id:?} is the start of {} finding ids ({}, …); give more of it",
            many.len(),
            many[0].finding_id
        ))),
    }
}

/// Sets a finding's status, records who, when and why; returns it as stored.
pub fn set_status(
    lake: &Lake,
    lock: &LakeLock,
    id: &str,
    status: &str,
    reason: &str,
    by: &str,
    now: &str,
) -> Result<Finding, DetectError> {
    if !STATUSES.contains(&status) {
        return Err(DetectError::Request(format!(
            "{status:?} is not a status ({})",
            STATUSES.join(", ")
        )));
    }
    if reason.trim().is_empty() {
        return Err(DetectError::Request(
            "say why (--reason TEXT): it is kept in the finding's audit trail".into(),
        ));
    }
    let mut findings = load_findings(lake)?;
    let target = find(&findings, id)?.finding_id.clone();
    let Some(finding) = findings.iter_mut().find(|f| f.finding_id == target) else {
        return Err(DetectError::Request(format!(
            "no finding has the id {id:?}"
        )));
    };
    let entry = AuditEntry {
        finding_id: target.clone(),
        at: now.to_string(),
        by: by.to_string(),
        from_status: finding.status.clone(),
        to_status: status.to_string(),
        reason: reason.to_string(),
    };
    finding.status = status.to_string();
    finding.updated_at = now.to_string();
    let changed = finding.clone();
    write_findings_file(lake, &findings)?;
    append_audit(lake, &[entry], lock)?;
    Ok(changed)
}

/// Follows the newest inventory for the findings of `detections` (posture
/// detections that just ran whole): an open or acknowledged finding that
/// was not `sighted` again is resolved (the snapshot shows the fix); a
/// resolved one sighted again is open again. Suppressed findings stay as
/// they are. Every change is audited as made by `inventory`. A partial
/// snapshot (some calls failed: `partial`) resolves nothing — what it does
/// not show may be what it could not read — but still reopens. Returns
/// the audit entries written.
pub fn follow_inventory(
    lake: &Lake,
    lock: &LakeLock,
    detections: &[String],
    sighted: &std::collections::HashSet<String>,
    partial: bool,
    now: &str,
) -> Result<Vec<AuditEntry>, DetectError> {
    let mut findings = load_findings(lake)?;
    let mut audit = Vec::new();
    for finding in findings
        .iter_mut()
        .filter(|f| detections.contains(&f.detection))
    {
        let seen = sighted.contains(&finding.finding_id);
        let (to, reason) = match (finding.status.as_str(), seen) {
            ("open" | "acknowledged", false) if !partial => (
                "resolved",
                "the newest inventory snapshot no longer shows it",
            ),
            ("resolved", true) => ("open", "the newest inventory snapshot shows it again"),
            _ => continue,
        };
        audit.push(AuditEntry {
            finding_id: finding.finding_id.clone(),
            at: now.to_string(),
            by: "inventory".into(),
            from_status: finding.status.clone(),
            to_status: to.into(),
            reason: reason.into(),
        });
        finding.status = to.into();
        finding.updated_at = now.to_string();
    }
    if !audit.is_empty() {
        write_findings_file(lake, &findings)?;
        append_audit(lake, &audit, lock)?;
    }
    Ok(audit)
}

/// The config's suppression rules, ready to match findings.
pub struct Suppressor {
    rules: Vec<(SuppressRule, Option<i64>)>,
}

impl Suppressor {
    /// Checks the rules' expiry times (an unreadable one is an error).
    pub fn new(rules: &[SuppressRule]) -> Result<Self, DetectError> {
        let mut out = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let expires = match &rule.expires {
                None => None,
                Some(text) => Some(
                    poolsight_model::time::parse_instant(text)
                        .ok_or_else(|| {
                            DetectError::Request(format!(
                                "[[detect.suppress]] {index}: expires = {text:?} is not a date or RFC 3339 time"
                            ))
                        })?
                        .timestamp_micros(),
                ),
            };
            out.push((rule.clone(), expires));
        }
        Ok(Suppressor { rules: out })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Marks the sightings a live rule matches as `suppressed`; returns
    /// each marked finding id with the rule's reason.
    pub async fn apply(
        &self,
        findings: &mut [Finding],
        now: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, String>, DetectError> {
        let mut reasons = std::collections::HashMap::new();
        if self.rules.is_empty() || findings.is_empty() {
            return Ok(reasons);
        }
        let ctx = SessionContext::new();
        let batch = to_batch(findings)?;
        ctx.register_table(
            "finding",
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?),
        )?;
        for (index, (rule, expires)) in self.rules.iter().enumerate() {
            if expires.is_some_and(|e| e <= now.timestamp_micros()) {
                continue;
            }
            let chosen: Option<std::collections::HashSet<String>> = match &rule.predicate {
                None => None,
                Some(predicate) => {
                    let frame = ctx
                        .sql(&format!("SELECT finding_id FROM finding WHERE {predicate}"))
                        .await
                        .map_err(|e| {
                            DetectError::Request(format!(
                                "[[detect.suppress]] {index}: where = {predicate:?}: {}",
                                crate::explain::explain_query_error(&e)
                            ))
                        })?;
                    let mut ids = std::collections::HashSet::new();
                    for batch in frame.collect().await? {
                        let column = arrow::compute::cast(batch.column(0), &DataType::Utf8)?;
                        if let Some(column) = column.as_any().downcast_ref::<StringArray>() {
                            ids.extend(column.iter().flatten().map(str::to_string));
                        }
                    }
                    Some(ids)
                }
            };
            for finding in findings.iter_mut() {
                let matches = (rule.detection == "*" || rule.detection == finding.detection)
                    && rule
                        .identity_id
                        .as_ref()
                        .is_none_or(|i| finding.identity_id.as_ref() == Some(i))
                    && rule
                        .identity_pool_id
                        .as_ref()
                        .is_none_or(|p| finding.identity_pool_id.as_ref() == Some(p))
                    && rule
                        .source_ip
                        .as_ref()
                        .is_none_or(|ip| finding.source_ips.contains(ip))
                    && chosen
                        .as_ref()
                        .is_none_or(|ids| ids.contains(&finding.finding_id));
                if matches && finding.status != "suppressed" {
                    finding.status = "suppressed".into();
                    reasons.insert(finding.finding_id.clone(), rule.reason.clone());
                }
            }
        }
        Ok(reasons)
    }
}
