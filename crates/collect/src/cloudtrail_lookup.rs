//! The LookupEvents source: management events of the last 90 days, per
//! region, through CloudTrail's `LookupEvents` (no trail needed).
//!
//! The checkpoint per region is the newest event time collected and the
//! ids of the events of the last `overlap_minutes` (default 60) before it:
//! LookupEvents shows events up to ~15 minutes after they happen, so each
//! run reads the overlap again and skips what it already has by event id.
//! **Guarantee**: an event that becomes visible less than `overlap_minutes`
//! after the newest event already collected is collected; repeats are
//! stored once. Queries go week
//! by week, oldest first, 50 events a page, at most 2 requests per second per
//! account and region (client-side, shared by every source of the run);
//! `ThrottlingException` is retried with backoff.

use std::collections::BTreeMap;

use aws_sdk_cloudtrail::primitives::DateTime as SmithyDateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use poolsight_config::CloudTrailLookupSource;
use serde::{Deserialize, Serialize};

use crate::aws::{self, call_with_retries};
use crate::progress::SourceProgress;
use crate::sink::{OwnedRecord, Sink};
use crate::{slices, CollectError, SourceContext, SourceReport};

/// Default overlap, minutes: an hour (LookupEvents shows an event up to
/// ~15 minutes after it happens, sometimes later; repeats cost nothing, the
/// lake's dedup stores an event once).
pub const DEFAULT_OVERLAP_MINUTES: u32 = 60;
const DAY_MS: i64 = 86_400_000;
/// LookupEvents keeps 90 days.
const HORIZON_MS: i64 = 90 * DAY_MS;
/// Data older than this before a query's end is taken as settled (a quiet
/// region's checkpoint still moves forward).
const SETTLE_MS: i64 = 3600 * 1000;
/// A first run reads 90 days in 13 week-long queries (oldest first), each
/// followed by a checkpoint, so an interrupted first run resumes.
const SLICE_MS: i64 = 7 * DAY_MS;

/// The checkpoint of one LookupEvents source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LookupCheckpoint {
    pub regions: BTreeMap<String, RegionState>,
}

/// Where one region stopped.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RegionState {
    pub high_water_ms: Option<i64>,
    /// Event id → event time (ms), for the overlap.
    pub recent_ids: BTreeMap<String, i64>,
}

/// Collects the source.
pub async fn collect(
    context: &SourceContext,
    source: &CloudTrailLookupSource,
    sink: &mut Sink,
    report: &mut SourceReport,
) -> Result<(), CollectError> {
    let window = context.window();
    let backfill = window.is_backfill();
    let overlap_ms =
        i64::from(source.overlap_minutes.unwrap_or(DEFAULT_OVERLAP_MINUTES)) * 60 * 1000;
    let mut checkpoint: LookupCheckpoint = if backfill {
        LookupCheckpoint::default()
    } else {
        context.checkpoints.load(&context.name)?
    };
    let attribute = match &source.lookup_attribute {
        None => None,
        Some(a) => Some(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::from(a.key.as_str()))
                .attribute_value(&a.value)
                .build()
                .map_err(|e| CollectError::Invalid(format!("lookup_attribute: {e}")))?,
        ),
    };
    report.streams = source.regions.len() as u64;
    let now = chrono::Utc::now().timestamp_millis();
    let horizon = now - HORIZON_MS;
    for region in &source.regions {
        let client = aws::cloudtrail_client(
            &context.sdk,
            &context.options.aws,
            Some(region),
            &context.counter,
        );
        let limiter = context.limiters.get(
            &context.limiter_key("cloudtrail:LookupEvents", region),
            context.options.lookup_events_tps,
        );
        let mut state = checkpoint.regions.remove(region).unwrap_or_default();
        let (start, end) = if backfill {
            (
                window
                    .from
                    .map(|t| t.timestamp_millis())
                    .unwrap_or(horizon)
                    .max(horizon),
                window.to.map(|t| t.timestamp_millis()).unwrap_or(now),
            )
        } else {
            let start = state
                .high_water_ms
                .map(|h| h - overlap_ms)
                .unwrap_or(horizon);
            (start.max(horizon), now)
        };
        let uri = format!("cloudtrail-lookup://{region}");
        let slice_list = slices(start, end, SLICE_MS);
        let last_slice = slice_list.len().saturating_sub(1);
        for (index, (slice_start, slice_end)) in slice_list.into_iter().enumerate() {
            let mut newest_seen: Option<i64> = None;
            let mut fresh: Vec<(String, i64)> = Vec::new();
            let mut token: Option<String> = None;
            let mut page_number = 0u64;
            loop {
                limiter.acquire().await;
                let page = call_with_retries(
                    "cloudtrail:LookupEvents",
                    context.options.aws.max_attempts,
                    || {
                        client
                            .lookup_events()
                            .start_time(SmithyDateTime::from_millis(slice_start))
                            .end_time(SmithyDateTime::from_millis(slice_end))
                            .set_lookup_attributes(attribute.clone().map(|a| vec![a]))
                            .max_results(50)
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await?;
                page_number += 1;
                SourceProgress::add(&context.progress.objects, 1);
                let mut batch = Vec::new();
                for (position, event) in page.events().iter().enumerate() {
                    let Some(record) = event.cloud_trail_event() else {
                        continue;
                    };
                    SourceProgress::add(&context.progress.bytes, record.len() as u64);
                    let id = event.event_id().unwrap_or_default().to_string();
                    let time = event
                        .event_time()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or(slice_start);
                    if !backfill && state.recent_ids.contains_key(&id) {
                        report.already_collected += 1;
                        continue;
                    }
                    newest_seen = Some(newest_seen.map_or(time, |n| n.max(time)));
                    batch.push(OwnedRecord {
                        text: record.to_string(),
                        format: "lookup_events",
                        position: format!("page {page_number}, Events[{position}]"),
                        fallback_time: None,
                    });
                    fresh.push((id, time));
                }
                sink.records(batch, uri.clone()).await?;
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            if backfill {
                continue;
            }
            let settled = slice_end.min(now - SETTLE_MS);
            let high = [state.high_water_ms, newest_seen, Some(settled)]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(settled);
            state.recent_ids.extend(fresh);
            state
                .recent_ids
                .retain(|_, time| *time >= high - overlap_ms);
            state.high_water_ms = Some(high);
            if index == last_slice || sink.pending_records() >= context.options.flush_every_records
            {
                sink.flush().await?;
                checkpoint.regions.insert(region.clone(), state.clone());
                context.checkpoints.save(&context.name, &checkpoint)?;
            }
        }
        checkpoint.regions.insert(region.clone(), state);
    }
    Ok(())
}
