//! One finding from many sightings.
//!
//! A detection sees the same finding again and again: incremental runs
//! judge a bin once more when late events land in it, a full run re-judges
//! everything, and a burst that straddles two bins is seen as two pieces
//! (one per bin, or per half-bin offset window) that a detection ties
//! together with a `group_key`. [`FindingSet::absorb`] folds a sighting into
//! the finding it belongs to — the one with its id, or else the one of the
//! same detection and group whose time span it overlaps — and never loses
//! evidence: the union of event ids and addresses, the earliest
//! `first_seen`, the latest `last_seen`, the highest severity, the first
//! `detected_at`. A resolved finding that gains evidence is open again; a
//! sighting a suppression rule matched suppresses an open finding.
//! The summary follows the most severe sighting (the latest on a tie).

use std::collections::HashMap;

use crate::findings::Finding;

/// What absorbing a sighting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absorbed {
    /// A finding nobody has seen before.
    New,
    /// Evidence, time span, severity or status changed.
    Updated,
    /// Nothing a person would need to look at again changed.
    Unchanged,
}

/// Findings, indexed by id and by (detection, group).
#[derive(Debug, Default)]
pub struct FindingSet {
    findings: Vec<Finding>,
    by_id: HashMap<String, usize>,
    by_group: HashMap<(String, String), Vec<usize>>,
    transitions: Vec<Transition>,
}

/// A status change made by absorbing (a suppression rule matched, a
/// resolved finding fired again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub finding_id: String,
    pub from: String,
    pub to: String,
}

fn union(into: &mut Vec<String>, more: &[String]) {
    into.extend(more.iter().cloned());
    into.sort();
    into.dedup();
}

/// Whether two `[first_seen, last_seen]` spans (RFC 3339, UTC, same
/// precision: they order as text) overlap.
fn overlaps(a: &Finding, b: &Finding) -> bool {
    a.first_seen <= b.last_seen && b.first_seen <= a.last_seen
}

impl FindingSet {
    pub fn new(findings: Vec<Finding>) -> Self {
        let mut set = FindingSet::default();
        for finding in findings {
            set.insert(finding);
        }
        set
    }

    fn insert(&mut self, finding: Finding) -> usize {
        let index = self.findings.len();
        self.by_id.insert(finding.finding_id.clone(), index);
        if let Some(group) = &finding.group_key {
            self.by_group
                .entry((finding.detection.clone(), group.clone()))
                .or_default()
                .push(index);
        }
        self.findings.push(finding);
        index
    }

    /// The finding a sighting belongs to, if any.
    fn target(&self, sighting: &Finding) -> Option<usize> {
        if let Some(&index) = self.by_id.get(&sighting.finding_id) {
            return Some(index);
        }
        let group = sighting.group_key.as_ref()?;
        self.by_group
            .get(&(sighting.detection.clone(), group.clone()))?
            .iter()
            .copied()
            .find(|&i| overlaps(&self.findings[i], sighting))
    }

    /// Folds `sighting` in; `now` stamps `updated_at` (and `detected_at`
    /// of a new finding). Returns what happened and the finding's index.
    pub fn absorb(&mut self, mut sighting: Finding, now: &str) -> (Absorbed, usize) {
        let Some(index) = self.target(&sighting) else {
            sighting.detected_at = now.to_string();
            sighting.updated_at = now.to_string();
            if sighting.status.is_empty() {
                sighting.status = "open".into();
            }
            sighting.event_count = sighting.event_ids.len() as u64;
            if sighting.status != "open" {
                self.transitions.push(Transition {
                    finding_id: sighting.finding_id.clone(),
                    from: "open".into(),
                    to: sighting.status.clone(),
                });
            }
            return (Absorbed::New, self.insert(sighting));
        };
        let finding = &mut self.findings[index];
        let before = (
            finding.event_ids.len(),
            finding.first_seen.clone(),
            finding.last_seen.clone(),
            finding.severity(),
            finding.status.clone(),
        );
        union(&mut finding.event_ids, &sighting.event_ids);
        union(&mut finding.source_ips, &sighting.source_ips);
        if !sighting.first_seen.is_empty()
            && (finding.first_seen.is_empty() || sighting.first_seen < finding.first_seen)
        {
            finding.first_seen = sighting.first_seen.clone();
        }
        if sighting.last_seen > finding.last_seen {
            finding.last_seen = sighting.last_seen.clone();
        }
        if sighting.severity() >= finding.severity() {
            finding.severity = sighting.severity.clone();
            finding.summary = sighting.summary.clone();
        }
        finding.identity_id = finding.identity_id.take().or(sighting.identity_id);
        finding.identity_pool_id = finding
            .identity_pool_id
            .take()
            .or(sighting.identity_pool_id);
        finding.access_key_id = finding.access_key_id.take().or(sighting.access_key_id);
        finding.event_count = finding.event_ids.len() as u64;
        let grew = finding.event_ids.len() > before.0;
        if grew && finding.status == "resolved" {
            finding.status = "open".into();
        }
        // A suppression rule that matches an open finding suppresses it.
        if sighting.status == "suppressed" && finding.status == "open" {
            finding.status = "suppressed".into();
        }
        if finding.status != before.4 {
            self.transitions.push(Transition {
                finding_id: finding.finding_id.clone(),
                from: before.4.clone(),
                to: finding.status.clone(),
            });
        }
        let changed = grew
            || finding.first_seen != before.1
            || finding.last_seen != before.2
            || finding.severity() != before.3
            || finding.status != before.4;
        if changed {
            finding.updated_at = now.to_string();
            (Absorbed::Updated, index)
        } else {
            (Absorbed::Unchanged, index)
        }
    }

    pub fn get(&self, index: usize) -> &Finding {
        &self.findings[index]
    }

    pub fn len(&self) -> usize {
        self.findings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn into_vec(self) -> Vec<Finding> {
        self.findings
    }

    /// The status changes absorbing made, in order.
    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(
        id: &str,
        group: Option<&str>,
        span: (&str, &str),
        events: &[&str],
        severity: &str,
    ) -> Finding {
        Finding {
            detection: "d".into(),
            category: "access_denial".into(),
            severity: severity.into(),
            title: "t".into(),
            summary: format!("{severity} summary"),
            identity_id: Some("us-east-1:x".into()),
            identity_pool_id: None,
            access_key_id: None,
            source_ips: vec![],
            first_seen: span.0.into(),
            last_seen: span.1.into(),
            event_count: events.len() as u64,
            event_ids: events.iter().map(|e| e.to_string()).collect(),
            finding_id: id.into(),
            finding_key: id.into(),
            group_key: group.map(str::to_string),
            status: String::new(),
            detected_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn a_resighting_never_loses_evidence_and_keeps_its_first_detection() {
        let mut set = FindingSet::default();
        let (what, _) = set.absorb(
            sighting(
                "a",
                None,
                ("2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z"),
                &["1", "2"],
                "high",
            ),
            "T1",
        );
        assert_eq!(what, Absorbed::New);
        let (what, i) = set.absorb(
            sighting(
                "a",
                None,
                ("2026-01-01T10:03:00Z", "2026-01-01T10:09:00Z"),
                &["2", "3"],
                "low",
            ),
            "T2",
        );
        assert_eq!(what, Absorbed::Updated);
        let f = set.get(i);
        assert_eq!(f.event_ids, ["1", "2", "3"]);
        assert_eq!(
            (f.first_seen.as_str(), f.last_seen.as_str()),
            ("2026-01-01T10:00:00Z", "2026-01-01T10:09:00Z")
        );
        assert_eq!(f.severity, "high");
        assert_eq!(f.summary, "high summary");
        assert_eq!(
            (f.detected_at.as_str(), f.updated_at.as_str(), f.event_count),
            ("T1", "T2", 3)
        );
        let (what, _) = set.absorb(
            sighting(
                "a",
                None,
                ("2026-01-01T10:03:00Z", "2026-01-01T10:04:00Z"),
                &["3"],
                "low",
            ),
            "T3",
        );
        assert_eq!(what, Absorbed::Unchanged);
        assert_eq!(set.get(i).updated_at, "T2");
    }

    #[test]
    fn pieces_of_one_group_that_overlap_in_time_are_one_finding() {
        let mut set = FindingSet::default();
        set.absorb(
            sighting(
                "bin-10:00",
                Some("g"),
                ("2026-01-01T10:50:00Z", "2026-01-01T10:59:00Z"),
                &["1"],
                "medium",
            ),
            "T1",
        );
        let (what, i) = set.absorb(
            sighting(
                "offset-10:30",
                Some("g"),
                ("2026-01-01T10:55:00Z", "2026-01-01T11:20:00Z"),
                &["1", "2"],
                "medium",
            ),
            "T1",
        );
        assert_eq!(
            (what, set.get(i).finding_id.as_str()),
            (Absorbed::Updated, "bin-10:00")
        );
        // Another group, or the same group later on, is another finding.
        let (what, _) = set.absorb(
            sighting(
                "h",
                Some("other"),
                ("2026-01-01T10:55:00Z", "2026-01-01T11:00:00Z"),
                &["9"],
                "low",
            ),
            "T1",
        );
        assert_eq!(what, Absorbed::New);
        let (what, _) = set.absorb(
            sighting(
                "later",
                Some("g"),
                ("2026-01-01T15:00:00Z", "2026-01-01T15:10:00Z"),
                &["7"],
                "low",
            ),
            "T1",
        );
        assert_eq!(what, Absorbed::New);
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn a_resolved_finding_that_fires_again_is_open_again() {
        let mut resolved = sighting(
            "a",
            None,
            ("2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z"),
            &["1"],
            "low",
        );
        resolved.status = "resolved".into();
        let mut set = FindingSet::new(vec![resolved]);
        let (_, i) = set.absorb(
            sighting(
                "a",
                None,
                ("2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z"),
                &["1"],
                "low",
            ),
            "T",
        );
        assert_eq!(
            set.get(i).status,
            "resolved",
            "the same evidence again does not reopen"
        );
        let (_, i) = set.absorb(
            sighting(
                "a",
                None,
                ("2026-01-01T10:00:00Z", "2026-01-01T10:07:00Z"),
                &["2"],
                "low",
            ),
            "T",
        );
        assert_eq!(set.get(i).status, "open");
        assert_eq!(set.transitions().len(), 1);
        assert_eq!(
            (
                set.transitions()[0].from.as_str(),
                set.transitions()[0].to.as_str()
            ),
            ("resolved", "open")
        );
        let mut suppressed = sighting(
            "a",
            None,
            ("2026-01-01T10:00:00Z", "2026-01-01T10:07:00Z"),
            &["2"],
            "low",
        );
        suppressed.status = "suppressed".into();
        let (what, i) = set.absorb(suppressed, "T");
        assert_eq!(
            (what, set.get(i).status.as_str()),
            (Absorbed::Updated, "suppressed")
        );
    }
}
