//! Command-line arguments (the CLI contract of `../shared/design.md`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "poolsight",
    version,
    about = "Audit and security analytics for AWS Cognito Identity Pool credentials"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More logging (-v: debug for poolsight, -vv: everything).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log line format (logs go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The config file (TOML; default: ./poolsight.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ingest local CloudTrail files or folders into the lake.
    Ingest(IngestArgs),
    /// Write realistic synthetic CloudTrail in the S3 delivery layout.
    Sample(SampleArgs),
    /// Ingest sample-data/ into a demo lake and print a report (no AWS, no network).
    Demo(DemoArgs),
    /// Run SQL on the lake: one query, or an interactive prompt.
    Sql(SqlArgs),
    /// Pull from the AWS sources of the config (S3 trail files, CloudWatch Logs, LookupEvents).
    Collect(CollectArgs),
    /// The scheduled job: collect, then detect. Exit codes in docs/operations.md.
    Run(CollectArgs),
    /// Run the detections of queries/ on the lake, print the findings and store them.
    Detect(DetectArgs),
    /// Check that every detection parses, plans against the schema and returns the finding columns.
    Lint(LintArgs),
    /// The stored findings: list, show, and acknowledge, resolve, suppress or reopen them.
    Findings(FindingsArgs),
    /// The state tables detections and dashboards read (identity_hourly, pool_hourly, …).
    State(StateArgs),
    /// The terminal dashboard: findings, identities, pools; Enter drills down, ? shows the keys.
    Dash(DashArgs),
    /// Merge the small Parquet files of each events partition (atomic; `run` does it too).
    Compact(CompactArgs),
    /// Snapshot the identity pools, their roles and policies, and the trails into the lake.
    Inventory(InventoryArgs),
    /// What the trails record against what poolsight needs; exit 1 on a gap.
    Coverage(CoverageArgs),
    /// Deliver new and changed findings to the [notify] targets (Security Hub, SNS, webhooks).
    Notify(NotifyArgs),
    /// Export the findings: `export ocsf --out DIR|s3://…` (Security Lake custom-source layout).
    Export(ExportArgs),
    /// The lake's columns; with --athena, CREATE EXTERNAL TABLE statements for Athena/Glue.
    Schema(SchemaArgs),
    /// Run a Ballista scheduler or executor that knows poolsight's functions (docs/cluster.md).
    Cluster(ClusterArgs),
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub role: ClusterRole,
}

#[derive(Debug, Subcommand)]
pub enum ClusterRole {
    /// The scheduler: plans queries into stages and hands tasks to executors.
    Scheduler {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:50050")]
        bind: std::net::SocketAddr,
        /// The host executors and clients reach the scheduler at.
        #[arg(long, default_value = "localhost")]
        external_host: String,
    },
    /// An executor: runs tasks, reading the lake (S3 through [aws]) and serving shuffle data.
    Executor {
        /// The scheduler, host:port.
        #[arg(long, default_value = "localhost:50050")]
        scheduler: String,
        /// Host to listen on.
        #[arg(long, default_value = "0.0.0.0")]
        bind_host: String,
        /// The host the scheduler and other executors reach this one at.
        #[arg(long)]
        external_host: Option<String>,
        /// Arrow Flight port (shuffle data).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// gRPC port (tasks).
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Task slots (default: the cores).
        #[arg(long)]
        vcores: Option<usize>,
        /// Folder for shuffle files (default: a temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// MiB of memory the executor's tasks share; sorts, aggregations and
        /// sort-merge joins spill to disk past it (default: no limit — the
        /// host's memory, and the OOM killer past it).
        #[arg(long)]
        memory_limit_mib: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print Athena (Glue) DDL: events, insights, quarantine and the state tables, with
    /// partition projection on their date partitions.
    #[arg(long)]
    pub athena: bool,
    /// Where the lake is in S3 (s3://bucket/prefix); required with --athena.
    #[arg(long)]
    pub location: Option<String>,
    /// The Glue database of the tables.
    #[arg(long, default_value = "poolsight")]
    pub database: String,
    /// The first day partition projection covers (YYYY-MM-DD).
    #[arg(long, default_value = "2015-01-01")]
    pub since: String,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Print what would go to each target (bodies included); send nothing, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub what: ExportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// The stored findings as OCSF Detection Findings (class 2004) in Parquet,
    /// partitioned region=/accountId=/eventDay= as a Security Lake custom source.
    Ocsf(ExportOcsfArgs),
}

#[derive(Debug, Args)]
pub struct ExportOcsfArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// A folder, or the custom source's location s3://bucket/prefix.
    #[arg(long)]
    pub out: String,
    /// Only findings updated at or after this time (RFC 3339, YYYY-MM-DD, or 24h/7d back from now).
    #[arg(long)]
    pub since: Option<String>,
    /// Account partition of findings whose evidence names none (default: the lake's most frequent).
    #[arg(long)]
    pub account: Option<String>,
    /// Region partition of findings whose evidence names none (default: the lake's most frequent).
    #[arg(long)]
    pub region: Option<String>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Store this snapshot (JSON, as written under inventory/_snapshots/)
    /// instead of calling AWS: an inventory taken elsewhere.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = CoverageFormat::Table)]
    pub format: CoverageFormat,
    /// A source whose newest event is this far behind the lake's newest is stale (`30m`, `6h`, `2d`).
    #[arg(long, default_value = "6h")]
    pub stale_after: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CoverageFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Compact a partition once it holds this many files (default 16).
    #[arg(long, default_value_t = 16)]
    pub min_files: usize,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DashArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// The dashboard to open: overview, identity, pool, or a layout of
    /// `[dash] dashboards_dir` / --dashboards.
    #[arg(long, default_value = "overview")]
    pub dashboard: String,
    /// What the dashboard is about: an identity id (identity) or a pool id
    /// (pool). Without it those open a picker.
    #[arg(long)]
    pub param: Option<String>,
    /// The time window: 1h, 24h, 7d, all, <n>m|h|d|w (back from the newest
    /// event) or SINCE..UNTIL. Default: the config's `[dash] window`, else 7d.
    #[arg(long)]
    pub window: Option<String>,
    /// A folder of layouts (*.toml) beside and over the built-in ones.
    #[arg(long)]
    pub dashboards: Option<PathBuf>,
    /// Leave the mouse to the terminal (text selection) instead of scrolling panels.
    #[arg(long)]
    pub no_mouse: bool,
    /// Reload every SECONDS (re-reading the lake, as `r` does) while
    /// watching a lake that `poolsight run` keeps filling; 0: never.
    #[arg(long, default_value_t = 0)]
    pub refresh: u64,
    /// No interaction: load every panel, print the screen as text and exit.
    #[arg(long)]
    pub print: bool,
    /// The screen size for --print, WIDTHxHEIGHT.
    #[arg(long, default_value = "160x48")]
    pub size: String,
    /// List the dashboards and exit.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FindingsFormat {
    Table,
    Json,
    Jsonl,
    /// OCSF 1.1.0 Detection Findings (class 2004), one JSON object per line.
    Ocsf,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FindingsFormat::Table)]
    pub format: FindingsFormat,
    /// Write the findings to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Judge only events from this time (RFC 3339, YYYY-MM-DD, or 24h/7d/2w back from the
    /// newest event); detections still read the history and lookback they need.
    #[arg(long)]
    pub since: Option<String>,
    /// Judge only events before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,
    /// Only these detections or categories (comma-separated or repeated).
    #[arg(long)]
    pub only: Vec<String>,
    /// Exit 1 when a finding at or above this severity is found.
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
    /// Do not store the findings (nor move the detections' progress).
    #[arg(long)]
    pub no_store: bool,
    /// Run the detections on this Ballista scheduler (df://host:50050), or `local`
    /// (default: `[engine] ballista`, else in process).
    #[arg(long)]
    pub engine: Option<String>,
    /// Judge the whole lake again, not only what arrived since the last run.
    #[arg(long)]
    pub full: bool,
    /// Print every open finding, not only the new and updated ones.
    #[arg(long)]
    pub all: bool,
}

impl DetectArgs {
    /// The detection request these arguments make.
    pub fn request(&self) -> poolsight_detect::detector::DetectRequest {
        use poolsight_detect::detector::{DetectRequest, Mode};
        DetectRequest {
            mode: if self.full {
                Mode::Full
            } else {
                Mode::Incremental
            },
            only: self
                .only
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            since: self.since.clone(),
            until: self.until.clone(),
            store: !self.no_store,
        }
    }

    /// Every detection over the whole lake, findings stored, no exit threshold
    /// (what `run` and `demo` do after loading the lake).
    pub fn all(lake: PathBuf) -> Self {
        Self {
            lake: Some(lake),
            format: FindingsFormat::Table,
            output: None,
            since: None,
            until: None,
            only: Vec::new(),
            fail_on: None,
            no_store: false,
            engine: None,
            full: false,
            all: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl From<SeverityArg> for poolsight_config::Severity {
    fn from(value: SeverityArg) -> Self {
        use poolsight_config::Severity as S;
        match value {
            SeverityArg::Info => S::Info,
            SeverityArg::Low => S::Low,
            SeverityArg::Medium => S::Medium,
            SeverityArg::High => S::High,
            SeverityArg::Critical => S::Critical,
        }
    }
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub action: StateAction,
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long, global = true)]
    pub lake: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Build every state table again from `events` (detect keeps them up to date itself).
    Rebuild,
}

#[derive(Debug, Args)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub action: FindingsAction,
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long, global = true)]
    pub lake: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum FindingsAction {
    /// List findings (default: open and acknowledged ones, most severe first).
    List(FindingsListArgs),
    /// One finding in full, with its audit trail and where it was delivered.
    Show {
        /// The finding id, or the start of it or of its hash (the table's `id`).
        id: String,
    },
    /// Acknowledge: someone is on it (it stays listed).
    Ack(StatusArgs),
    /// Resolve: dealt with; it opens again if it fires with new evidence.
    Resolve(StatusArgs),
    /// Suppress: expected behaviour; never listed or counted again.
    Suppress(StatusArgs),
    /// Open again.
    Reopen(StatusArgs),
}

#[derive(Debug, Args)]
pub struct FindingsListArgs {
    /// Only these statuses (open, acknowledged, resolved, suppressed; comma-separated or
    /// repeated); `all` for every one.
    #[arg(long)]
    pub status: Vec<String>,
    /// Only these detections or categories.
    #[arg(long)]
    pub only: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FindingsFormat::Table)]
    pub format: FindingsFormat,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The finding id, or the start of it or of its hash (the table's `id`).
    pub id: String,
    /// Why: kept in the finding's audit trail (required).
    #[arg(long)]
    pub reason: String,
    /// Who (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Plan against this lake (default: an empty scratch lake; the schema is the same).
    #[arg(long)]
    pub lake: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Backfill from this time (RFC 3339, YYYY-MM-DD, or 90m/24h/7d ago); checkpoints are left alone.
    #[arg(long)]
    pub from: Option<String>,
    /// Backfill up to this time (same forms as --from).
    #[arg(long)]
    pub to: Option<String>,
    /// Only the source with this name (repeatable; names: `s3:<bucket>/<prefix>`,
    /// `cloudwatch_logs:<group>`, `cloudtrail_lookup`, or the config's `name`).
    #[arg(long)]
    pub source: Vec<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders: CloudTrail S3-layout trees, {"Records":[…]} files, JSON Lines,
    /// `aws logs filter-log-events` and `aws cloudtrail lookup-events` output.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The lake folder, created if missing (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Worker threads (default: the config's `ingest.workers`, else one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Records larger than this many bytes are quarantined (default: the config's
    /// `ingest.max_record_bytes`, else 4 MiB).
    #[arg(long)]
    pub max_record_bytes: Option<usize>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of CloudTrail records to write.
    #[arg(long, default_value_t = 10_000)]
    pub events: usize,
    /// Random seed: the same seed writes the same files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Days the trail covers.
    #[arg(long, default_value_t = 2)]
    pub days: u32,
    /// First day of the trail (UTC, YYYY-MM-DD).
    #[arg(long, default_value = "2026-11-20")]
    pub start: String,
    /// Leave out the attacks and false-positive traps.
    #[arg(long)]
    pub no_attacks: bool,
    /// Also write CloudWatch Logs and EventBridge copies of some events.
    #[arg(long)]
    pub other_sources: bool,
    /// Write the staged attacks and traps, with their event ids, to this JSON Lines file
    /// (what `bench/detect-quality` scores the detections against).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo lake folder.
    #[arg(long, default_value = "./poolsight-demo")]
    pub lake: PathBuf,
    /// The sample data to ingest (default: the repository's sample-data/).
    #[arg(long)]
    pub sample_data: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The lake folder (default: the config's `lake`, else ./poolsight-lake).
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Run the query on this Ballista scheduler (df://host:50050), or `local`
    /// (default: `[engine] ballista`, else in process).
    #[arg(long)]
    pub engine: Option<String>,
    /// The query (tables: events, quarantine, findings; views: credentials,
    /// identity_activity, pools, access_denials). Without it: an interactive prompt on a
    /// terminal, else statements from stdin.
    pub query: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Jsonl,
}
