//! Identity pools of one region: `ListIdentityPools`, then per pool
//! `DescribeIdentityPool`, `GetIdentityPoolRoles` and, per provider,
//! `GetPrincipalTagAttributeMap`, a few pools at a time.

use futures::stream::{self, StreamExt};
use poolsight_inventory::snapshot::{
    CognitoProvider, MappingRule, Pool, PoolRoles, PrincipalTagMap, RoleMapping, RulesConfiguration,
};

use super::AccountCalls;
use crate::aws;

pub(super) async fn read_pools(calls: &AccountCalls, region: &str) -> Vec<Pool> {
    let client = aws::cognito_client(&calls.sdk, &calls.settings, Some(region), &calls.counter);
    let mut ids = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = calls
            .call(
                "cognito-identity",
                Some(region),
                "cognito-identity:ListIdentityPools",
                None,
                || {
                    client
                        .list_identity_pools()
                        .max_results(60)
                        .set_next_token(token.clone())
                        .send()
                },
            )
            .await;
        let Some(page) = page else { break };
        ids.extend(
            page.identity_pools()
                .iter()
                .filter_map(|p| p.identity_pool_id().map(str::to_string)),
        );
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => break,
        }
    }
    stream::iter(ids)
        .map(|id| read_pool(calls, &client, region, id))
        .buffered(calls.concurrency)
        .filter_map(|pool| async move { pool })
        .collect()
        .await
}

async fn read_pool(
    calls: &AccountCalls,
    client: &aws_sdk_cognitoidentity::Client,
    region: &str,
    id: String,
) -> Option<Pool> {
    let described = calls
        .call(
            "cognito-identity",
            Some(region),
            "cognito-identity:DescribeIdentityPool",
            Some(&id),
            || client.describe_identity_pool().identity_pool_id(&id).send(),
        )
        .await?;
    let mut pool = Pool {
        identity_pool_id: described.identity_pool_id().to_string(),
        identity_pool_name: described.identity_pool_name().to_string(),
        allow_unauthenticated_identities: described.allow_unauthenticated_identities(),
        allow_classic_flow: described.allow_classic_flow().unwrap_or(false),
        supported_login_providers: described
            .supported_login_providers()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        developer_provider_name: described.developer_provider_name().map(str::to_string),
        open_id_connect_provider_arns: described.open_id_connect_provider_arns().to_vec(),
        cognito_identity_providers: described
            .cognito_identity_providers()
            .iter()
            .map(|p| CognitoProvider {
                provider_name: p.provider_name().unwrap_or_default().to_string(),
                client_id: p.client_id().map(str::to_string),
                server_side_token_check: p.server_side_token_check(),
            })
            .collect(),
        saml_provider_arns: described.saml_provider_arns().to_vec(),
        identity_pool_tags: described
            .identity_pool_tags()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        ..Pool::default()
    };
    pool.roles = calls
        .call(
            "cognito-identity",
            Some(region),
            "cognito-identity:GetIdentityPoolRoles",
            Some(&id),
            || {
                client
                    .get_identity_pool_roles()
                    .identity_pool_id(&id)
                    .send()
            },
        )
        .await
        .map(|roles| PoolRoles {
            roles: roles
                .roles()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            role_mappings: roles
                .role_mappings()
                .map(|m| {
                    m.iter()
                        .map(|(provider, mapping)| {
                            (
                                provider.clone(),
                                RoleMapping {
                                    mapping_type: mapping.r#type().as_str().to_string(),
                                    ambiguous_role_resolution: mapping
                                        .ambiguous_role_resolution()
                                        .map(|a| a.as_str().to_string()),
                                    rules_configuration: mapping.rules_configuration().map(|c| {
                                        RulesConfiguration {
                                            rules: c
                                                .rules()
                                                .iter()
                                                .map(|r| MappingRule {
                                                    claim: r.claim().to_string(),
                                                    match_type: r.match_type().as_str().to_string(),
                                                    value: r.value().to_string(),
                                                    role_arn: r.role_arn().to_string(),
                                                })
                                                .collect(),
                                        }
                                    }),
                                },
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        });
    for provider in pool.providers() {
        let tags = calls
            .call(
                "cognito-identity",
                Some(region),
                "cognito-identity:GetPrincipalTagAttributeMap",
                Some(&format!("{id} {provider}")),
                || {
                    client
                        .get_principal_tag_attribute_map()
                        .identity_pool_id(&id)
                        .identity_provider_name(&provider)
                        .send()
                },
            )
            .await;
        if let Some(tags) = tags {
            let principal_tags: std::collections::BTreeMap<String, String> = tags
                .principal_tags()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let use_defaults = tags.use_defaults().unwrap_or(false);
            if use_defaults || !principal_tags.is_empty() {
                pool.principal_tags.push(PrincipalTagMap {
                    identity_provider_name: provider.clone(),
                    use_defaults,
                    principal_tags,
                });
            }
        }
    }
    Some(pool)
}
