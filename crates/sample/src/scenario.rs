//! The photo-sharing app the sample trail describes, and the attacks on it.
//!
//! One identity pool (`PhotoShare`) lets guests browse `public/` photos and
//! read the `PhotoCatalog` table; signed-in users (Cognito User Pool,
//! Google, Facebook, SAML enterprise users) upload to `photos/<identity id>/`,
//! keep an avatar in `protected/<identity id>/` and write their own items
//! of `UserPhotos` (partition key `userId` = identity id). A thumbnail
//! Lambda and a reporting job (backend roles) read many users' data; admins
//! look at the pool. Attacks: one of each kind the detections look for,
//! plus the benign look-alikes that tempt a detection into a false positive.

// The record builders take the CloudTrail fields of one call as plain
// arguments, in the order a record lists them; bundling them into structs
// would only rename them.
#![allow(clippy::too_many_arguments)]

use chrono::{DateTime, Utc};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::records::{record, Call, Principal};

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-1";
pub(crate) const MICROS: i64 = 1_000_000;

/// One enumeration probe: service, operation, and the error it meets.
pub(crate) type Probe = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// A timed record.
pub type Timed = (i64, Value);

/// A signed-in user of the app.
#[derive(Debug, Clone)]
pub struct User {
    pub identity_id: String,
    /// Login provider name as it appears in `logins` and `amr`.
    pub provider: String,
    pub subject: String,
    pub role: &'static str,
    pub home_ip: String,
    pub user_agent: String,
}

/// Credentials issued to an identity.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_key: String,
    pub issued_at: String,
}

pub const GUEST_ROLE: &str = "Cognito_PhotoShareUnauth_Role";
pub const AUTH_ROLE: &str = "Cognito_PhotoShareAuth_Role";
pub const ENTERPRISE_ROLE: &str = "PhotoShareEnterpriseRole";
pub const CATALOG_TABLE: &str = "PhotoCatalog";
pub const USER_TABLE: &str = "UserPhotos";

pub(crate) const MOBILE_AGENTS: &[&str] = &[
    "aws-sdk-iOS/2.33.4 iOS/17.4.1 en_US",
    "aws-sdk-android/2.73.0 Linux/5.10.177-android13 Dalvik/2.1.0/0 en_US",
    "aws-amplify/6.0.27 storage/1 framework/1 (react-native)",
    "aws-sdk-js/3.540.0 ua/2.0 os/Windows#NT-10.0 lang/js md/browser#Chrome_123.0.0.0 api/s3#3.540.0 aws-amplify/6.0.27",
    "aws-sdk-js/3.540.0 ua/2.0 os/macOS#10.15.7 lang/js md/browser#Safari_17.4 api/dynamodb#3.540.0 aws-amplify/6.0.27",
];
const LAMBDA_AGENT: &str = "aws-sdk-nodejs/3.540.0 linux/v20.12.0 exec-env/AWS_Lambda_nodejs20.x";
pub(crate) const CLI_AGENT: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/s3api.list-objects-v2";
pub(crate) const BOTO_AGENT: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69";
pub(crate) const CURL_AGENT: &str = "curl/8.5.0";
const CONSOLE_AGENT: &str = "AWS Internal";

/// The world the generator draws from.
pub struct World {
    rng: ChaCha8Rng,
    pub pool_id: String,
    pub staging_pool_id: String,
    pub foreign_pool_ids: [String; 2],
    pub bucket: String,
    pub guests: Vec<String>,
    pub users: Vec<User>,
    pub photos: Vec<String>,
}

impl World {
    pub fn new(seed: u64) -> Self {
        let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
        let pool_id = format!("{REGION}:{}", uuid(&mut rng));
        let staging_pool_id = format!("{REGION}:{}", uuid(&mut rng));
        let foreign_pool_ids = [
            format!("{REGION}:{}", uuid(&mut rng)),
            format!("eu-west-1:{}", uuid(&mut rng)),
        ];
        let guests = (0..400)
            .map(|_| format!("{REGION}:{}", uuid(&mut rng)))
            .collect();
        let providers = [
            "cognito-idp.us-east-1.amazonaws.com/us-east-1_Ph0t0Shr1",
            "accounts.google.com",
            "graph.facebook.com",
            "arn:aws:iam::111122223333:saml-provider/CorpOkta",
        ];
        let users = (0..160)
            .map(|index| {
                let provider = providers[index % providers.len()].to_string();
                let role = if provider.contains("saml-provider") {
                    ENTERPRISE_ROLE
                } else {
                    AUTH_ROLE
                };
                User {
                    identity_id: format!("{REGION}:{}", uuid(&mut rng)),
                    subject: format!("{:x}", rng.next_u64()),
                    provider,
                    role,
                    home_ip: consumer_ip(&mut rng),
                    user_agent: MOBILE_AGENTS[rng.random_range(0..MOBILE_AGENTS.len())].to_string(),
                }
            })
            .collect();
        let photos = (0..300).map(|i| format!("p-{i:05}")).collect();
        Self {
            rng,
            pool_id,
            staging_pool_id,
            foreign_pool_ids,
            bucket: format!("photoshare-media-{ACCOUNT}"),
            guests,
            users,
            photos,
        }
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    pub(crate) fn new_identity(&mut self) -> String {
        format!("{REGION}:{}", uuid(&mut self.rng))
    }

    pub(crate) fn access_key(&mut self) -> String {
        let mut key = String::from("ASIA");
        for _ in 0..16 {
            key.push(ALNUM[self.rng.random_range(0..ALNUM.len())] as char);
        }
        key
    }

    pub(crate) fn role_id(role: &str) -> String {
        // Stable per role name, so every record of a role agrees.
        let hash = fnv1a(role);
        format!("AROA{:016X}{:01X}", hash, hash >> 60)
    }

    fn base_call(
        &mut self,
        t: i64,
        source: &'static str,
        name: &str,
        ip: &str,
        agent: &str,
    ) -> Call {
        Call {
            event_time: format_time(t),
            event_source: source,
            event_name: name.to_string(),
            region: REGION.to_string(),
            source_ip: ip.to_string(),
            user_agent: agent.to_string(),
            request: Value::Null,
            response: Value::Null,
            error: None,
            read_only: true,
            data_event: false,
            resources: Value::Null,
            additional: None,
            recipient_account: ACCOUNT.to_string(),
            event_id: uuid(&mut self.rng),
            request_id: uuid(&mut self.rng),
            host: None,
            event_version: "1.09",
        }
    }

    // --- Cognito Identity -------------------------------------------------------------

    fn pool_resource(pool_id: &str) -> Value {
        json!([{"accountId": ACCOUNT, "type": "AWS::Cognito::IdentityPool", "ARN": format!("arn:aws:cognito-identity:{REGION}:{ACCOUNT}:identitypool/{pool_id}")}])
    }

    fn logins(provider: Option<&str>) -> Option<Value> {
        provider.map(|p| json!({ p: "HIDDEN_DUE_TO_SECURITY_REASONS" }))
    }

    /// A Cognito Identity data event: `userIdentity` is `Unknown` for
    /// guests and signed-in users alike, the `logins` map is what differs.
    fn cognito_data_call(
        &mut self,
        t: i64,
        name: &str,
        pool_id: &str,
        mut request: Value,
        provider: Option<&str>,
        response: Value,
        ip: &str,
        agent: &str,
    ) -> Value {
        let mut call = self.base_call(t, "cognito-identity.amazonaws.com", name, ip, agent);
        if let Some(logins) = Self::logins(provider) {
            request["logins"] = logins;
        }
        call.request = request;
        call.response = response;
        call.read_only = false;
        call.data_event = true;
        call.event_version = "1.08";
        call.resources = Self::pool_resource(pool_id);
        record(&Principal::Unknown, &call)
    }

    /// `GetId`: a new identity (guest when `provider` is `None`).
    pub fn get_id(
        &mut self,
        t: i64,
        pool_id: &str,
        identity_id: &str,
        provider: Option<&str>,
        ip: &str,
        agent: &str,
    ) -> Timed {
        let request = json!({"identityPoolId": pool_id});
        let response = json!({"identityId": identity_id});
        (
            t,
            self.cognito_data_call(t, "GetId", pool_id, request, provider, response, ip, agent),
        )
    }

    /// `GetCredentialsForIdentity`: no pool id in the request (only in the
    /// resource ARN); non-ISO expiration.
    pub fn get_credentials(
        &mut self,
        t: i64,
        pool_id: &str,
        identity_id: &str,
        provider: Option<&str>,
        ip: &str,
        agent: &str,
    ) -> (Timed, Issued) {
        let access_key = self.access_key();
        let request = json!({"identityId": identity_id});
        let response = json!({
            "credentials": {
                "accessKeyId": access_key,
                "sessionToken": format!("IQoJb3JpZ2luX2VjE{:x}EXAMPLESESSIONTOKEN", self.rng.next_u64()),
                "expiration": format_expiration(t + 3600 * MICROS)
            },
            "identityId": identity_id
        });
        let record = self.cognito_data_call(
            t,
            "GetCredentialsForIdentity",
            pool_id,
            request,
            provider,
            response,
            ip,
            agent,
        );
        let issued = Issued {
            access_key,
            issued_at: format_time(t),
        };
        ((t, record), issued)
    }

    /// `GetOpenIdToken` (classic flow, step 1).
    pub fn get_open_id_token(
        &mut self,
        t: i64,
        pool_id: &str,
        identity_id: &str,
        provider: Option<&str>,
        ip: &str,
        agent: &str,
    ) -> Timed {
        let request = json!({"identityId": identity_id});
        let response = json!({"identityId": identity_id});
        (
            t,
            self.cognito_data_call(
                t,
                "GetOpenIdToken",
                pool_id,
                request,
                provider,
                response,
                ip,
                agent,
            ),
        )
    }

    /// STS `AssumeRoleWithWebIdentity` with a Cognito token (classic flow,
    /// step 2), succeeded or denied.
    pub fn assume_role_with_web_identity(
        &mut self,
        t: i64,
        pool_id: &str,
        identity_id: &str,
        role: &str,
        ip: &str,
        agent: &str,
        denied: bool,
    ) -> (Timed, Option<Issued>) {
        let mut call = self.base_call(
            t,
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            ip,
            agent,
        );
        let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
        call.request = json!({"roleArn": role_arn, "roleSessionName": "CognitoIdentityCredentials", "durationSeconds": 3600});
        call.additional =
            Some(json!({"identityProviderConnectionVerificationMethod": "IAMTrustStore"}));
        call.resources = json!([{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn}]);
        call.host = Some("sts.amazonaws.com".into());
        let principal = Principal::CognitoWebIdentity {
            pool_id: pool_id.into(),
            identity_id: identity_id.into(),
        };
        if denied {
            call.error = Some((
                "AccessDenied".into(),
                "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
            ));
            return ((t, record(&principal, &call)), None);
        }
        let access_key = self.access_key();
        call.response = json!({
            "credentials": {
                "accessKeyId": access_key,
                "sessionToken": format!("FwoGZXIvYXdzE{:x}EXAMPLESESSIONTOKEN", self.rng.next_u64()),
                "expiration": format_expiration_with_comma(t + 3600 * MICROS)
            },
            "subjectFromWebIdentityToken": identity_id,
            "assumedRoleUser": {
                "assumedRoleId": format!("{}:CognitoIdentityCredentials", Self::role_id(role)),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/CognitoIdentityCredentials")
            },
            "provider": "cognito-identity.amazonaws.com",
            "audience": pool_id
        });
        let issued = Issued {
            access_key,
            issued_at: format_time(t),
        };
        ((t, record(&principal, &call)), Some(issued))
    }

    /// Pool administration by an admin principal.
    pub fn pool_admin(
        &mut self,
        t: i64,
        principal: &Principal,
        name: &str,
        request: Value,
        response: Value,
        read_only: bool,
        ip: &str,
    ) -> Timed {
        let mut call = self.base_call(t, "cognito-identity.amazonaws.com", name, ip, CONSOLE_AGENT);
        call.request = request;
        call.response = response;
        call.read_only = read_only;
        call.host = Some(format!("cognito-identity.{REGION}.amazonaws.com"));
        (t, record(principal, &call))
    }

    // --- calls made with credentials -------------------------------------------------------

    pub fn pool_principal(
        &mut self,
        role: &str,
        issued: &Issued,
        pool_id: &str,
        identity_id: &str,
        amr: Vec<String>,
    ) -> Principal {
        let with_attributes = self.rng.random_bool(0.8);
        Principal::PoolCredentials {
            account: ACCOUNT.into(),
            role: role.into(),
            role_id: Self::role_id(role),
            access_key: issued.access_key.clone(),
            pool_id: pool_id.into(),
            identity_id: identity_id.into(),
            amr,
            with_attributes,
            issued_at: issued.issued_at.clone(),
        }
    }

    /// A guest's credentials (`GetCredentialsForIdentity` at `t` in the app's pool), and the
    /// principal its calls carry.
    pub(crate) fn guest_credentials(
        &mut self,
        t: i64,
        identity: &str,
        ip: &str,
        agent: &str,
        out: &mut Vec<Timed>,
    ) -> Principal {
        let pool = self.pool_id.clone();
        let (event, issued) = self.get_credentials(t, &pool, identity, None, ip, agent);
        out.push(event);
        self.pool_principal(
            GUEST_ROLE,
            &issued,
            &pool,
            identity,
            vec!["unauthenticated".into()],
        )
    }

    /// A new guest identity: `GetId` at `t`, its credentials a second later.
    pub(crate) fn new_guest(
        &mut self,
        t: i64,
        ip: &str,
        agent: &str,
        out: &mut Vec<Timed>,
    ) -> (String, Principal) {
        let identity = self.new_identity();
        let pool = self.pool_id.clone();
        out.push(self.get_id(t, &pool, &identity, None, ip, agent));
        let principal = self.guest_credentials(t + MICROS, &identity, ip, agent, out);
        (identity, principal)
    }

    /// A signed-in user's credentials (`GetCredentialsForIdentity` with its login, from `ip`),
    /// and the principal its calls carry: `amr` names the provider, and its subject when
    /// `with_subject`.
    pub(crate) fn user_credentials(
        &mut self,
        t: i64,
        user: &User,
        ip: &str,
        with_subject: bool,
        out: &mut Vec<Timed>,
    ) -> Principal {
        let pool = self.pool_id.clone();
        let (event, issued) = self.get_credentials(
            t,
            &pool,
            &user.identity_id,
            Some(&user.provider),
            ip,
            &user.user_agent,
        );
        out.push(event);
        let mut amr = vec!["authenticated".to_string(), user.provider.clone()];
        if with_subject {
            amr.push(format!("{}:{}", user.provider, user.subject));
        }
        self.pool_principal(user.role, &issued, &pool, &user.identity_id, amr)
    }

    pub fn backend_principal(&mut self, role: &str, session: &str, t: i64) -> Principal {
        let access_key = self.access_key();
        Self::role_session(role, session, access_key, t - 600 * MICROS)
    }

    /// A session of an IAM role of the account, signed with `access_key` issued at `issued_at`.
    pub(crate) fn role_session(
        role: &str,
        session: &str,
        access_key: String,
        issued_at: i64,
    ) -> Principal {
        Principal::Role {
            account: ACCOUNT.into(),
            role: role.into(),
            role_id: Self::role_id(role),
            session: session.into(),
            access_key,
            issued_at: format_time(issued_at),
        }
    }

    /// An S3 object call (GetObject, PutObject, DeleteObject, HeadObject).
    pub fn s3_object(
        &mut self,
        t: i64,
        principal: &Principal,
        name: &str,
        key: &str,
        ip: &str,
        agent: &str,
        denied: bool,
    ) -> Timed {
        let bucket = self.bucket.clone();
        let mut call = self.base_call(t, "s3.amazonaws.com", name, ip, agent);
        let host = format!("{bucket}.s3.{REGION}.amazonaws.com");
        call.request = json!({"bucketName": bucket, "Host": host, "key": key});
        call.read_only = name.starts_with("Get") || name.starts_with("Head");
        call.data_event = true;
        call.event_version = "1.10";
        call.request_id = format!("{:016X}", self.rng.next_u64());
        let bytes_out = if call.read_only && !denied {
            self.rng.random_range(20_000..2_000_000)
        } else {
            0
        };
        let bytes_in = if name == "PutObject" && !denied {
            self.rng.random_range(200_000..4_000_000)
        } else {
            0
        };
        call.additional = Some(json!({
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in,
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": format!("{:x}{:x}/EXAMPLEid2=", self.rng.next_u64(), self.rng.next_u64()),
            "bytesTransferredOut": bytes_out
        }));
        call.resources = json!([
            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
            {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}
        ]);
        call.host = Some(host);
        if denied {
            call.error = Some(("AccessDenied".into(), "Access Denied".into()));
        }
        (t, record(principal, &call))
    }

    /// An S3 list call: the resource has `ARNPrefix`.
    pub fn s3_list(
        &mut self,
        t: i64,
        principal: &Principal,
        prefix: &str,
        ip: &str,
        agent: &str,
        denied: bool,
    ) -> Timed {
        let bucket = self.bucket.clone();
        let mut call = self.base_call(t, "s3.amazonaws.com", "ListObjects", ip, agent);
        let host = format!("{bucket}.s3.{REGION}.amazonaws.com");
        call.request = json!({"list-type": "2", "bucketName": bucket, "Host": host, "prefix": prefix, "encoding-type": "url"});
        call.data_event = true;
        call.event_version = "1.10";
        call.request_id = format!("{:016X}", self.rng.next_u64());
        call.additional = Some(
            json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "bytesTransferredOut": 2048}),
        );
        call.resources = json!([
            {"type": "AWS::S3::Object", "ARNPrefix": format!("arn:aws:s3:::{bucket}/{prefix}")},
            {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}
        ]);
        call.host = Some(host);
        if denied {
            call.error = Some(("AccessDenied".into(), "Access Denied".into()));
        }
        (t, record(principal, &call))
    }

    /// A DynamoDB data-plane call.
    pub fn dynamodb(
        &mut self,
        t: i64,
        principal: &Principal,
        name: &str,
        table: &str,
        request: Value,
        ip: &str,
        agent: &str,
        denied: bool,
    ) -> Timed {
        let mut call = self.base_call(t, "dynamodb.amazonaws.com", name, ip, agent);
        let mut request = request;
        if request.get("tableName").is_none() && request.get("statement").is_none() {
            request["tableName"] = json!(table);
        }
        call.request = request;
        call.read_only = matches!(
            name,
            "GetItem" | "Query" | "Scan" | "BatchGetItem" | "ExecuteStatement"
        );
        call.data_event = true;
        call.event_version = "1.08";
        call.request_id = format!("{:X}{:X}", self.rng.next_u64(), self.rng.next_u64());
        let table_arn = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}");
        call.resources =
            json!([{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table", "ARN": table_arn}]);
        call.host = Some(format!("dynamodb.{REGION}.amazonaws.com"));
        if denied {
            let arn = principal
                .to_json()
                .get("arn")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            call.error = Some((
                "AccessDeniedException".into(),
                format!("User: {arn} is not authorized to perform: dynamodb:{name} on resource: {table_arn} because no identity-based policy allows the dynamodb:{name} action"),
            ));
        }
        (t, record(principal, &call))
    }

    /// Any other management call (used by enumeration), denied or not.
    pub fn generic(
        &mut self,
        t: i64,
        principal: &Principal,
        source: &'static str,
        name: &str,
        ip: &str,
        agent: &str,
        error: Option<(&str, &str)>,
    ) -> Timed {
        self.api_call(
            t,
            principal,
            source,
            name,
            Value::Null,
            Value::Null,
            ip,
            agent,
            error,
        )
    }

    /// A call with its request and response (`AssumeRole`, `ListIdentities`, `GetSecretValue`, …).
    pub fn api_call(
        &mut self,
        t: i64,
        principal: &Principal,
        source: &'static str,
        name: &str,
        request: Value,
        response: Value,
        ip: &str,
        agent: &str,
        error: Option<(&str, &str)>,
    ) -> Timed {
        let mut call = self.base_call(t, source, name, ip, agent);
        call.request = request;
        call.response = if error.is_some() {
            Value::Null
        } else {
            response
        };
        call.read_only = ["Get", "List", "Describe", "Lookup", "Head"]
            .iter()
            .any(|verb| name.starts_with(verb));
        call.host = Some(source.replace(".amazonaws.com", &format!(".{REGION}.amazonaws.com")));
        call.error = error.map(|(code, message)| (code.to_string(), message.to_string()));
        (t, record(principal, &call))
    }

    // --- benign sessions ----------------------------------------------------------------------

    /// A guest browsing public photos and the catalog.
    pub fn guest_session(
        &mut self,
        t0: i64,
        ip: Option<String>,
        out: &mut Vec<Timed>,
        budget: usize,
    ) {
        let returning = self.rng.random_bool(0.6);
        let identity = if returning {
            self.pick(&self.guests.clone()).clone()
        } else {
            self.new_identity()
        };
        let ip = ip.unwrap_or_else(|| consumer_ip(&mut self.rng));
        // A guest identity is one install: the same app stack every time it comes back (the
        // draw is kept so that the rest of the trail stays the same).
        let _ = self.pick(MOBILE_AGENTS);
        let agent = device_agent(&identity).to_string();
        let pool = self.pool_id.clone();
        let mut t = t0;
        if !returning {
            out.push(self.get_id(t, &pool, &identity, None, &ip, &agent));
            t += self.rng.random_range(100_000..900_000);
        }
        let principal = self.guest_credentials(t, &identity, &ip, &agent, out);
        let reads = self.rng.random_range(1..9);
        for _ in 0..reads {
            if out.len() >= budget {
                return;
            }
            t += self.rng.random_range(1..40) * MICROS;
            let roll = self.rng.random_range(0..100);
            let photo = self.pick(&self.photos.clone()).clone();
            let event = if roll < 65 {
                self.s3_object(
                    t,
                    &principal,
                    "GetObject",
                    &format!("public/photos/{photo}.jpg"),
                    &ip,
                    &agent,
                    false,
                )
            } else if roll < 75 {
                self.s3_list(t, &principal, "public/photos/", &ip, &agent, false)
            } else if roll < 90 {
                self.dynamodb(
                    t,
                    &principal,
                    "GetItem",
                    CATALOG_TABLE,
                    json!({"key": {"photoId": photo}, "consistentRead": false}),
                    &ip,
                    &agent,
                    false,
                )
            } else {
                self.dynamodb(
                    t,
                    &principal,
                    "Query",
                    CATALOG_TABLE,
                    json!({"indexName": "byTag", "keyConditionExpression": "tag = :t", "expressionAttributeValues": {":t": {"S": "sunset"}}, "limit": 50}),
                    &ip,
                    &agent,
                    false,
                )
            };
            out.push(event);
        }
    }

    /// A signed-in user uploading and browsing; uploads wake the thumbnail Lambda.
    pub fn user_session(&mut self, t0: i64, out: &mut Vec<Timed>, budget: usize) {
        let user = self.pick(&self.users.clone()).clone();
        let pool = self.pool_id.clone();
        let mut t = t0;
        let provider = user.provider.clone();
        let classic_flow = self.rng.random_bool(0.05);
        if self.rng.random_bool(0.25) {
            out.push(self.get_id(
                t,
                &pool,
                &user.identity_id,
                Some(&provider),
                &user.home_ip,
                &user.user_agent,
            ));
            t += self.rng.random_range(100_000..900_000);
        }
        let issued = if classic_flow {
            out.push(self.get_open_id_token(
                t,
                &pool,
                &user.identity_id,
                Some(&provider),
                &user.home_ip,
                &user.user_agent,
            ));
            t += 300_000;
            let (event, issued) = self.assume_role_with_web_identity(
                t,
                &pool,
                &user.identity_id,
                user.role,
                &user.home_ip,
                &user.user_agent,
                false,
            );
            out.push(event);
            issued.expect("not denied")
        } else {
            let (event, issued) = self.get_credentials(
                t,
                &pool,
                &user.identity_id,
                Some(&provider),
                &user.home_ip,
                &user.user_agent,
            );
            out.push(event);
            issued
        };
        let amr = vec![
            "authenticated".to_string(),
            provider.clone(),
            format!("{provider}:{}", user.subject),
        ];
        let principal = self.pool_principal(user.role, &issued, &pool, &user.identity_id, amr);
        let actions = self.rng.random_range(2..12);
        let id = user.identity_id.clone();
        for _ in 0..actions {
            if out.len() >= budget {
                return;
            }
            t += self.rng.random_range(2..60) * MICROS;
            let roll = self.rng.random_range(0..100);
            let photo = format!("{:08x}", self.rng.next_u32());
            let ip = user.home_ip.clone();
            let agent = user.user_agent.clone();
            if roll < 25 {
                let key = format!("photos/{id}/{photo}.jpg");
                out.push(self.s3_object(t, &principal, "PutObject", &key, &ip, &agent, false));
                if out.len() < budget {
                    self.thumbnail(t + 2 * MICROS, &id, &photo, out, budget);
                }
            } else if roll < 50 {
                out.push(self.s3_object(
                    t,
                    &principal,
                    "GetObject",
                    &format!("photos/{id}/{photo}.jpg"),
                    &ip,
                    &agent,
                    false,
                ));
            } else if roll < 60 {
                let photo = self.pick(&self.photos.clone()).clone();
                out.push(self.s3_object(
                    t,
                    &principal,
                    "GetObject",
                    &format!("public/photos/{photo}.jpg"),
                    &ip,
                    &agent,
                    false,
                ));
            } else if roll < 70 {
                out.push(self.dynamodb(t, &principal, "PutItem", USER_TABLE, json!({"key": {"userId": id, "photoId": photo}, "item": ["userId", "photoId", "caption", "takenAt"], "returnConsumedCapacity": "NONE"}), &ip, &agent, false));
            } else if roll < 80 {
                out.push(self.dynamodb(t, &principal, "Query", USER_TABLE, json!({"keyConditionExpression": "userId = :u", "expressionAttributeValues": {":u": {"S": id}}, "limit": 25}), &ip, &agent, false));
            } else if roll < 85 {
                out.push(self.s3_list(t, &principal, &format!("photos/{id}/"), &ip, &agent, false));
            } else if roll < 93 {
                // Amplify's protected level: reading someone else's avatar is by design.
                let other = self.pick(&self.users.clone()).identity_id.clone();
                out.push(self.s3_object(
                    t,
                    &principal,
                    "GetObject",
                    &format!("protected/{other}/avatar.png"),
                    &ip,
                    &agent,
                    false,
                ));
            } else if roll < 97 {
                out.push(self.s3_object(
                    t,
                    &principal,
                    "PutObject",
                    &format!("protected/{id}/avatar.png"),
                    &ip,
                    &agent,
                    false,
                ));
            } else {
                // Their own key that is not there: S3 answers 403 without s3:ListBucket.
                out.push(self.s3_object(
                    t,
                    &principal,
                    "GetObject",
                    &format!("photos/{id}/{photo}-deleted.jpg"),
                    &ip,
                    &agent,
                    true,
                ));
            }
        }
    }

    /// The thumbnail Lambda reads an upload and writes its thumbnail.
    fn thumbnail(
        &mut self,
        t: i64,
        identity: &str,
        photo: &str,
        out: &mut Vec<Timed>,
        budget: usize,
    ) {
        let principal =
            self.backend_principal("PhotoShareThumbnailRole", "photoshare-thumbnailer", t);
        let ip = format!(
            "3.{}.{}.{}",
            self.rng.random_range(80..95),
            self.rng.random_range(0..255),
            self.rng.random_range(1..255)
        );
        out.push(self.s3_object(
            t,
            &principal,
            "GetObject",
            &format!("photos/{identity}/{photo}.jpg"),
            &ip,
            LAMBDA_AGENT,
            false,
        ));
        if out.len() < budget {
            out.push(self.s3_object(
                t + MICROS,
                &principal,
                "PutObject",
                &format!("thumbnails/{identity}/{photo}.jpg"),
                &ip,
                LAMBDA_AGENT,
                false,
            ));
        }
    }

    /// An admin looking at the pool (read-only: must not be a config change).
    pub fn admin_session(&mut self, t: i64, out: &mut Vec<Timed>, budget: usize) {
        let principal = self.backend_principal("SecurityAuditor", "alice@example.com", t);
        let pool = self.pool_id.clone();
        let calls: [(&str, Value); 4] = [
            ("ListIdentityPools", json!({"maxResults": 60})),
            ("DescribeIdentityPool", json!({"identityPoolId": pool})),
            ("GetIdentityPoolRoles", json!({"identityPoolId": pool})),
            (
                "ListIdentities",
                json!({"identityPoolId": pool, "maxResults": 60}),
            ),
        ];
        for (index, (name, request)) in calls.into_iter().enumerate() {
            if out.len() >= budget {
                return;
            }
            out.push(self.pool_admin(
                t + index as i64 * 5 * MICROS,
                &principal,
                name,
                request,
                Value::Null,
                true,
                "198.51.100.10",
            ));
        }
    }

    /// The nightly reporting job reads many users' items: a backend role,
    /// not pool credentials, so not cross-identity.
    pub fn reporting_job(&mut self, t: i64, out: &mut Vec<Timed>, budget: usize) {
        let principal = self.backend_principal("PhotoShareReportingJob", "nightly-report", t);
        let users: Vec<String> = self
            .users
            .iter()
            .take(30)
            .map(|u| u.identity_id.clone())
            .collect();
        for (index, id) in users.iter().enumerate() {
            if out.len() >= budget {
                return;
            }
            out.push(self.dynamodb(t + index as i64 * MICROS, &principal, "Query", USER_TABLE, json!({"keyConditionExpression": "userId = :u", "expressionAttributeValues": {":u": {"S": id}}}), "10.0.12.34", BOTO_AGENT, false));
        }
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A random (seeded) v4-shaped UUID.
pub fn uuid(rng: &mut ChaCha8Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        (a & 0xfff) as u16,
        ((b >> 48) as u16 & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// An address from a handful of consumer ISP blocks (outside the GeoIP test networks).
/// The app stack of the device behind a guest identity: fixed per identity.
pub(crate) fn device_agent(identity: &str) -> &'static str {
    MOBILE_AGENTS[(fnv1a(identity) % MOBILE_AGENTS.len() as u64) as usize]
}

/// FNV-1a: a stable hash of a name (the same on every platform and run).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn consumer_ip(rng: &mut ChaCha8Rng) -> String {
    let blocks = [(24, 5), (73, 12), (98, 207), (174, 63), (92, 40), (86, 150)];
    let (a, b) = blocks[rng.random_range(0..blocks.len())];
    format!(
        "{a}.{b}.{}.{}",
        rng.random_range(0..255),
        rng.random_range(1..255)
    )
}

pub fn format_time(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// CloudTrail's non-ISO expiration: `Jan 19, 2023 5:55:08 PM`.
fn format_expiration(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|t| t.format("%b %-d, %Y %-I:%M:%S %p").to_string())
        .unwrap_or_default()
}

/// The STS variant: `Jul 9, 2024, 4:41:37 PM`.
fn format_expiration_with_comma(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|t| t.format("%b %-d, %Y, %-I:%M:%S %p").to_string())
        .unwrap_or_default()
}
