//! What the trails record, against what poolsight needs, per account and
//! region; and the advanced event selectors that close each gap.
//!
//! An event class (management events, Cognito identity-pool data events,
//! S3 object events of a bucket the pool roles can touch, DynamoDB item
//! events of such a table) is checked with **sample events**: the calls
//! poolsight's detections read (`GetId`, `GetCredentialsForIdentity`,
//! `GetObject`, `PutObject`, `PutItem`, `SetIdentityPoolRoles`, …) with
//! their real `eventCategory`, `readOnly`, `eventSource`, `resources.type`
//! and `resources.ARN`. A class is recorded when a logging trail covering
//! the region records every sample, partly when it records some (the
//! report names the missing calls), and not at all otherwise. Matching
//! follows CloudTrail's rules: a trail has basic or advanced selectors; an
//! event is logged when any selector matches; inside an advanced selector
//! every field condition must hold (`Equals`/`StartsWith`/`EndsWith`: any
//! value; `Not…`: none); basic data resources match by ARN prefix and
//! cannot select Cognito identity pools at all.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{json, Value};

use crate::policy;
use crate::snapshot::{
    AccountInventory, AdvancedEventSelector, EventSelector, FieldSelector, Snapshot, Trail,
};

/// An event as selectors see it.
#[derive(Debug, Clone)]
pub struct SampleEvent {
    pub event_name: &'static str,
    pub event_source: &'static str,
    /// `Management` or `Data`.
    pub category: &'static str,
    pub read_only: bool,
    pub resource_type: Option<&'static str>,
    pub resource_arn: Option<String>,
}

impl SampleEvent {
    fn field(&self, name: &str) -> Option<String> {
        match name {
            "eventCategory" => Some(self.category.to_string()),
            "eventName" => Some(self.event_name.to_string()),
            "eventSource" => Some(self.event_source.to_string()),
            "readOnly" => Some(self.read_only.to_string()),
            "resources.type" => self.resource_type.map(str::to_string),
            "resources.ARN" => self.resource_arn.clone(),
            _ => None,
        }
    }
}

fn field_matches(selector: &FieldSelector, event: &SampleEvent) -> bool {
    let Some(value) = event.field(&selector.field) else {
        // A condition on a field the event does not have (e.g.
        // `userIdentity.arn`) is treated as not restricting it.
        return true;
    };
    let positive = !selector.equals.is_empty()
        || !selector.starts_with.is_empty()
        || !selector.ends_with.is_empty();
    let any_positive = selector.equals.contains(&value)
        || selector
            .starts_with
            .iter()
            .any(|v| value.starts_with(v.as_str()))
        || selector
            .ends_with
            .iter()
            .any(|v| value.ends_with(v.as_str()));
    let any_negative = selector.not_equals.contains(&value)
        || selector
            .not_starts_with
            .iter()
            .any(|v| value.starts_with(v.as_str()))
        || selector
            .not_ends_with
            .iter()
            .any(|v| value.ends_with(v.as_str()));
    (!positive || any_positive) && !any_negative
}

/// Whether an advanced selector logs `event`.
pub fn advanced_matches(selector: &AdvancedEventSelector, event: &SampleEvent) -> bool {
    selector
        .field_selectors
        .iter()
        .all(|f| field_matches(f, event))
}

/// Whether a basic selector logs `event`.
pub fn basic_matches(selector: &EventSelector, event: &SampleEvent) -> bool {
    let read_write = match selector.read_write_type.as_deref() {
        Some("ReadOnly") => event.read_only,
        Some("WriteOnly") => !event.read_only,
        _ => true,
    };
    if !read_write {
        return false;
    }
    if event.category == "Management" {
        return selector.include_management_events
            && !selector
                .exclude_management_event_sources
                .iter()
                .any(|s| s == event.event_source);
    }
    let (Some(kind), Some(arn)) = (event.resource_type, &event.resource_arn) else {
        return false;
    };
    selector
        .data_resources
        .iter()
        .filter(|r| r.resource_type == kind)
        .any(|r| r.values.iter().any(|v| arn.starts_with(v.as_str())))
}

/// Whether `trail` logs `event` (a trail that is not logging logs nothing;
/// one whose selectors could not be read logs the default: management events).
pub fn trail_records(trail: &Trail, event: &SampleEvent) -> bool {
    if trail.is_logging == Some(false) {
        return false;
    }
    match &trail.selectors {
        // No selectors read, or none set: CloudTrail's default, every
        // management event and no data event.
        None => event.category == "Management",
        Some(selectors)
            if selectors.advanced_event_selectors.is_empty()
                && selectors.event_selectors.is_empty() =>
        {
            event.category == "Management"
        }
        Some(selectors) if !selectors.advanced_event_selectors.is_empty() => selectors
            .advanced_event_selectors
            .iter()
            .any(|s| advanced_matches(s, event)),
        Some(selectors) => selectors
            .event_selectors
            .iter()
            .any(|s| basic_matches(s, event)),
    }
}

/// Whether `trail` records events of `region`.
pub fn covers_region(trail: &Trail, region: &str) -> bool {
    trail.is_multi_region_trail || trail.home_region == region
}

/// One event class poolsight needs (or would like) recorded.
#[derive(Debug, Clone)]
pub struct EventClass {
    /// `management`, `cognito_data`, `s3_data`, `dynamodb_data`.
    pub kind: &'static str,
    /// What it is, for people (`S3 object events for bucket app-data`).
    pub label: String,
    /// What a gap costs.
    pub why: &'static str,
    pub samples: Vec<SampleEvent>,
    /// The advanced selector that records it.
    pub selector: AdvancedEventSelector,
}

fn equals(field: &str, values: &[&str]) -> FieldSelector {
    FieldSelector {
        field: field.into(),
        equals: values.iter().map(|v| v.to_string()).collect(),
        ..FieldSelector::default()
    }
}

fn data_sample(
    event_name: &'static str,
    event_source: &'static str,
    read_only: bool,
    resource_type: &'static str,
    arn: &str,
) -> SampleEvent {
    SampleEvent {
        event_name,
        event_source,
        category: "Data",
        read_only,
        resource_type: Some(resource_type),
        resource_arn: Some(arn.to_string()),
    }
}

/// Management events: pool and role changes (`config_change`), `AssumeRole` chains, IAM reads.
pub fn management_class() -> EventClass {
    let sample = |event_name, event_source, read_only| SampleEvent {
        event_name,
        event_source,
        category: "Management",
        read_only,
        resource_type: None,
        resource_arn: None,
    };
    EventClass {
        kind: "management",
        label: "management events".into(),
        why: "pool and role changes (config_change), role chaining and IAM use go unseen",
        samples: vec![
            sample(
                "SetIdentityPoolRoles",
                "cognito-identity.amazonaws.com",
                false,
            ),
            sample("UpdateAssumeRolePolicy", "iam.amazonaws.com", false),
            sample("AssumeRole", "sts.amazonaws.com", true),
            sample("ListIdentityPools", "cognito-identity.amazonaws.com", true),
        ],
        selector: AdvancedEventSelector {
            name: Some("Management events".into()),
            field_selectors: vec![equals("eventCategory", &["Management"])],
        },
    }
}

/// Cognito identity-pool data events (`GetId`, `GetCredentialsForIdentity`, …) of `pools`.
pub fn cognito_class(account: &str, region: &str, pools: &[String]) -> EventClass {
    let arn =
        |pool: &str| format!("arn:aws:cognito-identity:{region}:{account}:identitypool/{pool}");
    let samples = pools
        .iter()
        .flat_map(|pool| {
            [
                "GetId",
                "GetCredentialsForIdentity",
                "GetOpenIdToken",
                "GetOpenIdTokenForDeveloperIdentity",
            ]
            .map(|name| {
                data_sample(
                    name,
                    "cognito-identity.amazonaws.com",
                    false,
                    "AWS::Cognito::IdentityPool",
                    &arn(pool),
                )
            })
        })
        .collect();
    EventClass {
        kind: "cognito_data",
        label: "Cognito identity-pool data events".into(),
        why: "who got credentials is unknown: no identity, guest or issuance detection works",
        samples,
        selector: AdvancedEventSelector {
            name: Some("poolsight: Cognito identity-pool data events".into()),
            field_selectors: vec![
                equals("eventCategory", &["Data"]),
                equals("resources.type", &["AWS::Cognito::IdentityPool"]),
            ],
        },
    }
}

/// S3 object events of `buckets` (`*`: every bucket).
pub fn s3_class(buckets: &BTreeSet<String>) -> EventClass {
    let all = buckets.contains("*");
    let samples = buckets
        .iter()
        .map(|b| if b == "*" { "any-bucket" } else { b.as_str() })
        .flat_map(|bucket| {
            let arn = format!("arn:aws:s3:::{bucket}/private/us-east-1:00000000-0000-0000-0000-000000000000/object");
            [
                ("GetObject", true),
                ("PutObject", false),
                ("DeleteObject", false),
            ]
            .map(|(name, read_only)| {
                data_sample(name, "s3.amazonaws.com", read_only, "AWS::S3::Object", &arn)
            })
        })
        .collect();
    let mut field_selectors = vec![
        equals("eventCategory", &["Data"]),
        equals("resources.type", &["AWS::S3::Object"]),
    ];
    if !all {
        field_selectors.push(FieldSelector {
            field: "resources.ARN".into(),
            starts_with: buckets
                .iter()
                .map(|b| format!("arn:aws:s3:::{b}/"))
                .collect(),
            ..FieldSelector::default()
        });
    }
    let shown: Vec<&str> = buckets.iter().map(String::as_str).collect();
    EventClass {
        kind: "s3_data",
        label: if all {
            "S3 object events (every bucket: a pool role has s3 on *)".into()
        } else {
            format!("S3 object events for {}", shown.join(", "))
        },
        why: "reads, writes and cross-identity access to the pools' objects go unseen",
        samples,
        selector: AdvancedEventSelector {
            name: Some("poolsight: S3 object events of the pools' buckets".into()),
            field_selectors,
        },
    }
}

/// DynamoDB item events of `tables` (ARNs; `*`: every table).
pub fn dynamodb_class(tables: &BTreeSet<String>, account: &str, region: &str) -> EventClass {
    let all = tables.contains("*");
    let any_table = format!("arn:aws:dynamodb:{region}:{account}:table/any-table");
    let samples = tables
        .iter()
        .map(|t| {
            if t == "*" {
                any_table.as_str()
            } else {
                t.as_str()
            }
        })
        .flat_map(|arn| {
            [("GetItem", true), ("PutItem", false), ("Query", true)].map(|(name, read_only)| {
                data_sample(
                    name,
                    "dynamodb.amazonaws.com",
                    read_only,
                    "AWS::DynamoDB::Table",
                    arn,
                )
            })
        })
        .collect();
    let mut field_selectors = vec![
        equals("eventCategory", &["Data"]),
        equals("resources.type", &["AWS::DynamoDB::Table"]),
    ];
    if !all {
        field_selectors.push(FieldSelector {
            field: "resources.ARN".into(),
            equals: tables.iter().cloned().collect(),
            ..FieldSelector::default()
        });
    }
    let shown: Vec<&str> = tables
        .iter()
        .map(|t| t.rsplit('/').next().unwrap_or(t))
        .collect();
    EventClass {
        kind: "dynamodb_data",
        label: if all {
            "DynamoDB item events (every table: a pool role has dynamodb on *)".into()
        } else {
            format!("DynamoDB item events for {}", shown.join(", "))
        },
        why:
            "item reads and writes, and cross-identity access to other identities' items, go unseen",
        samples,
        selector: AdvancedEventSelector {
            name: Some("poolsight: DynamoDB item events of the pools' tables".into()),
            field_selectors,
        },
    }
}

/// What the pool roles can reach, from their policies' allowing statements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleReach {
    /// S3 buckets (`*`: every bucket).
    pub buckets: BTreeSet<String>,
    /// DynamoDB table ARNs without `/index/…` (`*`: every table).
    pub tables: BTreeSet<String>,
    /// Whether a role may call API Gateway (`execute-api:Invoke`).
    pub invokes_api: bool,
}

/// The S3 buckets, DynamoDB tables and APIs the allowing statements of
/// `roles`' policies name.
pub fn resources_of_roles(account: &AccountInventory, roles: &BTreeSet<String>) -> RoleReach {
    let mut buckets = BTreeSet::new();
    let mut tables = BTreeSet::new();
    let mut invokes_api = false;
    for role in account.roles.iter().filter(|r| roles.contains(&r.arn)) {
        for policy in role.inline_policies.iter().chain(&role.attached_policies) {
            let Some(statements) = policy
                .document
                .as_deref()
                .and_then(|d| policy::parse(d).ok())
            else {
                continue;
            };
            for statement in statements.iter().filter(|s| s.effect == "Allow") {
                let names = |service: &str| {
                    statement
                        .actions
                        .iter()
                        .any(|a| a == "*" || a.starts_with(&format!("{service}:")))
                };
                invokes_api |= names("execute-api");
                for resource in &statement.resources {
                    if names("s3") {
                        if resource == "*" || resource == "arn:aws:s3:::*" {
                            buckets.insert("*".to_string());
                        } else if let Some(rest) = resource.strip_prefix("arn:aws:s3:::") {
                            let bucket = rest.split('/').next().unwrap_or(rest);
                            if bucket.contains('*') || bucket.contains('$') {
                                buckets.insert("*".to_string());
                            } else if !bucket.is_empty() {
                                buckets.insert(bucket.to_string());
                            }
                        }
                    }
                    if names("dynamodb") {
                        if resource == "*" {
                            tables.insert("*".to_string());
                        } else if resource.starts_with("arn:aws:dynamodb:") {
                            let table: String = match resource.split_once(":table/") {
                                Some((head, name)) => {
                                    format!(
                                        "{head}:table/{}",
                                        name.split('/').next().unwrap_or(name)
                                    )
                                }
                                None => resource.clone(),
                            };
                            if table.contains('*') {
                                tables.insert("*".to_string());
                            } else {
                                tables.insert(table);
                            }
                        }
                    }
                }
            }
        }
    }
    RoleReach {
        buckets,
        tables,
        invokes_api,
    }
}

/// How well one class is recorded in one account and region.
#[derive(Debug, Clone, Serialize)]
pub struct ClassCoverage {
    pub account_id: String,
    pub region: String,
    pub class: String,
    pub label: String,
    /// `recorded`, `partial` or `missing`.
    pub status: String,
    /// The trails that record it (all of it or part).
    pub trails: Vec<String>,
    /// The sample calls no trail records.
    pub missing_calls: Vec<String>,
    pub why: String,
    /// For a gap: the advanced selector to add, and the command that adds
    /// every missing selector of its account and region at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// A basic selector as the advanced selectors that record the same events
/// (`put-event-selectors` replaces all of a trail's selectors, and one
/// trail cannot mix the two kinds).
pub fn as_advanced(selector: &EventSelector) -> Vec<AdvancedEventSelector> {
    let read_only = match selector.read_write_type.as_deref() {
        Some("ReadOnly") => Some("true"),
        Some("WriteOnly") => Some("false"),
        _ => None,
    };
    let mut out = Vec::new();
    let with_read_only = |mut fields: Vec<FieldSelector>| {
        if let Some(value) = read_only {
            fields.push(equals("readOnly", &[value]));
        }
        fields
    };
    if selector.include_management_events {
        let mut fields = with_read_only(vec![equals("eventCategory", &["Management"])]);
        if !selector.exclude_management_event_sources.is_empty() {
            fields.push(FieldSelector {
                field: "eventSource".into(),
                not_equals: selector.exclude_management_event_sources.clone(),
                ..FieldSelector::default()
            });
        }
        out.push(AdvancedEventSelector {
            name: Some("Management events".into()),
            field_selectors: fields,
        });
    }
    for resource in &selector.data_resources {
        let mut fields = with_read_only(vec![
            equals("eventCategory", &["Data"]),
            equals("resources.type", &[resource.resource_type.as_str()]),
        ]);
        let every = resource
            .values
            .iter()
            .any(|v| v.matches(':').count() <= 2 || v == "arn:aws:s3:::");
        if !every && !resource.values.is_empty() {
            fields.push(FieldSelector {
                field: "resources.ARN".into(),
                starts_with: resource.values.clone(),
                ..FieldSelector::default()
            });
        }
        out.push(AdvancedEventSelector {
            name: Some(format!("{} data events", resource.resource_type)),
            field_selectors: fields,
        });
    }
    out
}

/// Single-quoted for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The one command that adds every selector of `adding` to `trail`'s
/// selectors (keeping the ones it has), or creates a trail when there is
/// none. One command per trail: `put-event-selectors` replaces all of a
/// trail's selectors, so fixes run one by one would undo each other.
fn fix_command(trail: Option<&Trail>, region: &str, adding: &[AdvancedEventSelector]) -> String {
    let mut selectors: Vec<AdvancedEventSelector> = match trail.and_then(|t| t.selectors.as_ref()) {
        Some(s) if !s.advanced_event_selectors.is_empty() => s.advanced_event_selectors.clone(),
        Some(s) if !s.event_selectors.is_empty() => {
            s.event_selectors.iter().flat_map(as_advanced).collect()
        }
        _ => vec![management_class().selector],
    };
    for selector in adding {
        if !selectors.contains(selector) {
            selectors.push(selector.clone());
        }
    }
    let json = serde_json::to_string(&selectors).unwrap_or_default();
    match trail {
        Some(trail) => format!(
            "aws cloudtrail put-event-selectors --region {} --trail-name {} --advanced-event-selectors {}",
            shell_quote(if trail.home_region.is_empty() { region } else { &trail.home_region }),
            shell_quote(&trail.trail_arn),
            shell_quote(&json)
        ),
        None => format!(
            "aws cloudtrail create-trail --region {r} --name poolsight --s3-bucket-name YOUR-TRAIL-BUCKET --is-multi-region-trail && aws cloudtrail put-event-selectors --region {r} --trail-name poolsight --advanced-event-selectors {} && aws cloudtrail start-logging --region {r} --name poolsight",
            shell_quote(&json),
            r = shell_quote(region),
        ),
    }
}

/// Every class poolsight needs in each account and region of `snapshot`,
/// checked against the trails seen from that region.
pub fn coverage(snapshot: &Snapshot) -> Vec<ClassCoverage> {
    let mut out = Vec::new();
    for account in &snapshot.accounts {
        for region in &account.regions {
            let trails: Vec<&Trail> = region
                .trails
                .iter()
                .filter(|t| covers_region(t, &region.region))
                .collect();
            let pools: Vec<String> = region
                .pools
                .iter()
                .map(|p| p.identity_pool_id.clone())
                .collect();
            let roles: BTreeSet<String> = region.pools.iter().flat_map(|p| p.role_arns()).collect();
            let RoleReach {
                buckets, tables, ..
            } = resources_of_roles(account, &roles);
            let mut classes = vec![management_class()];
            if !pools.is_empty() {
                classes.push(cognito_class(&account.account_id, &region.region, &pools));
            }
            if !buckets.is_empty() {
                classes.push(s3_class(&buckets));
            }
            if !tables.is_empty() {
                classes.push(dynamodb_class(&tables, &account.account_id, &region.region));
            }
            let fixer = trails
                .iter()
                .find(|t| t.is_logging != Some(false))
                .or(trails.first())
                .copied();
            let first = out.len();
            let mut adding = Vec::new();
            for class in classes {
                let mut recording = BTreeSet::new();
                let mut missing = BTreeSet::new();
                for sample in &class.samples {
                    let by: Vec<&&Trail> =
                        trails.iter().filter(|t| trail_records(t, sample)).collect();
                    if by.is_empty() {
                        missing.insert(sample.event_name.to_string());
                    }
                    recording.extend(by.iter().map(|t| t.name.clone()));
                }
                let status = if missing.is_empty() {
                    "recorded"
                } else if recording.is_empty() {
                    "missing"
                } else {
                    "partial"
                };
                let gap = status != "recorded";
                if gap {
                    adding.push(class.selector.clone());
                }
                out.push(ClassCoverage {
                    account_id: account.account_id.clone(),
                    region: region.region.clone(),
                    class: class.kind.to_string(),
                    label: class.label.clone(),
                    status: status.to_string(),
                    trails: recording.into_iter().collect(),
                    missing_calls: missing.into_iter().collect(),
                    why: class.why.to_string(),
                    selector: gap.then(|| json!(class.selector)),
                    command: None,
                });
            }
            if !adding.is_empty() {
                let command = fix_command(fixer, &region.region, &adding);
                for entry in &mut out[first..] {
                    if entry.status != "recorded" {
                        entry.command = Some(command.clone());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{DataResource, EventSelectors};

    fn trail(selectors: EventSelectors) -> Trail {
        Trail {
            name: "main".into(),
            trail_arn: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main".into(),
            home_region: "us-east-1".into(),
            is_multi_region_trail: true,
            is_logging: Some(true),
            selectors: Some(selectors),
            ..Trail::default()
        }
    }

    fn recorded(trail: &Trail, class: &EventClass) -> usize {
        class
            .samples
            .iter()
            .filter(|s| trail_records(trail, s))
            .count()
    }

    #[test]
    fn a_default_trail_records_management_events_only() {
        let default = trail(EventSelectors {
            event_selectors: vec![EventSelector {
                read_write_type: Some("All".into()),
                include_management_events: true,
                ..EventSelector::default()
            }],
            ..EventSelectors::default()
        });
        let pools = vec!["us-east-1:p".to_string()];
        assert_eq!(recorded(&default, &management_class()), 4);
        assert_eq!(
            recorded(
                &default,
                &cognito_class("111122223333", "us-east-1", &pools)
            ),
            0
        );
    }

    #[test]
    fn basic_data_resources_match_by_prefix_and_read_write_type() {
        let reads = trail(EventSelectors {
            event_selectors: vec![EventSelector {
                read_write_type: Some("ReadOnly".into()),
                include_management_events: false,
                data_resources: vec![DataResource {
                    resource_type: "AWS::S3::Object".into(),
                    values: vec!["arn:aws:s3:::app-data/".into()],
                }],
                ..EventSelector::default()
            }],
            ..EventSelectors::default()
        });
        let class = s3_class(&["app-data".to_string()].into());
        assert_eq!(recorded(&reads, &class), 1, "GetObject only");
        let other = s3_class(&["other".to_string()].into());
        assert_eq!(recorded(&reads, &other), 0);
        assert_eq!(recorded(&reads, &management_class()), 0);
    }

    #[test]
    fn the_selector_of_a_class_records_that_class() {
        let pools = vec!["us-east-1:p".to_string()];
        for class in [
            management_class(),
            cognito_class("111122223333", "us-east-1", &pools),
            s3_class(&["a".to_string(), "b".to_string()].into()),
            dynamodb_class(
                &["arn:aws:dynamodb:us-east-1:111122223333:table/T".to_string()].into(),
                "111122223333",
                "us-east-1",
            ),
        ] {
            let fixed = trail(EventSelectors {
                advanced_event_selectors: vec![class.selector.clone()],
                ..EventSelectors::default()
            });
            assert_eq!(
                recorded(&fixed, &class),
                class.samples.len(),
                "{}",
                class.label
            );
        }
    }

    #[test]
    fn negative_conditions_and_a_stopped_trail_record_nothing() {
        let mut excluded = trail(EventSelectors {
            advanced_event_selectors: vec![AdvancedEventSelector {
                name: None,
                field_selectors: vec![
                    equals("eventCategory", &["Data"]),
                    FieldSelector {
                        field: "resources.type".into(),
                        not_equals: vec!["AWS::Cognito::IdentityPool".into()],
                        ..FieldSelector::default()
                    },
                ],
            }],
            ..EventSelectors::default()
        });
        let pools = vec!["us-east-1:p".to_string()];
        let cognito = cognito_class("1", "us-east-1", &pools);
        assert_eq!(recorded(&excluded, &cognito), 0);
        assert_eq!(recorded(&excluded, &s3_class(&["a".to_string()].into())), 3);
        excluded.is_logging = Some(false);
        assert_eq!(recorded(&excluded, &s3_class(&["a".to_string()].into())), 0);
    }

    #[test]
    fn basic_selectors_become_equivalent_advanced_ones() {
        let basic = EventSelector {
            read_write_type: Some("WriteOnly".into()),
            include_management_events: true,
            data_resources: vec![DataResource {
                resource_type: "AWS::S3::Object".into(),
                values: vec!["arn:aws:s3:::app-data/".into()],
            }],
            ..EventSelector::default()
        };
        let as_basic = trail(EventSelectors {
            event_selectors: vec![basic.clone()],
            ..EventSelectors::default()
        });
        let as_adv = trail(EventSelectors {
            advanced_event_selectors: as_advanced(&basic),
            ..EventSelectors::default()
        });
        let pools = vec!["us-east-1:p".to_string()];
        for class in [
            management_class(),
            s3_class(&["app-data".to_string()].into()),
            s3_class(&["x".to_string()].into()),
            cognito_class("1", "us-east-1", &pools),
        ] {
            for sample in &class.samples {
                assert_eq!(
                    trail_records(&as_basic, sample),
                    trail_records(&as_adv, sample),
                    "{sample:?}"
                );
            }
        }
    }
}
