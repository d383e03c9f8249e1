//! `poolsight notify`: enqueue what changed, deliver what is due, record
//! every acknowledgement as it comes.
//!
//! 1. The stored findings' versions are enqueued per target
//!    ([`crate::outbox::Outbox::enqueue`]) and the outbox saved.
//! 2. Each target delivers its due entries (pending, past their backoff)
//!    at its rate, **all targets at once**: a slow or dead target delays
//!    nobody else. After three transient failures in a row (timeouts,
//!    refused connections, 5xx) a target stops for this run; the rest of
//!    its entries wait for the next.
//! 3. An acknowledgement is journaled (synced) before the next delivery of
//!    that target; a failure sets the entry's next attempt `retry_base ×
//!    2^(attempts-1)` later, at most `retry_max`.
//!
//! A failed delivery is never an error of the run: it is in the report
//! (and the outbox), and `run` keeps its exit code.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use poolsight_config::notify::TargetFilter;
use poolsight_config::Config;
use poolsight_detect::catalog::Catalog;
use poolsight_detect::findings::{load_findings, Finding};
use poolsight_lake::{Lake, LakeLock};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::context::FindingContext;
use crate::notice::{Change, Notice};
use crate::outbox::{Outbox, OutboxEntry};
use crate::securityhub::SecurityHubSink;
use crate::securitylake::SecurityLakeSink;
use crate::sns::SnsSink;
use crate::webhook::WebhookSink;
use crate::{DeliveryError, NotifyError};

poolsight_collect::aws_service_client!(sns_client, aws_sdk_sns, "sns");
poolsight_collect::aws_service_client!(securityhub_client, aws_sdk_securityhub, "securityhub");

/// Transient failures in a row after which a target rests until the next run.
const CIRCUIT_BREAK_AFTER: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct NotifyOptions {
    /// Print what would go out; send nothing, change nothing.
    pub dry_run: bool,
    /// The run's time (default: now).
    pub now: Option<DateTime<Utc>>,
}

/// What `notify` did for one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetReport {
    pub target: String,
    /// `webhook`, `sns` or `securityhub`.
    pub kind: String,
    /// Finding versions enqueued by this run.
    pub enqueued: usize,
    /// Entries due this run.
    pub due: usize,
    pub sent: usize,
    pub failed: usize,
    /// Due but not tried: the target could not be set up, or it failed
    /// repeatedly and rests until the next run.
    pub not_attempted: usize,
    /// Entries still pending after the run (failed ones wait for their backoff).
    pub pending: usize,
    /// Why the target could not be set up, or its last delivery error.
    pub error: Option<String>,
    /// `--dry-run`: what would be sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub preview: Vec<Preview>,
}

/// One delivery `--dry-run` would make.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub delivery_id: String,
    pub finding_id: String,
    pub change: String,
    pub severity: String,
    pub status: String,
    pub title: String,
    /// What the target would get (webhook body, SNS message, ASFF finding).
    pub body: Value,
}

/// What `notify` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotifyReport {
    pub dry_run: bool,
    pub findings: usize,
    pub targets: Vec<TargetReport>,
}

impl NotifyReport {
    /// One line per target that could not deliver everything due.
    pub fn warnings(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter(|t| t.failed > 0 || t.not_attempted > 0)
            .map(|t| {
                format!(
                    "{}: {} delivered, {} failed, {} not attempted, {} pending for a later run{}",
                    t.target,
                    t.sent,
                    t.failed,
                    t.not_attempted,
                    t.pending,
                    t.error
                        .as_deref()
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                )
            })
            .collect()
    }
}

/// A configured target.
struct Target {
    name: String,
    kind: &'static str,
    filter: TargetFilter,
    spec: Spec,
}

enum Spec {
    Sns(poolsight_config::notify::SnsTarget),
    Webhook(poolsight_config::notify::WebhookTarget),
    SecurityHub(poolsight_config::notify::SecurityHubTarget),
    SecurityLake(poolsight_config::notify::SecurityLakeTarget),
}

fn targets(config: &Config) -> Vec<Target> {
    let notify = &config.notify;
    let mut targets = Vec::new();
    for t in &notify.sns {
        targets.push(Target {
            name: t.display_name(),
            kind: "sns",
            filter: t.filter(),
            spec: Spec::Sns(t.clone()),
        });
    }
    for t in &notify.webhook {
        targets.push(Target {
            name: t.display_name(),
            kind: "webhook",
            filter: t.filter(),
            spec: Spec::Webhook(t.clone()),
        });
    }
    for t in &notify.securityhub {
        targets.push(Target {
            name: t.display_name(config.aws.region.as_deref()),
            kind: "securityhub",
            filter: t.filter(),
            spec: Spec::SecurityHub(t.clone()),
        });
    }
    for t in &notify.securitylake {
        targets.push(Target {
            name: t.display_name(),
            kind: "securitylake",
            filter: t.filter(),
            spec: Spec::SecurityLake(t.clone()),
        });
    }
    targets
}

enum Sink {
    Sns(SnsSink),
    Webhook(Box<WebhookSink>),
    SecurityHub(SecurityHubSink),
    SecurityLake(SecurityLakeSink),
}

impl Sink {
    fn batch(&self) -> usize {
        match self {
            Sink::SecurityHub(_) => crate::securityhub::BATCH,
            Sink::SecurityLake(_) => crate::securitylake::BATCH,
            _ => 1,
        }
    }

    async fn deliver(&self, notices: &[Notice<'_>]) -> Vec<Result<(), DeliveryError>> {
        match self {
            Sink::SecurityHub(sink) => sink.deliver(notices).await,
            Sink::SecurityLake(sink) => sink.deliver(notices).await,
            Sink::Sns(sink) => {
                let mut out = Vec::new();
                for notice in notices {
                    out.push(sink.deliver(notice).await);
                }
                out
            }
            Sink::Webhook(sink) => {
                let mut out = Vec::new();
                for notice in notices {
                    out.push(sink.deliver(notice).await);
                }
                out
            }
        }
    }
}

/// Shared by every target's task.
struct Shared {
    settings: poolsight_collect::AwsSettings,
    sdk: tokio::sync::OnceCell<poolsight_collect::aws::SdkConfig>,
    counter: poolsight_collect::aws::RequestCounter,
}

impl Shared {
    async fn sdk(&self) -> &poolsight_collect::aws::SdkConfig {
        self.sdk
            .get_or_init(|| poolsight_collect::aws::load_sdk_config(&self.settings))
            .await
    }

    /// The account the credentials belong to.
    async fn caller_account(&self, region: Option<&str>) -> Result<String, String> {
        let client = poolsight_collect::aws::sts_client(
            self.sdk().await,
            &self.settings,
            region,
            &self.counter,
        );
        let identity = poolsight_collect::aws::call_with_retries(
            "GetCallerIdentity",
            self.settings.max_attempts,
            || client.get_caller_identity().send(),
        )
        .await
        .map_err(|e| e.to_string())?;
        identity
            .account()
            .map(str::to_string)
            .ok_or_else(|| "GetCallerIdentity returned no account".to_string())
    }

    async fn sink(
        &self,
        target: &Target,
        config: &Config,
        lake_dir: &std::path::Path,
    ) -> Result<Sink, String> {
        match &target.spec {
            Spec::SecurityLake(spec) => {
                let destination =
                    crate::export::Destination::parse(&spec.out).map_err(|e| e.to_string())?;
                let s3 = match &destination {
                    crate::export::Destination::S3 { .. } => {
                        Some(poolsight_collect::aws::s3_client(
                            self.sdk().await,
                            &self.settings,
                            None,
                            &self.counter,
                        ))
                    }
                    crate::export::Destination::Folder(_) => None,
                };
                let (account, region) = crate::export::partition_defaults(
                    config,
                    lake_dir,
                    spec.account.clone(),
                    spec.region.clone(),
                )
                .await;
                Ok(Sink::SecurityLake(SecurityLakeSink::new(
                    destination,
                    s3,
                    &account,
                    &region,
                    self.settings.max_attempts,
                )))
            }
            Spec::Webhook(spec) => WebhookSink::new(spec).map(|sink| Sink::Webhook(Box::new(sink))),
            Spec::Sns(spec) => {
                let client = sns_client(
                    self.sdk().await,
                    &self.settings,
                    spec.region(),
                    &self.counter,
                );
                Ok(Sink::Sns(SnsSink::new(
                    client,
                    &spec.topic_arn,
                    self.settings.max_attempts,
                )))
            }
            Spec::SecurityHub(spec) => {
                let region = spec
                    .region
                    .clone()
                    .or_else(|| config.aws.region.clone())
                    .or_else(|| self.settings.region.clone());
                let sdk = self.sdk().await;
                let region = region
                    .or_else(|| sdk.region().map(|r| r.to_string()))
                    .ok_or_else(|| {
                        "no region: set region in [[notify.securityhub]] or [aws]".to_string()
                    })?;
                let account = self.caller_account(Some(&region)).await?;
                let client = securityhub_client(sdk, &self.settings, Some(&region), &self.counter);
                Ok(Sink::SecurityHub(SecurityHubSink::new(
                    client,
                    &region,
                    &account,
                    spec.workflow_updates.unwrap_or(true),
                    self.settings.max_attempts,
                )))
            }
        }
    }
}

/// A span of the config (`retry_base`, `retry_max`): `0`/`0s` or `<n>s|m|h|d|w`.
fn span(text: Option<&str>, default: chrono::Duration) -> chrono::Duration {
    match text.map(str::trim) {
        None => default,
        Some(t) if t.trim_end_matches('s').bytes().all(|b| b == b'0') && !t.is_empty() => {
            chrono::Duration::zero()
        }
        Some(t) => poolsight_model::time::parse_span(t).unwrap_or(default),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Everything rendering needs, by finding id.
struct Library {
    findings: HashMap<String, Finding>,
    contexts: std::collections::BTreeMap<String, FindingContext>,
    catalog: Catalog,
}

impl Library {
    fn notice<'a>(
        &'a self,
        entry: &'a OutboxEntry,
        empty: &'a FindingContext,
    ) -> Option<Notice<'a>> {
        let finding = self.findings.get(&entry.finding_id)?;
        Some(Notice {
            finding,
            detection: self.catalog.detection(&finding.detection),
            context: self.contexts.get(&entry.finding_id).unwrap_or(empty),
            change: Change::parse(&entry.change).unwrap_or(Change::Updated),
            version: &entry.version,
            delivery_id: &entry.delivery_id,
        })
    }
}

/// Runs `notify` over the lake: enqueue, then deliver (or, with
/// `dry_run`, show what would be delivered). `lock` is the lake's writer
/// lock (required unless `dry_run`).
pub async fn notify(
    config: &Config,
    lake: &Lake,
    lock: Option<&LakeLock>,
    options: &NotifyOptions,
) -> Result<NotifyReport, NotifyError> {
    let now = options.now.unwrap_or_else(Utc::now);
    let now_text = rfc3339(now);
    let targets = targets(config);
    let findings = load_findings(lake)?;
    let mut report = NotifyReport {
        dry_run: options.dry_run,
        findings: findings.len(),
        targets: Vec::new(),
    };
    if targets.is_empty() {
        return Ok(report);
    }
    if !options.dry_run && lock.is_none() {
        return Err(NotifyError::Invalid(
            "notify needs the lake's writer lock to record deliveries".into(),
        ));
    }
    let mut outbox = Outbox::load(lake)?;
    outbox.prune(now);
    let gone = outbox.supersede_gone(&findings);
    if gone > 0 {
        tracing::warn!(
            deliveries = gone,
            "findings no longer stored: their pending deliveries are dropped"
        );
    }
    let mut due: Vec<Vec<OutboxEntry>> = Vec::new();
    for target in &targets {
        let enqueued = outbox.enqueue(&target.name, &target.filter, &findings, &now_text);
        let entries = outbox.due(&target.name, now);
        report.targets.push(TargetReport {
            target: target.name.clone(),
            kind: target.kind.to_string(),
            enqueued,
            due: entries.len(),
            ..Default::default()
        });
        due.push(entries);
    }
    // Render only what is due.
    let wanted: std::collections::HashSet<&str> = due
        .iter()
        .flatten()
        .map(|e| e.finding_id.as_str())
        .collect();
    let due_findings: Vec<Finding> = findings
        .iter()
        .filter(|f| wanted.contains(f.finding_id.as_str()))
        .cloned()
        .collect();
    let contexts = if due_findings.is_empty() {
        Default::default()
    } else {
        match poolsight_detect::LakeSession::open(lake.root()).await {
            Ok(session) => crate::context::load_contexts(&session, &due_findings).await?,
            Err(error) => {
                tracing::warn!(error = %error, "the evidence's context could not be read; findings go out without account and region");
                Default::default()
            }
        }
    };
    let library = Library {
        findings: due_findings
            .into_iter()
            .map(|f| (f.finding_id.clone(), f))
            .collect(),
        contexts,
        catalog: Catalog::from_config(config)?,
    };
    let settings = poolsight_collect::AwsSettings::from_config(
        config,
        config.collect.max_attempts.unwrap_or(4),
    );
    let shared = Shared {
        settings,
        sdk: tokio::sync::OnceCell::new(),
        counter: Default::default(),
    };
    if options.dry_run {
        for ((target, entries), target_report) in
            targets.iter().zip(&due).zip(report.targets.iter_mut())
        {
            target_report.preview = preview(&shared, target, entries, &library).await;
            target_report.pending = outbox.pending(&target.name);
        }
        return Ok(report);
    }
    outbox.save()?;
    let retry_base = span(
        config.notify.retry_base.as_deref(),
        chrono::Duration::minutes(1),
    );
    let retry_max = span(
        config.notify.retry_max.as_deref(),
        chrono::Duration::hours(6),
    );
    let outbox = Arc::new(Mutex::new(outbox));
    let runs = targets.iter().zip(due).map(|(target, entries)| {
        let outbox = Arc::clone(&outbox);
        let shared = &shared;
        let library = &library;
        async move {
            deliver_target(
                config,
                lake.root(),
                shared,
                target,
                entries,
                library,
                outbox,
                (retry_base, retry_max),
            )
            .await
        }
    });
    let results = futures::future::join_all(runs).await;
    let mut outbox = Arc::try_unwrap(outbox)
        .map_err(|_| NotifyError::Invalid("outbox still shared".into()))?
        .into_inner();
    for (target_report, result) in report.targets.iter_mut().zip(results) {
        let result = result?;
        target_report.sent = result.sent;
        target_report.failed = result.failed;
        target_report.not_attempted = result.not_attempted;
        target_report.error = result.error;
        target_report.pending = outbox.pending(&target_report.target);
    }
    outbox.save()?;
    Ok(report)
}

#[derive(Default)]
struct Delivered {
    sent: usize,
    failed: usize,
    not_attempted: usize,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn deliver_target(
    config: &Config,
    lake_dir: &std::path::Path,
    shared: &Shared,
    target: &Target,
    entries: Vec<OutboxEntry>,
    library: &Library,
    outbox: Arc<Mutex<Outbox>>,
    (retry_base, retry_max): (chrono::Duration, chrono::Duration),
) -> Result<Delivered, NotifyError> {
    let mut done = Delivered::default();
    if entries.is_empty() {
        return Ok(done);
    }
    let sink = match shared.sink(target, config, lake_dir).await {
        Ok(sink) => sink,
        Err(error) => {
            tracing::warn!(target = %target.name, error = %error, "target not set up; its deliveries wait for the next run");
            done.not_attempted = entries.len();
            done.error = Some(error);
            return Ok(done);
        }
    };
    let limiter = poolsight_collect::limiter::RateLimiter::per_second(target.filter.per_second);
    let empty = FindingContext::default();
    let mut transient_in_a_row = 0;
    let mut chunks = entries.chunks(sink.batch()).peekable();
    while let Some(chunk) = chunks.next() {
        // Entries whose finding is gone from the findings file (moved
        // aside) cannot be rendered: they wait, reported as not attempted.
        let notices: Vec<(usize, Notice<'_>)> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, e)| library.notice(e, &empty).map(|n| (i, n)))
            .collect();
        done.not_attempted += chunk.len() - notices.len();
        if notices.is_empty() {
            continue;
        }
        limiter.acquire().await;
        let only: Vec<Notice<'_>> = notices.iter().map(|(_, n)| *n).collect();
        let results = sink.deliver(&only).await;
        poolsight_lake::failpoint::step("notify:acknowledged");
        let at = rfc3339(Utc::now());
        let mut outbox = outbox.lock().await;
        for ((i, _), result) in notices.iter().zip(results) {
            let entry = &chunk[*i];
            match result {
                Ok(()) => {
                    outbox.mark_sent(&entry.delivery_id, &at)?;
                    done.sent += 1;
                    transient_in_a_row = 0;
                }
                Err(error) => {
                    let attempts = outbox.get(&entry.delivery_id).map_or(0, |e| e.attempts) + 1;
                    let wait = retry_base
                        .checked_mul(1i32 << (attempts - 1).clamp(0, 20) as i32)
                        .unwrap_or(retry_max)
                        .min(retry_max);
                    let next = rfc3339(Utc::now() + wait);
                    tracing::warn!(target = %target.name, finding = %entry.finding_id, delivery = %entry.delivery_id, attempts, error = %error, next_attempt_at = %next, "delivery failed; retried by a later run");
                    outbox.mark_failed(&entry.delivery_id, &at, &error.message, &next)?;
                    done.failed += 1;
                    done.error = Some(error.message.clone());
                    if error.transient {
                        transient_in_a_row += 1;
                    } else {
                        transient_in_a_row = 0;
                    }
                }
            }
        }
        drop(outbox);
        if transient_in_a_row >= CIRCUIT_BREAK_AFTER {
            let left: usize = chunks.map(<[OutboxEntry]>::len).sum();
            if left > 0 {
                tracing::warn!(target = %target.name, left, "target failing repeatedly; the rest of its deliveries wait for the next run");
            }
            done.not_attempted += left;
            break;
        }
    }
    Ok(done)
}

async fn preview(
    shared: &Shared,
    target: &Target,
    entries: &[OutboxEntry],
    library: &Library,
) -> Vec<Preview> {
    let empty = FindingContext::default();
    let mut account = None;
    let mut out = Vec::new();
    for entry in entries {
        let Some(notice) = library.notice(entry, &empty) else {
            continue;
        };
        let body = match &target.spec {
            Spec::Webhook(spec) => match spec.format.as_deref() {
                Some("slack" | "teams") => crate::message::chat_body(&notice),
                _ => crate::message::json_body(&notice, 1000),
            },
            Spec::Sns(_) => {
                let (subject, message) = SnsSink::message(&notice);
                serde_json::json!({"Subject": subject, "Message": serde_json::from_str::<Value>(&message).unwrap_or(Value::Null)})
            }
            Spec::SecurityLake(_) => crate::ocsf::detection_finding(&notice),
            Spec::SecurityHub(spec) => {
                let region = spec
                    .region
                    .clone()
                    .or_else(|| shared.settings.region.clone())
                    .unwrap_or_else(|| "us-east-1".into());
                if account.is_none() {
                    // Read-only, and only to fill the product ARN; without
                    // credentials the preview says so.
                    account = Some(
                        shared
                            .caller_account(Some(&region))
                            .await
                            .unwrap_or_else(|_| "<calling account>".into()),
                    );
                }
                let account = account.as_deref().unwrap_or_default();
                serde_json::to_value(crate::asff::finding(&notice, account, &region))
                    .unwrap_or(Value::Null)
            }
        };
        out.push(Preview {
            delivery_id: entry.delivery_id.clone(),
            finding_id: entry.finding_id.clone(),
            change: entry.change.clone(),
            severity: entry.severity.clone(),
            status: entry.status.clone(),
            title: notice.finding.title.clone(),
            body,
        });
    }
    out
}
