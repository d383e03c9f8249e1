//! Trails seen from one region: `DescribeTrails` (shadow trails of
//! multi-region and organization trails included), then per trail
//! `GetTrailStatus` and `GetEventSelectors` (basic or advanced), asked of
//! the trail's home region.

use futures::stream::{self, StreamExt};
use poolsight_inventory::snapshot::{
    AdvancedEventSelector, DataResource, EventSelector, EventSelectors, FieldSelector, Trail,
};

use super::AccountCalls;
use crate::aws;

pub(super) async fn read_trails(calls: &AccountCalls, region: &str) -> Vec<Trail> {
    let client = aws::cloudtrail_client(&calls.sdk, &calls.settings, Some(region), &calls.counter);
    let Some(described) = calls
        .call(
            "cloudtrail",
            Some(region),
            "cloudtrail:DescribeTrails",
            None,
            || client.describe_trails().include_shadow_trails(true).send(),
        )
        .await
    else {
        return Vec::new();
    };
    let trails: Vec<Trail> = described
        .trail_list()
        .iter()
        .map(|t| Trail {
            name: t.name().unwrap_or_default().to_string(),
            trail_arn: t.trail_arn().unwrap_or_default().to_string(),
            home_region: t.home_region().unwrap_or(region).to_string(),
            is_multi_region_trail: t.is_multi_region_trail().unwrap_or(false),
            is_organization_trail: t.is_organization_trail().unwrap_or(false),
            s3_bucket_name: t.s3_bucket_name().map(str::to_string),
            s3_key_prefix: t.s3_key_prefix().map(str::to_string),
            cloud_watch_logs_log_group_arn: t.cloud_watch_logs_log_group_arn().map(str::to_string),
            ..Trail::default()
        })
        .collect();
    stream::iter(trails)
        .map(|trail| read_trail(calls, trail))
        .buffered(calls.concurrency)
        .collect()
        .await
}

async fn read_trail(calls: &AccountCalls, mut trail: Trail) -> Trail {
    let home = trail.home_region.clone();
    let client = aws::cloudtrail_client(&calls.sdk, &calls.settings, Some(&home), &calls.counter);
    let arn = trail.trail_arn.clone();
    if let Some(status) = calls
        .call(
            "cloudtrail",
            Some(&home),
            "cloudtrail:GetTrailStatus",
            Some(&arn),
            || client.get_trail_status().name(&arn).send(),
        )
        .await
    {
        trail.is_logging = status.is_logging();
        trail.latest_delivery_time = status.latest_delivery_time().map(|t| t.to_string());
        trail.latest_delivery_error = status.latest_delivery_error().map(str::to_string);
    }
    trail.selectors = calls
        .call(
            "cloudtrail",
            Some(&home),
            "cloudtrail:GetEventSelectors",
            Some(&arn),
            || client.get_event_selectors().trail_name(&arn).send(),
        )
        .await
        .map(|got| EventSelectors {
            event_selectors: got
                .event_selectors()
                .iter()
                .map(|s| EventSelector {
                    read_write_type: s.read_write_type().map(|r| r.as_str().to_string()),
                    include_management_events: s.include_management_events().unwrap_or(true),
                    data_resources: s
                        .data_resources()
                        .iter()
                        .map(|r| DataResource {
                            resource_type: r.r#type().unwrap_or_default().to_string(),
                            values: r.values().to_vec(),
                        })
                        .collect(),
                    exclude_management_event_sources: s.exclude_management_event_sources().to_vec(),
                })
                .collect(),
            advanced_event_selectors: got
                .advanced_event_selectors()
                .iter()
                .map(|s| AdvancedEventSelector {
                    name: s.name().map(str::to_string),
                    field_selectors: s
                        .field_selectors()
                        .iter()
                        .map(|f| FieldSelector {
                            field: f.field().to_string(),
                            equals: f.equals().to_vec(),
                            starts_with: f.starts_with().to_vec(),
                            ends_with: f.ends_with().to_vec(),
                            not_equals: f.not_equals().to_vec(),
                            not_starts_with: f.not_starts_with().to_vec(),
                            not_ends_with: f.not_ends_with().to_vec(),
                        })
                        .collect(),
                })
                .collect(),
        });
    trail
}
