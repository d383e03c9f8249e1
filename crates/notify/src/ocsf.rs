//! Findings as OCSF 1.1.0 **Detection Finding** events (class 2004), the
//! version Amazon Security Lake takes from custom sources.
//!
//! | OCSF | from |
//! |---|---|
//! | `finding_info.uid` | the stable finding id |
//! | `finding_info.title`, `desc` | the detection's title, the finding's summary |
//! | `finding_info.types` | the category (`identity_abuse`, …) |
//! | `finding_info.analytic` | the detection: id, title, category, description (type Rule) |
//! | `finding_info.attacks` | the detection's ATT&CK technique ids (technique and sub-technique) |
//! | `finding_info.first_seen_time`, `last_seen_time`, `created_time`, `modified_time` | first/last evidence, detected, updated |
//! | `severity_id` | info 1, low 2, medium 3, high 4, critical 5 |
//! | `status_id` | open 1 New, acknowledged 2 In Progress, suppressed 3, resolved 4 |
//! | `activity_id` | 1 Create (new), 2 Update (new evidence, reopened), 3 Close (resolved, suppressed) |
//! | `evidences[0]` | `actor` (identity id as `user.uid`, access key as `credential_uid`, role as `session.issuer`, pool and login provider as `idp`), `src_endpoint` (first address), `data.event_ids` (**every** evidence event id) |
//! | `evidences[1..]` | one `src_endpoint` per further address |
//! | `resources` | the identity pool, the roles |
//! | `cloud` | provider AWS, the account and region of the evidence |
//! | `metadata` | product poolsight, OCSF version, `uid` = the version id, `profiles` `["cloud"]` |
//!
//! Fields without a value are left out (OCSF has no nulls).

use serde_json::{json, Map, Value};

use crate::notice::{millis, Change, Notice};

/// The OCSF version of the events.
pub const OCSF_VERSION: &str = "1.1.0";
/// Detection Finding.
pub const CLASS_UID: i64 = 2004;
/// Findings.
pub const CATEGORY_UID: i64 = 2;

/// `severity_id` of a poolsight severity.
pub fn severity_id(severity: &str) -> i64 {
    match severity {
        "info" => 1,
        "low" => 2,
        "medium" => 3,
        "high" => 4,
        "critical" => 5,
        _ => 0,
    }
}

/// `status_id` and its name of a poolsight status.
pub fn status(status: &str) -> (i64, &'static str) {
    match status {
        "open" => (1, "New"),
        "acknowledged" => (2, "In Progress"),
        "suppressed" => (3, "Suppressed"),
        "resolved" => (4, "Resolved"),
        _ => (0, "Unknown"),
    }
}

/// `activity_id` and its name.
pub fn activity(notice: &Notice<'_>) -> (i64, &'static str) {
    match notice.change {
        Change::New => (1, "Create"),
        Change::Status if crate::notice::is_closed(&notice.finding.status) => (3, "Close"),
        Change::Updated | Change::Status => (2, "Update"),
    }
}

fn severity_name(id: i64) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        _ => "Unknown",
    }
}

/// The OCSF Detection Finding of a notice.
pub fn detection_finding(notice: &Notice<'_>) -> Value {
    let finding = notice.finding;
    let context = notice.context;
    let severity_id = severity_id(&finding.severity);
    let (status_id, status_name) = status(&finding.status);
    let (activity_id, activity_name) = activity(notice);
    let detection = notice.detection;
    let attacks: Vec<Value> = notice.techniques().iter().map(|t| attack(t)).collect();
    let analytic = json!({
        "uid": finding.detection,
        "name": detection.map(|d| d.title.as_str()).unwrap_or(&finding.title),
        "category": finding.category,
        "desc": detection.map(|d| d.description.trim()),
        "type_id": 1,
        "type": "Rule",
    });
    let finding_info = json!({
        "uid": finding.finding_id,
        "title": finding.title,
        "desc": finding.summary,
        "types": [finding.category],
        "analytic": analytic,
        "attacks": (!attacks.is_empty()).then_some(attacks),
        "first_seen_time": millis(&finding.first_seen),
        "last_seen_time": millis(&finding.last_seen),
        "created_time": millis(&finding.detected_at),
        "modified_time": millis(&finding.updated_at),
        "product_uid": "poolsight",
        "src_url": detection.and_then(|d| d.references.first()),
    });
    let first_ip = finding.source_ips.first();
    let mut evidences = vec![json!({
        "actor": actor(notice),
        "src_endpoint": first_ip.map(|ip| json!({"ip": ip})),
        "data": {
            "event_ids": finding.event_ids,
            "event_count": finding.event_count,
            "api_calls": (!context.api_calls.is_empty()).then_some(&context.api_calls),
        },
    })];
    for ip in finding.source_ips.iter().skip(1) {
        evidences.push(json!({"src_endpoint": {"ip": ip}}));
    }
    let mut resources = Vec::new();
    if let Some(pool) = &finding.identity_pool_id {
        resources.push(json!({
            "uid": pool,
            "type": "AWS::Cognito::IdentityPool",
            "region": crate::context::region_of(pool),
            "cloud_partition": "aws",
        }));
    }
    for role in &context.role_arns {
        resources.push(json!({"uid": role, "type": "AWS::IAM::Role", "cloud_partition": "aws"}));
    }
    let cloud = json!({
        "provider": "AWS",
        "region": context.region,
        "account": context.account_id.as_ref().map(|a| json!({"uid": a, "type_id": 10, "type": "AWS Account"})),
    });
    let time = millis(&finding.updated_at)
        .or_else(|| millis(&finding.detected_at))
        .or_else(|| millis(&finding.last_seen))
        .unwrap_or(0);
    let mut event = json!({
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("Detection Finding: {activity_name}"),
        "severity_id": severity_id,
        "severity": severity_name(severity_id),
        "status_id": status_id,
        "status": status_name,
        "time": time,
        "start_time": millis(&finding.first_seen),
        "end_time": millis(&finding.last_seen),
        "count": finding.event_count,
        "message": finding.summary,
        "finding_info": finding_info,
        "evidences": evidences,
        "resources": (!resources.is_empty()).then_some(resources),
        "cloud": cloud,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": notice.version,
            "correlation_uid": finding.finding_id,
            "profiles": ["cloud"],
            "product": {
                "name": "poolsight",
                "vendor_name": "poolsight",
                "version": env!("CARGO_PKG_VERSION"),
                "url_string": "https://github.com/poolsight/poolsight",
            },
        },
    });
    prune_nulls(&mut event);
    event
}

/// `T1078.004` → technique T1078 and sub-technique T1078.004.
fn attack(id: &str) -> Value {
    match id.split_once('.') {
        Some((technique, _)) => json!({
            "technique": {"uid": technique, "src_url": technique_url(technique)},
            "sub_technique": {"uid": id, "src_url": technique_url(id)},
        }),
        None => json!({"technique": {"uid": id, "src_url": technique_url(id)}}),
    }
}

fn technique_url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.replace('.', "/")
    )
}

/// Who held the credentials: the identity, its key, role, pool and login.
fn actor(notice: &Notice<'_>) -> Value {
    let finding = notice.finding;
    let context = notice.context;
    let provider = match (context.guest(), context.login_providers.first()) {
        (Some(true), _) => Some("unauthenticated (guest)".to_string()),
        (_, Some(provider)) => Some(provider.clone()),
        _ => None,
    };
    let user = finding.identity_id.as_ref().map(|id| {
        json!({
            "uid": id,
            "type_id": 99,
            "type": "Cognito identity",
            "credential_uid": finding.access_key_id,
            "account": context.account_id.as_ref().map(|a| json!({"uid": a, "type_id": 10, "type": "AWS Account"})),
        })
    });
    let session = (finding.access_key_id.is_some() || !context.role_arns.is_empty()).then(|| {
        json!({
            "credential_uid": finding.access_key_id,
            "issuer": context.role_arns.first(),
        })
    });
    let idp = finding.identity_pool_id.as_ref().map(|pool| {
        json!({"uid": pool, "name": provider.clone().unwrap_or_else(|| "Cognito identity pool".into())})
    });
    // OCSF's actor needs a user or a session: without an identity or a
    // key, the user is the pool's (or the role's) identities as a group.
    let user = user.or_else(|| {
        if session.is_some() {
            return None;
        }
        let name = finding
            .identity_pool_id
            .clone()
            .or_else(|| context.role_arns.first().cloned())
            .unwrap_or_else(|| "unknown".into());
        Some(json!({"name": name, "type_id": 99, "type": "Cognito identity pool identities"}))
    });
    let mut actor = json!({"user": user, "session": session, "idp": idp});
    prune_nulls(&mut actor);
    actor
}

/// Removes null members (and objects left empty) recursively.
pub fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| {
                prune_nulls(v);
                !(v.is_null() || v.as_object().is_some_and(Map::is_empty))
            });
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                prune_nulls(item);
            }
        }
        _ => {}
    }
}

/// The OCSF events of stored findings (`detect --format ocsf`, `findings
/// list --format ocsf`, the export): each finding as it now is, its
/// activity from its status and history ([`Change::of_stored`]), its
/// context read from the lake at `lake_dir`.
pub async fn render_stored(
    config: &poolsight_config::Config,
    lake_dir: &std::path::Path,
    findings: &[poolsight_detect::findings::Finding],
) -> Result<Vec<Value>, crate::NotifyError> {
    let catalog = poolsight_detect::catalog::Catalog::from_config(config)?;
    let contexts = match poolsight_detect::LakeSession::open(lake_dir).await {
        Ok(session) => crate::context::load_contexts(&session, findings).await?,
        Err(error) => {
            tracing::warn!(error = %error, "the evidence's context could not be read; the events have no account or region");
            Default::default()
        }
    };
    let empty = crate::context::FindingContext::default();
    Ok(findings
        .iter()
        .map(|finding| {
            let version = crate::outbox::version_of(finding);
            detection_finding(&Notice {
                finding,
                detection: catalog.detection(&finding.detection),
                context: contexts.get(&finding.finding_id).unwrap_or(&empty),
                change: Change::of_stored(finding),
                version: &version,
                delivery_id: &version,
            })
        })
        .collect())
}
