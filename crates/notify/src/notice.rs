//! One finding version on its way out: the finding as stored, what changed
//! (new, updated, status), the detection's metadata and the evidence's
//! context. Every format (OCSF, ASFF, webhook and SNS bodies) renders a
//! [`Notice`].

use poolsight_detect::catalog::Detection;
use poolsight_detect::findings::Finding;
use serde::Serialize;

use crate::context::FindingContext;

/// What a finding version is to the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// First sent (for a target: the first version it gets).
    New,
    /// New evidence, a wider time span or another severity.
    Updated,
    /// Its status changed (acknowledged, resolved, suppressed, reopened).
    Status,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Updated => "updated",
            Change::Status => "status",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "new" => Change::New,
            "updated" => Change::Updated,
            "status" => Change::Status,
            _ => return None,
        })
    }

    /// What a stored finding is without an outbox (`detect --format ocsf`,
    /// the export): closed when resolved or suppressed, updated once it
    /// changed after its detection, else new.
    pub fn of_stored(finding: &Finding) -> Self {
        if is_closed(&finding.status) {
            Change::Status
        } else if !finding.updated_at.is_empty() && finding.updated_at != finding.detected_at {
            Change::Updated
        } else {
            Change::New
        }
    }
}

/// Whether a status ends the finding (resolved, suppressed).
pub fn is_closed(status: &str) -> bool {
    matches!(status, "resolved" | "suppressed")
}

/// A finding version and everything rendering it needs.
#[derive(Debug, Clone, Copy)]
pub struct Notice<'a> {
    pub finding: &'a Finding,
    /// `None` when the detection is no longer in the catalog.
    pub detection: Option<&'a Detection>,
    pub context: &'a FindingContext,
    pub change: Change,
    /// The version's id ([`crate::outbox::version_of`]).
    pub version: &'a str,
    /// Idempotency key of this delivery (the version for exports).
    pub delivery_id: &'a str,
}

impl Notice<'_> {
    /// The ATT&CK technique ids of the detection.
    pub fn techniques(&self) -> &[String] {
        self.detection.map(|d| d.attack.as_slice()).unwrap_or(&[])
    }

    /// A one-line headline: `[HIGH] title — summary`.
    pub fn headline(&self) -> String {
        format!(
            "[{}] {}",
            self.finding.severity.to_ascii_uppercase(),
            self.finding.title
        )
    }
}

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn millis(text: &str) -> Option<i64> {
    poolsight_model::time::parse_event_time(text).map(|micros| micros / 1000)
}

/// `text` cut to at most `max` characters (an ellipsis marks the cut).
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
