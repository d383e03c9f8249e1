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
const MICROS: i64 = 1_000_000;

/// One enumeration probe: service, operation, and the error it meets.
type Probe = (
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

const MOBILE_AGENTS: &[&str] = &[
    "aws-sdk-iOS/2.33.4 iOS/17.4.1 en_US",
    "aws-sdk-android/2.73.0 Linux/5.10.177-android13 Dalvik/2.1.0/0 en_US",
    "aws-amplify/6.0.27 storage/1 framework/1 (react-native)",
    "aws-sdk-js/3.540.0 ua/2.0 os/Windows#NT-10.0 lang/js md/browser#Chrome_123.0.0.0 api/s3#3.540.0 aws-amplify/6.0.27",
    "aws-sdk-js/3.540.0 ua/2.0 os/macOS#10.15.7 lang/js md/browser#Safari_17.4 api/dynamodb#3.540.0 aws-amplify/6.0.27",
];
const LAMBDA_AGENT: &str = "aws-sdk-nodejs/3.540.0 linux/v20.12.0 exec-env/AWS_Lambda_nodejs20.x";
const CLI_AGENT: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/s3api.list-objects-v2";
const BOTO_AGENT: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69";
const CURL_AGENT: &str = "curl/8.5.0";
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

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn new_identity(&mut self) -> String {
        format!("{REGION}:{}", uuid(&mut self.rng))
    }

    fn access_key(&mut self) -> String {
        let mut key = String::from("ASIA");
        for _ in 0..16 {
            key.push(ALNUM[self.rng.random_range(0..ALNUM.len())] as char);
        }
        key
    }

    fn role_id(role: &str) -> String {
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

    pub fn backend_principal(&mut self, role: &str, session: &str, t: i64) -> Principal {
        Principal::Role {
            account: ACCOUNT.into(),
            role: role.into(),
            role_id: Self::role_id(role),
            session: session.into(),
            access_key: self.access_key(),
            issued_at: format_time(t - 600 * MICROS),
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
        let mut call = self.base_call(t, source, name, ip, agent);
        call.request = Value::Null;
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
        let (credentials, issued) = self.get_credentials(t, &pool, &identity, None, &ip, &agent);
        out.push(credentials);
        let principal = self.pool_principal(
            GUEST_ROLE,
            &issued,
            &pool,
            &identity,
            vec!["unauthenticated".into()],
        );
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

    // --- attacks and traps ----------------------------------------------------------------------

    /// Every attack and false-positive trap, starting at `t0`.
    pub fn attacks(&mut self, t0: i64) -> Vec<Timed> {
        let mut out = Vec::new();
        let hour = 3600 * MICROS;
        self.guest_enumeration(t0, &mut out);
        self.guest_flood(t0 + hour, &mut out);
        self.guest_writes(t0 + 2 * hour, &mut out);
        self.guest_scraper(t0 + 3 * hour, &mut out);
        self.shared_nat_guests(t0 + 4 * hour, &mut out);
        self.cross_identity(t0 + 5 * hour, &mut out);
        self.foreign_pool(t0 + 6 * hour, &mut out);
        self.credential_reuse(t0 + 7 * hour, &mut out);
        self.denial_storm(t0 + 8 * hour, &mut out);
        self.config_changes(t0 + 9 * hour, &mut out);
        let budget = usize::MAX;
        self.reporting_job(t0 + 10 * hour, &mut out, budget);
        self.admin_session(t0 + 11 * hour, &mut out, budget);
        out
    }

    /// A guest identity used from a script to enumerate permissions.
    fn guest_enumeration(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "175.16.199.23";
        let identity = self.new_identity();
        let pool = self.pool_id.clone();
        out.push(self.get_id(t0, &pool, &identity, None, ip, BOTO_AGENT));
        let (event, issued) =
            self.get_credentials(t0 + MICROS, &pool, &identity, None, ip, BOTO_AGENT);
        out.push(event);
        let principal = self.pool_principal(
            GUEST_ROLE,
            &issued,
            &pool,
            &identity,
            vec!["unauthenticated".into()],
        );
        let denied = (
            "AccessDenied",
            "User is not authorized to perform this operation",
        );
        let probes: [Probe; 16] = [
            ("sts.amazonaws.com", "GetCallerIdentity", None),
            ("s3.amazonaws.com", "ListBuckets", Some(denied)),
            (
                "dynamodb.amazonaws.com",
                "ListTables",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: dynamodb:ListTables",
                )),
            ),
            (
                "lambda.amazonaws.com",
                "ListFunctions20150331",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: lambda:ListFunctions",
                )),
            ),
            ("iam.amazonaws.com", "ListRoles", Some(denied)),
            (
                "iam.amazonaws.com",
                "GetAccountAuthorizationDetails",
                Some(denied),
            ),
            (
                "ec2.amazonaws.com",
                "DescribeInstances",
                Some((
                    "Client.UnauthorizedOperation",
                    "You are not authorized to perform this operation.",
                )),
            ),
            (
                "secretsmanager.amazonaws.com",
                "ListSecrets",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: secretsmanager:ListSecrets",
                )),
            ),
            (
                "kms.amazonaws.com",
                "ListKeys",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: kms:ListKeys",
                )),
            ),
            (
                "sns.amazonaws.com",
                "ListTopics",
                Some((
                    "AuthorizationError",
                    "not authorized to perform: SNS:ListTopics",
                )),
            ),
            (
                "sqs.amazonaws.com",
                "ListQueues",
                Some(("AccessDenied", "Access to the resource is denied.")),
            ),
            (
                "cognito-idp.amazonaws.com",
                "ListUserPools",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: cognito-idp:ListUserPools",
                )),
            ),
            (
                "cognito-identity.amazonaws.com",
                "ListIdentityPools",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: cognito-identity:ListIdentityPools",
                )),
            ),
            (
                "ssm.amazonaws.com",
                "DescribeParameters",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: ssm:DescribeParameters",
                )),
            ),
            (
                "logs.amazonaws.com",
                "DescribeLogGroups",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: logs:DescribeLogGroups",
                )),
            ),
            (
                "cloudtrail.amazonaws.com",
                "DescribeTrails",
                Some((
                    "AccessDeniedException",
                    "not authorized to perform: cloudtrail:DescribeTrails",
                )),
            ),
        ];
        let mut t = t0 + 5 * MICROS;
        for (source, name, error) in probes {
            t += self.rng.random_range(2..9) * MICROS;
            let agent = if source.starts_with("s3") {
                CLI_AGENT
            } else {
                BOTO_AGENT
            };
            out.push(self.generic(t, &principal, source, name, ip, agent, error));
        }
        t += 3 * MICROS;
        out.push(self.dynamodb(
            t,
            &principal,
            "Scan",
            USER_TABLE,
            json!({"limit": 1000}),
            ip,
            BOTO_AGENT,
            true,
        ));
        out.push(self.s3_list(t + MICROS, &principal, "", ip, CLI_AGENT, true));
        out.push(self.s3_list(t + 2 * MICROS, &principal, "public/", ip, CLI_AGENT, false));
    }

    /// Many guest identities minted from one address in minutes.
    fn guest_flood(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "89.160.20.115";
        let pool = self.pool_id.clone();
        for index in 0..120 {
            let t = t0 + index * 4 * MICROS;
            let identity = self.new_identity();
            out.push(self.get_id(t, &pool, &identity, None, ip, CURL_AGENT));
            let (event, _) =
                self.get_credentials(t + 500_000, &pool, &identity, None, ip, CURL_AGENT);
            out.push(event);
        }
    }

    /// A guest writes where only signed-in users should.
    fn guest_writes(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "216.160.83.58";
        let identity = self.new_identity();
        let pool = self.pool_id.clone();
        let agent = MOBILE_AGENTS[3];
        out.push(self.get_id(t0, &pool, &identity, None, ip, agent));
        let (event, issued) = self.get_credentials(t0 + MICROS, &pool, &identity, None, ip, agent);
        out.push(event);
        let principal = self.pool_principal(
            GUEST_ROLE,
            &issued,
            &pool,
            &identity,
            vec!["unauthenticated".into()],
        );
        out.push(self.s3_object(
            t0 + 10 * MICROS,
            &principal,
            "PutObject",
            "public/photos/free-gift-card.html",
            ip,
            agent,
            false,
        ));
        out.push(self.s3_object(
            t0 + 20 * MICROS,
            &principal,
            "DeleteObject",
            "public/photos/p-00001.jpg",
            ip,
            agent,
            true,
        ));
        out.push(self.dynamodb(
            t0 + 30 * MICROS,
            &principal,
            "PutItem",
            CATALOG_TABLE,
            json!({"key": {"photoId": "p-99999"}, "item": ["photoId", "title", "url"]}),
            ip,
            agent,
            false,
        ));
    }

    /// One guest reading far more than the pool's guests ever do.
    fn guest_scraper(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "1.128.0.77";
        let identity = self.new_identity();
        let pool = self.pool_id.clone();
        let agent = MOBILE_AGENTS[0];
        out.push(self.get_id(t0, &pool, &identity, None, ip, agent));
        let (event, issued) = self.get_credentials(t0 + MICROS, &pool, &identity, None, ip, agent);
        out.push(event);
        let principal = self.pool_principal(
            GUEST_ROLE,
            &issued,
            &pool,
            &identity,
            vec!["unauthenticated".into()],
        );
        for index in 0..240 {
            let photo = format!("p-{:05}", index % 300);
            out.push(self.s3_object(
                t0 + 2 * MICROS + index * 4 * MICROS,
                &principal,
                "GetObject",
                &format!("public/photos/{photo}.jpg"),
                ip,
                agent,
                false,
            ));
        }
    }

    /// Trap: a café's guests behind one NAT address (normal volume each).
    fn shared_nat_guests(&mut self, t0: i64, out: &mut Vec<Timed>) {
        for index in 0..14 {
            let start = t0 + index * 240 * MICROS;
            self.guest_session(start, Some("198.51.100.77".into()), out, usize::MAX);
        }
    }

    /// A signed-in user reaching for another identity's data.
    fn cross_identity(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let attacker = self.users[1].clone();
        let victim = self.users[2].identity_id.clone();
        let victim2 = self.users[3].identity_id.clone();
        let pool = self.pool_id.clone();
        let ip = attacker.home_ip.clone();
        let agent = attacker.user_agent.clone();
        let (event, issued) = self.get_credentials(
            t0,
            &pool,
            &attacker.identity_id,
            Some(&attacker.provider),
            &ip,
            &agent,
        );
        out.push(event);
        let amr = vec![
            "authenticated".to_string(),
            attacker.provider.clone(),
            format!("{}:{}", attacker.provider, attacker.subject),
        ];
        let principal =
            self.pool_principal(attacker.role, &issued, &pool, &attacker.identity_id, amr);
        let at = |step: i64| t0 + (10 + step * 7) * MICROS;
        let events = vec![
            self.s3_object(at(0), &principal, "GetObject", &format!("private/{victim}/passport.jpg"), &ip, &agent, true),
            self.s3_list(at(1), &principal, &format!("private/{victim}/"), &ip, &agent, true),
            self.s3_object(at(2), &principal, "GetObject", &format!("private/{}/id-card.png", victim2.replace(':', "%3A")), &ip, &agent, true),
            self.s3_object(at(3), &principal, "PutObject", &format!("protected/{victim}/avatar.png"), &ip, &agent, true),
            self.dynamodb(at(4), &principal, "GetItem", USER_TABLE, json!({"key": {"userId": victim, "photoId": "00000001"}}), &ip, &agent, true),
            self.dynamodb(at(5), &principal, "Query", USER_TABLE, json!({"keyConditionExpression": "userId = :u", "expressionAttributeValues": {":u": {"S": victim2}}}), &ip, &agent, true),
            self.dynamodb(at(6), &principal, "ExecuteStatement", USER_TABLE, json!({"statement": format!("SELECT * FROM UserPhotos WHERE userId = '{victim}'")}), &ip, &agent, true),
            // The policy variable is missing on UpdateItem: this one succeeds.
            self.dynamodb(at(7), &principal, "UpdateItem", USER_TABLE, json!({"key": {"userId": victim, "photoId": "00000001"}, "updateExpression": "SET caption = :c", "returnConsumedCapacity": "NONE"}), &ip, &agent, false),
        ];
        out.extend(events);
    }

    /// AssumeRoleWithWebIdentity with a token from someone else's pool.
    fn foreign_pool(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let ip = "67.43.156.14";
        let foreign = self.foreign_pool_ids[0].clone();
        let identity = format!("{REGION}:{}", uuid(&mut self.rng));
        let (event, issued) = self.assume_role_with_web_identity(
            t0, &foreign, &identity, AUTH_ROLE, ip, BOTO_AGENT, false,
        );
        out.push(event);
        let issued = issued.expect("succeeds");
        let amr = vec![
            "authenticated".to_string(),
            "accounts.google.com".to_string(),
        ];
        let principal = self.pool_principal(AUTH_ROLE, &issued, &foreign, &identity, amr);
        out.push(self.s3_list(
            t0 + 20 * MICROS,
            &principal,
            "photos/",
            ip,
            BOTO_AGENT,
            true,
        ));
        out.push(self.s3_object(
            t0 + 30 * MICROS,
            &principal,
            "GetObject",
            "public/photos/p-00042.jpg",
            ip,
            BOTO_AGENT,
            false,
        ));
        let other = self.foreign_pool_ids[1].clone();
        let identity = format!("eu-west-1:{}", uuid(&mut self.rng));
        let (event, _) = self.assume_role_with_web_identity(
            t0 + 120 * MICROS,
            &other,
            &identity,
            ENTERPRISE_ROLE,
            ip,
            BOTO_AGENT,
            true,
        );
        out.push(event);
    }

    /// Credentials issued in one country and used from another; and the
    /// trap: a phone moving between addresses of one ASN.
    fn credential_reuse(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let pool = self.pool_id.clone();
        let victim = self.users[5].clone();
        let amr = vec!["authenticated".to_string(), victim.provider.clone()];
        let (event, issued) = self.get_credentials(
            t0,
            &pool,
            &victim.identity_id,
            Some(&victim.provider),
            "81.2.69.160",
            &victim.user_agent,
        );
        out.push(event);
        let principal = self.pool_principal(victim.role, &issued, &pool, &victim.identity_id, amr);
        let id = victim.identity_id.clone();
        out.push(self.s3_object(
            t0 + 30 * MICROS,
            &principal,
            "GetObject",
            &format!("photos/{id}/a1.jpg"),
            "81.2.69.160",
            &victim.user_agent,
            false,
        ));
        for index in 0..6 {
            out.push(self.s3_object(
                t0 + (600 + index * 20) * MICROS,
                &principal,
                "GetObject",
                &format!("photos/{id}/b{index}.jpg"),
                "175.16.199.61",
                BOTO_AGENT,
                false,
            ));
        }
        let mover = self.users[6].clone();
        let amr = vec!["authenticated".to_string(), mover.provider.clone()];
        let (event, issued) = self.get_credentials(
            t0 + 60 * MICROS,
            &pool,
            &mover.identity_id,
            Some(&mover.provider),
            "1.128.0.10",
            &mover.user_agent,
        );
        out.push(event);
        let principal = self.pool_principal(mover.role, &issued, &pool, &mover.identity_id, amr);
        let id = mover.identity_id.clone();
        for index in 0..4 {
            let ip = if index < 2 {
                "1.128.0.10"
            } else {
                "1.130.44.7"
            };
            out.push(self.s3_object(
                t0 + (90 + index * 300) * MICROS,
                &principal,
                "GetObject",
                &format!("photos/{id}/m{index}.jpg"),
                ip,
                &mover.user_agent,
                false,
            ));
        }
    }

    /// A signed-in identity denied again and again across services.
    fn denial_storm(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let user = self.users[8].clone();
        let pool = self.pool_id.clone();
        let (event, issued) = self.get_credentials(
            t0,
            &pool,
            &user.identity_id,
            Some(&user.provider),
            &user.home_ip,
            &user.user_agent,
        );
        out.push(event);
        let amr = vec!["authenticated".to_string(), user.provider.clone()];
        let principal = self.pool_principal(user.role, &issued, &pool, &user.identity_id, amr);
        for index in 0..36 {
            let t = t0 + (10 + index * 15) * MICROS;
            let event = match index % 3 {
                0 => self.dynamodb(
                    t,
                    &principal,
                    "Scan",
                    CATALOG_TABLE,
                    json!({"limit": 100}),
                    &user.home_ip,
                    &user.user_agent,
                    true,
                ),
                1 => self.s3_list(
                    t,
                    &principal,
                    "photos/",
                    &user.home_ip,
                    &user.user_agent,
                    true,
                ),
                _ => self.generic(
                    t,
                    &principal,
                    "lambda.amazonaws.com",
                    "Invoke",
                    &user.home_ip,
                    &user.user_agent,
                    Some((
                        "AccessDeniedException",
                        "not authorized to perform: lambda:InvokeFunction",
                    )),
                ),
            };
            out.push(event);
        }
    }

    /// Pool settings that widen access.
    fn config_changes(&mut self, t0: i64, out: &mut Vec<Timed>) {
        let admin = Principal::IamUser {
            account: ACCOUNT.into(),
            name: "deploy-bot".into(),
            user_id: "AIDAEXAMPLEDEPLOYBOT1".into(),
            access_key: "AKIAEXAMPLEDEPLOYBOT".into(),
        };
        let pool = self.pool_id.clone();
        let staging = self.staging_pool_id.clone();
        let ip = "203.0.113.50";
        let providers = json!({"accounts.google.com": "123456789012-example.apps.googleusercontent.com", "graph.facebook.com": "1234567890"});
        out.push(self.pool_admin(t0, &admin, "UpdateIdentityPool", json!({"identityPoolId": pool, "identityPoolName": "PhotoShare", "allowUnauthenticatedIdentities": true, "allowClassicFlow": true, "supportedLoginProviders": providers}), json!({"identityPoolId": pool, "identityPoolName": "PhotoShare", "allowUnauthenticatedIdentities": true, "allowClassicFlow": true, "supportedLoginProviders": providers}), false, ip));
        out.push(self.pool_admin(t0 + 60 * MICROS, &admin, "SetIdentityPoolRoles", json!({"identityPoolId": pool, "roles": {"authenticated": format!("arn:aws:iam::{ACCOUNT}:role/{AUTH_ROLE}"), "unauthenticated": format!("arn:aws:iam::{ACCOUNT}:role/PhotoShareAdminRole")}, "roleMappings": {"cognito-idp.us-east-1.amazonaws.com/us-east-1_Ph0t0Shr1:1example": {"type": "Token", "ambiguousRoleResolution": "AuthenticatedRole"}}}), Value::Null, false, ip));
        out.push(self.pool_admin(t0 + 120 * MICROS, &admin, "CreateIdentityPool", json!({"identityPoolName": "PhotoShareStaging", "allowUnauthenticatedIdentities": true, "allowClassicFlow": false}), json!({"identityPoolId": staging, "identityPoolName": "PhotoShareStaging", "allowUnauthenticatedIdentities": true, "allowClassicFlow": false}), false, ip));
        out.push(self.pool_admin(
            t0 + 180 * MICROS,
            &admin,
            "DeleteIdentityPool",
            json!({"identityPoolId": staging}),
            Value::Null,
            false,
            ip,
        ));
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
fn device_agent(identity: &str) -> &'static str {
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
