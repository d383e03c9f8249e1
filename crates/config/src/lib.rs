//! `poolsight.toml`: where the lake is, how to reach AWS, which sources to
//! collect, and the tunables of detection.
//!
//! The keys of the design's config contract are fixed; every table rejects
//! unknown keys (a typo is an error naming the key, the file, the line and
//! the column, not a silently ignored setting). Relative paths are relative
//! to the config file. `poolsight.example.toml` at the repository root
//! documents every key.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod notify;
pub use notify::NotifyConfig;

/// The config file read when `--config` is not given.
pub const DEFAULT_FILE: &str = "poolsight.toml";

/// The lake used when neither the config nor the command line names one.
pub const DEFAULT_LAKE: &str = "./poolsight-lake";

/// Errors reading or checking a config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config {path}, line {line}, column {column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("config {path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// `[s3_lake]`: the lease lock and the read cache of a lake in S3.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3LakeConfig {
    /// How long a writer's lock lives without renewal (default `60s`; it is
    /// renewed every third of that). A run killed with SIGKILL holds the
    /// lake until its lease runs out.
    pub lease: Option<String>,
    /// MiB of local disk that keep what queries read of the lake's event,
    /// insight and quarantine files (files written once, never changed),
    /// per command and per cluster process (default 2048; 0: none).
    pub read_cache_mib: Option<u64>,
}

impl S3LakeConfig {
    /// The read cache's capacity in bytes.
    pub fn read_cache_bytes(&self) -> u64 {
        self.read_cache_mib.unwrap_or(2048).saturating_mul(1 << 20)
    }
}

/// `[engine]`: a Ballista cluster for detections and `sql`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// The scheduler, `df://host:50050`; none: queries run in process.
    pub ballista: Option<String>,
}

/// Whether a lake location is in S3 (`s3://bucket/prefix`) rather than a folder.
pub fn is_remote_lake(lake: &Path) -> bool {
    lake.to_str().is_some_and(|text| text.starts_with("s3://"))
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The lake folder (relative to the config file), or `s3://bucket/prefix`.
    #[serde(default)]
    pub lake: Option<PathBuf>,
    #[serde(default)]
    pub aws: AwsConfig,
    #[serde(default)]
    pub source: Sources,
    #[serde(default)]
    pub ingest: IngestConfig,
    #[serde(default)]
    pub collect: CollectConfig,
    #[serde(default)]
    pub geoip: GeoIpConfig,
    #[serde(default)]
    pub detect: DetectConfig,
    #[serde(default)]
    pub dash: DashConfig,
    /// `[inventory]`; `None`: `run` takes no inventory.
    #[serde(default)]
    pub inventory: Option<InventoryConfig>,
    /// `[notify]` and its targets; none: findings stay in the lake.
    #[serde(default)]
    pub notify: NotifyConfig,
    /// `[s3_lake]`: how a lake in S3 (`lake = "s3://…"`) is locked.
    #[serde(default)]
    pub s3_lake: S3LakeConfig,
    /// `[engine]`: where detections and `sql` run (default: in process).
    #[serde(default)]
    pub engine: EngineConfig,
    /// The file this was read from (`None` for the built-in defaults).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// `[aws]`: all optional; the SDK's default chain decides otherwise.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// A named profile of `~/.aws/config`.
    pub profile: Option<String>,
    /// The default region.
    pub region: Option<String>,
    /// An emulator endpoint (moto); S3 then uses path-style addressing.
    pub endpoint_url: Option<String>,
    /// Per-service endpoints over `endpoint_url` (VPC endpoints, an
    /// emulator per service): keys `s3`, `logs`, `cloudtrail`,
    /// `cognito_identity`, `iam`, `sts`, `sns`, `securityhub`.
    #[serde(default)]
    pub endpoint_urls: std::collections::BTreeMap<String, String>,
}

/// The services `[aws.endpoint_urls]` may name.
pub const AWS_SERVICES: &[&str] = &[
    "s3",
    "logs",
    "cloudtrail",
    "cognito_identity",
    "iam",
    "sts",
    "sns",
    "securityhub",
];

/// `[inventory]`: `poolsight inventory`, and `run` when present.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryConfig {
    /// Where to read identity pools and trails (IAM is global).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Other accounts, each through a role to assume; empty: the account
    /// of the credential chain only.
    #[serde(default)]
    pub accounts: Vec<InventoryAccount>,
    /// Also read the account of the credential chain when `accounts` is
    /// set (default: only when `accounts` is empty).
    pub include_own_account: Option<bool>,
    /// Admin API calls per second per service, account and region (default 5).
    pub calls_per_second: Option<f64>,
    /// Calls in flight at once per account (default 4).
    pub concurrency: Option<usize>,
}

/// `[[inventory.accounts]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryAccount {
    /// `arn:aws:iam::<account>:role/<name>`, assumed with the chain's credentials.
    pub role_arn: String,
    pub external_id: Option<String>,
}

/// `[[source.*]]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    #[serde(default)]
    pub s3: Vec<S3Source>,
    #[serde(default)]
    pub cloudwatch_logs: Vec<CloudWatchLogsSource>,
    #[serde(default)]
    pub cloudtrail_lookup: Vec<CloudTrailLookupSource>,
}

/// `[[source.s3]]`: CloudTrail trail files in a bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Source {
    /// Names this source in summaries and checkpoints (default `s3:<bucket>/<prefix>`).
    pub name: Option<String>,
    pub bucket: String,
    /// The bucket's region (default: `aws.region`).
    pub region: Option<String>,
    /// The part of the key before `AWSLogs/`.
    #[serde(default)]
    pub prefix: String,
    /// Account ids to read; empty: discovered under `AWSLogs/`.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Regions to read; empty: discovered.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Keys delivered up to this many minutes before the newest key already
    /// collected are listed again (late deliveries sort before it); keys
    /// already collected are skipped by name. Default 60.
    pub lookback_minutes: Option<u32>,
}

/// `[[source.cloudwatch_logs]]`: a log group fed by a trail, EventBridge or API Gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchLogsSource {
    /// Names this source in summaries and checkpoints (default `cloudwatch_logs:<group>`).
    pub name: Option<String>,
    pub log_group: String,
    /// The log group's region (default: `aws.region`).
    pub region: Option<String>,
    /// Only streams whose name starts with this (filtered by the service).
    #[serde(default)]
    pub log_stream_prefix: String,
    /// Only streams whose name matches one of these globs (`*`, `?`,
    /// `[...]`); the streams are listed and queried by name.
    #[serde(default)]
    pub log_streams: Vec<String>,
    /// Each run reads again the last this-many seconds before its checkpoint
    /// (events ingested late carry older timestamps); events already
    /// collected there are skipped by id. Default 3600 (an hour).
    pub overlap_seconds: Option<u32>,
}

/// `[[source.cloudtrail_lookup]]`: management events through LookupEvents.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudTrailLookupSource {
    /// Names this source in summaries and checkpoints (default `cloudtrail_lookup`).
    pub name: Option<String>,
    pub regions: Vec<String>,
    /// One LookupEvents attribute, e.g. `{ key = "EventSource", value =
    /// "cognito-identity.amazonaws.com" }`; default: every management event.
    pub lookup_attribute: Option<LookupAttribute>,
    /// Each run reads again the last this-many minutes before its checkpoint
    /// (LookupEvents shows events up to ~15 minutes late). Default 60.
    pub overlap_minutes: Option<u32>,
}

/// A LookupEvents attribute filter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupAttribute {
    /// `EventId`, `EventName`, `ReadOnly`, `Username`, `ResourceType`,
    /// `ResourceName`, `EventSource` or `AccessKeyId`.
    pub key: String,
    pub value: String,
}

/// The LookupEvents attribute keys CloudTrail accepts.
pub const LOOKUP_ATTRIBUTE_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

/// `[collect]`: how hard the collectors push.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectConfig {
    /// S3 objects downloaded at once per source (default 8).
    pub concurrency: Option<usize>,
    /// Attempts per AWS request before a source is reported failed (default 6).
    pub max_attempts: Option<u32>,
    /// FilterLogEvents calls per second per account and region (default 5,
    /// the service quota).
    pub filter_log_events_tps: Option<f64>,
    /// LookupEvents calls per second per account and region (default 2, the
    /// service quota).
    pub lookup_events_tps: Option<f64>,
    /// A source makes its data durable and saves its checkpoint at least
    /// every this many records (default 250000): lower means less work
    /// repeated after a crash, more and smaller files.
    pub checkpoint_every_records: Option<u64>,
}

/// `[ingest]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Records larger than this are quarantined (default 4 MiB).
    pub max_record_bytes: Option<usize>,
    /// A gzip file or object is read up to this many inflated bytes; the rest
    /// is quarantined as `too_large` (default 1 GiB).
    pub max_inflated_bytes: Option<u64>,
}

/// `[geoip]`: GeoLite2-format databases (relative to the config file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoIpConfig {
    pub asn_db: Option<PathBuf>,
    pub country_db: Option<PathBuf>,
}

/// `[detect]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectConfig {
    /// The account's own identity pools; empty: inferred from the trail.
    #[serde(default)]
    pub own_pools: Vec<String>,
    /// `poolsight run` exits 1 when findings at or above this appear.
    #[serde(default)]
    pub fail_on: Severity,
    /// A `queries/` folder replacing the built-in views and detections
    /// (relative to the config file).
    pub queries_dir: Option<PathBuf>,
    /// Per detection id, values replacing its tunables' defaults:
    /// `[detect.tunables.access_denial] min_denials = 5`.
    #[serde(default)]
    pub tunables:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, toml::Value>>,
    /// Suppression rules (`[[detect.suppress]]`), applied at detect time.
    #[serde(default)]
    pub suppress: Vec<SuppressRule>,
}

/// `[[detect.suppress]]`: findings of `detection` matching every given
/// field are stored as `suppressed` (not printed, not counted by
/// `fail_on`), with `reason` in their audit trail, until `expires`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SuppressRule {
    /// A detection id, or `*` for every detection.
    pub detection: String,
    pub identity_id: Option<String>,
    pub identity_pool_id: Option<String>,
    /// One of the finding's source addresses.
    pub source_ip: Option<String>,
    /// An SQL predicate over the finding's columns (`severity <> 'high'`,
    /// `summary LIKE '%thumbnail%'`).
    #[serde(rename = "where")]
    pub predicate: Option<String>,
    /// Why (kept in the audit trail); required.
    pub reason: String,
    /// `YYYY-MM-DD` or RFC 3339: the rule stops applying then.
    pub expires: Option<String>,
}

/// `[dash]`: the terminal dashboard.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashConfig {
    /// A folder of dashboard layouts (`*.toml`) used beside, and over, the
    /// built-in ones (relative to the config file).
    pub dashboards_dir: Option<PathBuf>,
    /// The time window the dashboard opens with: `1h`, `24h`, `7d`, `all`
    /// or any `<n>m|h|d|w` (counted back from the newest event). Default 7d.
    pub window: Option<String>,
}

/// Finding severity, lowest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    #[default]
    High,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        })
    }
}

impl Config {
    /// Reads `path` (which must exist), resolves relative paths against its
    /// folder, and checks the values.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The config named by `--config`, else `./poolsight.toml` when it
    /// exists, else the defaults.
    pub fn discover(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        match explicit {
            Some(path) => Self::load(path),
            None if Path::new(DEFAULT_FILE).is_file() => Self::load(Path::new(DEFAULT_FILE)),
            None => Ok(Self::default()),
        }
    }

    /// Parses config text read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map(|span| line_and_column(text, span.start))
                .unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: error.message().to_string(),
            }
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &mut Option<PathBuf>| {
            if let Some(inner) = p {
                if inner.is_relative() {
                    *inner = base.join(&*inner);
                }
            }
        };
        // `s3://bucket/prefix` is a location, not a folder.
        if !config.lake.as_deref().is_some_and(is_remote_lake) {
            resolve(&mut config.lake);
        }
        resolve(&mut config.geoip.asn_db);
        resolve(&mut config.geoip.country_db);
        resolve(&mut config.detect.queries_dir);
        resolve(&mut config.dash.dashboards_dir);
        config.path = Some(path.to_path_buf());
        config.validate()?;
        Ok(config)
    }

    /// The lake: the command line's, else the config's, else the default.
    pub fn lake_or(&self, from_command_line: Option<&Path>) -> PathBuf {
        from_command_line
            .map(Path::to_path_buf)
            .or_else(|| self.lake.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_LAKE))
    }

    /// The name of every configured source, in config order (S3, CloudWatch
    /// Logs, LookupEvents); names key the checkpoints.
    pub fn source_names(&self) -> Vec<String> {
        let s3 = self.source.s3.iter().map(S3Source::display_name);
        let logs = self
            .source
            .cloudwatch_logs
            .iter()
            .map(CloudWatchLogsSource::display_name);
        let lookup = self
            .source
            .cloudtrail_lookup
            .iter()
            .map(CloudTrailLookupSource::display_name);
        s3.chain(logs).chain(lookup).collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            path: self.path.clone().unwrap_or_default(),
            key,
            message,
        };
        if let Some(url) = &self.engine.ballista {
            let valid = url
                .strip_prefix("df://")
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(':'));
            if !valid {
                return Err(invalid(
                    "engine.ballista".into(),
                    format!("{url:?} is not a Ballista scheduler (df://host:50050)"),
                ));
            }
        }
        if let Some(lease) = &self.s3_lake.lease {
            if !notify::is_span(lease) || lease.trim().trim_end_matches('s') == "0" {
                return Err(invalid(
                    "s3_lake.lease".into(),
                    format!("{lease:?} is not a span above zero (10s, 1m, 5m)"),
                ));
            }
        }
        for (index, source) in self.source.s3.iter().enumerate() {
            if source.bucket.trim().is_empty() {
                return Err(invalid(
                    format!("source.s3[{index}].bucket"),
                    "must name a bucket".into(),
                ));
            }
            for account in &source.accounts {
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(
                        format!("source.s3[{index}].accounts"),
                        format!("{account:?} is not a 12-digit AWS account id"),
                    ));
                }
            }
            check_regions(&source.regions, &format!("source.s3[{index}].regions"))
                .map_err(|m| invalid(format!("source.s3[{index}].regions"), m))?;
        }
        for (index, source) in self.source.cloudwatch_logs.iter().enumerate() {
            if source.log_group.trim().is_empty() {
                return Err(invalid(
                    format!("source.cloudwatch_logs[{index}].log_group"),
                    "must name a log group".into(),
                ));
            }
        }
        for (index, source) in self.source.cloudwatch_logs.iter().enumerate() {
            for glob in &source.log_streams {
                if glob.is_empty() || glob.matches('[').count() != glob.matches(']').count() {
                    return Err(invalid(
                        format!("source.cloudwatch_logs[{index}].log_streams"),
                        format!("{glob:?} is not a stream-name glob"),
                    ));
                }
            }
        }
        for (index, source) in self.source.cloudtrail_lookup.iter().enumerate() {
            let key = format!("source.cloudtrail_lookup[{index}].regions");
            if source.regions.is_empty() {
                return Err(invalid(key, "list at least one region".into()));
            }
            check_regions(&source.regions, &key).map_err(|m| invalid(key.clone(), m))?;
            if let Some(attribute) = &source.lookup_attribute {
                if !LOOKUP_ATTRIBUTE_KEYS.contains(&attribute.key.as_str()) {
                    return Err(invalid(
                        format!("source.cloudtrail_lookup[{index}].lookup_attribute.key"),
                        format!(
                            "{:?} is not a LookupEvents attribute (one of {})",
                            attribute.key,
                            LOOKUP_ATTRIBUTE_KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
        for service in self.aws.endpoint_urls.keys() {
            if !AWS_SERVICES.contains(&service.as_str()) {
                return Err(invalid(
                    format!("aws.endpoint_urls.{service}"),
                    format!(
                        "not a service poolsight calls (one of {})",
                        AWS_SERVICES.join(", ")
                    ),
                ));
            }
        }
        if let Some(inventory) = &self.inventory {
            check_regions(&inventory.regions, "inventory.regions")
                .map_err(|m| invalid("inventory.regions".into(), m))?;
            for (index, account) in inventory.accounts.iter().enumerate() {
                let parts: Vec<&str> = account.role_arn.split(':').collect();
                let valid = parts.len() == 6
                    && parts[0] == "arn"
                    && parts[2] == "iam"
                    && parts[4].len() == 12
                    && parts[4].bytes().all(|b| b.is_ascii_digit())
                    && parts[5].starts_with("role/");
                if !valid {
                    return Err(invalid(
                        format!("inventory.accounts[{index}].role_arn"),
                        format!("{:?} is not a role ARN (arn:aws:iam::123456789012:role/PoolsightAudit)", account.role_arn),
                    ));
                }
            }
            if inventory
                .calls_per_second
                .is_some_and(|r| r.is_nan() || r <= 0.0)
            {
                return Err(invalid(
                    "inventory.calls_per_second".into(),
                    "must be above 0".into(),
                ));
            }
        }
        for (index, rule) in self.detect.suppress.iter().enumerate() {
            let key = |field: &str| format!("detect.suppress[{index}].{field}");
            if rule.detection.trim().is_empty() {
                return Err(invalid(
                    key("detection"),
                    "name a detection id, or \"*\"".into(),
                ));
            }
            if rule.reason.trim().is_empty() {
                return Err(invalid(
                    key("reason"),
                    "say why these findings are suppressed (it is kept in their audit trail)"
                        .into(),
                ));
            }
            if let Some(expires) = &rule.expires {
                let b = expires.as_bytes();
                let date_like = b.len() >= 10
                    && b[4] == b'-'
                    && b[7] == b'-'
                    && [0, 1, 2, 3, 5, 6, 8, 9]
                        .iter()
                        .all(|&i| b[i].is_ascii_digit());
                if !date_like {
                    return Err(invalid(
                        key("expires"),
                        format!("{expires:?} is not a date (2027-01-31) or RFC 3339 time"),
                    ));
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for name in self.source_names() {
            if !names.insert(name.clone()) {
                return Err(invalid(
                    "source".into(),
                    format!("two sources are named {name:?}; give one of them a distinct `name`"),
                ));
            }
        }
        for (key, value) in [
            (
                "collect.filter_log_events_tps",
                self.collect.filter_log_events_tps,
            ),
            ("collect.lookup_events_tps", self.collect.lookup_events_tps),
        ] {
            if value.is_some_and(|v| !(v > 0.0 && v <= 100.0)) {
                return Err(invalid(
                    key.into(),
                    "must be above 0 and at most 100".into(),
                ));
            }
        }
        if self.collect.concurrency == Some(0) || self.collect.max_attempts == Some(0) {
            return Err(invalid(
                "collect".into(),
                "concurrency and max_attempts must be at least 1".into(),
            ));
        }
        if let Some(region) = &self.aws.region {
            check_regions(std::slice::from_ref(region), "aws.region")
                .map_err(|m| invalid("aws.region".into(), m))?;
        }
        if let Some(url) = &self.aws.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    "aws.endpoint_url".into(),
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
        }
        for pool in &self.detect.own_pools {
            if !looks_like_pool_id(pool) {
                return Err(invalid(
                    "detect.own_pools".into(),
                    format!("{pool:?} is not an identity pool id (<region>:<uuid>)"),
                ));
            }
        }
        self.notify
            .validate(self.aws.region.as_deref())
            .map_err(|(key, message)| invalid(key, message))?;
        if self.ingest.workers == Some(0) {
            return Err(invalid(
                "ingest.workers".into(),
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl S3Source {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("s3:{}/{}", self.bucket, self.prefix))
    }
}

impl CloudWatchLogsSource {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("cloudwatch_logs:{}", self.log_group))
    }
}

impl CloudTrailLookupSource {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| "cloudtrail_lookup".to_string())
    }
}

fn check_regions(regions: &[String], _key: &str) -> Result<(), String> {
    for region in regions {
        let parts: Vec<&str> = region.split('-').collect();
        let valid = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Err(format!(
                "{region:?} is not an AWS region (like \"us-east-1\")"
            ));
        }
    }
    Ok(())
}

/// `<region>:<uuid>`.
pub fn looks_like_pool_id(text: &str) -> bool {
    let Some((region, uuid)) = text.split_once(':') else {
        return false;
    };
    check_regions(&[region.to_string()], "").is_ok()
        && uuid.len() == 36
        && uuid.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/poolsight/poolsight.toml"))
    }

    #[test]
    fn the_example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../poolsight.example.toml");
        let config = Config::load(&path).expect("the example is valid");
        assert_eq!(config.source.s3.len(), 1);
        assert_eq!(config.source.cloudwatch_logs.len(), 1);
        assert_eq!(
            config.source.cloudtrail_lookup[0].regions,
            vec!["us-east-1"]
        );
        assert_eq!(config.detect.fail_on, Severity::High);
        assert!(config.lake.unwrap().is_absolute() || path.is_relative());
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let config = parse(
            "lake = \"lake\"\n[geoip]\nasn_db = \"geo/asn.mmdb\"\ncountry_db = \"/abs/c.mmdb\"\n",
        )
        .unwrap();
        assert_eq!(
            config.lake.as_deref(),
            Some(Path::new("/etc/poolsight/lake"))
        );
        assert_eq!(
            config.geoip.asn_db.as_deref(),
            Some(Path::new("/etc/poolsight/geo/asn.mmdb"))
        );
        assert_eq!(
            config.geoip.country_db.as_deref(),
            Some(Path::new("/abs/c.mmdb"))
        );
        assert_eq!(
            config.lake_or(Some(Path::new("cli-lake"))),
            PathBuf::from("cli-lake")
        );
    }

    #[test]
    fn an_s3_lake_is_a_location_not_a_folder() {
        let config =
            parse("lake = \"s3://bucket/poolsight\"\n[s3_lake]\nlease = \"90s\"\n").unwrap();
        assert_eq!(config.s3_lake.lease.as_deref(), Some("90s"));
        assert_eq!(config.s3_lake.read_cache_bytes(), 2048 << 20);
        let uncached = parse("[s3_lake]\nread_cache_mib = 0\n").unwrap();
        assert_eq!(uncached.s3_lake.read_cache_bytes(), 0);
        let engine = parse("[engine]\nballista = \"df://scheduler:50050\"\n").unwrap();
        assert_eq!(
            engine.engine.ballista.as_deref(),
            Some("df://scheduler:50050")
        );
        let error = parse("[engine]\nballista = \"http://x:50050\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("engine.ballista"), "{error}");
        let error = parse("[s3_lake]\nlease = \"0s\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("s3_lake.lease"), "{error}");
        let lake = config.lake.clone().unwrap();
        assert_eq!(lake, PathBuf::from("s3://bucket/poolsight"));
        assert!(is_remote_lake(&lake));
        assert!(!is_remote_lake(Path::new("/etc/poolsight/lake")));
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let error = parse("lake = \"x\"\n\n[aws]\nregoin = \"us-east-1\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 4, column 1"), "{error}");
        assert!(error.contains("regoin"), "{error}");
        assert!(error.contains("/etc/poolsight/poolsight.toml"), "{error}");
    }

    #[test]
    fn values_are_checked() {
        let cases = [
            ("[[source.s3]]\nbucket = \"\"\n", "source.s3[0].bucket"),
            (
                "[[source.s3]]\nbucket = \"b\"\naccounts = [\"123\"]\n",
                "12-digit",
            ),
            (
                "[[source.cloudtrail_lookup]]\nregions = []\n",
                "at least one region",
            ),
            (
                "[[source.cloudtrail_lookup]]\nregions = [\"useast1\"]\n",
                "not an AWS region",
            ),
            ("[aws]\nendpoint_url = \"127.0.0.1:5000\"\n", "http(s) URL"),
            (
                "[detect]\nown_pools = [\"us-east-1:nope\"]\n",
                "not an identity pool id",
            ),
            ("[detect]\nfail_on = \"severe\"\n", "severe"),
            ("[ingest]\nworkers = 0\n", "at least 1"),
            (
                "[[source.cloudtrail_lookup]]\nregions = [\"us-east-1\"]\nlookup_attribute = { key = \"Source\", value = \"x\" }\n",
                "not a LookupEvents attribute",
            ),
            (
                "[[source.cloudtrail_lookup]]\nregions = [\"us-east-1\"]\n[[source.cloudtrail_lookup]]\nregions = [\"eu-west-1\"]\n",
                "distinct `name`",
            ),
            ("[collect]\nlookup_events_tps = 0\n", "above 0"),
            (
                "[[source.cloudwatch_logs]]\nlog_group = \"g\"\nlog_streams = [\"a[b\"]\n",
                "not a stream-name glob",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }

    #[test]
    fn defaults_and_severity_order() {
        let config = parse("").unwrap();
        assert_eq!(config.lake_or(None), PathBuf::from(DEFAULT_LAKE));
        assert!(Severity::Critical > Severity::High && Severity::Info < Severity::Low);
        assert!(looks_like_pool_id(
            "us-east-1:1cf667a2-49a6-454b-9e45-23199e8a1b2c"
        ));
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let error = Config::discover(Some(Path::new("/nonexistent/poolsight.toml"))).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/poolsight.toml"),
            "{error}"
        );
    }
}
