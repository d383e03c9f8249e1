//! `poolsight inventory`, the posture detections and `poolsight coverage`
//! end to end, through the real AWS SDK crates: IAM, CloudTrail and S3 on
//! moto's server, Cognito Identity on the testkit's server (moto lacks pool
//! roles and the classic flow). The scenarios of the posture issue:
//!
//! - a safe pool (pinned trust, guests off, no classic flow): no finding;
//! - a pool whose authenticated role's trust has no `aud`: critical;
//! - a pool with the classic flow and a guest role with `s3:*`: high and medium;
//! - a trail with management events only: coverage names the missing
//!   Cognito, S3 and DynamoDB data events and prints the selectors; with
//!   those selectors added, coverage is clean;
//! - the fixes applied, a second inventory resolves the fixed findings.

mod common;

use common::{poolsight, text};
use std::path::Path;

use poolsight_testkit::{aws_test_env, CognitoServer, CognitoServerOptions, MotoServer};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";

fn trust(pool: Option<&str>, amr: &str) -> String {
    let mut condition = json!({
        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}
    });
    if let Some(pool) = pool {
        condition["StringEquals"] = json!({"cognito-identity.amazonaws.com:aud": pool});
    }
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition
    }]})
    .to_string()
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

struct Clients {
    cognito: aws_sdk_cognitoidentity::Client,
    iam: aws_sdk_iam::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    s3: aws_sdk_s3::Client,
}

async fn clients(moto: &str, cognito: &str) -> Clients {
    aws_test_env();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(moto)
        .load()
        .await;
    Clients {
        cognito: aws_sdk_cognitoidentity::Client::from_conf(
            aws_sdk_cognitoidentity::config::Builder::from(&config)
                .endpoint_url(cognito)
                .build(),
        ),
        iam: aws_sdk_iam::Client::new(&config),
        cloudtrail: aws_sdk_cloudtrail::Client::new(&config),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        ),
    }
}

async fn create_pool(c: &Clients, name: &str, guest: bool, classic: bool) -> String {
    c.cognito
        .create_identity_pool()
        .identity_pool_name(name)
        .allow_unauthenticated_identities(guest)
        .allow_classic_flow(classic)
        .cognito_identity_providers(
            aws_sdk_cognitoidentity::types::CognitoIdentityProvider::builder()
                .provider_name("cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123")
                .client_id("7abc")
                .server_side_token_check(true)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .identity_pool_id()
        .to_string()
}

async fn set_roles(c: &Clients, pool: &str, auth: &str, guest: Option<&str>) {
    let mut request = c
        .cognito
        .set_identity_pool_roles()
        .identity_pool_id(pool)
        .roles("authenticated", role_arn(auth));
    if let Some(guest) = guest {
        request = request.roles("unauthenticated", role_arn(guest));
    }
    request.send().await.unwrap();
}

async fn create_role(c: &Clients, name: &str, trust: &str, policy: Value) {
    c.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    c.iam
        .put_role_policy()
        .role_name(name)
        .policy_name("app")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
}

/// The three pools, their five roles (one managed policy shared by two),
/// and a trail with management events only.
async fn set_up(c: &Clients) -> (String, String, String) {
    let safe = create_pool(c, "safe", false, false).await;
    let noaud = create_pool(c, "noaud", false, false).await;
    let legacy = create_pool(c, "legacy", true, true).await;
    let own_data = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": ["arn:aws:s3:::app-data/private/${cognito-identity.amazonaws.com:sub}/*"]},
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": [format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/Notes")],
         "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${cognito-identity.amazonaws.com:sub}"]}}}
    ]});
    create_role(
        c,
        "SafeAuth",
        &trust(Some(&safe), "authenticated"),
        own_data.clone(),
    )
    .await;
    create_role(
        c,
        "NoAudAuth",
        &trust(None, "authenticated"),
        own_data.clone(),
    )
    .await;
    create_role(
        c,
        "LegacyAuth",
        &trust(Some(&legacy), "authenticated"),
        own_data,
    )
    .await;
    create_role(
        c,
        "LegacyGuest",
        &trust(Some(&legacy), "unauthenticated"),
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::app-data/*"}]}),
    )
    .await;
    let analytics = c
        .iam
        .create_policy()
        .policy_name("analytics")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "mobileanalytics:PutEvents", "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let analytics_arn = analytics.policy().unwrap().arn().unwrap().to_string();
    for role in ["SafeAuth", "LegacyGuest"] {
        c.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(&analytics_arn)
            .send()
            .await
            .unwrap();
    }
    set_roles(c, &safe, "SafeAuth", None).await;
    set_roles(c, &noaud, "NoAudAuth", None).await;
    set_roles(c, &legacy, "LegacyAuth", Some("LegacyGuest")).await;

    c.s3.create_bucket()
        .bucket("org-trail")
        .send()
        .await
        .unwrap();
    c.cloudtrail
        .create_trail()
        .name("org-trail")
        .s3_bucket_name("org-trail")
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    c.cloudtrail
        .start_logging()
        .name("org-trail")
        .send()
        .await
        .unwrap();
    (safe, noaud, legacy)
}

fn findings(dir: &Path, status: &str) -> Vec<Value> {
    let out = poolsight(
        &["findings", "list", "--status", status, "--format", "json"],
        dir,
    );
    assert!(out.status.success(), "{}", text(&out));
    let value: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("findings list --format json: {e}: {}", text(&out)));
    value
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["category"] == "posture")
        .collect()
}

#[test]
fn inventory_posture_and_coverage_against_the_emulators() {
    let moto = MotoServer::start();
    let cognito = CognitoServer::start(CognitoServerOptions::default());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let c = runtime.block_on(clients(&moto.endpoint(), &cognito.endpoint()));
    let (safe, noaud, legacy) = runtime.block_on(set_up(&c));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("poolsight.toml"),
        format!(
            "lake = \"lake\"\n{}[aws.endpoint_urls]\ncognito_identity = \"{}\"\n[inventory]\nregions = [\"us-east-1\"]\n",
            moto.aws_toml(),
            cognito.endpoint()
        ),
    )
    .unwrap();
    // Some events, so that the lake's own half of coverage has a source.
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data");
    let out = poolsight(&["ingest", sample.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", text(&out));

    // 1. The inventory.
    let out = poolsight(&["inventory", "--json"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["pools"], 3, "{report}");
    assert_eq!(report["roles"], 4, "every role the pools name: {report}");
    assert_eq!(report["trails"], 1, "{report}");
    assert_eq!(report["errors"], json!([]), "{report}");
    println!("inventory: {report}");

    // 2. The posture detections.
    let out = poolsight(
        &[
            "detect",
            "--only",
            "posture",
            "--format",
            "jsonl",
            "--fail-on",
            "high",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "high findings: {}", text(&out));
    let found: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    println!(
        "posture findings:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let of = |detection: &str, pool: &str| -> Vec<&Value> {
        found
            .iter()
            .filter(|f| f["detection"] == detection && f["identity_pool_id"] == pool)
            .collect()
    };
    assert!(
        found.iter().all(|f| f["identity_pool_id"] != safe.as_str()),
        "the safe pool raised nothing: {found:#?}"
    );
    let unpinned = of("cognito_trust_policy", &noaud);
    assert_eq!(unpinned.len(), 1, "{found:#?}");
    assert_eq!(unpinned[0]["severity"], "critical");
    let summary = unpinned[0]["summary"].as_str().unwrap();
    assert!(
        summary.contains(&role_arn("NoAudAuth"))
            && summary.contains("cognito-identity.amazonaws.com:aud"),
        "{summary}"
    );
    assert!(
        summary.contains("\"Principal\":{\"Federated\":\"cognito-identity.amazonaws.com\"}"),
        "the exact statement: {summary}"
    );
    let guest = of("guest_access", &legacy);
    assert_eq!(guest.len(), 1, "{found:#?}");
    assert_eq!(guest[0]["severity"], "high");
    assert!(guest[0]["summary"].as_str().unwrap().contains("s3:*"));
    let classic = of("classic_flow", &legacy);
    assert_eq!(classic.len(), 1, "{found:#?}");
    assert_eq!(classic[0]["severity"], "medium", "its roles pin amr");
    assert_eq!(found.len(), 3, "{found:#?}");

    // 3. Coverage with a management-events-only trail.
    let out = poolsight(&["coverage"], dir.path());
    println!("coverage, management events only:\n{}", text(&out));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = poolsight(&["coverage", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let coverage: Value = serde_json::from_slice(&out.stdout).unwrap();
    let classes = coverage["classes"].as_array().unwrap();
    let status = |class: &str| {
        classes
            .iter()
            .find(|c| c["class"] == class)
            .unwrap_or_else(|| panic!("no {class} in {coverage:#}"))
    };
    assert_eq!(status("management")["status"], "recorded");
    for class in ["cognito_data", "s3_data", "dynamodb_data"] {
        assert_eq!(status(class)["status"], "missing", "{class}");
        let command = status(class)["command"].as_str().unwrap();
        assert!(
            command.starts_with("aws cloudtrail put-event-selectors"),
            "{command}"
        );
    }
    assert!(status("s3_data")["label"]
        .as_str()
        .unwrap()
        .contains("app-data"));
    assert!(status("dynamodb_data")["label"]
        .as_str()
        .unwrap()
        .contains("Notes"));

    // 4. Apply the printed command's selectors (one command for every gap:
    // put-event-selectors replaces them all); fix the trust and the classic flow.
    let command = status("cognito_data")["command"]
        .as_str()
        .unwrap()
        .to_string();
    for class in ["s3_data", "dynamodb_data"] {
        assert_eq!(
            status(class)["command"],
            command.as_str(),
            "one command per trail"
        );
    }
    let quoted = command
        .split("--advanced-event-selectors '")
        .nth(1)
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no selectors in {command}"))
        .replace("'\\''", "'");
    let printed: Value = serde_json::from_str(&quoted).unwrap_or_else(|e| panic!("{e}: {quoted}"));
    assert_eq!(
        printed.as_array().unwrap().len(),
        4,
        "management kept, three added: {printed}"
    );
    let selectors: Vec<aws_sdk_cloudtrail::types::AdvancedEventSelector> = printed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let fields = s["FieldSelectors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let list = |key: &str| -> Option<Vec<String>> {
                        f[key]
                            .as_array()
                            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                    };
                    aws_sdk_cloudtrail::types::AdvancedFieldSelector::builder()
                        .field(f["Field"].as_str().unwrap())
                        .set_equals(list("Equals"))
                        .set_starts_with(list("StartsWith"))
                        .build()
                        .unwrap()
                })
                .collect();
            aws_sdk_cloudtrail::types::AdvancedEventSelector::builder()
                .name(s["Name"].as_str().unwrap())
                .set_field_selectors(Some(fields))
                .build()
                .unwrap()
        })
        .collect();
    runtime.block_on(async {
        c.cloudtrail
            .put_event_selectors()
            .trail_name("org-trail")
            .set_advanced_event_selectors(Some(selectors))
            .send()
            .await
            .unwrap();
        c.iam
            .update_assume_role_policy()
            .role_name("NoAudAuth")
            .policy_document(trust(Some(&noaud), "authenticated"))
            .send()
            .await
            .unwrap();
        c.cognito
            .update_identity_pool()
            .identity_pool_id(&legacy)
            .identity_pool_name("legacy")
            .allow_unauthenticated_identities(true)
            .allow_classic_flow(false)
            .send()
            .await
            .unwrap();
    });
    // Snapshot ids are per second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = poolsight(&["inventory"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = poolsight(&["coverage"], dir.path());
    println!("coverage, with the selectors added:\n{}", text(&out));
    assert_eq!(out.status.code(), Some(0), "clean: {}", text(&out));

    // 5. The fixed findings resolve; the one left stays open.
    let out = poolsight(
        &["detect", "--only", "posture", "--format", "jsonl"],
        dir.path(),
    );
    assert!(out.status.code().is_some_and(|c| c <= 1), "{}", text(&out));
    let open = findings(dir.path(), "open");
    assert_eq!(open.len(), 1, "{open:#?}");
    assert_eq!(open[0]["detection"], "guest_access");
    let resolved = findings(dir.path(), "resolved");
    let mut names: Vec<&str> = resolved
        .iter()
        .map(|f| f["detection"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["classic_flow", "cognito_trust_policy"],
        "{resolved:#?}"
    );

    // The history stays readable by a second engine.
    let out = poolsight(
        &["sql", "SELECT snapshot_id, count(*) AS pools FROM inventory_pools GROUP BY snapshot_id ORDER BY 1", "--format", "json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        2,
        "two snapshots kept: {rows}"
    );
}
