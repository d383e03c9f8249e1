//! The CloudWatch Logs source: one log group, read with `FilterLogEvents`
//! by event time.
//!
//! Each message is detected on its own: a CloudTrail record (a trail
//! delivering to the group), an EventBridge envelope whose `detail` is one,
//! or an API Gateway access log line carrying the Cognito identity — the
//! normalizer tells them apart. A message that is none of these is
//! quarantined with its stream and event id.
//!
//! The checkpoint is the newest event time collected (`high_water_ms`) and
//! the `(stream, event id)` of the events of the last `overlap_seconds`
//! (default an hour) before it. A run queries from `high_water_ms - overlap`
//! (events ingested late carry older timestamps) and skips the events
//! already collected by id, so many events sharing a millisecond are neither
//! lost nor repeated. **Guarantee**: an event is collected if it reaches the
//! group less than `overlap_seconds` after the newest event already
//! collected (CloudTrail delivers within minutes); anything read twice is
//! stored once.
//! Queries go oldest first in slices of a day that double while they come
//! back empty (up to 64 days), from the group's creation (minus the 14 days
//! events may be back-dated by) at the earliest; the checkpoint is saved
//! after the data is durable. `FilterLogEvents` is limited client-side (5 requests per
//! second per account and region, shared by every source of the run).

use std::collections::HashSet;

use aws_sdk_cloudwatchlogs::Client;
use globset::{Glob, GlobSetBuilder};
use poolsight_config::CloudWatchLogsSource;
use serde::{Deserialize, Serialize};

use crate::aws::{self, call_with_retries};
use crate::progress::SourceProgress;
use crate::sink::{OwnedRecord, Sink};
use crate::{CollectError, SourceContext, SourceReport};

/// Default overlap, seconds: an hour. CloudTrail delivers to CloudWatch
/// Logs within minutes, rarely later; each run reads the last hour before
/// its high-water mark again, and the lake's dedup absorbs what it already
/// has, so the overlap costs requests, never duplicates.
pub const DEFAULT_OVERLAP_SECONDS: u32 = 3600;
/// At most this many `(stream, event id)` of the overlap are remembered (the
/// newest); older repeats are skipped by the lake's dedup instead.
const MAX_REMEMBERED: usize = 50_000;
/// Data older than this before a query's end is taken as settled: a quiet
/// group's checkpoint still moves forward, while events ingested up to a
/// day late are found by the next run (CloudWatch Logs accepts events up to
/// 14 days old; a trail delivers within minutes).
const SETTLE_MS: i64 = 24 * 3600 * 1000;
const DAY_MS: i64 = 86_400_000;
/// Empty slices double up to this length.
const MAX_SLICE_MS: i64 = 64 * DAY_MS;
/// CloudWatch Logs accepts events up to 14 days older than their ingestion.
const BACKDATE_MS: i64 = 14 * DAY_MS;
/// `FilterLogEvents` takes at most 100 stream names.
const STREAM_NAMES_PER_QUERY: usize = 100;

/// The checkpoint of one log group source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LogsCheckpoint {
    /// Newest event time (ms) known collected.
    pub high_water_ms: Option<i64>,
    /// Events at or after `high_water_ms - overlap`: `(time ms, stream, event id)`.
    pub recent: Vec<(i64, String, String)>,
}

/// Stream names of the group that match `globs` (all listed streams when
/// empty globs are not used; see [`collect`]).
async fn matching_streams(
    context: &SourceContext,
    client: &Client,
    source: &CloudWatchLogsSource,
) -> Result<Vec<String>, CollectError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in &source.log_streams {
        builder
            .add(Glob::new(pattern).map_err(|e| {
                CollectError::Invalid(format!("log_streams glob {pattern:?}: {e}"))
            })?);
    }
    let globs = builder
        .build()
        .map_err(|e| CollectError::Invalid(format!("log_streams: {e}")))?;
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = call_with_retries(
            "logs:DescribeLogStreams",
            context.options.aws.max_attempts,
            || {
                client
                    .describe_log_streams()
                    .log_group_name(&source.log_group)
                    .set_log_stream_name_prefix(
                        Some(source.log_stream_prefix.clone()).filter(|p| !p.is_empty()),
                    )
                    .set_next_token(token.clone())
                    .send()
            },
        )
        .await?;
        for stream in page.log_streams() {
            if let Some(name) = stream.log_stream_name() {
                if globs.is_match(name) {
                    names.push(name.to_string());
                }
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(names)
}

/// When the group was created (ms), to bound a first run.
async fn group_creation_ms(
    context: &SourceContext,
    client: &Client,
    group: &str,
) -> Result<i64, CollectError> {
    let mut token: Option<String> = None;
    loop {
        let page = call_with_retries(
            "logs:DescribeLogGroups",
            context.options.aws.max_attempts,
            || {
                client
                    .describe_log_groups()
                    .log_group_name_prefix(group)
                    .set_next_token(token.clone())
                    .send()
            },
        )
        .await?;
        if let Some(found) = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(group))
        {
            return Ok(found.creation_time().unwrap_or(0));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Err(CollectError::Invalid(format!(
                "log group {group:?} does not exist in this account and region (check source.cloudwatch_logs.log_group and region)"
            )));
        }
    }
}

/// Collects the source.
pub async fn collect(
    context: &SourceContext,
    source: &CloudWatchLogsSource,
    sink: &mut Sink,
    report: &mut SourceReport,
) -> Result<(), CollectError> {
    let region = source
        .region
        .clone()
        .or_else(|| context.options.aws.region.clone())
        .unwrap_or_else(|| "default".into());
    let client = aws::logs_client(
        &context.sdk,
        &context.options.aws,
        source.region.as_deref(),
        &context.counter,
    );
    let limiter = context.limiters.get(
        &context.limiter_key("logs:FilterLogEvents", &region),
        context.options.filter_log_events_tps,
    );
    let window = context.window();
    let backfill = window.is_backfill();
    let overlap_ms = i64::from(source.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS)) * 1000;
    let mut checkpoint: LogsCheckpoint = if backfill {
        LogsCheckpoint::default()
    } else {
        context.checkpoints.load(&context.name)?
    };
    let created = group_creation_ms(context, &client, &source.log_group).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let (start, end) = if backfill {
        (
            // Nothing in a group is older than its creation minus the 14
            // days CloudWatch Logs accepts events back-dated by.
            window
                .from
                .map(|t| t.timestamp_millis())
                .unwrap_or(created - BACKDATE_MS)
                .max(created - BACKDATE_MS),
            window.to.map(|t| t.timestamp_millis()).unwrap_or(now),
        )
    } else {
        let start = checkpoint
            .high_water_ms
            .map(|h| h - overlap_ms)
            .unwrap_or(created - BACKDATE_MS);
        (start.max(0), now)
    };
    let stream_sets: Vec<Option<Vec<String>>> = if source.log_streams.is_empty() {
        vec![None]
    } else {
        let names = matching_streams(context, &client, source).await?;
        if names.is_empty() {
            tracing::warn!(source = %context.name, globs = ?source.log_streams, "no stream matches log_streams");
            return Ok(());
        }
        report.streams = names.len() as u64;
        names
            .chunks(STREAM_NAMES_PER_QUERY)
            .map(|c| Some(c.to_vec()))
            .collect()
    };
    if report.streams == 0 {
        report.streams = 1;
    }
    let known: HashSet<(String, String)> = checkpoint
        .recent
        .iter()
        .map(|(_, stream, id)| (stream.clone(), id.clone()))
        .collect();
    let uri = format!("cloudwatch-logs://{region}/{}", source.log_group);
    // Slices start a day long and double while they come back empty (to
    // 64 days), so years without data cost a handful of requests, not one
    // per day; a slice with data sets the length back to a day.
    let mut slice_start = start;
    let mut slice_length = DAY_MS;
    while slice_start <= end {
        let slice_end = (slice_start.saturating_add(slice_length - 1)).min(end);
        let is_last = slice_end >= end;
        let mut newest_seen: Option<i64> = None;
        let mut fresh: Vec<(i64, String, String)> = Vec::new();
        for streams in &stream_sets {
            let mut token: Option<String> = None;
            loop {
                limiter.acquire().await;
                let page = call_with_retries(
                    "logs:FilterLogEvents",
                    context.options.aws.max_attempts,
                    || {
                        let mut request = client
                            .filter_log_events()
                            .log_group_name(&source.log_group)
                            .start_time(slice_start)
                            .end_time(slice_end)
                            .set_next_token(token.clone());
                        request = match streams {
                            Some(names) => request.set_log_stream_names(Some(names.clone())),
                            None if !source.log_stream_prefix.is_empty() => {
                                request.log_stream_name_prefix(&source.log_stream_prefix)
                            }
                            None => request,
                        };
                        request.send()
                    },
                )
                .await?;
                SourceProgress::add(&context.progress.objects, 1);
                let mut batch = Vec::with_capacity(page.events().len());
                for event in page.events() {
                    let (Some(message), Some(time)) = (event.message(), event.timestamp()) else {
                        continue;
                    };
                    let stream = event.log_stream_name().unwrap_or_default().to_string();
                    // The service filters by prefix; emulators may not
                    // (moto ignores logStreamNamePrefix), so check again.
                    if !stream.starts_with(&source.log_stream_prefix) {
                        continue;
                    }
                    let id = event.event_id().unwrap_or_default().to_string();
                    SourceProgress::add(&context.progress.bytes, message.len() as u64);
                    if !backfill && known.contains(&(stream.clone(), id.clone())) {
                        report.already_collected += 1;
                        continue;
                    }
                    newest_seen = Some(newest_seen.map_or(time, |n| n.max(time)));
                    batch.push(OwnedRecord {
                        text: message.to_string(),
                        format: "cloudwatch_logs",
                        position: format!("stream {stream}, event {id}"),
                        fallback_time: Some(time.saturating_mul(1000)),
                    });
                    fresh.push((time, stream, id));
                }
                sink.records(batch, uri.clone()).await?;
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        let next_length = if newest_seen.is_some() {
            DAY_MS
        } else {
            (slice_length * 2).min(MAX_SLICE_MS)
        };
        let this_end = slice_end;
        slice_start = slice_end + 1;
        slice_length = next_length;
        if backfill {
            continue;
        }
        let slice_end = this_end;
        // The slice is read; move the checkpoint once it is durable.
        let settled = slice_end.min(now - SETTLE_MS);
        let high = [checkpoint.high_water_ms, newest_seen, Some(settled)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(settled);
        checkpoint.recent.extend(fresh);
        checkpoint
            .recent
            .retain(|(time, _, _)| *time >= high - overlap_ms);
        checkpoint.recent.sort();
        checkpoint.recent.dedup();
        let excess = checkpoint.recent.len().saturating_sub(MAX_REMEMBERED);
        checkpoint.recent.drain(..excess);
        let changed = checkpoint.high_water_ms != Some(high) || sink.pending_records() > 0;
        checkpoint.high_water_ms = Some(high);
        if changed && (is_last || sink.pending_records() >= context.options.flush_every_records) {
            sink.flush().await?;
            context.checkpoints.save(&context.name, &checkpoint)?;
        }
    }
    if !backfill {
        // Slices without new data may have moved the high-water mark.
        sink.flush().await?;
        context.checkpoints.save(&context.name, &checkpoint)?;
    }
    Ok(())
}
