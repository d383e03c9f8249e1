//! Identity attribution: which Cognito identity, pool, auth type and login
//! provider a record belongs to.
//!
//! Sources, most trustworthy first:
//! 1. `userIdentity.sessionContext.webIdFederationData` of calls made with
//!    pool credentials (`aud` = pool, `sub` = identity, `amr` = a JSON array
//!    *inside a string* saying guest or authenticated and by which provider);
//! 2. STS `AssumeRoleWithWebIdentity` through `cognito-identity.amazonaws.com`
//!    (principal id `cognito-identity.amazonaws.com:<pool>:<identity>`,
//!    `subjectFromWebIdentityToken`, `audience`);
//! 3. Cognito Identity calls themselves (`identityId` in request or response,
//!    the pool from `identityPoolId` or `resources[].ARN`; a guest is a call
//!    **without** `logins` — `userIdentity.type` is `Unknown` for guests and
//!    signed-in users alike, so it is never used).
//!
//! Calls that carry only an access key are attributed at query time by the
//! `identity_activity` view, joining on the key issued by
//! GetCredentialsForIdentity / AssumeRoleWithWebIdentity
//! (`issued_access_key_id`).

use serde_json::Value;

use crate::json::{field, value_str};
use crate::principal::UserIdentity;
use crate::time::parse_credentials_expiration;

/// The federated provider name of Cognito Identity.
pub const COGNITO_IDENTITY_PROVIDER: &str = "cognito-identity.amazonaws.com";
/// `eventSource` of Cognito Identity.
pub const COGNITO_IDENTITY_SOURCE: &str = "cognito-identity.amazonaws.com";

pub const AUTHENTICATED: &str = "authenticated";
pub const UNAUTHENTICATED: &str = "unauthenticated";

/// Where an attribution came from (the `attribution_source` column).
pub mod source {
    pub const WEB_IDENTITY_FEDERATION: &str = "web_identity_federation";
    pub const STS_WEB_IDENTITY: &str = "sts_web_identity";
    pub const COGNITO_IDENTITY_CALL: &str = "cognito_identity_call";
    pub const APIGATEWAY_ACCESS_LOG: &str = "apigateway_access_log";
}

/// Cognito Identity operations that act for one identity and whose `logins`
/// map tells guest from signed-in.
const IDENTITY_CALLS_WITH_LOGINS: &[&str] = &[
    "GetId",
    "GetCredentialsForIdentity",
    "GetOpenIdToken",
    "UnlinkIdentity",
];

/// Cognito Identity operations made by a developer backend on behalf of an
/// identity: always authenticated (by the developer provider).
const DEVELOPER_IDENTITY_CALLS: &[&str] = &[
    "GetOpenIdTokenForDeveloperIdentity",
    "LookupDeveloperIdentity",
    "MergeDeveloperIdentities",
    "UnlinkDeveloperIdentity",
];

/// The identity facts of one record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub identity_id: Option<String>,
    pub identity_pool_id: Option<String>,
    pub auth_type: Option<&'static str>,
    pub login_providers: Vec<String>,
    pub source: Option<&'static str>,
    pub role_arn: Option<String>,
    pub issued_access_key_id: Option<String>,
    /// Microseconds since the epoch, UTC.
    pub credentials_expiration: Option<i64>,
    pub web_identity_audience: Option<String>,
    pub identity_provider: Option<String>,
}

/// The parts of a record attribution reads.
pub struct RecordParts<'v> {
    pub event_source: Option<&'v str>,
    pub event_name: Option<&'v str>,
    pub user_identity: Option<&'v UserIdentity<'v>>,
    pub request_parameters: Option<&'v Value>,
    pub response_elements: Option<&'v Value>,
    pub resources: Option<&'v Value>,
}

/// Attributes one record.
pub fn attribute(parts: &RecordParts<'_>) -> Attribution {
    let mut attribution = Attribution::default();
    if let Some(user_identity) = parts.user_identity {
        attribution.identity_provider = user_identity
            .identity_provider
            .as_deref()
            .map(str::to_string);
        from_web_identity_federation(user_identity, &mut attribution);
    }
    match (parts.event_source, parts.event_name) {
        (Some("sts.amazonaws.com"), Some("AssumeRoleWithWebIdentity")) => {
            from_assume_role_with_web_identity(parts, &mut attribution)
        }
        (Some(COGNITO_IDENTITY_SOURCE), Some(name)) => {
            from_cognito_identity_call(name, parts, &mut attribution)
        }
        (Some("sts.amazonaws.com"), Some("AssumeRole")) => {
            // Role chaining: the key the call issued, so that what the chained
            // session does can be traced back to the caller (the
            // `issued_keys` view follows it when the caller held pool
            // credentials). The caller's own identity and role stay.
            if let Some(credentials) = parts
                .response_elements
                .and_then(|r| field(r, &["credentials", "Credentials"]))
            {
                read_issued_credentials(credentials, &mut attribution);
            }
        }
        _ => {}
    }
    if let Some(id) = &mut attribution.identity_id {
        // Identity ids are `<region>:<uuid>`, issued in lower case; an
        // upper-case spelling names the same identity.
        id.make_ascii_lowercase();
    }
    attribution
}

/// Source 1: `sessionContext.webIdFederationData` of pool credentials.
fn from_web_identity_federation(user_identity: &UserIdentity<'_>, attribution: &mut Attribution) {
    if let Some(issuer_arn) = user_identity
        .session_issuer()
        .and_then(|issuer| issuer.arn.as_deref())
    {
        attribution.role_arn = Some(issuer_arn.to_string());
    }
    let Some(federation) = user_identity.web_id_federation_data() else {
        return;
    };
    let provider = field(federation, &["federatedProvider"]).and_then(value_str);
    if let Some(provider) = &provider {
        attribution.identity_provider = Some(provider.to_string());
    }
    if provider.as_deref() != Some(COGNITO_IDENTITY_PROVIDER) {
        return;
    }
    let Some(attributes) = field(federation, &["attributes"]) else {
        return;
    };
    let attr = |name: &str| {
        field(
            attributes,
            &[&format!("{COGNITO_IDENTITY_PROVIDER}:{name}")],
        )
        .and_then(value_str)
        .map(|s| s.into_owned())
    };
    attribution.identity_pool_id = attr("aud");
    attribution.identity_id = attr("sub");
    if let Some(amr) = field(attributes, &[&format!("{COGNITO_IDENTITY_PROVIDER}:amr")]) {
        let (auth_type, providers) = parse_amr(amr);
        attribution.auth_type = auth_type;
        attribution.login_providers = providers;
    }
    if attribution.identity_id.is_some() || attribution.identity_pool_id.is_some() {
        attribution.source = Some(source::WEB_IDENTITY_FEDERATION);
    }
}

/// Parses `amr`: a JSON array, usually serialized *inside a string*
/// (`"[\"authenticated\",\"graph.facebook.com\",\"graph.facebook.com:123\"]"`).
/// Returns the auth type and the login providers (entries that merely
/// qualify an earlier provider, `provider:subject`, are folded into it).
pub fn parse_amr(amr: &Value) -> (Option<&'static str>, Vec<String>) {
    let parsed;
    let entries: &[Value] = match amr {
        Value::Array(items) => items,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).unwrap_or_else(|_| {
                // A bare word such as `unauthenticated`, or a comma list.
                Value::Array(
                    text.split(',')
                        .map(|s| Value::String(s.trim().to_string()))
                        .collect(),
                )
            });
            match &parsed {
                Value::Array(items) => items,
                other => std::slice::from_ref(other),
            }
        }
        _ => return (None, Vec::new()),
    };
    let mut auth_type = None;
    let mut providers: Vec<String> = Vec::new();
    for entry in entries.iter().filter_map(Value::as_str) {
        match entry {
            AUTHENTICATED => auth_type = Some(AUTHENTICATED),
            UNAUTHENTICATED => auth_type = Some(UNAUTHENTICATED),
            provider => {
                let qualifies_earlier = providers.iter().any(|p| {
                    provider.len() > p.len()
                        && provider.starts_with(p.as_str())
                        && provider.as_bytes()[p.len()] == b':'
                });
                if !qualifies_earlier && !providers.iter().any(|p| p == provider) {
                    providers.push(provider.to_string());
                }
            }
        }
    }
    (auth_type, providers)
}

/// Source 2: `AssumeRoleWithWebIdentity` through Cognito Identity.
fn from_assume_role_with_web_identity(parts: &RecordParts<'_>, attribution: &mut Attribution) {
    let response = parts.response_elements;
    let principal_id = parts
        .user_identity
        .and_then(|ui| ui.principal_id.as_deref());
    let response_provider = response
        .and_then(|r| field(r, &["provider"]))
        .and_then(value_str);
    let principal_is_cognito =
        principal_id.is_some_and(|id| id.starts_with(&format!("{COGNITO_IDENTITY_PROVIDER}:")));
    let is_cognito = principal_is_cognito
        || attribution.identity_provider.as_deref() == Some(COGNITO_IDENTITY_PROVIDER)
        || response_provider.as_deref() == Some(COGNITO_IDENTITY_PROVIDER);

    attribution.role_arn = parts
        .request_parameters
        .and_then(|r| field(r, &["roleArn", "RoleArn"]))
        .and_then(value_str)
        .map(|s| s.into_owned())
        .or(attribution.role_arn.take());
    attribution.web_identity_audience = response
        .and_then(|r| field(r, &["audience"]))
        .and_then(value_str)
        .map(|s| s.into_owned());
    if let Some(credentials) = response.and_then(|r| field(r, &["credentials"])) {
        read_issued_credentials(credentials, attribution);
    }
    if !is_cognito {
        return;
    }
    attribution.identity_provider = Some(COGNITO_IDENTITY_PROVIDER.to_string());
    // principalId: cognito-identity.amazonaws.com:<region>:<pool uuid>:<region>:<identity uuid>
    let (principal_pool, principal_identity) = principal_id
        .and_then(|id| id.strip_prefix(&format!("{COGNITO_IDENTITY_PROVIDER}:")))
        .map(split_pool_and_identity)
        .unwrap_or((None, None));
    attribution.identity_id = response
        .and_then(|r| field(r, &["subjectFromWebIdentityToken"]))
        .and_then(value_str)
        .map(|s| s.into_owned())
        .or(principal_identity)
        .or_else(|| {
            parts
                .user_identity
                .and_then(|ui| ui.user_name.as_deref())
                .map(str::to_string)
        });
    attribution.identity_pool_id = attribution.web_identity_audience.clone().or(principal_pool);
    attribution.source = Some(source::STS_WEB_IDENTITY);
}

/// Splits `<region>:<uuid>:<region>:<uuid>` into the pool and the identity.
fn split_pool_and_identity(text: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [pool_region, pool_uuid, id_region, id_uuid] => (
            Some(format!("{pool_region}:{pool_uuid}")),
            Some(format!("{id_region}:{id_uuid}")),
        ),
        [pool_region, pool_uuid] => (Some(format!("{pool_region}:{pool_uuid}")), None),
        _ => (None, None),
    }
}

/// Source 3: the Cognito Identity calls themselves.
fn from_cognito_identity_call(name: &str, parts: &RecordParts<'_>, attribution: &mut Attribution) {
    if attribution.source == Some(source::WEB_IDENTITY_FEDERATION) {
        // Pool credentials calling Cognito Identity itself (`ListIdentities`,
        // `DeleteIdentities`, `SetIdentityPoolRoles`, … allowed by an old
        // `cognito-identity:*` role): the caller is the identity acting; the
        // pool and identities it names stay in the request (and in
        // `target_identity_ids`).
        return;
    }
    let request = parts.request_parameters;
    let response = parts.response_elements;
    let get = |value: Option<&Value>, keys: &[&str]| {
        value
            .and_then(|v| field(v, keys))
            .and_then(value_str)
            .map(|s| s.into_owned())
    };
    attribution.identity_pool_id = get(request, &["identityPoolId", "IdentityPoolId"])
        .or_else(|| get(response, &["identityPoolId", "IdentityPoolId"]))
        .or_else(|| parts.resources.and_then(pool_id_from_resources));

    let is_identity_call = IDENTITY_CALLS_WITH_LOGINS.contains(&name);
    let is_developer_call = DEVELOPER_IDENTITY_CALLS.contains(&name);
    if !is_identity_call && !is_developer_call {
        // Pool administration: the pool is the subject, no identity acts.
        return;
    }
    // The response names the identity Cognito acted for; a request may
    // spell it differently (case) or name one that the response corrects.
    attribution.identity_id = get(response, &["identityId", "IdentityId"])
        .or_else(|| get(request, &["identityId", "IdentityId"]));
    let logins = request.and_then(|r| field(r, &["logins", "Logins"]));
    let login_names: Vec<String> = logins
        .and_then(Value::as_object)
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default();
    if is_developer_call {
        attribution.auth_type = Some(AUTHENTICATED);
        attribution.login_providers = login_names;
        if let Some(developer_provider) = get(request, &["developerProviderName"]) {
            if !attribution.login_providers.contains(&developer_provider) {
                attribution.login_providers.push(developer_provider);
            }
        }
    } else if login_names.is_empty() {
        attribution.auth_type = Some(UNAUTHENTICATED);
    } else {
        attribution.auth_type = Some(AUTHENTICATED);
        attribution.login_providers = login_names;
    }
    if let Some(role) = get(request, &["customRoleArn", "CustomRoleArn"]) {
        attribution.role_arn = Some(role);
    }
    if let Some(credentials) = response.and_then(|r| field(r, &["credentials", "Credentials"])) {
        read_issued_credentials(credentials, attribution);
    }
    attribution.source = Some(source::COGNITO_IDENTITY_CALL);
}

/// `arn:aws:cognito-identity:<region>:<account>:identitypool/<pool id>`.
pub fn pool_id_from_resources(resources: &Value) -> Option<String> {
    resources.as_array()?.iter().find_map(|resource| {
        let arn = field(resource, &["ARN", "arn"])?.as_str()?;
        let (_, pool) = arn.split_once(":identitypool/")?;
        (!pool.is_empty()).then(|| pool.to_string())
    })
}

fn read_issued_credentials(credentials: &Value, attribution: &mut Attribution) {
    attribution.issued_access_key_id = field(credentials, &["accessKeyId", "AccessKeyId"])
        .and_then(value_str)
        .filter(|key| looks_like_access_key(key))
        .map(|s| s.into_owned());
    attribution.credentials_expiration = field(credentials, &["expiration", "Expiration"])
        .and_then(|value| match value {
            Value::String(text) => parse_credentials_expiration(text),
            Value::Number(n) => n.as_i64().map(crate::time::epoch_number_to_micros),
            _ => None,
        });
}

/// An AWS access key id: 16–128 upper-case letters and digits starting with
/// a known prefix. Placeholders such as `['EXAMPLE_KEY_ID']` are not keys.
pub fn looks_like_access_key(text: &str) -> bool {
    (16..=128).contains(&text.len())
        && ["ASIA", "AKIA", "AROA", "AIDA", "ANPA", "ABIA", "ACCA"]
            .iter()
            .any(|prefix| text.starts_with(prefix))
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amr_inside_a_string_is_parsed() {
        let (auth, providers) = parse_amr(&json!("[\"unauthenticated\"]"));
        assert_eq!(auth, Some(UNAUTHENTICATED));
        assert!(providers.is_empty());
        let (auth, providers) = parse_amr(&json!(
            "[\"authenticated\",\"graph.facebook.com\",\"graph.facebook.com:123456\"]"
        ));
        assert_eq!(auth, Some(AUTHENTICATED));
        assert_eq!(providers, vec!["graph.facebook.com"]);
        let (auth, providers) = parse_amr(&json!(["authenticated", "accounts.google.com"]));
        assert_eq!(auth, Some(AUTHENTICATED));
        assert_eq!(providers, vec!["accounts.google.com"]);
    }

    #[test]
    fn pool_and_identity_split_from_principal() {
        let (pool, identity) = split_pool_and_identity(
            "us-east-1:11111111-2222-3333-4444-555555555555:us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        );
        assert_eq!(
            pool.as_deref(),
            Some("us-east-1:11111111-2222-3333-4444-555555555555")
        );
        assert_eq!(
            identity.as_deref(),
            Some("us-east-1:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        );
    }

    #[test]
    fn access_key_shape() {
        assert!(looks_like_access_key("ASIAIOSFODNN7EXAMPLE"));
        assert!(!looks_like_access_key("['EXAMPLE_KEY_ID']"));
        assert!(!looks_like_access_key(""));
    }
}
