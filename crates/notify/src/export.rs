//! `poolsight export ocsf`: the findings as OCSF Detection Findings in
//! Parquet, laid out as an Amazon Security Lake custom source:
//!
//! ```text
//! <out>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/poolsight-<hash>.parquet
//! ```
//!
//! `<out>` is the custom source's location (`s3://aws-security-data-lake-…/ext/poolsight/…`)
//! or a folder. One row per finding version (its `time` is when it last
//! changed, which picks the `eventDay`); `json_t` members (`evidences[].data`)
//! are JSON text. The file name is a hash of the versions in the file, so
//! exporting the same findings again rewrites the same objects instead of
//! adding duplicates. Local files are written atomically (temporary file,
//! rename); S3 objects are whole `PutObject`s, never visible half written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use serde::Serialize;
use serde_json::Value;

use crate::NotifyError;

/// Where the export goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Folder(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Destination {
    /// `s3://bucket/prefix` or a folder.
    pub fn parse(text: &str) -> Result<Self, NotifyError> {
        match text.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(NotifyError::Invalid(format!(
                        "{text:?} names no bucket (s3://bucket/prefix)"
                    )));
                }
                Ok(Destination::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_matches('/').to_string(),
                })
            }
            None => Ok(Destination::Folder(PathBuf::from(text))),
        }
    }
}

/// One file of the export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedFile {
    /// The object key or path, relative to the destination.
    pub key: String,
    pub rows: usize,
    pub bytes: usize,
}

/// A Parquet file's relative key and content.
pub struct PartitionFile {
    pub key: String,
    pub rows: usize,
    pub content: Vec<u8>,
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}
fn int(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}
fn object(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}
fn list_of(name: &str, item: DataType) -> Field {
    Field::new(
        name,
        DataType::List(Arc::new(Field::new("item", item, true))),
        true,
    )
}
fn account() -> Field {
    object("account", vec![utf8("uid"), int("type_id"), utf8("type")])
}
fn reference(name: &str) -> Field {
    object(name, vec![utf8("uid"), utf8("src_url")])
}

/// The Arrow (and Parquet) schema of the OCSF events
/// [`crate::ocsf::detection_finding`] writes.
pub fn ocsf_schema() -> SchemaRef {
    let attack = DataType::Struct(Fields::from(vec![
        reference("technique"),
        reference("sub_technique"),
    ]));
    let evidence = DataType::Struct(Fields::from(vec![
        object(
            "actor",
            vec![
                object(
                    "user",
                    vec![
                        utf8("uid"),
                        utf8("name"),
                        int("type_id"),
                        utf8("type"),
                        utf8("credential_uid"),
                        account(),
                    ],
                ),
                object("session", vec![utf8("credential_uid"), utf8("issuer")]),
                object("idp", vec![utf8("uid"), utf8("name")]),
            ],
        ),
        object("src_endpoint", vec![utf8("ip")]),
        utf8("data"),
    ]));
    let resource = DataType::Struct(Fields::from(vec![
        utf8("uid"),
        utf8("type"),
        utf8("region"),
        utf8("cloud_partition"),
    ]));
    Arc::new(Schema::new(vec![
        int("class_uid"),
        utf8("class_name"),
        int("category_uid"),
        utf8("category_name"),
        int("activity_id"),
        utf8("activity_name"),
        int("type_uid"),
        utf8("type_name"),
        int("severity_id"),
        utf8("severity"),
        int("status_id"),
        utf8("status"),
        int("time"),
        int("start_time"),
        int("end_time"),
        int("count"),
        utf8("message"),
        object(
            "finding_info",
            vec![
                utf8("uid"),
                utf8("title"),
                utf8("desc"),
                list_of("types", DataType::Utf8),
                object(
                    "analytic",
                    vec![
                        utf8("uid"),
                        utf8("name"),
                        utf8("category"),
                        utf8("desc"),
                        int("type_id"),
                        utf8("type"),
                    ],
                ),
                list_of("attacks", attack),
                int("first_seen_time"),
                int("last_seen_time"),
                int("created_time"),
                int("modified_time"),
                utf8("product_uid"),
                utf8("src_url"),
            ],
        ),
        list_of("evidences", evidence),
        list_of("resources", resource),
        object("cloud", vec![utf8("provider"), utf8("region"), account()]),
        object(
            "metadata",
            vec![
                utf8("version"),
                utf8("uid"),
                utf8("correlation_uid"),
                list_of("profiles", DataType::Utf8),
                object(
                    "product",
                    vec![
                        utf8("name"),
                        utf8("vendor_name"),
                        utf8("version"),
                        utf8("url_string"),
                    ],
                ),
            ],
        ),
    ]))
}

/// An OCSF event as the Parquet row: `json_t` members as JSON text.
fn as_row(event: &Value) -> Value {
    let mut row = event.clone();
    if let Some(evidences) = row.get_mut("evidences").and_then(Value::as_array_mut) {
        for evidence in evidences {
            if let Some(data) = evidence.get_mut("data") {
                *data = Value::String(data.to_string());
            }
        }
    }
    row
}

/// Groups events into Security Lake partitions and encodes each as one
/// Parquet file. Events without an account or region take the defaults.
pub fn partition_files(
    events: &[Value],
    default_account: &str,
    default_region: &str,
) -> Result<Vec<PartitionFile>, NotifyError> {
    let mut partitions: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    for event in events {
        let region = event
            .pointer("/cloud/region")
            .and_then(Value::as_str)
            .filter(|r| is_partition_value(r))
            .unwrap_or(default_region);
        let account = event
            .pointer("/cloud/account/uid")
            .and_then(Value::as_str)
            .filter(|a| is_partition_value(a))
            .unwrap_or(default_account);
        let day = event
            .get("time")
            .and_then(Value::as_i64)
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y%m%d").to_string())
            .unwrap_or_else(|| "19700101".into());
        partitions
            .entry((region.to_string(), account.to_string(), day))
            .or_default()
            .push(as_row(event));
    }
    let schema = ocsf_schema();
    let mut files = Vec::new();
    for ((region, account, day), rows) in partitions {
        let mut decoder = arrow::json::ReaderBuilder::new(Arc::clone(&schema))
            .with_batch_size(rows.len().max(1))
            .build_decoder()?;
        decoder.serialize(&rows)?;
        let batch = decoder
            .flush()?
            .unwrap_or_else(|| RecordBatch::new_empty(Arc::clone(&schema)));
        // The name is the content's: the same finding versions at the same
        // times make the same file (a repeat overwrites, never duplicates).
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for row in &rows {
            let version = row
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let time = row.get("time").and_then(Value::as_i64).unwrap_or(0);
            hasher.update(version.as_bytes());
            hasher.update(b"\x1e");
            hasher.update(&time.to_le_bytes());
            hasher.update(b"\x1f");
        }
        let key = format!(
            "region={region}/accountId={account}/eventDay={day}/poolsight-{:016x}.parquet",
            hasher.digest()
        );
        let mut content = Vec::new();
        {
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                .build();
            let mut writer = parquet::arrow::ArrowWriter::try_new(
                &mut content,
                Arc::clone(&schema),
                Some(properties),
            )?;
            writer.write(&batch)?;
            writer.close()?;
        }
        files.push(PartitionFile {
            key,
            rows: rows.len(),
            content,
        });
    }
    Ok(files)
}

/// A region or account as a partition value: letters, digits and dashes.
fn is_partition_value(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Writes the files under a folder, each atomically.
pub fn write_to_folder(
    folder: &Path,
    files: &[PartitionFile],
) -> Result<Vec<ExportedFile>, NotifyError> {
    let mut written = Vec::new();
    for file in files {
        let path = folder.join(&file.key);
        if let Some(parent) = path.parent() {
            poolsight_lake::fsio::create_dir_durable(parent)?;
        }
        poolsight_lake::write_atomically(&path, &file.content)?;
        written.push(ExportedFile {
            key: file.key.clone(),
            rows: file.rows,
            bytes: file.content.len(),
        });
    }
    Ok(written)
}

/// Puts the files under `s3://bucket/prefix/`.
pub async fn write_to_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    files: &[PartitionFile],
    attempts: u32,
) -> Result<Vec<ExportedFile>, NotifyError> {
    let mut written = Vec::new();
    for file in files {
        let key = if prefix.is_empty() {
            file.key.clone()
        } else {
            format!("{prefix}/{}", file.key)
        };
        poolsight_collect::aws::call_with_retries("PutObject", attempts, || {
            client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .content_type("application/vnd.apache.parquet")
                .body(aws_sdk_s3::primitives::ByteStream::from(
                    file.content.clone(),
                ))
                .send()
        })
        .await?;
        written.push(ExportedFile {
            key,
            rows: file.rows,
            bytes: file.content.len(),
        });
    }
    Ok(written)
}

/// `poolsight export ocsf` options.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// A folder or `s3://bucket/prefix`.
    pub out: String,
    /// Only findings updated at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// For findings whose evidence names no account or region (default:
    /// the lake's most frequent `recipient_account_id` and `aws_region`).
    pub default_account: Option<String>,
    pub default_region: Option<String>,
}

/// What the export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    pub destination: String,
    pub findings: usize,
    pub files: Vec<ExportedFile>,
}

/// Exports the lake's stored findings as OCSF Parquet (see the module doc).
pub async fn export_ocsf(
    config: &poolsight_config::Config,
    lake_dir: &Path,
    options: &ExportOptions,
) -> Result<ExportReport, NotifyError> {
    let destination = Destination::parse(&options.out)?;
    let lake = poolsight_lake::Lake::open(lake_dir)?;
    let findings: Vec<_> = poolsight_detect::findings::load_findings(&lake)?
        .into_iter()
        .filter(|f| {
            options.since.is_none_or(|since| {
                poolsight_model::time::parse_instant(&f.updated_at).is_none_or(|t| t >= since)
            })
        })
        .collect();
    let events = crate::ocsf::render_stored(config, lake_dir, &findings).await?;
    let (account, region) = partition_defaults(
        config,
        lake_dir,
        options.default_account.clone(),
        options.default_region.clone(),
    )
    .await;
    let files = partition_files(&events, &account, &region)?;
    let written = match &destination {
        Destination::Folder(folder) => write_to_folder(folder, &files)?,
        Destination::S3 { bucket, prefix } => {
            let settings = poolsight_collect::AwsSettings::from_config(
                config,
                config.collect.max_attempts.unwrap_or(4),
            );
            let sdk = poolsight_collect::aws::load_sdk_config(&settings).await;
            let client =
                poolsight_collect::aws::s3_client(&sdk, &settings, None, &Default::default());
            write_to_s3(&client, bucket, prefix, &files, settings.max_attempts).await?
        }
    };
    Ok(ExportReport {
        destination: options.out.clone(),
        findings: findings.len(),
        files: written,
    })
}

/// The account and region partition of findings whose evidence names
/// none: the given ones, else the lake's most frequent, else `[aws] region`
/// (and `000000000000`, `us-east-1` for a lake without events).
pub(crate) async fn partition_defaults(
    config: &poolsight_config::Config,
    lake_dir: &Path,
    account: Option<String>,
    region: Option<String>,
) -> (String, String) {
    let (lake_account, lake_region) = lake_defaults(lake_dir).await;
    let account = account
        .or(lake_account)
        .unwrap_or_else(|| "000000000000".into());
    let region = region
        .or(lake_region)
        .or_else(|| config.aws.region.clone())
        .unwrap_or_else(|| "us-east-1".into());
    (account, region)
}

/// The lake's most frequent account and region.
async fn lake_defaults(lake_dir: &Path) -> (Option<String>, Option<String>) {
    let Ok(session) = poolsight_detect::LakeSession::open(lake_dir).await else {
        return (None, None);
    };
    let most = |column: &str| {
        format!("SELECT {column} AS v FROM events WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    };
    let mut out = Vec::new();
    for column in ["recipient_account_id", "aws_region"] {
        let value = match session.query(&most(column)).await {
            Ok(batches) => crate::context::rows(&batches)
                .ok()
                .and_then(|rows| rows.into_iter().next())
                .and_then(|row| row.get("v").and_then(Value::as_str).map(str::to_string)),
            Err(_) => None,
        };
        out.push(value);
    }
    let region = out.pop().flatten();
    let account = out.pop().flatten();
    (account, region)
}
