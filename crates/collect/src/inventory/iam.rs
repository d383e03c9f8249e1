//! IAM roles: `ListRoles` finds every role whose trust policy names
//! `cognito-identity.amazonaws.com`; with the roles the pools name
//! (`GetRole` for one the list did not return), each role's inline
//! policies (`ListRolePolicies`, `GetRolePolicy`) and attached ones
//! (`ListAttachedRolePolicies`, then `GetPolicy` and `GetPolicyVersion`
//! once per policy, however many roles share it). A role of another
//! account cannot be read with this account's credentials: it is kept
//! with its ARN only (the posture checks name it).

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};
use poolsight_inventory::snapshot::{account_of_arn, Policy, Role};

use super::{decode_document, AccountCalls};
use crate::aws;

fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn role_of(role: &aws_sdk_iam::types::Role) -> Role {
    Role {
        role_name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        path: role.path().to_string(),
        create_date: Some(role.create_date().to_string()),
        max_session_duration: role.max_session_duration(),
        assume_role_policy_document: role.assume_role_policy_document().map(decode_document),
        ..Role::default()
    }
}

/// Every role of the account (`ListRoles`, which carries the trust
/// policies), by ARN: listed while the pools are read, kept until the
/// pools say which roles they name.
pub(super) async fn list_roles(calls: &AccountCalls) -> BTreeMap<String, Role> {
    let client = aws::iam_client(&calls.sdk, &calls.settings, None, &calls.counter);
    let mut listed = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = calls
            .call("iam", None, "iam:ListRoles", None, || {
                client
                    .list_roles()
                    .max_items(1000)
                    .set_marker(marker.clone())
                    .send()
            })
            .await;
        let Some(page) = page else { break };
        for role in page.roles() {
            let role = role_of(role);
            listed.insert(role.arn.clone(), role);
        }
        match page.marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    listed
}

/// Whether a role's trust policy names `cognito-identity.amazonaws.com`.
pub(super) fn trusts_cognito(role: &Role) -> bool {
    role.assume_role_policy_document
        .as_deref()
        .is_some_and(|d| d.contains("cognito-identity.amazonaws.com"))
}

/// The roles of `listed` that trust Cognito or that the pools name
/// (`named`; `GetRole` for one not listed), with their policies.
pub(super) async fn read_roles(
    calls: &AccountCalls,
    listed: BTreeMap<String, Role>,
    named: &[String],
) -> Vec<Role> {
    let client = aws::iam_client(&calls.sdk, &calls.settings, None, &calls.counter);
    let mut found: BTreeMap<String, Role> = listed
        .into_iter()
        .filter(|(arn, role)| named.contains(arn) || trusts_cognito(role))
        .collect();
    let named: BTreeSet<&String> = named.iter().collect();
    for arn in named {
        if found.contains_key(arn) {
            continue;
        }
        let mut role = Role {
            role_name: role_name(arn).to_string(),
            arn: arn.clone(),
            ..Role::default()
        };
        if account_of_arn(arn) == Some(calls.account_id.as_str()) {
            let name = role_name(arn).to_string();
            if let Some(got) = calls
                .call("iam", None, "iam:GetRole", Some(arn), || {
                    client.get_role().role_name(&name).send()
                })
                .await
            {
                if let Some(read) = got.role() {
                    role = role_of(read);
                }
            }
        }
        found.insert(arn.clone(), role);
    }
    // Inline policies and the list of attached ones, per role.
    let readable: Vec<Role> = found.into_values().collect();
    let mut roles: Vec<(Role, Vec<(String, String)>)> = stream::iter(readable)
        .map(|role| read_role_policies(calls, &client, role))
        .buffered(calls.concurrency)
        .collect()
        .await;
    // Each attached policy once.
    let arns: BTreeSet<String> = roles
        .iter()
        .flat_map(|(_, attached)| attached.iter().map(|(_, arn)| arn.clone()))
        .collect();
    let documents: BTreeMap<String, Option<String>> = stream::iter(arns)
        .map(|arn| async {
            let document = read_managed_policy(calls, &client, &arn).await;
            (arn, document)
        })
        .buffered(calls.concurrency)
        .collect()
        .await;
    for (role, attached) in &mut roles {
        role.attached_policies = attached
            .iter()
            .map(|(name, arn)| Policy {
                policy_name: name.clone(),
                policy_arn: Some(arn.clone()),
                document: documents.get(arn).cloned().flatten(),
            })
            .collect();
    }
    roles.into_iter().map(|(role, _)| role).collect()
}

/// The role with its inline policies, and its attached policies' (name, ARN).
async fn read_role_policies(
    calls: &AccountCalls,
    client: &aws_sdk_iam::Client,
    mut role: Role,
) -> (Role, Vec<(String, String)>) {
    if account_of_arn(&role.arn) != Some(calls.account_id.as_str()) || role.create_date.is_none() {
        return (role, Vec::new());
    }
    let name = role.role_name.clone();
    let mut inline_names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let Some(page) = calls
            .call("iam", None, "iam:ListRolePolicies", Some(&role.arn), || {
                client
                    .list_role_policies()
                    .role_name(&name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await
        else {
            break;
        };
        inline_names.extend(page.policy_names().iter().cloned());
        match page.marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    for policy_name in inline_names {
        let document = calls
            .call(
                "iam",
                None,
                "iam:GetRolePolicy",
                Some(&format!("{} {policy_name}", role.arn)),
                || {
                    client
                        .get_role_policy()
                        .role_name(&name)
                        .policy_name(&policy_name)
                        .send()
                },
            )
            .await
            .map(|got| decode_document(got.policy_document()));
        role.inline_policies.push(Policy {
            policy_name,
            policy_arn: None,
            document,
        });
    }
    let mut attached = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let Some(page) = calls
            .call(
                "iam",
                None,
                "iam:ListAttachedRolePolicies",
                Some(&role.arn),
                || {
                    client
                        .list_attached_role_policies()
                        .role_name(&name)
                        .set_marker(marker.clone())
                        .send()
                },
            )
            .await
        else {
            break;
        };
        attached.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| Some((p.policy_name()?.to_string(), p.policy_arn()?.to_string()))),
        );
        match page.marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    (role, attached)
}

/// The default version's document of a managed policy.
async fn read_managed_policy(
    calls: &AccountCalls,
    client: &aws_sdk_iam::Client,
    arn: &str,
) -> Option<String> {
    let policy = calls
        .call("iam", None, "iam:GetPolicy", Some(arn), || {
            client.get_policy().policy_arn(arn).send()
        })
        .await?;
    let version = policy.policy()?.default_version_id()?.to_string();
    let got = calls
        .call("iam", None, "iam:GetPolicyVersion", Some(arn), || {
            client
                .get_policy_version()
                .policy_arn(arn)
                .version_id(&version)
                .send()
        })
        .await?;
    got.policy_version()?.document().map(decode_document)
}
