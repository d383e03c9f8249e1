//! Running detections and keeping their findings.
//!
//! A detection's SQL returns one row per finding with these columns
//! (checked by [`check_columns`], i.e. `poolsight lint`):
//!
//! | column | type | |
//! |---|---|---|
//! | `summary` | string | required: a sentence with the numbers |
//! | `first_seen`, `last_seen` | timestamp | required |
//! | `event_ids` | list of strings | required: **every** evidence event |
//! | `severity` | string | optional (default: the detection's); `info` … `critical` |
//! | `identity_id`, `identity_pool_id`, `access_key_id` | string | optional |
//! | `source_ips` | list of strings | optional |
//! | `finding_key` | string | optional: what makes two runs' rows the same finding |
//! | `group_key` | string | optional: rows of one group whose time spans overlap are one finding (pieces of a burst across bins) |
//!
//! The runner adds the detection's id, category and title, counts the
//! evidence, and gives each finding a stable id: a hash of the detection
//! and `finding_key` (default: identity, pool, access key and
//! `first_seen`), so re-running updates a finding instead of adding one.
//! Findings are stored in `<lake>/findings/findings.parquet`, rewritten
//! atomically with old and new merged by [`crate::merge::FindingSet`]
//! (evidence is never lost).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use poolsight_config::Severity;
use poolsight_lake::{Lake, LakeError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::Detection;
use crate::{DetectError, LakeSession};

/// One finding, in the design's JSON shape (plus `finding_id`, `detected_at`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub detection: String,
    pub category: String,
    pub severity: String,
    pub title: String,
    pub summary: String,
    pub identity_id: Option<String>,
    pub identity_pool_id: Option<String>,
    pub access_key_id: Option<String>,
    pub source_ips: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub event_count: u64,
    pub event_ids: Vec<String>,
    pub finding_id: String,
    /// The `finding_key` the id was made from (not stored: it orders the
    /// pieces of one run, earliest window first).
    #[serde(skip)]
    pub finding_key: String,
    /// Pieces with one group key whose time spans overlap are one finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_key: Option<String>,
    /// `open`, `acknowledged`, `resolved` or `suppressed`.
    #[serde(default)]
    pub status: String,
    /// When the finding was first detected.
    pub detected_at: String,
    /// When its evidence, time span, severity or status last changed.
    #[serde(default)]
    pub updated_at: String,
}

impl Finding {
    pub fn severity(&self) -> Severity {
        parse_severity(&self.severity).unwrap_or(Severity::Info)
    }

    /// The order findings are shown in: most severe first, then oldest, then by id.
    pub fn by_priority(a: &Finding, b: &Finding) -> std::cmp::Ordering {
        b.severity()
            .cmp(&a.severity())
            .then_with(|| a.first_seen.cmp(&b.first_seen))
            .then_with(|| a.finding_id.cmp(&b.finding_id))
    }
}

pub fn parse_severity(text: &str) -> Option<Severity> {
    Some(match text.to_ascii_lowercase().as_str() {
        "info" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        _ => return None,
    })
}

const REQUIRED: &[&str] = &["summary", "first_seen", "last_seen", "event_ids"];
const OPTIONAL_STRINGS: &[&str] = &[
    "severity",
    "identity_id",
    "identity_pool_id",
    "access_key_id",
    "finding_key",
    "group_key",
];

fn is_string(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

fn is_string_list(t: &DataType) -> bool {
    match t {
        DataType::List(f) | DataType::LargeList(f) => is_string(f.data_type()),
        DataType::Null => true,
        _ => false,
    }
}

/// Checks a detection's result schema against the finding contract.
pub fn check_columns(
    detection: &Detection,
    schema: &arrow::datatypes::Schema,
) -> Result<(), DetectError> {
    let problem = |reason: String| DetectError::Catalog {
        path: detection.path.clone(),
        reason,
    };
    for column in REQUIRED {
        if schema.field_with_name(column).is_err() {
            return Err(problem(format!(
                "the query returns no `{column}` column (a finding needs {})",
                REQUIRED.join(", ")
            )));
        }
    }
    for field in schema.fields() {
        let name = field.name().as_str();
        let t = field.data_type();
        let ok = match name {
            "first_seen" | "last_seen" => matches!(t, DataType::Timestamp(_, _)),
            "event_ids" | "source_ips" => is_string_list(t),
            "summary" => is_string(t),
            other if OPTIONAL_STRINGS.contains(&other) => is_string(t),
            _ => true,
        };
        if !ok {
            return Err(problem(format!(
                "column `{name}` has type {t}, which a finding cannot hold"
            )));
        }
    }
    Ok(())
}

fn text(row: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match row.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Null => None,
        Value::String(_) => None,
        other => Some(other.to_string()),
    }
}

fn list(row: &serde_json::Map<String, Value>, key: &str) -> Vec<String> {
    let mut out: Vec<String> = row
        .get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

fn rfc3339(text: Option<String>) -> String {
    text.as_deref()
        .and_then(poolsight_model::time::parse_event_time)
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The findings of one detection's result batches.
pub fn findings_of(
    detection: &Detection,
    batches: &[RecordBatch],
    detected_at: &str,
) -> Result<Vec<Finding>, DetectError> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    let bytes = writer.into_inner();
    let rows: Vec<serde_json::Map<String, Value>> = if bytes.is_empty() {
        Vec::new()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| DetectError::Catalog {
            path: detection.path.clone(),
            reason: format!("result rows: {e}"),
        })?
    };
    let mut findings = Vec::with_capacity(rows.len());
    for row in rows {
        let severity = text(&row, "severity")
            .and_then(|s| parse_severity(&s))
            .unwrap_or(detection.severity);
        let event_ids = list(&row, "event_ids");
        let first_seen = rfc3339(text(&row, "first_seen"));
        let identity_id = text(&row, "identity_id");
        let identity_pool_id = text(&row, "identity_pool_id");
        let access_key_id = text(&row, "access_key_id");
        let key = text(&row, "finding_key").unwrap_or_else(|| {
            format!(
                "{}|{}|{}|{first_seen}",
                identity_id.as_deref().unwrap_or(""),
                identity_pool_id.as_deref().unwrap_or(""),
                access_key_id.as_deref().unwrap_or("")
            )
        });
        let finding_id = format!(
            "{}-{:016x}",
            detection.id,
            xxhash_rust::xxh3::xxh3_64(format!("{}\u{1f}{key}", detection.id).as_bytes())
        );
        findings.push(Finding {
            detection: detection.id.clone(),
            category: detection.category.clone(),
            severity: severity.to_string(),
            title: detection.title.clone(),
            summary: text(&row, "summary").unwrap_or_default(),
            identity_id,
            identity_pool_id,
            access_key_id,
            source_ips: list(&row, "source_ips"),
            first_seen,
            last_seen: rfc3339(text(&row, "last_seen")),
            event_count: event_ids.len() as u64,
            event_ids,
            finding_id,
            finding_key: key,
            group_key: text(&row, "group_key"),
            status: "open".into(),
            detected_at: detected_at.to_string(),
            updated_at: detected_at.to_string(),
        });
    }
    Ok(findings)
}

/// Runs one detection with the config's tunables.
pub async fn run_detection(
    session: &LakeSession,
    detection: &Detection,
    tunables: &BTreeMap<String, toml::Value>,
    detected_at: &str,
) -> Result<Vec<Finding>, DetectError> {
    let sql = detection.sql(tunables)?;
    let frame = session
        .context()
        .sql(&sql)
        .await
        .map_err(|e| DetectError::Detection {
            id: detection.id.clone(),
            path: detection.path.clone(),
            source: e,
        })?;
    check_columns(detection, frame.schema().as_arrow())?;
    let batches = frame.collect().await.map_err(|e| DetectError::Detection {
        id: detection.id.clone(),
        path: detection.path.clone(),
        source: e,
    })?;
    Ok(consolidate(
        findings_of(detection, &batches, detected_at)?,
        detected_at,
    ))
}

/// One run's rows as findings: rows with one id, and pieces of one group
/// that overlap in time, folded together (in time order).
pub fn consolidate(mut rows: Vec<Finding>, detected_at: &str) -> Vec<Finding> {
    rows.sort_by(|a, b| {
        (&a.first_seen, &a.finding_key, &a.finding_id).cmp(&(
            &b.first_seen,
            &b.finding_key,
            &b.finding_id,
        ))
    });
    let mut set = crate::merge::FindingSet::default();
    for row in rows {
        set.absorb(row, detected_at);
    }
    let mut findings = set.into_vec();
    findings.sort_by(|a, b| (&a.first_seen, &a.finding_id).cmp(&(&b.first_seen, &b.finding_id)));
    findings
}

/// The schema of `findings/findings.parquet`.
pub fn findings_schema() -> SchemaRef {
    let string = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let list = |name: &str| {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        )
    };
    let time = |name: &str| {
        Field::new(
            name,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )
    };
    Arc::new(Schema::new(vec![
        string("finding_id", false),
        string("detection", false),
        string("category", false),
        string("severity", false),
        string("title", false),
        string("summary", false),
        string("identity_id", true),
        string("identity_pool_id", true),
        string("access_key_id", true),
        list("source_ips"),
        time("first_seen"),
        time("last_seen"),
        Field::new("event_count", DataType::Int64, false),
        list("event_ids"),
        time("detected_at"),
        string("group_key", true),
        string("status", true),
        time("updated_at"),
    ]))
}

fn micros(text: &str) -> Option<i64> {
    poolsight_model::time::parse_event_time(text)
}

pub(crate) fn to_batch(findings: &[Finding]) -> Result<RecordBatch, DetectError> {
    let strings = |get: &dyn Fn(&Finding) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::new();
        for f in findings {
            b.append_option(get(f));
        }
        Arc::new(b.finish())
    };
    let lists = |get: &dyn Fn(&Finding) -> &Vec<String>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for f in findings {
            for v in get(f) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let times = |get: &dyn Fn(&Finding) -> &str| -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        for f in findings {
            b.append_option(micros(get(f)));
        }
        Arc::new(b.finish())
    };
    let mut counts = Int64Builder::new();
    for f in findings {
        counts.append_value(f.event_count as i64);
    }
    Ok(RecordBatch::try_new(
        findings_schema(),
        vec![
            strings(&|f| Some(&f.finding_id)),
            strings(&|f| Some(&f.detection)),
            strings(&|f| Some(&f.category)),
            strings(&|f| Some(&f.severity)),
            strings(&|f| Some(&f.title)),
            strings(&|f| Some(&f.summary)),
            strings(&|f| f.identity_id.as_deref()),
            strings(&|f| f.identity_pool_id.as_deref()),
            strings(&|f| f.access_key_id.as_deref()),
            lists(&|f| &f.source_ips),
            times(&|f| &f.first_seen),
            times(&|f| &f.last_seen),
            Arc::new(counts.finish()),
            lists(&|f| &f.event_ids),
            times(&|f| &f.detected_at),
            strings(&|f| f.group_key.as_deref()),
            strings(&|f| Some(&f.status)),
            times(&|f| &f.updated_at),
        ],
    )?)
}

/// The findings file of a lake.
pub fn findings_file(lake: &Lake) -> std::path::PathBuf {
    lake.findings_dir().join("findings.parquet")
}

/// Reads the stored findings.
pub fn load_findings(lake: &Lake) -> Result<Vec<Finding>, DetectError> {
    let path = findings_file(lake);
    let damaged = |e: &dyn std::fmt::Display| {
        DetectError::Path {
        path: path.clone(),
        reason: format!("the stored findings cannot be read ({e}); move the file aside and run detect again (findings are re-detected from events, their first detection time is lost)"),
    }
    };
    let batches = match poolsight_lake::read_parquet_file(&path) {
        Ok(Some(batches)) => batches,
        Ok(None) => return Ok(Vec::new()),
        Err(error @ LakeError::Io { .. }) => return Err(error.into()),
        Err(error) => return Err(damaged(&error)),
    };
    let mut findings = Vec::new();
    for batch in batches {
        let mut writer = arrow::json::ArrayWriter::new(Vec::new());
        writer.write(&batch)?;
        writer.finish()?;
        let rows: Vec<serde_json::Map<String, Value>> =
            serde_json::from_slice(&writer.into_inner()).map_err(|e| damaged(&e))?;
        for row in rows {
            findings.push(Finding {
                finding_id: text(&row, "finding_id").unwrap_or_default(),
                detection: text(&row, "detection").unwrap_or_default(),
                category: text(&row, "category").unwrap_or_default(),
                severity: text(&row, "severity").unwrap_or_default(),
                title: text(&row, "title").unwrap_or_default(),
                summary: text(&row, "summary").unwrap_or_default(),
                identity_id: text(&row, "identity_id"),
                identity_pool_id: text(&row, "identity_pool_id"),
                access_key_id: text(&row, "access_key_id"),
                source_ips: list(&row, "source_ips"),
                first_seen: rfc3339(text(&row, "first_seen")),
                last_seen: rfc3339(text(&row, "last_seen")),
                event_count: row.get("event_count").and_then(Value::as_u64).unwrap_or(0),
                event_ids: list(&row, "event_ids"),
                finding_key: String::new(),
                group_key: text(&row, "group_key"),
                status: text(&row, "status").unwrap_or_else(|| "open".into()),
                updated_at: rfc3339(text(&row, "updated_at").or_else(|| text(&row, "detected_at"))),
                detected_at: rfc3339(text(&row, "detected_at")),
            });
        }
    }
    Ok(findings)
}

/// What storing did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoreSummary {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub total: usize,
}

/// What storing did, and the findings that are new or changed (as stored).
#[derive(Debug, Default, Clone)]
pub struct Stored {
    pub summary: StoreSummary,
    pub changed: Vec<Finding>,
    /// Status changes storing made (suppressed by a rule, reopened).
    pub transitions: Vec<crate::merge::Transition>,
}

/// Folds `findings` into the lake's findings ([`crate::merge::FindingSet`]:
/// by id or overlapping group, never losing evidence) and rewrites the
/// file atomically when anything changed. `now` stamps `updated_at`.
///
/// Read, merge and rewrite happen under the lake's writer lock, which the
/// caller proves it holds by passing it.
pub fn store_findings(
    lake: &Lake,
    findings: &[Finding],
    now: &str,
    _lock: &poolsight_lake::LakeLock,
) -> Result<Stored, DetectError> {
    let mut set = crate::merge::FindingSet::new(load_findings(lake)?);
    let mut summary = StoreSummary::default();
    let mut changed = Vec::new();
    for finding in findings {
        let (what, index) = set.absorb(finding.clone(), now);
        match what {
            crate::merge::Absorbed::New => summary.new += 1,
            crate::merge::Absorbed::Updated => summary.updated += 1,
            crate::merge::Absorbed::Unchanged => summary.unchanged += 1,
        }
        if what != crate::merge::Absorbed::Unchanged && !changed.contains(&index) {
            changed.push(index);
        }
    }
    summary.total = set.len();
    let changed: Vec<Finding> = changed.iter().map(|&i| set.get(i).clone()).collect();
    let transitions = set.transitions().to_vec();
    if summary.new == 0 && summary.updated == 0 {
        return Ok(Stored {
            summary,
            changed,
            transitions,
        });
    }
    write_findings_file(lake, &set.into_vec())?;
    Ok(Stored {
        summary,
        changed,
        transitions,
    })
}

/// Rewrites `findings/findings.parquet` atomically with `all`.
pub(crate) fn write_findings_file(lake: &Lake, all: &[Finding]) -> Result<(), DetectError> {
    let batch = to_batch(all)?;
    poolsight_lake::write_parquet_file(&findings_file(lake), batch.schema(), &[batch])?;
    Ok(())
}

/// The stored findings that still need a look (`open` or `acknowledged`),
/// most severe first.
pub fn open_findings(lake: &Lake) -> Result<Vec<Finding>, DetectError> {
    let mut findings: Vec<Finding> = load_findings(lake)?
        .into_iter()
        .filter(|f| f.status == "open" || f.status == "acknowledged")
        .collect();
    findings.sort_by(Finding::by_priority);
    Ok(findings)
}
