//! The inventory tables: a [`Snapshot`] as rows, one Parquet file per table
//! and snapshot, kept forever (history is what makes "fixed since" and
//! "changed since" answerable):
//!
//! ```text
//! <lake>/inventory/<table>/snapshot_date=YYYY-MM-DD/<snapshot id>.parquet
//! ```
//!
//! Every row starts with `snapshot_id` (`20261201T101500Z`),
//! `snapshot_time` and `account_id`. Each table also has a view over the
//! newest snapshot of each account (in parentheses), which the posture
//! detections read. The tables, documented in `docs/schema.md`:
//!
//! - `inventory_snapshots` (`latest_snapshots`): one row per snapshot and account (counts, API calls);
//! - `inventory_pools` (`identity_pools`): one row per identity pool and its settings;
//! - `inventory_role_mappings` (`role_mappings`): one row per role-mapping rule (or `Token` mapping);
//! - `inventory_roles` (`pool_roles`): one row per role (trust policy, the pools that name it);
//! - `inventory_statements` (`role_statements`): one row per statement of a role's trust, inline
//!   and attached policies, principals, actions and resources flattened;
//! - `inventory_conditions` (`statement_conditions`): one row per condition value of those statements;
//! - `inventory_trails` (`trails`): one row per trail seen from a region, status and selectors;
//! - `inventory_errors` (`inventory_errors_latest`): one row per call that failed;
//! - `inventory_coverage` (`trail_coverage`): per account, region and event
//!   class poolsight needs, whether the trails record it
//!   ([`crate::selectors::coverage`]), with the selector that closes a gap.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow::record_batch::RecordBatch;
use poolsight_lake::{Lake, LakeError};

use crate::policy;
use crate::rows::{batch, schema, Cell, Kind};
use crate::snapshot::{account_of_arn, AccountInventory, Snapshot};

pub use poolsight_lake::INVENTORY_DIR;
/// Their partition column.
pub const PARTITION_COLUMN: &str = "snapshot_date";

/// A table: its name (every snapshot), the name of its view over each
/// account's newest snapshot, and its columns.
pub struct Table {
    pub name: &'static str,
    pub current: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

const SNAPSHOTS: Table = Table {
    name: "inventory_snapshots",
    current: "latest_snapshots",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("regions", Kind::TextList),
        ("pools", Kind::Number),
        ("roles", Kind::Number),
        ("trails", Kind::Number),
        ("errors", Kind::Number),
        ("api_calls", Kind::Number),
    ],
};

const POOLS: Table = Table {
    name: "inventory_pools",
    current: "identity_pools",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("region", Kind::Text),
        ("identity_pool_id", Kind::Text),
        ("identity_pool_name", Kind::Text),
        ("allow_unauthenticated", Kind::Flag),
        ("allow_classic_flow", Kind::Flag),
        ("authenticated_role_arn", Kind::Text),
        ("unauthenticated_role_arn", Kind::Text),
        ("providers", Kind::TextList),
        ("developer_provider_name", Kind::Text),
        ("unchecked_token_providers", Kind::TextList),
        ("role_arns", Kind::TextList),
        ("roles_read", Kind::Flag),
        ("principal_tags", Kind::Text),
        ("tags", Kind::Text),
        ("settings", Kind::Text),
    ],
};

const ROLE_MAPPINGS: Table = Table {
    name: "inventory_role_mappings",
    current: "role_mappings",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("region", Kind::Text),
        ("identity_pool_id", Kind::Text),
        ("provider", Kind::Text),
        ("mapping_type", Kind::Text),
        ("ambiguous_role_resolution", Kind::Text),
        ("rule_index", Kind::Number),
        ("claim", Kind::Text),
        ("match_type", Kind::Text),
        ("value", Kind::Text),
        ("role_arn", Kind::Text),
    ],
};

const ROLES: Table = Table {
    name: "inventory_roles",
    current: "pool_roles",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("role_arn", Kind::Text),
        ("role_name", Kind::Text),
        ("role_account_id", Kind::Text),
        ("path", Kind::Text),
        ("create_date", Kind::Text),
        ("max_session_duration", Kind::Number),
        ("trust_policy", Kind::Text),
        ("trusts_cognito", Kind::Flag),
        ("pools", Kind::TextList),
        ("policies", Kind::TextList),
    ],
};

const STATEMENTS: Table = Table {
    name: "inventory_statements",
    current: "role_statements",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("role_arn", Kind::Text),
        ("policy_type", Kind::Text),
        ("policy_name", Kind::Text),
        ("policy_arn", Kind::Text),
        ("statement_index", Kind::Number),
        ("statement_key", Kind::Text),
        ("sid", Kind::Text),
        ("effect", Kind::Text),
        ("principals", Kind::TextList),
        ("not_principals", Kind::TextList),
        ("actions", Kind::TextList),
        ("not_actions", Kind::TextList),
        ("resources", Kind::TextList),
        ("not_resources", Kind::TextList),
        ("condition_keys", Kind::TextList),
        ("statement", Kind::Text),
    ],
};

const CONDITIONS: Table = Table {
    name: "inventory_conditions",
    current: "statement_conditions",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("role_arn", Kind::Text),
        ("statement_key", Kind::Text),
        ("operator", Kind::Text),
        ("condition_key", Kind::Text),
        ("value", Kind::Text),
    ],
};

const TRAILS: Table = Table {
    name: "inventory_trails",
    current: "trails",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("region", Kind::Text),
        ("trail_arn", Kind::Text),
        ("name", Kind::Text),
        ("home_region", Kind::Text),
        ("multi_region", Kind::Flag),
        ("organization", Kind::Flag),
        ("s3_bucket", Kind::Text),
        ("s3_key_prefix", Kind::Text),
        ("log_group_arn", Kind::Text),
        ("is_logging", Kind::Flag),
        ("latest_delivery_time", Kind::Text),
        ("latest_delivery_error", Kind::Text),
        ("selectors", Kind::Text),
    ],
};

const ERRORS: Table = Table {
    name: "inventory_errors",
    current: "inventory_errors_latest",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("region", Kind::Text),
        ("operation", Kind::Text),
        ("resource", Kind::Text),
        ("error_code", Kind::Text),
        ("message", Kind::Text),
    ],
};

const COVERAGE: Table = Table {
    name: "inventory_coverage",
    current: "trail_coverage",
    columns: &[
        ("snapshot_id", Kind::Text),
        ("snapshot_time", Kind::Time),
        ("account_id", Kind::Text),
        ("region", Kind::Text),
        ("class", Kind::Text),
        ("label", Kind::Text),
        ("status", Kind::Text),
        ("trails", Kind::TextList),
        ("missing_calls", Kind::TextList),
        ("why", Kind::Text),
        ("selector", Kind::Text),
        ("command", Kind::Text),
    ],
};

/// Every inventory table.
pub const TABLES: &[&Table] = &[
    &SNAPSHOTS,
    &POOLS,
    &ROLE_MAPPINGS,
    &ROLES,
    &STATEMENTS,
    &CONDITIONS,
    &TRAILS,
    &ERRORS,
    &COVERAGE,
];

impl Table {
    pub fn schema(&self) -> arrow::datatypes::SchemaRef {
        schema(self.columns)
    }
}

/// The id of a snapshot taken at `time`: `20261201T101500Z`.
pub fn snapshot_id(snapshot: &Snapshot) -> String {
    snapshot.taken_at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Each table's rows for `snapshot`.
pub fn rows_of(snapshot: &Snapshot) -> BTreeMap<&'static str, Vec<Vec<Cell>>> {
    let id = snapshot_id(snapshot);
    let time = Cell::Time(Some(snapshot.taken_at.timestamp_micros()));
    let mut tables: BTreeMap<&'static str, Vec<Vec<Cell>>> =
        TABLES.iter().map(|t| (t.name, Vec::new())).collect();
    let mut push = |table: &Table, row: Vec<Cell>| {
        debug_assert_eq!(row.len(), table.columns.len(), "{}", table.name);
        tables.entry(table.name).or_default().push(row);
    };
    for class in crate::selectors::coverage(snapshot) {
        push(
            &COVERAGE,
            vec![
                Cell::from(&id),
                time.clone(),
                Cell::from(class.account_id),
                Cell::from(class.region),
                Cell::from(class.class),
                Cell::from(class.label),
                Cell::from(class.status),
                class.trails.into(),
                class.missing_calls.into(),
                Cell::from(class.why),
                class.selector.map(|s| s.to_string()).into(),
                class.command.into(),
            ],
        );
    }
    for account in &snapshot.accounts {
        let head = |more: Vec<Cell>| {
            let mut row = vec![
                Cell::from(&id),
                time.clone(),
                Cell::from(&account.account_id),
            ];
            row.extend(more);
            row
        };
        let count = |n: usize| Cell::Number(Some(n as i64));
        push(
            &SNAPSHOTS,
            head(vec![
                account
                    .regions
                    .iter()
                    .map(|r| r.region.clone())
                    .collect::<Vec<_>>()
                    .into(),
                count(account.regions.iter().map(|r| r.pools.len()).sum()),
                count(account.roles.len()),
                count(account.regions.iter().map(|r| r.trails.len()).sum()),
                count(account.errors.len()),
                Cell::Number(Some(snapshot.api_calls as i64)),
            ]),
        );
        for region in &account.regions {
            for pool in &region.pools {
                let roles = pool.roles.clone().unwrap_or_default();
                push(
                    &POOLS,
                    head(vec![
                        Cell::from(&region.region),
                        Cell::from(&pool.identity_pool_id),
                        Cell::from(&pool.identity_pool_name),
                        pool.allow_unauthenticated_identities.into(),
                        pool.allow_classic_flow.into(),
                        roles.roles.get("authenticated").cloned().into(),
                        roles.roles.get("unauthenticated").cloned().into(),
                        pool.providers().into(),
                        pool.developer_provider_name.clone().into(),
                        pool.unchecked_providers().into(),
                        pool.role_arns().into(),
                        pool.roles.is_some().into(),
                        Cell::from(json_text(&pool.principal_tags)),
                        Cell::from(json_text(&pool.identity_pool_tags)),
                        Cell::from(json_text(pool)),
                    ]),
                );
                for (provider, mapping) in &roles.role_mappings {
                    let mapping_row = |index: Option<i64>,
                                       claim: Option<&str>,
                                       match_type: Option<&str>,
                                       value: Option<&str>,
                                       role: Option<&str>| {
                        head(vec![
                            Cell::from(&region.region),
                            Cell::from(&pool.identity_pool_id),
                            Cell::from(provider),
                            Cell::from(&mapping.mapping_type),
                            mapping.ambiguous_role_resolution.clone().into(),
                            Cell::Number(index),
                            claim.into(),
                            match_type.into(),
                            value.into(),
                            role.into(),
                        ])
                    };
                    let rules = mapping
                        .rules_configuration
                        .as_ref()
                        .map(|c| c.rules.as_slice())
                        .unwrap_or_default();
                    if rules.is_empty() {
                        push(&ROLE_MAPPINGS, mapping_row(None, None, None, None, None));
                    }
                    for (index, rule) in rules.iter().enumerate() {
                        push(
                            &ROLE_MAPPINGS,
                            mapping_row(
                                Some(index as i64),
                                Some(&rule.claim),
                                Some(&rule.match_type),
                                Some(&rule.value),
                                Some(&rule.role_arn),
                            ),
                        );
                    }
                }
            }
            for trail in &region.trails {
                push(
                    &TRAILS,
                    head(vec![
                        Cell::from(&region.region),
                        Cell::from(&trail.trail_arn),
                        Cell::from(&trail.name),
                        Cell::from(&trail.home_region),
                        trail.is_multi_region_trail.into(),
                        trail.is_organization_trail.into(),
                        trail.s3_bucket_name.clone().into(),
                        trail.s3_key_prefix.clone().into(),
                        trail.cloud_watch_logs_log_group_arn.clone().into(),
                        trail.is_logging.into(),
                        trail.latest_delivery_time.clone().into(),
                        trail.latest_delivery_error.clone().into(),
                        trail.selectors.as_ref().map(json_text).into(),
                    ]),
                );
            }
        }
        for role in &account.roles {
            let pools = pools_naming(account, &role.arn);
            let mut policies: Vec<(&str, &str, Option<&str>, &str)> = Vec::new();
            if let Some(trust) = &role.assume_role_policy_document {
                policies.push(("trust", "trust", None, trust));
            }
            for (kind, list) in [
                ("inline", &role.inline_policies),
                ("managed", &role.attached_policies),
            ] {
                for policy in list {
                    if let Some(document) = &policy.document {
                        policies.push((
                            kind,
                            &policy.policy_name,
                            policy.policy_arn.as_deref(),
                            document,
                        ));
                    }
                }
            }
            let mut trusts_cognito = false;
            for (kind, name, arn, document) in &policies {
                // A document that is not a policy was reported when it was
                // read (see `check_documents`); it has no rows here.
                let Ok(statements) = policy::parse(document) else {
                    continue;
                };
                for statement in statements {
                    if *kind == "trust" && statement.trusts_cognito() {
                        trusts_cognito = true;
                    }
                    let key = format!("{}#{kind}:{name}#{}", role.arn, statement.index);
                    let mut condition_keys: Vec<String> =
                        statement.conditions.iter().map(|c| c.key.clone()).collect();
                    condition_keys.sort();
                    condition_keys.dedup();
                    for condition in &statement.conditions {
                        push(
                            &CONDITIONS,
                            head(vec![
                                Cell::from(&role.arn),
                                Cell::from(&key),
                                Cell::from(&condition.operator),
                                Cell::from(&condition.key),
                                Cell::from(&condition.value),
                            ]),
                        );
                    }
                    push(
                        &STATEMENTS,
                        head(vec![
                            Cell::from(&role.arn),
                            Cell::from(*kind),
                            Cell::from(*name),
                            Cell::from(*arn),
                            Cell::Number(Some(statement.index as i64)),
                            Cell::from(key),
                            statement.sid.clone().into(),
                            Cell::from(statement.effect.clone()),
                            statement.principals.into(),
                            statement.not_principals.into(),
                            statement.actions.into(),
                            statement.not_actions.into(),
                            statement.resources.into(),
                            statement.not_resources.into(),
                            condition_keys.into(),
                            Cell::from(statement.text),
                        ]),
                    );
                }
            }
            push(
                &ROLES,
                head(vec![
                    Cell::from(&role.arn),
                    Cell::from(&role.role_name),
                    account_of_arn(&role.arn).into(),
                    Cell::from(&role.path),
                    role.create_date.clone().into(),
                    Cell::Number(role.max_session_duration.map(i64::from)),
                    role.assume_role_policy_document.clone().into(),
                    trusts_cognito.into(),
                    pools.into(),
                    policies
                        .iter()
                        .map(|(kind, name, _, _)| format!("{kind}:{name}"))
                        .collect::<Vec<_>>()
                        .into(),
                ]),
            );
        }
        for error in &account.errors {
            push(
                &ERRORS,
                head(vec![
                    error.region.clone().into(),
                    Cell::from(&error.operation),
                    error.resource.clone().into(),
                    Cell::from(&error.code),
                    Cell::from(&error.message),
                ]),
            );
        }
    }
    tables
}

/// The pools of `account` that name `role_arn`.
fn pools_naming(account: &AccountInventory, role_arn: &str) -> Vec<String> {
    account
        .regions
        .iter()
        .flat_map(|r| &r.pools)
        .filter(|p| p.role_arns().iter().any(|arn| arn == role_arn))
        .map(|p| p.identity_pool_id.clone())
        .collect()
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Where each snapshot is also kept whole, as JSON (`_`: engines skip it):
/// the coverage report and `--from-file` read it back.
pub const RAW_DIR: &str = "_snapshots";

/// The newest snapshot in the lake, if any.
pub fn latest_snapshot(lake: &Lake) -> Result<Option<Snapshot>, crate::InventoryError> {
    let dir = lake.inventory_dir().join(RAW_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LakeError::io(&dir, e).into()),
    };
    let newest = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .max();
    newest
        .map(|path| crate::read_snapshot_file(&path))
        .transpose()
}

/// Each table's batch for `snapshot`.
pub fn batches_of(snapshot: &Snapshot) -> Result<Vec<(&'static Table, RecordBatch)>, LakeError> {
    let rows = rows_of(snapshot);
    TABLES
        .iter()
        .map(|table| {
            let table_rows = rows.get(table.name).map(Vec::as_slice).unwrap_or_default();
            Ok((*table, batch(table.columns, table_rows)?))
        })
        .collect()
}

/// The folder of `table` in `lake`.
pub fn table_dir(lake: &Lake, table: &str) -> PathBuf {
    lake.inventory_dir().join(table)
}

/// Writes `snapshot` into the lake: one file per table (empty tables too,
/// so every snapshot is complete in every table), each atomically. The
/// snapshots table is written last: a snapshot listed there is whole.
pub fn write_snapshot(lake: &Lake, snapshot: &Snapshot) -> Result<Vec<PathBuf>, LakeError> {
    let id = snapshot_id(snapshot);
    let date = snapshot.taken_at.format("%Y-%m-%d").to_string();
    let mut written = Vec::new();
    let raw = lake
        .inventory_dir()
        .join(RAW_DIR)
        .join(format!("{id}.json"));
    let text = serde_json::to_vec_pretty(snapshot).map_err(|e| {
        LakeError::io(
            &raw,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    poolsight_lake::fsio::create_dir_durable(&lake.inventory_dir().join(RAW_DIR))?;
    poolsight_lake::write_atomically(&raw, &text)?;
    written.push(raw);
    let mut batches = batches_of(snapshot)?;
    // `inventory_snapshots` first in TABLES: move it to the end.
    batches.rotate_left(1);
    for (table, batch) in batches {
        let path = table_dir(lake, table.name)
            .join(format!("{PARTITION_COLUMN}={date}"))
            .join(format!("{id}.parquet"));
        poolsight_lake::write_parquet_file(&path, table.schema(), &[batch])?;
        written.push(path);
    }
    Ok(written)
}
