//! `poolsight findings` and the findings lifecycle end to end: list, show,
//! ack / resolve / suppress / reopen with an audit trail in the lake, and
//! `[[detect.suppress]]` rules applied at detect time.

mod common;

use common::{poolsight_with, sample, stdout};
use std::fs;
use std::path::Path;

/// How many rows the audit trail has, read back with `sql` (CSV text).
/// `poolsight` as alice (the audit trail records `$USER`).
fn poolsight(args: &[&str], cwd: &Path) -> std::process::Output {
    poolsight_with(args, cwd, &[("USER", "alice")])
}

fn audit_rows(cwd: &Path) -> String {
    stdout(&poolsight(
        &[
            "sql",
            "--lake",
            "lake",
            "SELECT count(*) AS n FROM finding_audit",
            "--format",
            "csv",
        ],
        cwd,
    ))
}

fn listed(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["findings", "list", "--lake", "lake", "--format", "jsonl"];
    args.extend_from_slice(extra);
    stdout(&poolsight(&args, dir))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn people_ack_resolve_and_suppress_findings_and_the_lake_keeps_who_when_why() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    stdout(&poolsight(
        &["ingest", sample().to_str().unwrap(), "--lake", "lake"],
        cwd,
    ));
    stdout(&poolsight(&["detect", "--lake", "lake"], cwd));
    let open = listed(cwd, &[]);
    assert_eq!(open.len(), 29);
    assert!(open.iter().all(|f| f["status"] == "open"));

    // Acknowledge one by the short id the table shows.
    let target = open
        .iter()
        .find(|f| f["detection"] == "guest_identity_flood")
        .unwrap();
    let id = target["finding_id"].as_str().unwrap();
    let short = &id.rsplit('-').next().unwrap()[..8];
    let table = stdout(&poolsight(&["findings", "list", "--lake", "lake"], cwd));
    assert!(table.contains(short), "{table}");
    let out = stdout(&poolsight(
        &[
            "findings",
            "ack",
            short,
            "--lake",
            "lake",
            "--reason",
            "looking into it",
        ],
        cwd,
    ));
    assert!(out.contains("acknowledged"), "{out}");
    // Still listed (acknowledged is still to do), with its status.
    let now = listed(cwd, &[]);
    assert_eq!(now.len(), 29);
    assert_eq!(
        now.iter().find(|f| f["finding_id"] == id).unwrap()["status"],
        "acknowledged"
    );
    stdout(&poolsight(
        &[
            "findings",
            "resolve",
            id,
            "--lake",
            "lake",
            "--reason",
            "blocked the address",
            "--by",
            "bob",
        ],
        cwd,
    ));
    assert_eq!(listed(cwd, &[]).len(), 28);
    assert_eq!(listed(cwd, &["--status", "resolved"]).len(), 1);

    // The audit trail: who, when, from what to what, why.
    let shown: serde_json::Value = serde_json::from_str(&stdout(&poolsight(
        &["findings", "show", short, "--lake", "lake"],
        cwd,
    )))
    .unwrap();
    let audit = shown["audit"].as_array().unwrap();
    assert_eq!(audit.len(), 2, "{shown:#}");
    assert_eq!(
        (
            audit[0]["by"].as_str(),
            audit[0]["to_status"].as_str(),
            audit[0]["reason"].as_str()
        ),
        (Some("alice"), Some("acknowledged"), Some("looking into it"))
    );
    assert_eq!(
        (
            audit[1]["by"].as_str(),
            audit[1]["from_status"].as_str(),
            audit[1]["to_status"].as_str()
        ),
        (Some("bob"), Some("acknowledged"), Some("resolved"))
    );
    // The trail is a table any engine reads.
    assert_eq!(audit_rows(cwd), "n\n2\n");

    // No reason, an unknown id, an ambiguous one: clear errors, nothing changed.
    let output = poolsight(
        &["findings", "ack", short, "--lake", "lake", "--reason", " "],
        cwd,
    );
    assert_eq!(output.status.code(), Some(2));
    let output = poolsight(
        &[
            "findings",
            "ack",
            "ffffffffffff",
            "--lake",
            "lake",
            "--reason",
            "x",
        ],
        cwd,
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("no finding has the id"));
    let output = poolsight(
        &[
            "findings",
            "ack",
            "access_denial",
            "--lake",
            "lake",
            "--reason",
            "x",
        ],
        cwd,
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("give more of it"));

    // A suppression rule: the pool changes of the deploy bot are expected.
    fs::write(
        cwd.join("poolsight.toml"),
        r#"
[[detect.suppress]]
detection = "pool_access_widened"
where = "summary LIKE '%deploy-bot%'"
reason = "the deploy pipeline manages pools; CHG-42"
expires = "2999-01-01"
"#,
    )
    .unwrap();
    let out = stdout(&poolsight(
        &["detect", "--lake", "lake", "--full", "--format", "jsonl"],
        cwd,
    ));
    assert!(
        !out.contains("pool_access_widened"),
        "suppressed findings are not printed: {out}"
    );
    assert_eq!(listed(cwd, &[]).len(), 24);
    let suppressed = listed(cwd, &["--status", "suppressed"]);
    assert_eq!(suppressed.len(), 4);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&poolsight(
        &[
            "findings",
            "show",
            suppressed[0]["finding_id"].as_str().unwrap(),
            "--lake",
            "lake",
        ],
        cwd,
    )))
    .unwrap();
    assert_eq!(shown["audit"][0]["by"], "config");
    assert_eq!(
        shown["audit"][0]["reason"],
        "the deploy pipeline manages pools; CHG-42"
    );
    // Running again adds no audit rows: they are suppressed already.
    stdout(&poolsight(&["detect", "--lake", "lake", "--full"], cwd));
    assert_eq!(audit_rows(cwd), "n\n6\n");
    // A rule without a reason is a config error.
    fs::write(
        cwd.join("poolsight.toml"),
        "[[detect.suppress]]\ndetection = \"*\"\nreason = \"\"\n",
    )
    .unwrap();
    let output = poolsight(&["detect", "--lake", "lake"], cwd);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("detect.suppress[0].reason"));

    // Reopen brings the resolved one back to the list.
    fs::remove_file(cwd.join("poolsight.toml")).unwrap();
    stdout(&poolsight(
        &[
            "findings",
            "reopen",
            short,
            "--lake",
            "lake",
            "--reason",
            "came back",
        ],
        cwd,
    ));
    assert_eq!(listed(cwd, &[]).len(), 25);
}
