//! The lake as Athena (Glue) tables: `CREATE EXTERNAL TABLE` statements
//! for `events`, `insights`, `quarantine` and every state table, over the
//! lake copied to (or kept in) S3, with **partition projection** on the
//! date partitions (no crawler, no `MSCK REPAIR`: Athena computes the
//! partitions from the template).
//!
//! - Column types come from the Arrow schemas the lake writes (events:
//!   `poolsight_model::event_schema`; state tables: the schema their SQL
//!   returns, as `state.rs` writes them), mapped to Hive types
//!   ([`hive_type`]).
//! - Hourly state tables are partitioned by `event_date` like `events`;
//!   an accumulating table's part files are `<name>_parts`, and a view
//!   `<name>` folds them into one row per key as poolsight reads them
//!   (`first_seen` min, `last_seen` max, the rest summed). Athena skips
//!   `_manifest.json` (names starting with `_` are not data).
//! - `findings/` is not a table: it holds the findings and their audit
//!   trail side by side. `poolsight export ocsf` is the findings' form for
//!   Athena and Security Lake.

use arrow::datatypes::{DataType, SchemaRef};

use crate::catalog::{Catalog, StateKind};
use crate::{DetectError, LakeSession};

/// Where the tables point and what they are called.
#[derive(Debug, Clone)]
pub struct AthenaOptions {
    /// `s3://bucket/prefix`: the lake's root in S3.
    pub location: String,
    /// The Glue database.
    pub database: String,
    /// The earliest date partition projection covers (`YYYY-MM-DD`).
    pub since: String,
}

/// The Hive (Athena) type of an Arrow type.
pub fn hive_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            "string".into()
        }
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 | DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "bigint".into(),
        DataType::UInt64 => "decimal(20,0)".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            format!("array<{}>", hive_type(item.data_type()))
        }
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), hive_type(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                hive_type(kv[0].data_type()),
                hive_type(kv[1].data_type())
            ),
            _ => "string".into(),
        },
        DataType::Dictionary(_, value) => hive_type(value),
        _ => "string".into(),
    }
}

/// A quoted identifier (backticks doubled).
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A quoted string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// One `CREATE EXTERNAL TABLE` over `folder` (relative to the lake root),
/// partitioned by `partition` (a projected date) when given.
fn table(
    options: &AthenaOptions,
    name: &str,
    schema: &SchemaRef,
    folder: &str,
    partition: Option<&str>,
    comment: &str,
) -> String {
    let location = format!("{}/{folder}/", options.location.trim_end_matches('/'));
    let columns: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| Some(f.name().as_str()) != partition)
        .map(|f| format!("  {} {}", ident(f.name()), hive_type(f.data_type())))
        .collect();
    let mut ddl = format!(
        "-- {comment}\nCREATE EXTERNAL TABLE IF NOT EXISTS {}.{} (\n{}\n)\n",
        ident(&options.database),
        ident(name),
        columns.join(",\n")
    );
    if let Some(partition) = partition {
        ddl.push_str(&format!("PARTITIONED BY ({} string)\n", ident(partition)));
    }
    ddl.push_str(&format!(
        "STORED AS PARQUET\nLOCATION {}\n",
        literal(&location)
    ));
    let mut properties = vec![("parquet.compression".to_string(), "ZSTD".to_string())];
    if let Some(partition) = partition {
        properties.extend([
            ("projection.enabled".into(), "true".into()),
            (format!("projection.{partition}.type"), "date".into()),
            (
                format!("projection.{partition}.format"),
                "yyyy-MM-dd".into(),
            ),
            (
                format!("projection.{partition}.range"),
                format!("{},NOW", options.since),
            ),
            (format!("projection.{partition}.interval"), "1".into()),
            (
                format!("projection.{partition}.interval.unit"),
                "DAYS".into(),
            ),
            (
                "storage.location.template".into(),
                format!("{location}{partition}=${{{partition}}}/"),
            ),
        ]);
    }
    let properties: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("  {}={}", literal(k), literal(v)))
        .collect();
    ddl.push_str(&format!(
        "TBLPROPERTIES (\n{}\n);\n",
        properties.join(",\n")
    ));
    ddl
}

/// The statements for the lake of `session` (state tables' columns from
/// their SQL, so a lake that has not built them yet gets them too).
pub async fn ddl(
    session: &LakeSession,
    catalog: &Catalog,
    options: &AthenaOptions,
) -> Result<String, DetectError> {
    if !options.location.starts_with("s3://") || options.location.len() <= "s3://".len() {
        return Err(DetectError::Request(format!(
            "{:?} is not an S3 location (s3://bucket/prefix)",
            options.location
        )));
    }
    let database_ok = !options.database.is_empty()
        && options.database.len() <= 255
        && options
            .database
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !database_ok {
        return Err(DetectError::Request(format!(
            "{:?} is not a Glue database name (lowercase letters, digits, _)",
            options.database
        )));
    }
    if options.location.contains(['\'', '\n', '\r']) {
        return Err(DetectError::Request(
            "the S3 location may not contain quotes or line breaks".into(),
        ));
    }
    let date = options.since.as_bytes();
    let is_date = date.len() == 10
        && date[4] == b'-'
        && date[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| date[i].is_ascii_digit());
    if !is_date {
        return Err(DetectError::Request(format!(
            "{:?} is not a date (YYYY-MM-DD)",
            options.since
        )));
    }
    let mut out = format!(
        "-- poolsight lake as Athena tables (database {}), generated by `poolsight schema --athena`.\n\
         -- Partition projection on the date partitions: no crawler or MSCK REPAIR needed.\n\
         CREATE DATABASE IF NOT EXISTS {};\n\n",
        options.database,
        ident(&options.database)
    );
    let events = poolsight_model::event_schema();
    let date_column = poolsight_model::PARTITION_COLUMN;
    out.push_str(&table(
        options,
        "events",
        &events,
        poolsight_lake::EVENTS_DIR,
        Some(date_column),
        "one row per CloudTrail record (docs/schema.md)",
    ));
    out.push('\n');
    out.push_str(&table(
        options,
        "insights",
        &events,
        poolsight_lake::INSIGHTS_DIR,
        Some(date_column),
        "CloudTrail Insights events, same columns",
    ));
    out.push('\n');
    out.push_str(&table(
        options,
        "quarantine",
        &poolsight_lake::quarantine::quarantine_schema(),
        poolsight_lake::QUARANTINE_DIR,
        Some("ingest_date"),
        "records that could not be read, with the reason",
    ));
    for state in &catalog.state_tables {
        let schema = crate::state::table_schema(session, state).await?;
        let folder = format!("{}/{}", crate::state::STATE_TABLES_DIR, state.name);
        out.push('\n');
        match state.kind {
            StateKind::Hourly => out.push_str(&table(
                options,
                &state.name,
                &schema,
                &folder,
                Some(date_column),
                &format!("state table (hourly): {}", first_line(&state.description)),
            )),
            StateKind::Accumulating => {
                let parts = format!("{}_parts", state.name);
                out.push_str(&table(
                    options,
                    &parts,
                    &schema,
                    &folder,
                    None,
                    &format!(
                        "state table (accumulating) part files: read the view {} instead",
                        state.name
                    ),
                ));
                out.push_str(&format!(
                    "CREATE OR REPLACE VIEW {}.{} AS\n{};\n",
                    ident(&options.database),
                    ident(&state.name),
                    crate::state::merged_sql(
                        state,
                        &schema,
                        &format!("{}.{}", ident(&options.database), ident(&parts))
                    )
                ));
            }
        }
    }
    Ok(out)
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .replace(['\n', '\r'], " ")
        .chars()
        .take(160)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Fields, TimeUnit};
    use std::sync::Arc;

    #[test]
    fn arrow_types_map_to_hive_types() {
        assert_eq!(hive_type(&DataType::Utf8), "string");
        assert_eq!(
            hive_type(&DataType::Timestamp(
                TimeUnit::Microsecond,
                Some("UTC".into())
            )),
            "timestamp"
        );
        assert_eq!(
            hive_type(&DataType::List(Arc::new(Field::new(
                "item",
                DataType::Utf8,
                true
            )))),
            "array<string>"
        );
        assert_eq!(
            hive_type(&DataType::Struct(Fields::from(vec![
                Field::new("a", DataType::Int64, true),
                Field::new("b", DataType::Boolean, true),
            ]))),
            "struct<a:bigint,b:boolean>"
        );
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(ident("we`ird"), "`we``ird`");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
