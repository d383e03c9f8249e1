//! CloudTrail record templates, shaped like the real records in
//! `crates/model/tests/fixtures/real/` and the facts in the design.

use serde_json::{json, Value};

/// Who made a call.
#[derive(Debug, Clone)]
pub enum Principal {
    /// Cognito Identity data events: `{"type":"Unknown"}` for guests and
    /// signed-in users alike.
    Unknown,
    /// Pool credentials: an assumed role with `webIdFederationData`.
    PoolCredentials {
        account: String,
        role: String,
        role_id: String,
        access_key: String,
        pool_id: String,
        identity_id: String,
        /// `["unauthenticated"]` or `["authenticated", provider, provider:subject]`.
        amr: Vec<String>,
        /// Real trails sometimes carry only `federatedProvider`.
        with_attributes: bool,
        issued_at: String,
    },
    /// A backend role (Lambda, batch job, admin session).
    Role {
        account: String,
        role: String,
        role_id: String,
        session: String,
        access_key: String,
        issued_at: String,
    },
    /// An IAM user (admins).
    IamUser {
        account: String,
        name: String,
        user_id: String,
        access_key: String,
    },
    /// The `WebIdentityUser` of AssumeRoleWithWebIdentity through Cognito.
    CognitoWebIdentity {
        pool_id: String,
        identity_id: String,
    },
}

impl Principal {
    pub fn to_json(&self) -> Value {
        match self {
            Principal::Unknown => json!({"type": "Unknown"}),
            Principal::PoolCredentials {
                account,
                role,
                role_id,
                access_key,
                pool_id,
                identity_id,
                amr,
                with_attributes,
                issued_at,
            } => {
                let mut federation = json!({"federatedProvider": "cognito-identity.amazonaws.com"});
                if *with_attributes {
                    federation["attributes"] = json!({
                        "cognito-identity.amazonaws.com:aud": pool_id,
                        "cognito-identity.amazonaws.com:sub": identity_id,
                        "cognito-identity.amazonaws.com:amr": serde_json::to_string(amr).unwrap_or_default(),
                    });
                }
                let mut principal = assumed_role(
                    account,
                    role,
                    role_id,
                    "CognitoIdentityCredentials",
                    access_key,
                    issued_at,
                );
                principal["sessionContext"]["webIdFederationData"] = federation;
                principal
            }
            Principal::Role {
                account,
                role,
                role_id,
                session,
                access_key,
                issued_at,
            } => assumed_role(account, role, role_id, session, access_key, issued_at),
            Principal::IamUser {
                account,
                name,
                user_id,
                access_key,
            } => json!({
                "type": "IAMUser",
                "principalId": user_id,
                "arn": format!("arn:aws:iam::{account}:user/{name}"),
                "accountId": account,
                "accessKeyId": access_key,
                "userName": name
            }),
            Principal::CognitoWebIdentity {
                pool_id,
                identity_id,
            } => json!({
                "type": "WebIdentityUser",
                "principalId": format!("cognito-identity.amazonaws.com:{pool_id}:{identity_id}"),
                "userName": identity_id,
                "identityProvider": "cognito-identity.amazonaws.com"
            }),
        }
    }
}

/// An `AssumedRole` principal with its session issuer.
fn assumed_role(
    account: &str,
    role: &str,
    role_id: &str,
    session: &str,
    access_key: &str,
    issued_at: &str,
) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": format!("{role_id}:{session}"),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        "accountId": account,
        "accessKeyId": access_key,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": format!("arn:aws:iam::{account}:role/{role}"),
                "accountId": account,
                "userName": role
            },
            "attributes": {"creationDate": issued_at, "mfaAuthenticated": "false"}
        }
    })
}

/// The call itself.
#[derive(Debug, Clone)]
pub struct Call {
    pub event_time: String,
    pub event_source: &'static str,
    pub event_name: String,
    pub region: String,
    pub source_ip: String,
    pub user_agent: String,
    pub request: Value,
    pub response: Value,
    pub error: Option<(String, String)>,
    pub read_only: bool,
    pub data_event: bool,
    pub resources: Value,
    pub additional: Option<Value>,
    pub recipient_account: String,
    pub event_id: String,
    pub request_id: String,
    pub host: Option<String>,
    pub event_version: &'static str,
}

/// Assembles one CloudTrail record.
pub fn record(principal: &Principal, call: &Call) -> Value {
    let mut record = json!({
        "eventVersion": call.event_version,
        "userIdentity": principal.to_json(),
        "eventTime": call.event_time,
        "eventSource": call.event_source,
        "eventName": call.event_name,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
    });
    let object = record.as_object_mut().expect("object");
    if let Some((code, message)) = &call.error {
        object.insert("errorCode".into(), json!(code));
        object.insert("errorMessage".into(), json!(message));
    }
    object.insert("requestParameters".into(), call.request.clone());
    object.insert("responseElements".into(), call.response.clone());
    if let Some(additional) = &call.additional {
        object.insert("additionalEventData".into(), additional.clone());
    }
    object.insert("requestID".into(), json!(call.request_id));
    object.insert("eventID".into(), json!(call.event_id));
    object.insert("readOnly".into(), json!(call.read_only));
    if !call.resources.is_null() {
        object.insert("resources".into(), call.resources.clone());
    }
    object.insert("eventType".into(), json!("AwsApiCall"));
    object.insert("managementEvent".into(), json!(!call.data_event));
    object.insert("recipientAccountId".into(), json!(call.recipient_account));
    object.insert(
        "eventCategory".into(),
        json!(if call.data_event {
            "Data"
        } else {
            "Management"
        }),
    );
    if let Some(host) = &call.host {
        object.insert(
            "tlsDetails".into(),
            json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": host}),
        );
    }
    record
}
