//! The outbox: which finding version goes to which target, and whether the
//! target acknowledged it.
//!
//! A finding's **version** is a hash of what a receiver cares about: its
//! severity, its status and its evidence (the event ids; the summary for a
//! posture finding, which has none). `last_seen` and `updated_at` are not
//! in it, so a posture finding seen again by every inventory is not sent
//! again. [`Outbox::enqueue`] adds a pending entry per target when a
//! finding's version differs from the last one enqueued for that target;
//! a still-pending older version is `superseded` (the receiver gets the
//! newest only). A finding a target never got is sent when it is open or
//! acknowledged; a status change is sent only to targets that got the
//! finding before.
//!
//! Each entry has a **delivery id** (the idempotency key receivers see): a
//! hash of the target, the finding, the version and the entry's sequence
//! number for that target and finding (a finding reopened with the same
//! evidence is a new delivery).
//!
//! Storage: `<lake>/notify/outbox.parquet` (table `notify_outbox`),
//! rewritten atomically after enqueueing and at the end of a run, plus
//! `outbox.journal`: one JSON line per acknowledgement or failure,
//! appended and synced **as each happens**. Loading replays the journal
//! over the Parquet file, so a run killed mid-delivery loses no
//! acknowledgement it recorded. The one window left — the target accepted,
//! the process died before the journal line was synced — resends that
//! delivery once with the same delivery id (see docs/integrations.md).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Utc};
use poolsight_config::notify::TargetFilter;
use poolsight_detect::findings::Finding;
use poolsight_lake::{Lake, LakeError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::notice::{is_closed, Change};
use crate::NotifyError;

/// Entry states.
pub const PENDING: &str = "pending";
pub const SENT: &str = "sent";
pub const SUPERSEDED: &str = "superseded";
/// A version that existed when a target with `backfill = false` was added:
/// recorded so that only later changes are sent, never delivered.
pub const SKIPPED: &str = "skipped";

/// Sent and superseded entries older than this are dropped from the
/// outbox, except the newest of each target and finding (which the next
/// version is compared with).
pub const KEEP_DAYS: i64 = 90;

/// One finding version for one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub delivery_id: String,
    pub target: String,
    pub finding_id: String,
    pub version: String,
    /// Per target and finding: 1, 2, … in enqueue order.
    pub seq: i64,
    /// `new`, `updated` or `status`.
    pub change: String,
    pub detection: String,
    pub severity: String,
    pub status: String,
    pub enqueued_at: String,
    /// `pending`, `sent`, `superseded` or `skipped`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

/// The version of a finding: severity, status and evidence.
pub fn version_of(finding: &Finding) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(finding.finding_id.as_bytes());
    hasher.update(b"\x1f");
    hasher.update(finding.severity.as_bytes());
    hasher.update(b"\x1f");
    hasher.update(finding.status.as_bytes());
    hasher.update(b"\x1f");
    if finding.event_ids.is_empty() {
        hasher.update(finding.summary.as_bytes());
    } else {
        let mut ids: Vec<&str> = finding.event_ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            hasher.update(id.as_bytes());
            hasher.update(b"\x1e");
        }
    }
    format!("{:032x}", hasher.digest128())
}

fn delivery_id(target: &str, finding_id: &str, version: &str, seq: i64) -> String {
    let key = format!("{target}\x1f{finding_id}\x1f{version}\x1f{seq}");
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(key.as_bytes()))
}

/// Whether a target takes a finding (severity and category).
pub fn wants(filter: &TargetFilter, finding: &Finding) -> bool {
    finding.severity() >= filter.min_severity
        && (filter.categories.is_empty() || filter.categories.contains(&finding.category))
}

/// A journal line.
#[derive(Debug, Serialize, Deserialize)]
struct JournalLine {
    delivery_id: String,
    /// `sent` or `failed`.
    outcome: String,
    at: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    next_attempt_at: Option<String>,
}

/// The outbox of a lake.
#[derive(Debug)]
pub struct Outbox {
    entries: Vec<OutboxEntry>,
    /// Every target ever enqueued for, and when it was first
    /// (`notify/targets.json`): a target without backfill skips only what
    /// existed when it was added.
    targets: BTreeMap<String, String>,
    targets_file: PathBuf,
    index: HashMap<String, usize>,
    parquet: PathBuf,
    journal: PathBuf,
    journal_file: Option<std::fs::File>,
}

impl Outbox {
    /// Loads `notify/outbox.parquet` and replays the journal. A torn last
    /// journal line (a crash while appending) is ignored; any other
    /// unreadable line is an error naming the file and line.
    pub fn load(lake: &Lake) -> Result<Self, NotifyError> {
        let dir = lake.notify_dir();
        let parquet = dir.join("outbox.parquet");
        let journal = dir.join("outbox.journal");
        let targets_file = dir.join("targets.json");
        let targets = match std::fs::read(&targets_file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| NotifyError::Damaged {
                path: targets_file.clone(),
                reason: format!(
                    "{e}; move it aside (targets without backfill then skip what exists again)"
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(LakeError::io(&targets_file, e).into()),
        };
        let mut outbox = Outbox {
            entries: read_entries(&parquet)?,
            targets,
            targets_file,
            index: HashMap::new(),
            parquet,
            journal,
            journal_file: None,
        };
        outbox.reindex();
        outbox.replay()?;
        Ok(outbox)
    }

    fn reindex(&mut self) {
        self.index = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.delivery_id.clone(), i))
            .collect();
    }

    fn replay(&mut self) -> Result<(), NotifyError> {
        let text = match std::fs::read_to_string(&self.journal) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(LakeError::io(&self.journal, e).into()),
        };
        let lines: Vec<&str> = text.split('\n').collect();
        for (number, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let parsed: JournalLine = match serde_json::from_str(line) {
                Ok(parsed) => parsed,
                // The last line may be torn by a crash mid-append: nothing
                // was acknowledged by it that a resend would not repeat.
                Err(_) if number + 1 == lines.len() => break,
                Err(e) => {
                    return Err(NotifyError::Damaged {
                        path: self.journal.clone(),
                        reason: format!(
                            "line {}: {e}; move the file aside (its deliveries will be sent again)",
                            number + 1
                        ),
                    })
                }
            };
            self.apply(&parsed);
        }
        Ok(())
    }

    fn apply(&mut self, line: &JournalLine) {
        let Some(&i) = self.index.get(&line.delivery_id) else {
            return;
        };
        let entry = &mut self.entries[i];
        match line.outcome.as_str() {
            "sent" => {
                entry.state = SENT.into();
                entry.sent_at = Some(line.at.clone());
                entry.attempts += 1;
                entry.next_attempt_at = None;
            }
            _ => {
                entry.attempts += 1;
                entry.last_error = line.error.clone();
                entry.next_attempt_at = line.next_attempt_at.clone();
            }
        }
    }

    /// Every entry, in enqueue order.
    pub fn entries(&self) -> &[OutboxEntry] {
        &self.entries
    }

    pub fn get(&self, delivery_id: &str) -> Option<&OutboxEntry> {
        self.index.get(delivery_id).map(|&i| &self.entries[i])
    }

    /// Enqueues the findings' versions `target` has not had; returns how
    /// many entries were added.
    pub fn enqueue(
        &mut self,
        target: &str,
        filter: &TargetFilter,
        findings: &[Finding],
        now: &str,
    ) -> usize {
        // Per finding: the newest entry, the newest sent one, the pending
        // ones and the highest sequence number (one pass over the outbox).
        #[derive(Default)]
        struct History {
            newest: usize,
            last_sent: Option<usize>,
            pending: Vec<usize>,
            seq: i64,
        }
        let mut history: HashMap<&str, History> = HashMap::new();
        for (i, entry) in self.entries.iter().enumerate() {
            if entry.target != target {
                continue;
            }
            let h = history.entry(entry.finding_id.as_str()).or_default();
            h.newest = i;
            if entry.state == SENT {
                h.last_sent = Some(i);
            }
            if entry.state == PENDING {
                h.pending.push(i);
            }
            h.seq = h.seq.max(entry.seq);
        }
        // A target seen for the first time without backfill: what exists
        // now is its baseline, not news.
        let first_time = !self.targets.contains_key(target);
        if first_time {
            self.targets.insert(target.to_string(), now.to_string());
        }
        let baseline = first_time && !filter.backfill;
        let mut to_add = Vec::new();
        let mut to_supersede = Vec::new();
        for finding in findings {
            let version = version_of(finding);
            let past = history.get(finding.finding_id.as_str());
            if past.is_some_and(|h| self.entries[h.newest].version == version) {
                continue;
            }
            // Older versions not yet delivered are replaced by this one.
            if let Some(h) = past {
                to_supersede.extend(h.pending.iter().copied());
            }
            let last_sent = past.and_then(|h| h.last_sent).map(|i| &self.entries[i]);
            let change = match last_sent {
                // The target never got it: only an open finding it wants is news.
                None => {
                    if is_closed(&finding.status) || !wants(filter, finding) {
                        continue;
                    }
                    Change::New
                }
                Some(sent) if sent.status != finding.status => Change::Status,
                Some(_) => Change::Updated,
            };
            let seq = past.map_or(0, |h| h.seq) + 1;
            let state = if baseline { SKIPPED } else { PENDING };
            to_add.push(OutboxEntry {
                delivery_id: delivery_id(target, &finding.finding_id, &version, seq),
                target: target.to_string(),
                finding_id: finding.finding_id.clone(),
                version,
                seq,
                change: change.as_str().to_string(),
                detection: finding.detection.clone(),
                severity: finding.severity.clone(),
                status: finding.status.clone(),
                enqueued_at: now.to_string(),
                state: state.into(),
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
                sent_at: None,
            });
        }
        for i in to_supersede {
            self.entries[i].state = SUPERSEDED.into();
        }
        let added = to_add.iter().filter(|e| e.state == PENDING).count();
        self.entries.extend(to_add);
        self.reindex();
        added
    }

    /// Pending entries of findings no longer stored (the findings file was
    /// moved aside) are superseded: there is nothing left to send.
    pub fn supersede_gone(&mut self, findings: &[Finding]) -> usize {
        let known: std::collections::HashSet<&str> =
            findings.iter().map(|f| f.finding_id.as_str()).collect();
        let mut gone = 0;
        for entry in &mut self.entries {
            if entry.state == PENDING && !known.contains(entry.finding_id.as_str()) {
                entry.state = SUPERSEDED.into();
                gone += 1;
            }
        }
        gone
    }

    /// The pending entries of `target` due at `now`, oldest first.
    pub fn due(&self, target: &str, now: DateTime<Utc>) -> Vec<OutboxEntry> {
        self.entries
            .iter()
            .filter(|e| e.target == target && e.state == PENDING)
            .filter(|e| {
                e.next_attempt_at
                    .as_deref()
                    .and_then(poolsight_model::time::parse_instant)
                    .is_none_or(|at| at <= now)
            })
            .cloned()
            .collect()
    }

    /// Pending entries of `target` (due or waiting).
    pub fn pending(&self, target: &str) -> usize {
        self.entries
            .iter()
            .filter(|e| e.target == target && e.state == PENDING)
            .count()
    }

    fn journal(&mut self, line: JournalLine) -> Result<(), NotifyError> {
        if self.journal_file.is_none() {
            if let Some(parent) = self.journal.parent() {
                poolsight_lake::fsio::create_dir_durable(parent)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.journal)
                .map_err(|e| LakeError::io(&self.journal, e))?;
            self.journal_file = Some(file);
        }
        let mut text = serde_json::to_string(&line)?;
        text.push('\n');
        let path = self.journal.clone();
        if let Some(file) = self.journal_file.as_mut() {
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_data())
                .map_err(|e| LakeError::io(&path, e))?;
        }
        self.apply(&line);
        Ok(())
    }

    /// Records that the target acknowledged a delivery (synced before returning).
    pub fn mark_sent(&mut self, delivery_id: &str, at: &str) -> Result<(), NotifyError> {
        self.journal(JournalLine {
            delivery_id: delivery_id.to_string(),
            outcome: "sent".into(),
            at: at.to_string(),
            error: None,
            next_attempt_at: None,
        })
    }

    /// Records a failed attempt and when to try again.
    pub fn mark_failed(
        &mut self,
        delivery_id: &str,
        at: &str,
        error: &str,
        next_attempt_at: &str,
    ) -> Result<(), NotifyError> {
        self.journal(JournalLine {
            delivery_id: delivery_id.to_string(),
            outcome: "failed".into(),
            at: at.to_string(),
            error: Some(error.to_string()),
            next_attempt_at: Some(next_attempt_at.to_string()),
        })
    }

    /// Drops sent, superseded and skipped entries older than [`KEEP_DAYS`],
    /// except the newest of each target and finding. Entries of a target no
    /// longer configured stay: a target commented out for a while and put
    /// back must not send everything again.
    pub fn prune(&mut self, now: DateTime<Utc>) -> usize {
        let cutoff = now - chrono::Duration::days(KEEP_DAYS);
        let mut newest: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            newest.insert((e.target.as_str(), e.finding_id.as_str()), i);
        }
        let keep: Vec<bool> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                if e.state == PENDING
                    || newest.get(&(e.target.as_str(), e.finding_id.as_str())) == Some(&i)
                {
                    return true;
                }
                poolsight_model::time::parse_instant(&e.enqueued_at).is_none_or(|t| t >= cutoff)
            })
            .collect();
        let before = self.entries.len();
        let mut i = 0;
        self.entries.retain(|_| {
            let k = keep[i];
            i += 1;
            k
        });
        self.reindex();
        before - self.entries.len()
    }

    /// Rewrites `outbox.parquet` atomically with every entry, then removes
    /// the journal (whose lines the file now holds).
    pub fn save(&mut self) -> Result<(), NotifyError> {
        let batch = to_batch(&self.entries)?;
        poolsight_lake::write_parquet_file(&self.parquet, batch.schema(), &[batch])?;
        poolsight_lake::write_atomically(
            &self.targets_file,
            &serde_json::to_vec_pretty(&self.targets)?,
        )?;
        self.journal_file = None;
        match std::fs::remove_file(&self.journal) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LakeError::io(&self.journal, e).into()),
        }
        Ok(())
    }
}

/// The schema of `notify/outbox.parquet`.
pub fn outbox_schema() -> SchemaRef {
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("delivery_id", false),
        text("target", false),
        text("finding_id", false),
        text("version", false),
        Field::new("seq", DataType::Int64, false),
        text("change", false),
        text("detection", false),
        text("severity", false),
        text("status", false),
        text("enqueued_at", false),
        text("state", false),
        Field::new("attempts", DataType::Int64, false),
        text("next_attempt_at", true),
        text("last_error", true),
        text("sent_at", true),
    ]))
}

fn to_batch(entries: &[OutboxEntry]) -> Result<RecordBatch, NotifyError> {
    let strings = |get: &dyn Fn(&OutboxEntry) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::new();
        for e in entries {
            b.append_option(get(e));
        }
        Arc::new(b.finish())
    };
    let ints = |get: &dyn Fn(&OutboxEntry) -> i64| -> ArrayRef {
        let mut b = Int64Builder::new();
        for e in entries {
            b.append_value(get(e));
        }
        Arc::new(b.finish())
    };
    Ok(RecordBatch::try_new(
        outbox_schema(),
        vec![
            strings(&|e| Some(&e.delivery_id)),
            strings(&|e| Some(&e.target)),
            strings(&|e| Some(&e.finding_id)),
            strings(&|e| Some(&e.version)),
            ints(&|e| e.seq),
            strings(&|e| Some(&e.change)),
            strings(&|e| Some(&e.detection)),
            strings(&|e| Some(&e.severity)),
            strings(&|e| Some(&e.status)),
            strings(&|e| Some(&e.enqueued_at)),
            strings(&|e| Some(&e.state)),
            ints(&|e| e.attempts),
            strings(&|e| e.next_attempt_at.as_deref()),
            strings(&|e| e.last_error.as_deref()),
            strings(&|e| e.sent_at.as_deref()),
        ],
    )?)
}

fn read_entries(path: &std::path::Path) -> Result<Vec<OutboxEntry>, NotifyError> {
    let damaged = |e: &dyn std::fmt::Display| NotifyError::Damaged {
        path: path.to_path_buf(),
        reason: format!(
            "{e}; move it aside to start a new outbox (every open finding is then sent again)"
        ),
    };
    let batches = match poolsight_lake::read_parquet_file(path) {
        Ok(Some(batches)) => batches,
        Ok(None) => return Ok(Vec::new()),
        Err(LakeError::Io { path, source }) => return Err(LakeError::Io { path, source }.into()),
        Err(e) => return Err(damaged(&e)),
    };
    let mut entries = Vec::new();
    for row in crate::context::rows(&batches)? {
        let row: BTreeMap<String, Value> = row.into_iter().collect();
        let entry: OutboxEntry =
            serde_json::from_value(serde_json::to_value(&row)?).map_err(|e| damaged(&e))?;
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poolsight_config::Severity;

    fn finding(id: &str, severity: &str, status: &str, events: &[&str]) -> Finding {
        Finding {
            detection: "d".into(),
            category: "identity_abuse".into(),
            severity: severity.into(),
            title: "t".into(),
            summary: "s".into(),
            identity_id: None,
            identity_pool_id: None,
            access_key_id: None,
            source_ips: vec![],
            first_seen: "2026-11-01T00:00:00Z".into(),
            last_seen: "2026-11-01T01:00:00Z".into(),
            event_count: events.len() as u64,
            event_ids: events.iter().map(|e| e.to_string()).collect(),
            finding_id: id.into(),
            finding_key: String::new(),
            group_key: None,
            status: status.into(),
            detected_at: "2026-11-01T02:00:00Z".into(),
            updated_at: "2026-11-01T02:00:00Z".into(),
        }
    }

    fn filter() -> TargetFilter {
        TargetFilter {
            min_severity: Severity::Medium,
            categories: vec![],
            per_second: 10.0,
            backfill: true,
        }
    }

    fn outbox(dir: &std::path::Path) -> Outbox {
        let lake = Lake::create(dir).expect("lake");
        Outbox::load(&lake).expect("outbox")
    }

    #[test]
    fn a_version_is_enqueued_once_and_a_change_supersedes_what_is_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut outbox = outbox(dir.path());
        let v1 = finding("f1", "high", "open", &["e1"]);
        assert_eq!(
            outbox.enqueue(
                "t",
                &filter(),
                std::slice::from_ref(&v1),
                "2026-11-01T03:00:00Z"
            ),
            1
        );
        assert_eq!(
            outbox.enqueue(
                "t",
                &filter(),
                std::slice::from_ref(&v1),
                "2026-11-01T04:00:00Z"
            ),
            0
        );
        // The last_seen of a finding is not part of its version.
        let mut later = v1.clone();
        later.last_seen = "2026-11-02T00:00:00Z".into();
        assert_eq!(
            outbox.enqueue("t", &filter(), &[later], "2026-11-01T04:00:00Z"),
            0
        );
        let v2 = finding("f1", "high", "open", &["e1", "e2"]);
        assert_eq!(
            outbox.enqueue("t", &filter(), &[v2], "2026-11-01T05:00:00Z"),
            1
        );
        let states: Vec<(&str, &str)> = outbox
            .entries()
            .iter()
            .map(|e| (e.state.as_str(), e.change.as_str()))
            .collect();
        // Never delivered: the newest version is still "new" to the target.
        assert_eq!(states, vec![(SUPERSEDED, "new"), (PENDING, "new")]);
    }

    #[test]
    fn status_changes_go_only_to_targets_that_got_the_finding() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut outbox = outbox(dir.path());
        let open = finding("f1", "high", "open", &["e1"]);
        outbox.enqueue(
            "t",
            &filter(),
            std::slice::from_ref(&open),
            "2026-11-01T03:00:00Z",
        );
        let id = outbox.entries()[0].delivery_id.clone();
        outbox.mark_sent(&id, "2026-11-01T03:00:01Z").expect("sent");
        let resolved = finding("f1", "high", "resolved", &["e1"]);
        assert_eq!(
            outbox.enqueue(
                "t",
                &filter(),
                std::slice::from_ref(&resolved),
                "2026-11-01T04:00:00Z"
            ),
            1
        );
        assert_eq!(outbox.entries()[1].change, "status");
        // Another target never got it: a resolved finding is no news there.
        assert_eq!(
            outbox.enqueue("u", &filter(), &[resolved], "2026-11-01T04:00:00Z"),
            0
        );
        // Reopened with the same evidence: a new delivery id.
        let id2 = outbox.entries()[1].delivery_id.clone();
        outbox
            .mark_sent(&id2, "2026-11-01T04:00:01Z")
            .expect("sent");
        assert_eq!(
            outbox.enqueue("t", &filter(), &[open], "2026-11-01T05:00:00Z"),
            1
        );
        let third = &outbox.entries()[2];
        assert_eq!(third.change, "status");
        assert_eq!(third.version, outbox.entries()[0].version);
        assert_ne!(third.delivery_id, outbox.entries()[0].delivery_id);
    }

    #[test]
    fn a_target_without_backfill_gets_only_what_changes_after_it_was_added() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut outbox = outbox(dir.path());
        let no_backfill = TargetFilter {
            backfill: false,
            ..filter()
        };
        let old = finding("f1", "high", "open", &["e1"]);
        assert_eq!(
            outbox.enqueue(
                "t",
                &no_backfill,
                std::slice::from_ref(&old),
                "2026-11-01T03:00:00Z"
            ),
            0
        );
        assert_eq!(outbox.entries()[0].state, SKIPPED);
        // Unchanged: still nothing; changed, or new: sent (as new: the target never got it).
        assert_eq!(
            outbox.enqueue(
                "t",
                &no_backfill,
                std::slice::from_ref(&old),
                "2026-11-01T04:00:00Z"
            ),
            0
        );
        let grown = finding("f1", "high", "open", &["e1", "e2"]);
        let fresh = finding("f2", "high", "open", &["e3"]);
        assert_eq!(
            outbox.enqueue("t", &no_backfill, &[grown, fresh], "2026-11-01T05:00:00Z"),
            2
        );
        assert!(outbox.entries()[1..]
            .iter()
            .all(|e| e.state == PENDING && e.change == "new"));
    }

    #[test]
    fn below_the_minimum_or_another_category_is_not_enqueued() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut outbox = outbox(dir.path());
        let low = finding("f1", "low", "open", &["e1"]);
        assert_eq!(
            outbox.enqueue("t", &filter(), &[low], "2026-11-01T03:00:00Z"),
            0
        );
        let only_posture = TargetFilter {
            categories: vec!["posture".into()],
            ..filter()
        };
        let high = finding("f2", "high", "open", &["e1"]);
        assert_eq!(
            outbox.enqueue("t", &only_posture, &[high], "2026-11-01T03:00:00Z"),
            0
        );
    }

    #[test]
    fn acknowledgements_survive_a_crash_through_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lake = Lake::create(dir.path()).expect("lake");
        let mut outbox = Outbox::load(&lake).expect("outbox");
        outbox.enqueue(
            "t",
            &filter(),
            &[
                finding("f1", "high", "open", &["e1"]),
                finding("f2", "high", "open", &["e2"]),
            ],
            "2026-11-01T03:00:00Z",
        );
        outbox.save().expect("save");
        let first = outbox.entries()[0].delivery_id.clone();
        outbox
            .mark_sent(&first, "2026-11-01T03:00:01Z")
            .expect("sent");
        let second = outbox.entries()[1].delivery_id.clone();
        outbox
            .mark_failed(
                &second,
                "2026-11-01T03:00:02Z",
                "HTTP 500",
                "2026-11-01T03:01:02Z",
            )
            .expect("failed");
        drop(outbox);
        // A torn line at the end (crash mid-append) is ignored.
        let journal = lake.notify_dir().join("outbox.journal");
        let mut text = std::fs::read_to_string(&journal).expect("journal");
        text.push_str("{\"delivery_id\":\"tor");
        std::fs::write(&journal, text).expect("write");
        let reloaded = Outbox::load(&lake).expect("reload");
        // A damaged line before the end is an error naming the file and line.
        let good = std::fs::read_to_string(&journal).expect("journal");
        std::fs::write(&journal, format!("not json\n{good}")).expect("write");
        let error = Outbox::load(&lake)
            .expect_err("damaged journal")
            .to_string();
        assert!(
            error.contains("outbox.journal") && error.contains("line 1"),
            "{error}"
        );
        std::fs::write(&journal, good).expect("restore");
        assert_eq!(reloaded.get(&first).map(|e| e.state.as_str()), Some(SENT));
        let failed = reloaded.get(&second).expect("second");
        assert_eq!((failed.state.as_str(), failed.attempts), (PENDING, 1));
        assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
        let before = chrono::DateTime::parse_from_rfc3339("2026-11-01T03:00:30Z")
            .expect("t")
            .with_timezone(&Utc);
        assert!(reloaded.due("t", before).is_empty(), "backing off");
    }
}
