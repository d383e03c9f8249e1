//! `poolsight sample`: realistic synthetic CloudTrail for a photo-sharing
//! app on a Cognito Identity Pool, written in the S3 delivery layout
//! (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/…json.gz`), with a
//! digest file per day, and optional CloudWatch Logs / EventBridge copies of
//! some events (the same events through another path, as in real life).
//!
//! Deterministic by seed: the same options give byte-identical files.

pub mod attacks;
pub mod records;
pub mod scenario;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::Rng;
use serde_json::{json, Value};

use scenario::{format_time, uuid, World, ACCOUNT, MICROS, REGION};

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid sample options: {0}")]
    Options(String),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Exact number of CloudTrail records in the S3 layout.
    pub events: usize,
    pub seed: u64,
    /// First moment of the trail.
    pub start: DateTime<Utc>,
    /// Length of the trail in days.
    pub days: u32,
    /// Include the attacks and false-positive traps (only when `events`
    /// leaves room for benign traffic beside them).
    pub attacks: bool,
    /// Also write CloudWatch Logs and EventBridge copies of some events.
    pub other_sources: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self {
            events: 10_000,
            seed: 7,
            start: Utc
                .with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
                .single()
                .expect("valid date"),
            days: 2,
            attacks: true,
            other_sources: false,
        }
    }
}

/// The options `sample-data/` was written with (`poolsight sample --events
/// 5000 --days 2 --seed 7 --other-sources`, see `sample-data/README.md`):
/// the demo regenerates the very same files when the folder is not there.
pub fn sample_data_options() -> SampleOptions {
    SampleOptions {
        events: 5000,
        other_sources: true,
        ..SampleOptions::default()
    }
}

/// What was written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    pub files: usize,
    pub events: usize,
    pub attack_events: usize,
    pub bytes: u64,
    pub copies: usize,
    /// The staged attacks and traps, with the event ids each wrote (empty without attacks).
    pub labels: Vec<attacks::Label>,
}

const WINDOW_SECONDS: i64 = 300;

/// Writes the sample under `out`.
pub fn generate(out: &Path, options: &SampleOptions) -> Result<SampleSummary, SampleError> {
    if options.days == 0 {
        return Err(SampleError::Options("--days must be at least 1".into()));
    }
    let mut world = World::new(options.seed);
    let start = options.start.timestamp_micros();
    let span = i64::from(options.days) * 86_400 * MICROS;
    let windows = span / (WINDOW_SECONDS * MICROS);

    let mut heap: Pending = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut push = |heap: &mut Pending, (t, value): (i64, Value)| {
        sequence += 1;
        heap.push(Reverse((t, sequence, value.to_string())));
    };

    let mut summary = SampleSummary::default();
    let (attacks, labels) = if options.attacks {
        world.attacks(start + span / 2 - 6 * 3600 * MICROS)
    } else {
        (Vec::new(), Vec::new())
    };
    let benign_budget = if !attacks.is_empty() && options.events >= attacks.len() + 500 {
        summary.attack_events = attacks.len();
        summary.labels = labels;
        for event in attacks {
            push(&mut heap, event);
        }
        options.events - summary.attack_events
    } else {
        options.events
    };

    let mut writer = LayoutWriter::new(out);
    let mut copies = CopyWriter::new(out, options.other_sources);
    for window in 0..windows {
        let window_start = start + window * WINDOW_SECONDS * MICROS;
        let window_end = window_start + WINDOW_SECONDS * MICROS;
        let low = (window as u128 * benign_budget as u128 / windows as u128) as usize;
        let high = ((window as u128 + 1) * benign_budget as u128 / windows as u128) as usize;
        let budget = high - low;
        let mut generated = Vec::with_capacity(budget + 16);
        while generated.len() < budget {
            let t = window_start + world.rng().random_range(0..WINDOW_SECONDS * MICROS);
            let roll = world.rng().random_range(0..1000);
            if roll < 560 {
                world.guest_session(t, None, &mut generated, budget);
            } else if roll < 995 {
                world.user_session(t, &mut generated, budget);
            } else {
                world.admin_session(t, &mut generated, budget);
            }
        }
        generated.truncate(budget);
        for event in generated {
            push(&mut heap, event);
        }
        let batch = drain_before(&mut heap, window_end);
        let delivered = window_end + WINDOW_SECONDS * MICROS;
        copies.offer(&batch, window, &mut world)?;
        summary.events += batch.len();
        writer.write(&batch, delivered, &mut world)?;
    }
    // Sessions that ran past the end of the span.
    let mut tail_window = start + span;
    while !heap.is_empty() {
        let window_end = tail_window + WINDOW_SECONDS * MICROS;
        let batch = drain_before(&mut heap, window_end);
        summary.events += batch.len();
        writer.write(&batch, window_end + WINDOW_SECONDS * MICROS, &mut world)?;
        tail_window = window_end;
    }
    writer.write_digests(&world)?;
    summary.files = writer.files;
    summary.bytes = writer.bytes;
    summary.copies = copies.finish()?;
    Ok(summary)
}

/// Records waiting for delivery, earliest first: (time, sequence, JSON).
type Pending = BinaryHeap<Reverse<(i64, u64, String)>>;

/// Takes every pending record older than `end`, in time order.
fn drain_before(heap: &mut Pending, end: i64) -> Vec<String> {
    let mut batch = Vec::new();
    while heap.peek().is_some_and(|Reverse((t, _, _))| *t < end) {
        if let Some(Reverse((_, _, text))) = heap.pop() {
            batch.push(text);
        }
    }
    batch
}

/// Writes `{"Records":[…]}` files in the S3 delivery layout.
struct LayoutWriter {
    root: PathBuf,
    files: usize,
    bytes: u64,
    days: Vec<(DateTime<Utc>, Vec<String>)>,
}

impl LayoutWriter {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            files: 0,
            bytes: 0,
            days: Vec::new(),
        }
    }

    fn write(
        &mut self,
        records: &[String],
        delivered: i64,
        world: &mut World,
    ) -> Result<(), SampleError> {
        if records.is_empty() {
            return Ok(());
        }
        let time = DateTime::<Utc>::from_timestamp_micros(delivered).unwrap_or_default();
        let dir = self
            .root
            .join("AWSLogs")
            .join(ACCOUNT)
            .join("CloudTrail")
            .join(REGION)
            .join(time.format("%Y/%m/%d").to_string());
        let suffix: String = (0..16)
            .map(|_| {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[world.rng().random_range(0..36)] as char
            })
            .collect();
        let name = format!(
            "{ACCOUNT}_CloudTrail_{REGION}_{}_{suffix}.json.gz",
            time.format("%Y%m%dT%H%MZ")
        );
        let mut body =
            String::with_capacity(records.iter().map(|r| r.len() + 1).sum::<usize>() + 16);
        body.push_str("{\"Records\":[");
        for (index, record) in records.iter().enumerate() {
            if index > 0 {
                body.push(',');
            }
            body.push_str(record);
        }
        body.push_str("]}");
        let path = dir.join(&name);
        self.bytes += write_gzip(&path, body.as_bytes())?;
        self.files += 1;
        let key = format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{}/{name}",
            time.format("%Y/%m/%d")
        );
        let day = time
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        match self.days.last_mut() {
            Some((last, keys)) if *last == day => keys.push(key),
            _ => self.days.push((day, vec![key])),
        }
        Ok(())
    }

    /// One digest file per day (integrity metadata that ingest must skip).
    fn write_digests(&mut self, world: &World) -> Result<(), SampleError> {
        for (day, keys) in &self.days {
            let end = *day + chrono::Duration::days(1);
            let digest = json!({
                "awsAccountId": ACCOUNT,
                "digestStartTime": format_time(day.timestamp_micros()),
                "digestEndTime": format_time(end.timestamp_micros()),
                "digestS3Bucket": world.bucket.replace("media", "trail"),
                "digestS3Object": format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{}", day.format("%Y/%m/%d")),
                "digestPublicKeyFingerprint": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": format_time(end.timestamp_micros() - MICROS),
                "oldestEventTime": format_time(day.timestamp_micros()),
                "logFiles": keys.iter().map(|k| json!({"s3Bucket": "photoshare-trail", "s3Object": k})).collect::<Vec<_>>()
            });
            let path = self
                .root
                .join("AWSLogs")
                .join(ACCOUNT)
                .join("CloudTrail-Digest")
                .join(REGION)
                .join(day.format("%Y/%m/%d").to_string())
                .join(format!(
                    "{ACCOUNT}_CloudTrail-Digest_{REGION}_photoshare-trail_{REGION}_{}.json.gz",
                    end.format("%Y%m%dT%H%M%SZ")
                ));
            write_gzip(&path, digest.to_string().as_bytes())?;
        }
        Ok(())
    }
}

/// The same events as they also arrive through CloudWatch Logs (one record
/// per line) and EventBridge (envelopes around pool administration).
struct CopyWriter {
    root: PathBuf,
    enabled: bool,
    cloudwatch: Vec<String>,
    eventbridge: Vec<String>,
}

impl CopyWriter {
    fn new(root: &Path, enabled: bool) -> Self {
        Self {
            root: root.to_path_buf(),
            enabled,
            cloudwatch: Vec::new(),
            eventbridge: Vec::new(),
        }
    }

    fn offer(
        &mut self,
        batch: &[String],
        window: i64,
        world: &mut World,
    ) -> Result<(), SampleError> {
        if !self.enabled {
            return Ok(());
        }
        if window % 40 == 7 {
            self.cloudwatch.extend(batch.iter().cloned());
        }
        for text in batch {
            if text.contains("\"eventSource\":\"cognito-identity.amazonaws.com\"")
                && text.contains("\"eventCategory\":\"Management\"")
                && text.contains("\"readOnly\":false")
            {
                let record: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                let envelope = json!({
                    "version": "0",
                    "id": uuid(world.rng()),
                    "detail-type": "AWS API Call via CloudTrail",
                    "source": "aws.cognito-identity",
                    "account": ACCOUNT,
                    "time": record.get("eventTime").cloned().unwrap_or(Value::Null),
                    "region": REGION,
                    "resources": [],
                    "detail": record
                });
                self.eventbridge.push(envelope.to_string());
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<usize, SampleError> {
        if !self.enabled {
            return Ok(0);
        }
        let mut written = 0;
        for (dir, name, lines) in [
            (
                "cloudwatch-logs",
                format!("aws-cloudtrail-logs-{ACCOUNT}.jsonl"),
                &self.cloudwatch,
            ),
            (
                "eventbridge",
                "cognito-identity-admin.jsonl".to_string(),
                &self.eventbridge,
            ),
        ] {
            let path = self.root.join(dir).join(name);
            let mut body = lines.join("\n");
            body.push('\n');
            write_file(&path, body.as_bytes())?;
            written += lines.len();
        }
        Ok(written)
    }
}

fn write_gzip(path: &Path, bytes: &[u8]) -> Result<u64, SampleError> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).map_err(|e| io(path, e))?;
    let compressed = encoder.finish().map_err(|e| io(path, e))?;
    write_file(path, &compressed)?;
    Ok(compressed.len() as u64)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SampleError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    fs::write(path, bytes).map_err(|e| io(path, e))
}

fn io(path: &Path, source: std::io::Error) -> SampleError {
    SampleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push((
                        path.strip_prefix(root).unwrap().display().to_string(),
                        fs::read(&path).unwrap(),
                    ));
                }
            }
        }
        files.sort();
        files
    }

    #[test]
    fn exact_count_and_deterministic_by_seed() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let options = SampleOptions {
            events: 3000,
            days: 1,
            ..Default::default()
        };
        let summary = generate(a.path(), &options).unwrap();
        generate(b.path(), &options).unwrap();
        assert_eq!(summary.events, 3000);
        assert!(summary.attack_events > 500, "{summary:?}");
        assert_eq!(digest_of_tree(a.path()), digest_of_tree(b.path()));
        let c = tempfile::tempdir().unwrap();
        generate(c.path(), &SampleOptions { seed: 8, ..options }).unwrap();
        assert_ne!(digest_of_tree(a.path()), digest_of_tree(c.path()));
    }

    #[test]
    fn small_runs_leave_attacks_out() {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(
            dir.path(),
            &SampleOptions {
                events: 200,
                days: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((summary.events, summary.attack_events), (200, 0));
    }
}
