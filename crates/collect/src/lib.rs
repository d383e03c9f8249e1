//! Collectors: pull CloudTrail records from AWS into the lake, incrementally.
//!
//! Three sources, each in its own module with its config, checkpoint and
//! tests side by side:
//! - [`s3`]: trail log files in a bucket (`AWSLogs/[o-org/]<account>/CloudTrail/<region>/…`),
//!   by key order from a checkpoint per account and region;
//! - [`cloudwatch_logs`]: a log group (a trail's, EventBridge deliveries,
//!   API Gateway access logs), by event time with the ids seen at the edge;
//! - [`cloudtrail_lookup`]: `LookupEvents` per region, by event time with
//!   an overlap window.
//!
//! Every source writes through the ingest pipeline (normalize → dedup →
//! Parquet), flushes it, and only then saves its checkpoint
//! ([`checkpoint`]). Requests go through the SDK's retries and a
//! client-side rate limiter ([`limiter`]); a source that keeps failing is
//! reported and the others go on.

pub mod aws;
pub mod checkpoint;
pub mod cloudtrail_lookup;
pub mod cloudwatch_logs;
pub mod inventory;
pub mod limiter;
pub mod progress;
pub mod s3;
pub mod sink;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use poolsight_config::Config;
use poolsight_ingest::{IngestError, Pipeline};
use serde::Serialize;

pub use aws::AwsSettings;
pub use progress::SourceProgress;

use crate::aws::RequestCounter;
use crate::checkpoint::CheckpointStore;
use crate::limiter::Limiters;
use crate::sink::Sink;

/// Errors of a source (the run reports them per source and goes on).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{operation}: {message}")]
    Aws {
        operation: String,
        /// The service's error code (`AccessDenied`, `ThrottlingException`), when it sent one.
        code: Option<String>,
        message: String,
    },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("an ingest worker panicked")]
    WorkerPanicked,
    #[error("{0}")]
    Invalid(String),
}

/// A time window for backfills: with either end set, sources read the
/// window and leave their checkpoints alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Window {
    pub fn is_backfill(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }
}

/// How a collection run behaves.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    pub aws: AwsSettings,
    pub window: Window,
    /// Only the sources with these names (empty: all).
    pub only: Vec<String>,
    /// S3 objects downloaded at once per source.
    pub concurrency: usize,
    /// Pipeline workers per source.
    pub workers_per_source: usize,
    pub filter_log_events_tps: f64,
    pub lookup_events_tps: f64,
    /// A source flushes and saves its checkpoint at least every this many
    /// records (and at the end).
    pub flush_every_records: u64,
}

impl CollectOptions {
    /// The options a config file asks for.
    pub fn from_config(config: &Config) -> Self {
        let collect = &config.collect;
        Self {
            aws: AwsSettings::from_config(config, collect.max_attempts.unwrap_or(6)),
            window: Window::default(),
            only: Vec::new(),
            concurrency: collect.concurrency.unwrap_or(8),
            workers_per_source: config.ingest.workers.unwrap_or(2).clamp(1, 4),
            filter_log_events_tps: collect.filter_log_events_tps.unwrap_or(5.0),
            lookup_events_tps: collect.lookup_events_tps.unwrap_or(2.0),
            flush_every_records: collect.checkpoint_every_records.unwrap_or(250_000).max(1),
        }
    }
}

/// What one source did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub kind: &'static str,
    /// `ok` or `failed`.
    pub status: &'static str,
    pub error: Option<String>,
    /// Objects (S3) or pages (CloudWatch Logs, LookupEvents) read.
    pub objects: u64,
    pub bytes: u64,
    pub records: u64,
    pub written: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    /// Objects or events skipped because an earlier run collected them.
    pub already_collected: u64,
    /// Objects skipped on purpose (digests, names that are not trail files).
    pub skipped: u64,
    /// Objects that could not be read or stored (quarantined with the reason:
    /// a permanent download error); the source moved past them.
    pub objects_failed: u64,
    pub requests: u64,
    pub seconds: f64,
    /// Checkpoint keys (account/region prefixes, regions, the group) covered.
    pub streams: u64,
}

/// The configured sources of one run.
pub struct Collector {
    config: Config,
    options: CollectOptions,
    specs: Vec<SourceSpec>,
}

#[derive(Clone)]
enum SourceKind {
    S3(poolsight_config::S3Source),
    CloudWatchLogs(poolsight_config::CloudWatchLogsSource),
    Lookup(poolsight_config::CloudTrailLookupSource),
}

struct SourceSpec {
    name: String,
    kind: SourceKind,
    progress: Arc<SourceProgress>,
}

/// What a source needs from the run.
pub struct SourceContext {
    pub name: String,
    pub sdk: aws_config::SdkConfig,
    pub options: CollectOptions,
    pub checkpoints: CheckpointStore,
    pub lake: poolsight_lake::Lake,
    pub limiters: Arc<Limiters>,
    pub counter: RequestCounter,
    pub progress: Arc<SourceProgress>,
}

impl SourceContext {
    fn window(&self) -> Window {
        self.options.window
    }

    /// The limiter key of an operation: quotas are per account and region,
    /// and one profile (or the default chain) is one account.
    fn limiter_key(&self, operation: &str, region: &str) -> String {
        format!(
            "{operation}:{}:{}:{region}",
            self.options.aws.profile.as_deref().unwrap_or("default"),
            self.options.aws.endpoint_url.as_deref().unwrap_or("aws")
        )
    }
}

impl Collector {
    /// The sources of `config` (only those named in `options.only`, when set).
    pub fn new(config: &Config, options: CollectOptions) -> Result<Self, CollectError> {
        let mut specs = Vec::new();
        let sources = &config.source;
        let kinds = sources
            .s3
            .iter()
            .map(|s| (s.display_name(), SourceKind::S3(s.clone())))
            .chain(
                sources
                    .cloudwatch_logs
                    .iter()
                    .map(|s| (s.display_name(), SourceKind::CloudWatchLogs(s.clone()))),
            )
            .chain(
                sources
                    .cloudtrail_lookup
                    .iter()
                    .map(|s| (s.display_name(), SourceKind::Lookup(s.clone()))),
            );
        for (name, kind) in kinds {
            if options.only.is_empty() || options.only.contains(&name) {
                specs.push(SourceSpec {
                    progress: Arc::new(SourceProgress::new(&name)),
                    name,
                    kind,
                });
            }
        }
        for wanted in &options.only {
            if !specs.iter().any(|s| &s.name == wanted) {
                return Err(CollectError::Invalid(format!(
                    "no source is named {wanted:?}; the config names: {}",
                    config.source_names().join(", ")
                )));
            }
        }
        if specs.is_empty() {
            return Err(CollectError::Invalid(
                "the config has no [[source.s3]], [[source.cloudwatch_logs]] or [[source.cloudtrail_lookup]] table: nothing to collect".into(),
            ));
        }
        Ok(Self {
            config: config.clone(),
            options,
            specs,
        })
    }

    /// Live counters, one per source, in config order.
    pub fn progress(&self) -> Vec<Arc<SourceProgress>> {
        self.specs.iter().map(|s| Arc::clone(&s.progress)).collect()
    }

    /// Runs every source at once; each reports on its own.
    pub async fn run(&self, pipeline: Arc<Pipeline>) -> Vec<SourceReport> {
        let sdk = aws::load_sdk_config(&self.options.aws).await;
        let limiters = Arc::new(Limiters::default());
        let checkpoints = CheckpointStore::new(pipeline.lake());
        let mut tasks = Vec::new();
        for spec in &self.specs {
            let context = SourceContext {
                name: spec.name.clone(),
                sdk: sdk.clone(),
                options: self.options.clone(),
                checkpoints: checkpoints.clone(),
                lake: pipeline.lake().clone(),
                limiters: Arc::clone(&limiters),
                counter: RequestCounter::default(),
                progress: Arc::clone(&spec.progress),
            };
            let kind = spec.kind.clone();
            let pipeline = Arc::clone(&pipeline);
            let config = self.config.clone();
            tasks.push(tokio::spawn(async move {
                run_source(context, kind, pipeline, &config).await
            }));
        }
        let mut reports = Vec::new();
        for (task, spec) in tasks.into_iter().zip(&self.specs) {
            reports.push(task.await.unwrap_or_else(|_| SourceReport {
                name: spec.name.clone(),
                status: "failed",
                error: Some("the source's task panicked".into()),
                ..Default::default()
            }));
        }
        reports
    }
}

async fn run_source(
    context: SourceContext,
    kind: SourceKind,
    pipeline: Arc<Pipeline>,
    config: &Config,
) -> SourceReport {
    let started = Instant::now();
    let kind_name = match &kind {
        SourceKind::S3(_) => "s3",
        SourceKind::CloudWatchLogs(_) => "cloudwatch_logs",
        SourceKind::Lookup(_) => "cloudtrail_lookup",
    };
    let mut report = SourceReport {
        name: context.name.clone(),
        kind: kind_name,
        ..Default::default()
    };
    let sink = Sink::new(
        &pipeline,
        context.options.workers_per_source,
        kind_name,
        Arc::clone(&context.progress),
    );
    let outcome = match sink {
        Err(error) => Err(error),
        Ok(mut sink) => {
            let result = match &kind {
                SourceKind::S3(source) => {
                    s3::collect(&context, source, &mut sink, &mut report).await
                }
                SourceKind::CloudWatchLogs(source) => {
                    cloudwatch_logs::collect(&context, source, &mut sink, &mut report).await
                }
                SourceKind::Lookup(source) => {
                    cloudtrail_lookup::collect(&context, source, &mut sink, &mut report).await
                }
            };
            // Whatever happened, what was read is made durable (the
            // checkpoint did not move past it, so a re-run repeats it and
            // the dedup absorbs the repeat).
            let closed = sink.close().await;
            match (result, closed) {
                (Ok(()), Ok(totals)) => Ok(totals),
                (Err(error), _) => Err(error),
                (Ok(()), Err(error)) => Err(error),
            }
            .map(|totals| {
                report.records = totals.records;
                report.written = totals.written;
                report.duplicates = totals.duplicates;
                report.quarantined = totals.quarantined;
            })
        }
    };
    let _ = config;
    report.requests = context.counter.0.load(Ordering::Relaxed);
    report.objects = SourceProgress::get(&context.progress.objects);
    report.bytes = SourceProgress::get(&context.progress.bytes);
    if report.records == 0 {
        report.records = SourceProgress::get(&context.progress.records);
        report.written = SourceProgress::get(&context.progress.written);
    }
    report.seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(()) => report.status = "ok",
        Err(error) => {
            tracing::error!(source = %context.name, error = %error, "source failed");
            report.status = "failed";
            report.error = Some(error.to_string());
        }
    }
    context.progress.done.store(true, Ordering::Relaxed);
    report
}

/// Splits `[start, end]` (milliseconds) into consecutive slices of at most
/// `length` milliseconds, oldest first.
pub(crate) fn slices(start: i64, end: i64, length: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut from = start;
    while from <= end {
        let to = (from + length - 1).min(end);
        out.push((from, to));
        from = to + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_window_without_gaps_or_overlap() {
        assert_eq!(slices(0, 9, 4), vec![(0, 3), (4, 7), (8, 9)]);
        assert_eq!(slices(5, 5, 4), vec![(5, 5)]);
        assert!(slices(6, 5, 4).is_empty());
    }
}
