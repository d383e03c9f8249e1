//! What the binary's end-to-end tests share: running `poolsight`, reading
//! its output, the repository's sample data, the test venv's Python.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `poolsight args…` in `cwd`, with the testkit's AWS credentials.
pub fn poolsight(args: &[&str], cwd: &Path) -> Output {
    poolsight_with(args, cwd, &[])
}

/// [`poolsight`] with more environment variables.
pub fn poolsight_with(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    command(args, cwd, env).output().expect("poolsight runs")
}

/// The command [`poolsight_with`] runs (to spawn it instead).
pub fn command(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_poolsight"));
    command.args(args).current_dir(cwd).env("NO_COLOR", "1");
    for (key, value) in poolsight_testkit::aws_env_vars() {
        command.env(key, value);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// stdout and stderr, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// stdout of a run that must succeed.
pub fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", text(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The repository's sample-data/.
pub fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sample-data")
}

/// `poolsight demo` into `cwd/lake` (the sample data ingested, detected).
pub fn demo_lake(cwd: &Path) {
    let sample = sample();
    stdout(&poolsight(
        &[
            "demo",
            "--lake",
            "lake",
            "--sample-data",
            sample.to_str().expect("utf-8"),
        ],
        cwd,
    ));
}

/// Every file under `dir`, recursively, in no particular order.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The repository's scripts/.
pub fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// The test venv's Python (scripts/test sets `POOLSIGHT_PYTHON`).
pub fn python() -> String {
    std::env::var("POOLSIGHT_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `finding_id` → sorted evidence ids of every stored finding
/// (`findings list --status all`, plus `extra` arguments such as `--lake`).
pub fn finding_evidence(
    cwd: &Path,
    extra: &[&str],
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut args = vec!["findings", "list", "--status", "all", "--format", "json"];
    args.extend_from_slice(extra);
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&poolsight(&args, cwd))).expect("json");
    listed
        .as_array()
        .expect("array")
        .iter()
        .map(|f| {
            let mut ids: Vec<String> = f["event_ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|id| id.as_str().expect("id").to_string())
                .collect();
            ids.sort();
            (f["finding_id"].as_str().expect("id").to_string(), ids)
        })
        .collect()
}
