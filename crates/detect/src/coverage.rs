//! `poolsight coverage`: what poolsight can see.
//!
//! Two halves. From the newest inventory snapshot
//! ([`poolsight_inventory::selectors`]): per account and region, whether
//! the trails record management events, Cognito identity-pool data events,
//! S3 object events of the buckets and DynamoDB item events of the tables
//! the pool roles can touch (the **needed** classes: a gap blinds
//! detections), and whether a trail delivers to CloudWatch Logs and API
//! Gateway access logs reach the lake (**recommended**). From the lake:
//! the newest event per source, account and region — a source far behind
//! the lake's newest event is stale — and runs of silent hours in the last
//! seven days where a source used to be busy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use chrono::{DateTime, Duration, Utc};
use poolsight_inventory::selectors::{self, ClassCoverage, RoleReach};
use serde::Serialize;

use crate::{DetectError, LakeSession};

/// How the lake half judges.
#[derive(Debug, Clone, Copy)]
pub struct CoverageOptions {
    /// A source whose newest event is this far behind the lake's newest is stale.
    pub stale_after: Duration,
    /// Silent hours count only for sources with at least this many events
    /// in a typical (median) hour.
    pub min_hourly_events: i64,
}

impl Default for CoverageOptions {
    fn default() -> Self {
        Self {
            stale_after: Duration::hours(6),
            min_hourly_events: 5,
        }
    }
}

/// The newest event of one source, account and region.
#[derive(Debug, Clone, Serialize)]
pub struct SourceFreshness {
    /// `s3`, `cloudwatch_logs`, `cloudtrail_lookup`, `file`.
    pub source: String,
    pub account_id: String,
    pub region: String,
    pub events: i64,
    pub newest_event: String,
    /// Hours behind the lake's newest event.
    pub behind_hours: f64,
    pub stale: bool,
}

/// Hours with no events from a source that is usually busy.
#[derive(Debug, Clone, Serialize)]
pub struct SilentHours {
    pub source: String,
    pub account_id: String,
    pub region: String,
    pub from: String,
    pub to: String,
    pub hours: i64,
    /// The source's median events per hour.
    pub usual_per_hour: i64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    /// The inventory snapshot the trail half read.
    pub snapshot_id: String,
    pub snapshot_time: String,
    /// Needed classes per account and region.
    pub classes: Vec<ClassCoverage>,
    /// Recommended deliveries (CloudWatch Logs, API Gateway access logs).
    pub deliveries: Vec<ClassCoverage>,
    pub newest_event: Option<String>,
    pub sources: Vec<SourceFreshness>,
    pub silent: Vec<SilentHours>,
}

impl CoverageReport {
    /// Needed classes not wholly recorded, stale sources, and a lake with
    /// no events at all: what makes `poolsight coverage` exit 1.
    pub fn gaps(&self) -> usize {
        self.classes
            .iter()
            .filter(|c| c.status != "recorded")
            .count()
            + self.sources.iter().filter(|s| s.stale).count()
            + usize::from(self.sources.is_empty())
    }
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The recommended deliveries of each account and region.
fn deliveries(
    snapshot: &poolsight_inventory::Snapshot,
    api_records: &BTreeMap<(String, String), (i64, i64)>,
) -> Vec<ClassCoverage> {
    let mut out = Vec::new();
    for account in &snapshot.accounts {
        for region in &account.regions {
            let trails: Vec<_> = region
                .trails
                .iter()
                .filter(|t| {
                    selectors::covers_region(t, &region.region) && t.is_logging != Some(false)
                })
                .collect();
            let to_logs: Vec<String> = trails
                .iter()
                .filter(|t| t.cloud_watch_logs_log_group_arn.is_some())
                .map(|t| t.name.clone())
                .collect();
            let base = |class: &str, label: &str, why: &str| ClassCoverage {
                account_id: account.account_id.clone(),
                region: region.region.clone(),
                class: class.into(),
                label: label.into(),
                status: "recorded".into(),
                trails: Vec::new(),
                missing_calls: Vec::new(),
                why: why.into(),
                selector: None,
                command: None,
            };
            let mut logs = base(
                "cloudwatch_logs",
                "trail delivery to CloudWatch Logs",
                "minutes instead of up to 15 minutes of S3 delivery delay; `[[source.cloudwatch_logs]]` can follow it",
            );
            if to_logs.is_empty() {
                logs.status = "missing".into();
                logs.command = Some(match trails.first() {
                    Some(trail) => format!(
                        "aws cloudtrail update-trail --region '{}' --name '{}' --cloud-watch-logs-log-group-arn 'arn:aws:logs:{}:{}:log-group:aws-cloudtrail-logs:*' --cloud-watch-logs-role-arn 'arn:aws:iam::{}:role/CloudTrailToCloudWatchLogs'",
                        trail.home_region, trail.trail_arn, region.region, account.account_id, account.account_id
                    ),
                    None => "create a trail first (see the needed classes above)".into(),
                });
            } else {
                logs.trails = to_logs;
            }
            out.push(logs);
            let roles: BTreeSet<String> = region.pools.iter().flat_map(|p| p.role_arns()).collect();
            let RoleReach { invokes_api, .. } = selectors::resources_of_roles(account, &roles);
            if invokes_api {
                let mut api = base(
                    "apigateway_access_logs",
                    "API Gateway access logs with the caller's Cognito identity",
                    "API calls made with pool credentials leave no CloudTrail record: only access logs show them",
                );
                let (records, with_identity) = api_records
                    .get(&(account.account_id.clone(), region.region.clone()))
                    .copied()
                    .unwrap_or((0, 0));
                if with_identity == 0 {
                    api.status = if records > 0 { "partial" } else { "missing" }.into();
                    api.missing_calls = vec![if records > 0 {
                        format!("{records} access log records, none with $context.identity.cognitoIdentityId")
                    } else {
                        "no access log records in the lake".into()
                    }];
                    api.command = Some("aws apigateway update-stage --rest-api-id API --stage-name STAGE --patch-operations 'op=replace,path=/accessLogSettings/format,value={\"requestId\":\"$context.requestId\",\"requestTime\":\"$context.requestTime\",\"ip\":\"$context.identity.sourceIp\",\"httpMethod\":\"$context.httpMethod\",\"path\":\"$context.path\",\"status\":\"$context.status\",\"userAgent\":\"$context.identity.userAgent\",\"accessKey\":\"$context.identity.accessKey\",\"cognitoIdentityId\":\"$context.identity.cognitoIdentityId\",\"cognitoIdentityPoolId\":\"$context.identity.cognitoIdentityPoolId\",\"cognitoAuthenticationType\":\"$context.identity.cognitoAuthenticationType\",\"cognitoAuthenticationProvider\":\"$context.identity.cognitoAuthenticationProvider\"}' 'op=replace,path=/accessLogSettings/destinationArn,value=arn:aws:logs:REGION:ACCOUNT:log-group:API-access-logs' (then add the log group as a [[source.cloudwatch_logs]])".into());
                }
                out.push(api);
            }
        }
    }
    out
}

/// The coverage of the lake at `lake_dir`, against its newest inventory.
pub async fn report(
    lake_dir: &Path,
    options: &CoverageOptions,
) -> Result<CoverageReport, DetectError> {
    let session = LakeSession::open(lake_dir).await?;
    let snapshot = poolsight_inventory::latest_snapshot(session.lake())
        .map_err(|e| DetectError::Request(e.to_string()))?
        .ok_or_else(|| {
            DetectError::Request(format!(
                "{} holds no inventory: run `poolsight inventory` first (coverage compares what the trails record, from their event selectors, with what poolsight needs)",
                lake_dir.display()
            ))
        })?;
    let classes = selectors::coverage(&snapshot);

    // API Gateway access log records per account and region.
    let mut api_records = BTreeMap::new();
    for batch in session
        .query(
            "SELECT coalesce(recipient_account_id, '') AS account, coalesce(aws_region, '') AS region, \
             count(*) AS records, count(identity_id) AS with_identity \
             FROM lake_events WHERE source_format = 'apigateway_access_log' GROUP BY 1, 2",
        )
        .await?
    {
        let (account, region) = (batch.column(0).as_string::<i32>(), batch.column(1).as_string::<i32>());
        let (records, with_identity) = (
            batch.column(2).as_primitive::<Int64Type>(),
            batch.column(3).as_primitive::<Int64Type>(),
        );
        for row in 0..batch.num_rows() {
            api_records.insert(
                (account.value(row).to_string(), region.value(row).to_string()),
                (records.value(row), with_identity.value(row)),
            );
        }
    }
    let deliveries = deliveries(&snapshot, &api_records);

    // Freshness per source, account and region.
    let mut sources = Vec::new();
    for batch in session
        .query(
            "SELECT coalesce(source_kind, 'unknown') AS source, coalesce(recipient_account_id, '') AS account, \
             coalesce(aws_region, '') AS region, count(*) AS events, max(event_time) AS newest \
             FROM lake_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )
        .await?
    {
        let text = |i: usize| batch.column(i).as_string::<i32>().clone();
        let (source, account, region) = (text(0), text(1), text(2));
        let events = batch.column(3).as_primitive::<Int64Type>();
        let newest = batch.column(4).as_primitive::<TimestampMicrosecondType>();
        for row in 0..batch.num_rows() {
            if newest.is_null(row) {
                continue;
            }
            let Some(time) = DateTime::from_timestamp_micros(newest.value(row)) else {
                continue;
            };
            sources.push((
                source.value(row).to_string(),
                account.value(row).to_string(),
                region.value(row).to_string(),
                events.value(row),
                time,
            ));
        }
    }
    let lake_newest = sources.iter().map(|s| s.4).max();
    let sources: Vec<SourceFreshness> = sources
        .into_iter()
        .map(|(source, account_id, region, events, time)| {
            let behind = lake_newest.map(|n| n - time).unwrap_or_default();
            SourceFreshness {
                source,
                account_id,
                region,
                events,
                newest_event: rfc3339(time),
                behind_hours: (behind.num_minutes() as f64 / 60.0 * 10.0).round() / 10.0,
                stale: behind > options.stale_after,
            }
        })
        .collect();

    // Silent hours in the last seven days of each source.
    let mut silent = Vec::new();
    if let Some(newest) = lake_newest {
        let from = newest - Duration::days(7);
        let sql = format!(
            "SELECT coalesce(source_kind, 'unknown'), coalesce(recipient_account_id, ''), coalesce(aws_region, ''), \
             CAST(date_trunc('hour', event_time) AS BIGINT) AS hour, count(*) AS events \
             FROM lake_events WHERE event_date >= '{}' AND event_time >= to_timestamp_micros({}) \
             GROUP BY 1, 2, 3, 4",
            from.format("%Y-%m-%d"),
            from.timestamp_micros()
        );
        let mut hours: BTreeMap<(String, String, String), BTreeMap<i64, i64>> = BTreeMap::new();
        for batch in session.query(&sql).await? {
            let text = |i: usize| batch.column(i).as_string::<i32>().clone();
            let (source, account, region) = (text(0), text(1), text(2));
            let hour = batch.column(3).as_primitive::<Int64Type>();
            let events = batch.column(4).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                hours
                    .entry((
                        source.value(row).to_string(),
                        account.value(row).to_string(),
                        region.value(row).to_string(),
                    ))
                    .or_default()
                    .insert(hour.value(row), events.value(row));
            }
        }
        const HOUR: i64 = 3_600_000_000;
        for ((source, account_id, region), counts) in hours {
            let mut busy: Vec<i64> = counts.values().copied().collect();
            busy.sort_unstable();
            let usual = busy[busy.len() / 2];
            if usual < options.min_hourly_events {
                continue;
            }
            let (first, last) = (
                *counts.keys().next().unwrap_or(&0),
                *counts.keys().next_back().unwrap_or(&0),
            );
            let mut hour = first;
            while hour <= last {
                if counts.contains_key(&hour) {
                    hour += HOUR;
                    continue;
                }
                let start = hour;
                while hour <= last && !counts.contains_key(&hour) {
                    hour += HOUR;
                }
                let time = |micros| {
                    DateTime::from_timestamp_micros(micros)
                        .map(rfc3339)
                        .unwrap_or_default()
                };
                silent.push(SilentHours {
                    source: source.clone(),
                    account_id: account_id.clone(),
                    region: region.clone(),
                    from: time(start),
                    to: time(hour),
                    hours: (hour - start) / HOUR,
                    usual_per_hour: usual,
                });
            }
        }
    }
    Ok(CoverageReport {
        snapshot_id: poolsight_inventory::tables::snapshot_id(&snapshot),
        snapshot_time: rfc3339(snapshot.taken_at),
        classes,
        deliveries,
        newest_event: lake_newest.map(rfc3339),
        sources,
        silent,
    })
}
