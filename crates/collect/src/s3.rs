//! The S3 source: CloudTrail log files in a bucket, in the delivery layout
//! `<prefix>AWSLogs/[o-<org>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz`.
//!
//! - Accounts and regions are discovered (delimiter listings) unless the
//!   config names them; organization trails (`o-<org>/`) and plain trails
//!   both work, side by side.
//! - Each `(account, region)` prefix has its own checkpoint: the last key
//!   collected, and the keys of the last `lookback_minutes` (a file
//!   delivered late can sort before the last key; listing starts
//!   `lookback_minutes` before it and skips the keys already collected by
//!   name). A re-run with nothing new lists once per prefix and downloads
//!   nothing.
//! - `CloudTrail-Digest/` is never read. `CloudTrail-Insight/` files are
//!   Insights summaries, not API calls: collected like trail files (their
//!   own checkpoint), their events land in the `insights` table, never in
//!   `events`. No path is ever built from a key.
//! - `--from/--to` list the files delivered in the window (to + 1 hour:
//!   delivery lags the events) and leave the checkpoints alone.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::Client;
use chrono::{Duration as ChronoDuration, NaiveDateTime};
use futures::StreamExt;
use poolsight_config::S3Source;
use serde::{Deserialize, Serialize};

use crate::aws::{self, call_with_retries};
use crate::progress::SourceProgress;
use crate::sink::{Payload, Sink};
use crate::{CollectError, SourceContext, SourceReport};

/// Minutes of keys listed again before the last one (default).
pub const DEFAULT_LOOKBACK_MINUTES: u32 = 60;

/// The checkpoint of one S3 source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct S3Checkpoint {
    /// By `(account, region)` prefix, `…/CloudTrail/<region>/` or
    /// `…/CloudTrail-Insight/<region>/`.
    pub prefixes: BTreeMap<String, PrefixState>,
}

/// Where one prefix stopped.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PrefixState {
    /// The greatest key collected.
    pub last_key: Option<String>,
    /// Keys collected within the lookback before `last_key`.
    pub recent_keys: BTreeSet<String>,
}

/// One `(account, region)` listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailPrefix {
    pub account: String,
    pub region: String,
    /// `…/CloudTrail/<region>/`.
    pub prefix: String,
    /// An Insights prefix (`CloudTrail-Insight`).
    pub insight: bool,
}

/// The delivery time in a trail file's name, and the name up to it
/// (`<account>_CloudTrail_<region>_`).
pub fn delivery_time(key: &str) -> Option<(&str, NaiveDateTime)> {
    let name = key.rsplit('/').next()?;
    let mut offset = 0;
    for part in name.split('_') {
        if part.len() == 14 && part.as_bytes()[8] == b'T' && part.ends_with('Z') {
            if let Ok(time) = NaiveDateTime::parse_from_str(part, "%Y%m%dT%H%MZ") {
                return Some((&name[..offset], time));
            }
        }
        offset += part.len() + 1;
    }
    None
}

/// The key to start listing after, `lookback` before `last_key`.
pub fn start_after(prefix: &str, last_key: &str, lookback: ChronoDuration) -> String {
    match delivery_time(last_key) {
        Some((stem, time)) => {
            let from = time - lookback;
            format!(
                "{prefix}{}{stem}{}",
                from.format("%Y/%m/%d/"),
                from.format("%Y%m%dT%H%MZ")
            )
        }
        None => last_key.to_string(),
    }
}

impl PrefixState {
    /// Records `key` as collected, then forgets keys older than the lookback.
    fn collected(&mut self, key: &str) {
        if self.last_key.as_deref().is_none_or(|last| key > last) {
            self.last_key = Some(key.to_string());
        }
        self.recent_keys.insert(key.to_string());
    }

    fn prune(&mut self, lookback: ChronoDuration) {
        let Some(newest) = self
            .last_key
            .as_deref()
            .and_then(delivery_time)
            .map(|(_, t)| t)
        else {
            return;
        };
        let horizon = newest - lookback;
        let last = self.last_key.clone();
        self.recent_keys.retain(|key| {
            Some(key) == last.as_ref()
                || delivery_time(key).is_some_and(|(_, time)| time >= horizon)
        });
    }
}

fn with_slash(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

fn is_account(segment: &str) -> bool {
    segment.len() == 12 && segment.bytes().all(|b| b.is_ascii_digit())
}

/// The "folders" right under `prefix`.
async fn list_folders(
    context: &SourceContext,
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, CollectError> {
    let mut folders = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = call_with_retries("s3:ListObjectsV2", context.options.aws.max_attempts, || {
            client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .delimiter("/")
                .set_continuation_token(token.clone())
                .send()
        })
        .await?;
        for common in page.common_prefixes() {
            if let Some(p) = common.prefix() {
                folders.push(p.to_string());
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if token.is_none() || page.is_truncated() != Some(true) {
            break;
        }
    }
    Ok(folders)
}

fn last_segment(folder: &str) -> &str {
    folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// Finds the `(account, region)` prefixes of the source.
pub async fn discover(
    context: &SourceContext,
    client: &Client,
    source: &S3Source,
) -> Result<Vec<TrailPrefix>, CollectError> {
    let root = format!("{}AWSLogs/", with_slash(&source.prefix));
    let mut account_folders = Vec::new();
    for folder in list_folders(context, client, &source.bucket, &root).await? {
        let segment = last_segment(&folder);
        if is_account(segment) {
            account_folders.push(folder);
        } else if segment.starts_with("o-") {
            for inner in list_folders(context, client, &source.bucket, &folder).await? {
                if is_account(last_segment(&inner)) {
                    account_folders.push(inner);
                }
            }
        }
    }
    if account_folders.is_empty() {
        tracing::warn!(source = %context.name, bucket = %source.bucket, prefix = %root, "no AWSLogs/<account>/ folders found");
    }
    let mut prefixes = Vec::new();
    for folder in account_folders {
        let account = last_segment(&folder).to_string();
        if !source.accounts.is_empty() && !source.accounts.contains(&account) {
            continue;
        }
        for (kind, insight) in [("CloudTrail/", false), ("CloudTrail-Insight/", true)] {
            let base = format!("{folder}{kind}");
            for region_folder in list_folders(context, client, &source.bucket, &base).await? {
                let region = last_segment(&region_folder).to_string();
                if !source.regions.is_empty() && !source.regions.contains(&region) {
                    continue;
                }
                prefixes.push(TrailPrefix {
                    account: account.clone(),
                    region,
                    prefix: region_folder,
                    insight,
                });
            }
        }
    }
    for account in &source.accounts {
        if !prefixes.iter().any(|p| &p.account == account) {
            tracing::warn!(source = %context.name, account, "configured account has no trail files in the bucket");
        }
    }
    Ok(prefixes)
}

/// Objects up to this size are downloaded into memory; larger ones are
/// spooled to a temporary file (downloads run several at a time).
const SPOOL_ABOVE_BYTES: i64 = 8 << 20;

/// What downloading one object gave.
enum Fetched {
    Payload(Payload),
    /// It vanished between listing and reading.
    Vanished,
    /// A permanent error (KMS `AccessDenied`, `InvalidObjectState` for an
    /// archived object, …): retrying will not help, the source moves past it.
    Unreadable(String),
}

/// Downloads one object. Transient errors and responses cut off mid-body
/// are retried; permanent errors are returned as [`Fetched::Unreadable`].
async fn download(
    context: &SourceContext,
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Fetched, CollectError> {
    let attempts = context.options.aws.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match client.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => match read_body(context, output).await {
                Ok(payload) => return Ok(Fetched::Payload(payload)),
                Err(error) => format!("reading the body: {error}"),
            },
            Err(error) => {
                if error.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    tracing::warn!(bucket, key, "object vanished after listing; skipped");
                    return Ok(Fetched::Vanished);
                }
                if !aws::is_transient(&error) {
                    return Ok(Fetched::Unreadable(aws::describe(&error)));
                }
                aws::describe(&error)
            }
        };
        if attempt >= attempts {
            return Err(CollectError::Aws {
                operation: format!("s3:GetObject s3://{bucket}/{key}"),
                code: None,
                message: format!("{error} (after {attempt} attempts)"),
            });
        }
        tracing::warn!(bucket, key, attempt, error = %error, "download failed; retrying");
        tokio::time::sleep(aws::backoff(attempt)).await;
    }
}

/// The body of a GetObject response, in memory or spooled to disk.
async fn read_body(
    context: &SourceContext,
    mut output: aws_sdk_s3::operation::get_object::GetObjectOutput,
) -> Result<Payload, String> {
    if output.content_length().unwrap_or(0) <= SPOOL_ABOVE_BYTES {
        return match output.body.collect().await {
            Ok(data) => Ok(Payload::Memory(data.into_bytes().to_vec())),
            Err(error) => Err(error.to_string()),
        };
    }
    let dir = context.lake.state_dir().join("spool");
    let spooled = tokio::task::spawn_blocking(move || {
        // The lake's own folder helper: private (0700) like every folder of it.
        poolsight_lake::fsio::create_dir_durable(&dir).map_err(|e| e.to_string())?;
        tempfile::Builder::new()
            .prefix(".object-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| format!("spool file: {e}"))
    })
    .await
    .map_err(|e| e.to_string())??;
    let (file, path) = spooled.into_parts();
    let mut file = tokio::fs::File::from_std(file);
    while let Some(chunk) = output.body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
            .await
            .map_err(|e| format!("spool file {}: {e}", path.display()))?;
    }
    tokio::io::AsyncWriteExt::flush(&mut file)
        .await
        .map_err(|e| format!("spool file {}: {e}", path.display()))?;
    Ok(Payload::Spooled(path))
}

fn is_trail_file(key: &str) -> bool {
    (key.ends_with(".json.gz") || key.ends_with(".json")) && !key.contains("CloudTrail-Digest")
}

/// Collects the source.
pub async fn collect(
    context: &SourceContext,
    source: &S3Source,
    sink: &mut Sink,
    report: &mut SourceReport,
) -> Result<(), CollectError> {
    let client = aws::s3_client(
        &context.sdk,
        &context.options.aws,
        source.region.as_deref(),
        &context.counter,
    );
    let prefixes = discover(context, &client, source).await?;
    report.streams = prefixes.len() as u64;
    let backfill = context.window().is_backfill();
    let mut checkpoint: S3Checkpoint = if backfill {
        S3Checkpoint::default()
    } else {
        context.checkpoints.load(&context.name)?
    };
    let lookback = ChronoDuration::minutes(i64::from(
        source.lookback_minutes.unwrap_or(DEFAULT_LOOKBACK_MINUTES),
    ));
    for trail in &prefixes {
        let before = checkpoint
            .prefixes
            .get(&trail.prefix)
            .cloned()
            .unwrap_or_default();
        let mut state = before.clone();
        let mut save = |state: &PrefixState| -> Result<(), CollectError> {
            if backfill {
                return Ok(());
            }
            checkpoint
                .prefixes
                .insert(trail.prefix.clone(), state.clone());
            context.checkpoints.save(&context.name, &checkpoint)
        };
        collect_prefix(
            context, &client, source, trail, &mut state, lookback, sink, report, &mut save,
        )
        .await?;
        if state != before {
            sink.flush().await?;
            save(&state)?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn collect_prefix(
    context: &SourceContext,
    client: &Client,
    source: &S3Source,
    trail: &TrailPrefix,
    state: &mut PrefixState,
    lookback: ChronoDuration,
    sink: &mut Sink,
    report: &mut SourceReport,
    save: &mut impl FnMut(&PrefixState) -> Result<(), CollectError>,
) -> Result<(), CollectError> {
    let window = context.window();
    let backfill = window.is_backfill();
    let (start, end) = if backfill {
        let from = window.from.map(|t| t.naive_utc());
        let to = window.to.map(|t| t.naive_utc() + ChronoDuration::hours(1));
        let start = from.map(|t| format!("{}{}", trail.prefix, t.format("%Y/%m/%d")));
        (start, to)
    } else {
        let start = state
            .last_key
            .as_deref()
            .map(|last| start_after(&trail.prefix, last, lookback));
        (start, None)
    };
    tracing::debug!(source = %context.name, prefix = %trail.prefix, start_after = ?start, "listing");
    let mut token: Option<String> = None;
    loop {
        let page = call_with_retries("s3:ListObjectsV2", context.options.aws.max_attempts, || {
            client
                .list_objects_v2()
                .bucket(&source.bucket)
                .prefix(&trail.prefix)
                .set_start_after(if token.is_none() { start.clone() } else { None })
                .set_continuation_token(token.clone())
                .send()
        })
        .await?;
        let mut wanted = Vec::new();
        let mut past_end = false;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            if !is_trail_file(key) {
                report.skipped += 1;
                continue;
            }
            if backfill {
                let time = delivery_time(key).map(|(_, t)| t);
                if let (Some(time), Some(from)) = (time, window.from) {
                    if time < from.naive_utc() - ChronoDuration::minutes(5) {
                        continue;
                    }
                }
                if let (Some(time), Some(end)) = (time, end) {
                    if time > end {
                        past_end = true;
                        break;
                    }
                }
            } else if state.recent_keys.contains(key) {
                report.already_collected += 1;
                continue;
            }
            wanted.push(key.to_string());
        }
        let downloads = futures::stream::iter(wanted.iter().cloned().map(|key| {
            let client = client.clone();
            async move {
                let bytes = download(context, &client, &source.bucket, &key).await;
                (key, bytes)
            }
        }))
        .buffered(context.options.concurrency.max(1));
        futures::pin_mut!(downloads);
        while let Some((key, bytes)) = downloads.next().await {
            let uri = format!("s3://{}/{key}", source.bucket);
            let payload = match bytes? {
                Fetched::Payload(payload) => payload,
                Fetched::Vanished => continue,
                Fetched::Unreadable(reason) => {
                    sink.object_failed(
                        &uri,
                        "unreadable_object",
                        format!("s3:GetObject failed and retrying will not help: {reason}; the source moved past it (fix the cause, then collect it with --from/--to)"),
                    )?;
                    report.objects_failed += 1;
                    state.collected(&key);
                    continue;
                }
            };
            SourceProgress::add(&context.progress.objects, 1);
            // Trail files and Insights files alike: the pipeline puts
            // Insights events (`AwsCloudTrailInsight`) in the `insights` table.
            SourceProgress::add(&context.progress.bytes, payload.len());
            sink.payload(payload, uri).await?;
            state.collected(&key);
            // Keys are handed over in key order, so the checkpoint can move
            // after any object once what it covers is durable.
            if !backfill && sink.pending_records() >= context.options.flush_every_records {
                state.prune(lookback);
                sink.flush().await?;
                save(state)?;
            }
        }
        token = page.next_continuation_token().map(str::to_string);
        if past_end || token.is_none() || page.is_truncated() != Some(true) {
            break;
        }
    }
    state.prune(lookback);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/11/27/111122223333_CloudTrail_us-east-1_20261127T0005Z_Ab12Cd34.json.gz";

    #[test]
    fn delivery_time_from_the_file_name() {
        let (stem, time) = delivery_time(KEY).unwrap();
        assert_eq!(stem, "111122223333_CloudTrail_us-east-1_");
        assert_eq!(time.to_string(), "2026-11-27 00:05:00");
        assert!(delivery_time("AWSLogs/x/readme.txt").is_none());
    }

    #[test]
    fn listing_restarts_a_lookback_before_the_last_key_even_across_midnight() {
        let prefix = "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/";
        let start = start_after(prefix, KEY, ChronoDuration::minutes(60));
        assert_eq!(
            start,
            "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T2305Z"
        );
        assert!(start.as_str() < KEY);
        // A late file of 23:50 the day before sorts after the start.
        let late = "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T2350Z_Zz.json.gz";
        assert!(late > start.as_str() && late < KEY);
    }

    #[test]
    fn recent_keys_keep_only_the_lookback() {
        let mut state = PrefixState::default();
        let lookback = ChronoDuration::minutes(30);
        let key = |hhmm: &str| format!("p/2026/11/27/1_CloudTrail_r_20261127T{hhmm}Z_x.json.gz");
        for hhmm in ["0000", "0030", "0045", "0100"] {
            state.collected(&key(hhmm));
        }
        state.prune(lookback);
        assert_eq!(state.last_key.as_deref(), Some(key("0100").as_str()));
        let kept: Vec<&String> = state.recent_keys.iter().collect();
        assert_eq!(kept, vec![&key("0030"), &key("0045"), &key("0100")]);
    }
}
