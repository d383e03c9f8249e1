//! The sample's attacks, and the benign look-alikes (traps) the detections must stay silent
//! on, one module per detection category — the folders of `queries/detections/`. Every
//! scenario is staged at its own hour and **labelled**: its kind (attack or trap), the
//! categories whose detections must (or must not) flag it, and the event ids it wrote, so that
//! `bench/detect-quality` can measure recall per category and list the traps that fired
//! (`poolsight sample --labels FILE`).

mod access_denial;
mod anomalous_guest;
mod config_change;
mod credential_reuse;
mod cross_identity;
mod data_exfiltration;
mod excessive_permission;
mod foreign_pool;
mod identity_abuse;
mod privilege_escalation;

use serde_json::{json, Value};

use crate::scenario::{Timed, World, MICROS};

/// Whether a scenario must raise findings or must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Attack,
    Trap,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Attack => "attack",
            Kind::Trap => "trap",
        }
    }
}

/// One staged scenario and the events it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub scenario: &'static str,
    pub kind: Kind,
    /// For an attack, the categories whose detections must flag it; for a trap, the ones it
    /// looks like and must not set off.
    pub categories: &'static [&'static str],
    pub event_ids: Vec<String>,
}

impl Label {
    /// One line of `--labels`.
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "kind": self.kind.as_str(),
            "categories": self.categories,
            "event_ids": self.event_ids,
        })
    }
}

type Stage = fn(&mut World, i64, &mut Vec<Timed>);

/// Every scenario: name, kind, categories, seconds after the first, and what it does. The
/// order is the order they draw from the generator (keep it, or every later event changes).
const SCENARIOS: &[(&str, Kind, &[&str], i64, Stage)] = &[
    (
        "guest_enumeration",
        Kind::Attack,
        &["anomalous_guest"],
        0,
        World::guest_enumeration,
    ),
    (
        "guest_flood",
        Kind::Attack,
        &["anomalous_guest"],
        3600,
        World::guest_flood,
    ),
    (
        "guest_writes",
        Kind::Attack,
        &["anomalous_guest"],
        2 * 3600,
        World::guest_writes,
    ),
    (
        "guest_scraper",
        Kind::Attack,
        &["anomalous_guest", "data_exfiltration"],
        3 * 3600,
        World::guest_scraper,
    ),
    (
        "shared_nat_guests",
        Kind::Trap,
        &["anomalous_guest"],
        4 * 3600,
        World::shared_nat_guests,
    ),
    (
        "cross_identity",
        Kind::Attack,
        &["cross_identity"],
        5 * 3600,
        World::cross_identity,
    ),
    (
        "foreign_pool",
        Kind::Attack,
        &["foreign_pool"],
        6 * 3600,
        World::foreign_pool,
    ),
    (
        "credential_theft",
        Kind::Attack,
        &["credential_reuse"],
        7 * 3600,
        World::credential_theft,
    ),
    (
        "cell_tower_mover",
        Kind::Trap,
        &["credential_reuse"],
        7 * 3600 + 60,
        World::cell_tower_mover,
    ),
    (
        "denial_storm",
        Kind::Attack,
        &["access_denial"],
        8 * 3600,
        World::denial_storm,
    ),
    (
        "config_changes",
        Kind::Attack,
        &["config_change"],
        9 * 3600,
        World::config_changes,
    ),
    (
        "reporting_job",
        Kind::Trap,
        &["cross_identity", "excessive_permission"],
        10 * 3600,
        World::reporting_job_trap,
    ),
    (
        "auditor_review",
        Kind::Trap,
        &["config_change", "identity_abuse"],
        11 * 3600,
        World::auditor_review,
    ),
    (
        "basic_flow_escalation",
        Kind::Attack,
        &["privilege_escalation"],
        12 * 3600,
        World::basic_flow_escalation,
    ),
    (
        "role_chaining",
        Kind::Attack,
        &["privilege_escalation"],
        12 * 3600 + 1200,
        World::role_chaining,
    ),
    (
        "custom_role_request",
        Kind::Attack,
        &["privilege_escalation"],
        12 * 3600 + 2400,
        World::custom_role_request,
    ),
    (
        "guest_takeover",
        Kind::Attack,
        &["identity_abuse"],
        13 * 3600,
        World::guest_takeover,
    ),
    (
        "identity_guessing",
        Kind::Attack,
        &["identity_abuse"],
        13 * 3600 + 1200,
        World::identity_guessing,
    ),
    (
        "shared_identity_storm",
        Kind::Attack,
        &["identity_abuse"],
        14 * 3600,
        World::shared_identity_storm,
    ),
    (
        "identity_sweep",
        Kind::Attack,
        &["identity_abuse", "cross_identity"],
        14 * 3600 + 1800,
        World::identity_sweep,
    ),
    (
        "retention_job",
        Kind::Trap,
        &["identity_abuse"],
        15 * 3600,
        World::retention_job,
    ),
    (
        "secrets_read",
        Kind::Attack,
        &["excessive_permission"],
        15 * 3600 + 1800,
        World::secrets_read,
    ),
];

impl World {
    /// Every attack and trap, the first at `t0`, with their labels.
    pub fn attacks(&mut self, t0: i64) -> (Vec<Timed>, Vec<Label>) {
        let mut out = Vec::new();
        let mut labels = Vec::with_capacity(SCENARIOS.len());
        for &(scenario, kind, categories, offset, stage) in SCENARIOS {
            let first = out.len();
            stage(self, t0 + offset * MICROS, &mut out);
            let event_ids = out[first..]
                .iter()
                .filter_map(|(_, record)| record["eventID"].as_str().map(str::to_string))
                .collect();
            labels.push(Label {
                scenario,
                kind,
                categories,
                event_ids,
            });
        }
        (out, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_labelled_with_the_events_it_wrote() {
        let mut world = World::new(7);
        let (events, labels) = world.attacks(0);
        assert_eq!(labels.len(), SCENARIOS.len());
        let labelled: usize = labels.iter().map(|l| l.event_ids.len()).sum();
        assert_eq!(labelled, events.len());
        assert!(labels.iter().all(|l| !l.event_ids.is_empty()), "{labels:?}");
        let categories: std::collections::BTreeSet<&str> = labels
            .iter()
            .filter(|l| l.kind == Kind::Attack)
            .flat_map(|l| l.categories.iter().copied())
            .collect();
        // Every category of attack the detections know, but posture (the inventory's).
        assert_eq!(categories.len(), 10, "{categories:?}");
    }
}
