//! `poolsight schema --athena`: the DDL's tables, columns and types are
//! checked against the Parquet files the lake really holds, read by a
//! second engine (pyarrow), whose types are mapped to Hive types
//! independently of poolsight's mapping.

mod common;

use common::{demo_lake, poolsight, python, stdout, text};
use serde_json::Value;

const CHECK: &str = r#"
import json, pathlib, re, sys
import pyarrow as pa, pyarrow.parquet as pq

ddl, lake, location = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]

def hive(t):
    if pa.types.is_string(t) or pa.types.is_large_string(t): return "string"
    if pa.types.is_boolean(t): return "boolean"
    if pa.types.is_int64(t): return "bigint"
    if pa.types.is_int32(t): return "int"
    if pa.types.is_float64(t): return "double"
    if pa.types.is_timestamp(t): return "timestamp"
    if pa.types.is_list(t) or pa.types.is_large_list(t): return "array<%s>" % hive(t.value_type)
    if pa.types.is_struct(t): return "struct<%s>" % ",".join("%s:%s" % (f.name, hive(f.type)) for f in t)
    return "unknown:" + str(t)

tables = {}
for block in re.findall(r"CREATE EXTERNAL TABLE IF NOT EXISTS `[^`]+`\.`([^`]+)` \((.*?)\n\)\n(.*?);\n", ddl, re.S):
    name, columns, rest = block
    cols = [re.match(r"\s*`([^`]+)` (.+)", c).groups() for c in columns.strip("\n").split(",\n")]
    part = re.search(r"PARTITIONED BY \(`([^`]+)` string\)", rest)
    loc = re.search(r"LOCATION '([^']+)'", rest).group(1)
    template = re.search(r"'storage.location.template'='([^']+)'", rest)
    tables[name] = {"columns": cols, "partition": part.group(1) if part else None,
                    "location": loc, "template": template.group(1) if template else None}

checked, problems = [], []
for name, t in tables.items():
    if not t["location"].startswith(location + "/"):
        problems.append(f"{name}: location {t['location']}")
        continue
    folder = lake / t["location"][len(location) + 1:]
    if t["partition"] and t["template"] != t["location"] + t["partition"] + "=${" + t["partition"] + "}/":
        problems.append(f"{name}: template {t['template']}")
    files = [f for f in sorted(folder.rglob("*.parquet")) if not f.name.startswith(("_", "."))]
    if not files:
        continue
    for file in files:
        if t["partition"] and not file.parent.name.startswith(t["partition"] + "="):
            problems.append(f"{name}: {file} is not under {t['partition']}=")
    schema = pq.read_schema(files[0])
    theirs = [(f.name, hive(f.type)) for f in schema if f.name != t["partition"]]
    ours = [tuple(c) for c in t["columns"]]
    if theirs != ours:
        problems.append(f"{name}: DDL {ours} != Parquet {theirs}")
    checked.append(name)
views = re.findall(r"CREATE OR REPLACE VIEW `[^`]+`\.`([^`]+)` AS", ddl)
print(json.dumps({"tables": sorted(tables), "checked": sorted(checked), "views": sorted(views), "problems": problems}))
"#;

#[test]
fn athena_ddl_matches_the_parquet_files_of_the_lake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path();
    demo_lake(cwd);
    let location = "s3://lake-bucket/poolsight";
    let ddl = stdout(&poolsight(
        &[
            "schema",
            "--athena",
            "--location",
            location,
            "--database",
            "security",
        ],
        cwd,
    ));
    assert!(
        ddl.contains("CREATE DATABASE IF NOT EXISTS `security`;"),
        "{ddl}"
    );
    assert!(ddl.contains("'projection.event_date.type'='date'"));
    let output = std::process::Command::new(python())
        .args([
            "-c",
            CHECK,
            &ddl,
            cwd.join("lake").to_str().expect("utf-8"),
            location,
        ])
        .output()
        .expect("python");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("checker: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    let checked: Vec<&str> = report["checked"]
        .as_array()
        .expect("checked")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for table in [
        "events",
        "identity_hourly",
        "pool_hourly",
        "identity_profile_parts",
        "role_actions_parts",
    ] {
        assert!(checked.contains(&table), "{table} not checked: {report}");
    }
    assert!(checked.len() >= 10, "{report}");
    let views: Vec<&str> = report["views"]
        .as_array()
        .expect("views")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        views.contains(&"identity_profile") && views.contains(&"role_actions"),
        "{report}"
    );

    // Bad input is an error, not DDL.
    for bad in [
        &["schema", "--athena"][..],
        &["schema", "--athena", "--location", "/local/folder"][..],
        &[
            "schema",
            "--athena",
            "--location",
            location,
            "--database",
            "x;drop",
        ][..],
        &[
            "schema",
            "--athena",
            "--location",
            location,
            "--since",
            "yesterday",
        ][..],
    ] {
        let output = poolsight(bad, cwd);
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {}", text(&output));
    }
}
