//! What a finding's evidence says beyond the finding's own fields: the
//! accounts and regions its events were logged in, the roles, login
//! providers and guest/authenticated sessions behind them, and the API
//! calls. Read from the lake by joining the evidence event ids with
//! `events` (pruned to the findings' time span), and for findings without
//! events (posture) from the inventory's pools.
//!
//! Every output format (OCSF, ASFF, webhook bodies) reads this one
//! [`FindingContext`], so they agree on a finding's account and region.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use poolsight_detect::findings::Finding;
use poolsight_detect::LakeSession;
use serde::Serialize;
use serde_json::Value;

use crate::NotifyError;

/// The evidence of one finding, summarised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingContext {
    /// The account the finding is about: its events' `recipient_account_id`
    /// (the most frequent), else the account of its pool or role.
    pub account_id: Option<String>,
    /// The region: its events' (most frequent), else its pool id's.
    pub region: Option<String>,
    pub role_arns: Vec<String>,
    pub login_providers: Vec<String>,
    /// `authenticated`, `unauthenticated`.
    pub auth_types: Vec<String>,
    /// `s3.amazonaws.com:GetObject`, …
    pub api_calls: Vec<String>,
}

impl FindingContext {
    /// Whether the identity was a guest (every session unauthenticated).
    pub fn guest(&self) -> Option<bool> {
        match self.auth_types.as_slice() {
            [] => None,
            types => Some(types.iter().all(|t| t == "unauthenticated")),
        }
    }
}

/// The region of a pool id (`us-east-1:…`) or ARN.
pub fn region_of(identity_pool_id: &str) -> Option<String> {
    let (region, rest) = identity_pool_id.split_once(':')?;
    (!rest.is_empty() && region.contains('-')).then(|| region.to_string())
}

/// The account of an ARN (`arn:aws:iam::123456789012:role/x`).
pub fn account_of_arn(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| account.to_string())
}

/// The context of each finding, by finding id.
pub async fn load_contexts(
    session: &LakeSession,
    findings: &[Finding],
) -> Result<BTreeMap<String, FindingContext>, NotifyError> {
    let mut contexts: BTreeMap<String, FindingContext> = findings
        .iter()
        .map(|f| (f.finding_id.clone(), FindingContext::default()))
        .collect();
    let with_events: Vec<&Finding> = findings
        .iter()
        .filter(|f| !f.event_ids.is_empty())
        .collect();
    if !with_events.is_empty() {
        from_events(session, &with_events, &mut contexts).await?;
    }
    let pools = pool_accounts(session).await;
    for finding in findings {
        let Some(context) = contexts.get_mut(&finding.finding_id) else {
            continue;
        };
        if let Some(pool) = &finding.identity_pool_id {
            if context.account_id.is_none() {
                context.account_id = pools.get(pool).cloned();
            }
            if context.region.is_none() {
                context.region = region_of(pool);
            }
        }
        if context.region.is_none() {
            context.region = finding.identity_id.as_deref().and_then(region_of);
        }
        if context.account_id.is_none() {
            context.account_id = context.role_arns.iter().find_map(|r| account_of_arn(r));
        }
    }
    Ok(contexts)
}

/// Pool id → account, from the newest inventory (empty without one).
async fn pool_accounts(session: &LakeSession) -> BTreeMap<String, String> {
    let sql = "SELECT identity_pool_id, account_id FROM identity_pools";
    let Ok(batches) = session.query(sql).await else {
        return BTreeMap::new();
    };
    rows(&batches)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|row| Some((text(&row, "identity_pool_id")?, text(&row, "account_id")?)))
        .collect()
}

async fn from_events(
    session: &LakeSession,
    findings: &[&Finding],
    contexts: &mut BTreeMap<String, FindingContext>,
) -> Result<(), NotifyError> {
    // The evidence as a table (finding, event), joined with the events of
    // the findings' days only.
    let mut finding_ids = StringBuilder::new();
    let mut event_ids = StringBuilder::new();
    let (mut from, mut to): (Option<&str>, Option<&str>) = (None, None);
    for finding in findings {
        for event in &finding.event_ids {
            finding_ids.append_value(&finding.finding_id);
            event_ids.append_value(event);
        }
        let first = finding.first_seen.as_str();
        let last = finding.last_seen.as_str();
        if !first.is_empty() && from.is_none_or(|f| first < f) {
            from = Some(first);
        }
        if !last.is_empty() && to.is_none_or(|t| last > t) {
            to = Some(last);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("finding_id", DataType::Utf8, false),
        Field::new("event_id", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(finding_ids.finish()), Arc::new(event_ids.finish())],
    )?;
    let table = MemTable::try_new(schema, vec![vec![batch]])?;
    let ctx = session.context();
    let name = "poolsight_finding_evidence";
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    // Days are partition folders: the date bounds prune whole files. The
    // timestamps come from stored findings (RFC 3339), never from input.
    fn day(t: Option<&str>) -> Option<&str> {
        t.and_then(|t| t.get(..10)).filter(|d| is_date(d))
    }
    let mut bounds = Vec::new();
    if let Some(d) = day(from) {
        bounds.push(format!("e.event_date >= '{d}'"));
    }
    if let Some(d) = day(to) {
        bounds.push(format!("e.event_date <= '{d}'"));
    }
    let bounds = if bounds.is_empty() {
        String::new()
    } else {
        format!("AND {}", bounds.join(" AND "))
    };
    let sql = format!(
        "SELECT x.finding_id, e.recipient_account_id AS account_id, e.aws_region AS region, \
                e.role_arn, e.login_provider, e.auth_type, \
                e.event_source || ':' || e.event_name AS api_call, count(*) AS n \
         FROM {name} x JOIN events e ON e.event_id = x.event_id {bounds} \
         GROUP BY 1, 2, 3, 4, 5, 6, 7"
    );
    let batches = session.query(&sql).await;
    ctx.deregister_table(name)?;
    let batches = batches?;
    // Per finding: counts per value, to take the most frequent account and region.
    #[derive(Default)]
    struct Tally {
        accounts: BTreeMap<String, i64>,
        regions: BTreeMap<String, i64>,
        roles: BTreeSet<String>,
        providers: BTreeSet<String>,
        auth: BTreeSet<String>,
        calls: BTreeSet<String>,
    }
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for row in rows(&batches)? {
        let Some(finding_id) = text(&row, "finding_id") else {
            continue;
        };
        let n = row.get("n").and_then(Value::as_i64).unwrap_or(1);
        let tally = tallies.entry(finding_id).or_default();
        if let Some(v) = text(&row, "account_id") {
            *tally.accounts.entry(v).or_default() += n;
        }
        if let Some(v) = text(&row, "region") {
            *tally.regions.entry(v).or_default() += n;
        }
        tally.roles.extend(text(&row, "role_arn"));
        tally.providers.extend(text(&row, "login_provider"));
        tally.auth.extend(text(&row, "auth_type"));
        tally.calls.extend(text(&row, "api_call"));
    }
    let most = |counts: &BTreeMap<String, i64>| {
        counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(k, _)| k.clone())
    };
    for (finding_id, tally) in tallies {
        if let Some(context) = contexts.get_mut(&finding_id) {
            context.account_id = most(&tally.accounts);
            context.region = most(&tally.regions);
            context.role_arns = tally.roles.into_iter().collect();
            context.login_providers = tally.providers.into_iter().collect();
            context.auth_types = tally.auth.into_iter().collect();
            context.api_calls = tally.calls.into_iter().collect();
        }
    }
    Ok(())
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| b[i].is_ascii_digit())
}

/// Result batches as JSON rows.
pub(crate) fn rows(
    batches: &[RecordBatch],
) -> Result<Vec<serde_json::Map<String, Value>>, NotifyError> {
    let mut writer = arrow::json::ArrayWriter::new(Vec::new());
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    let bytes = writer.into_inner();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

fn text(row: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    row.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_accounts_come_from_ids_and_arns() {
        assert_eq!(
            region_of("eu-west-1:0a1b2c3d-0000-4000-8000-000000000001").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of("nonsense"), None);
        assert_eq!(
            account_of_arn("arn:aws:iam::123456789012:role/Guest").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_of_arn("arn:aws:iam::aws:policy/x"), None);
    }
}
