//! A Cognito Identity admin server for tests, speaking the service's real
//! protocol (AWS JSON 1.1: `POST /`, `X-Amz-Target:
//! AWSCognitoIdentityService.<Operation>`), so the real
//! `aws-sdk-cognitoidentity` client is exercised over HTTP. moto's Cognito
//! Identity lacks `GetIdentityPoolRoles`, `SetIdentityPoolRoles` and
//! `AllowClassicFlow`; this one serves the calls an inventory makes and the
//! ones a test needs to set pools up:
//!
//! `CreateIdentityPool`, `UpdateIdentityPool`, `DescribeIdentityPool`,
//! `DeleteIdentityPool`, `ListIdentityPools` (`MaxResults` 1–60, an opaque
//! `NextToken`), `SetIdentityPoolRoles`, `GetIdentityPoolRoles`,
//! `SetPrincipalTagAttributeMap`, `GetPrincipalTagAttributeMap`.
//!
//! Pools live per region, the region taken from the request's SigV4
//! credential scope (as the service's endpoints are per region). Requests
//! are counted per operation; operations can be refused
//! (`NotAuthorizedException`, as a caller without the IAM permission gets)
//! and requests throttled (`TooManyRequestsException`) past a rate.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::http::{aws_json_response, serve, ResponseBody, Running, TokenBucket};

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct CognitoServerOptions {
    /// Operations answered with `NotAuthorizedException` (a missing IAM
    /// permission), e.g. `GetPrincipalTagAttributeMap`.
    pub denied_operations: HashSet<String>,
    /// Requests per second allowed (a one-second token bucket); faster
    /// requests get `TooManyRequestsException`. `None`: no limit.
    pub max_tps: Option<f64>,
}

/// What the server saw.
#[derive(Debug, Default)]
pub struct CognitoStats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    by_operation: Mutex<BTreeMap<String, u64>>,
}

impl CognitoStats {
    /// Requests per operation (throttled and refused ones included).
    pub fn by_operation(&self) -> BTreeMap<String, u64> {
        self.by_operation.lock().expect("stats lock").clone()
    }
}

#[derive(Default)]
struct Pool {
    /// The `IdentityPool` shape, `IdentityPoolId` included.
    settings: Map<String, Value>,
    roles: Map<String, Value>,
    role_mappings: Map<String, Value>,
    /// Provider name → (`UseDefaults`, `PrincipalTags`).
    principal_tags: HashMap<String, (bool, Map<String, Value>)>,
}

struct State {
    /// Region → pool id → pool, in creation order per region.
    pools: Mutex<BTreeMap<String, Vec<(String, Pool)>>>,
    options: CognitoServerOptions,
    bucket: TokenBucket,
    stats: Arc<CognitoStats>,
    next_id: AtomicU64,
}

/// A running Cognito Identity server; stopped on drop.
pub struct CognitoServer {
    running: Running,
    state: Arc<State>,
}

impl CognitoServer {
    pub fn start(options: CognitoServerOptions) -> Self {
        let state = Arc::new(State {
            pools: Mutex::new(BTreeMap::new()),
            bucket: TokenBucket::new(options.max_tps),
            options,
            stats: Arc::new(CognitoStats::default()),
            next_id: AtomicU64::new(1),
        });
        Self {
            running: {
                let state = Arc::clone(&state);
                serve(move |request| handle(Arc::clone(&state), request))
            },
            state,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.running.address)
    }

    pub fn stats(&self) -> Arc<CognitoStats> {
        Arc::clone(&self.state.stats)
    }
}

fn error(kind: &str, message: &str) -> Response<ResponseBody> {
    aws_json_response(
        StatusCode::BAD_REQUEST,
        json!({ "__type": kind, "message": message }),
    )
}

/// The region of a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/20261201/us-east-1/cognito-identity/aws4_request`).
fn region_of(request: &Request<hyper::body::Incoming>) -> String {
    request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_string()
}

async fn handle(
    state: Arc<State>,
    request: Request<hyper::body::Incoming>,
) -> Response<ResponseBody> {
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    let region = region_of(&request);
    let operation = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AWSCognitoIdentityService."))
        .unwrap_or_default()
        .to_string();
    *state
        .stats
        .by_operation
        .lock()
        .expect("stats lock")
        .entry(operation.clone())
        .or_default() += 1;
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return error("InvalidParameterException", "unreadable body"),
    };
    if !state.bucket.take() {
        state.stats.throttled.fetch_add(1, Ordering::Relaxed);
        return error("TooManyRequestsException", "Rate exceeded");
    }
    if state.options.denied_operations.contains(&operation) {
        return error(
            "NotAuthorizedException",
            &format!("User is not authorized to perform: cognito-identity:{operation}"),
        );
    }
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&body) else {
        return error("InvalidParameterException", "the body is not a JSON object");
    };
    match answer(&state, &region, &operation, input) {
        Ok(body) => aws_json_response(StatusCode::OK, body),
        Err((kind, message)) => error(kind, &message),
    }
}

type Answer = Result<Value, (&'static str, String)>;

fn required<'a>(
    input: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, (&'static str, String)> {
    input.get(key).and_then(Value::as_str).ok_or((
        "InvalidParameterException",
        format!("1 validation error detected: {key} must not be null"),
    ))
}

fn not_found(id: &str) -> (&'static str, String) {
    (
        "ResourceNotFoundException",
        format!("IdentityPool '{id}' not found."),
    )
}

/// The settings fields `CreateIdentityPool` and `UpdateIdentityPool` take.
const SETTINGS: &[&str] = &[
    "IdentityPoolName",
    "AllowUnauthenticatedIdentities",
    "AllowClassicFlow",
    "SupportedLoginProviders",
    "DeveloperProviderName",
    "OpenIdConnectProviderARNs",
    "CognitoIdentityProviders",
    "SamlProviderARNs",
    "IdentityPoolTags",
];

fn settings_of(input: &Map<String, Value>, id: &str) -> Map<String, Value> {
    let mut settings = Map::new();
    settings.insert("IdentityPoolId".into(), json!(id));
    for key in SETTINGS {
        if let Some(value) = input.get(*key) {
            settings.insert((*key).to_string(), value.clone());
        }
    }
    settings
}

fn answer(state: &State, region: &str, operation: &str, input: Map<String, Value>) -> Answer {
    let mut regions = state.pools.lock().expect("pools lock");
    let pools = regions.entry(region.to_string()).or_default();
    let find = |pools: &mut Vec<(String, Pool)>, id: &str| -> Option<usize> {
        pools.iter().position(|(pool_id, _)| pool_id == id)
    };
    match operation {
        "CreateIdentityPool" => {
            required(&input, "IdentityPoolName")?;
            if input.get("AllowUnauthenticatedIdentities").is_none() {
                return Err((
                    "InvalidParameterException",
                    "AllowUnauthenticatedIdentities must not be null".into(),
                ));
            }
            let n = state.next_id.fetch_add(1, Ordering::Relaxed);
            let id = format!("{region}:{:08x}-0000-4000-8000-{n:012x}", n as u32);
            let settings = settings_of(&input, &id);
            pools.push((
                id,
                Pool {
                    settings: settings.clone(),
                    ..Pool::default()
                },
            ));
            Ok(Value::Object(settings))
        }
        "UpdateIdentityPool" => {
            let id = required(&input, "IdentityPoolId")?.to_string();
            let index = find(pools, &id).ok_or_else(|| not_found(&id))?;
            let settings = settings_of(&input, &id);
            pools[index].1.settings = settings.clone();
            Ok(Value::Object(settings))
        }
        "DescribeIdentityPool" => {
            let id = required(&input, "IdentityPoolId")?;
            let index = find(pools, id).ok_or_else(|| not_found(id))?;
            Ok(Value::Object(pools[index].1.settings.clone()))
        }
        "DeleteIdentityPool" => {
            let id = required(&input, "IdentityPoolId")?;
            let index = find(pools, id).ok_or_else(|| not_found(id))?;
            pools.remove(index);
            Ok(json!({}))
        }
        "ListIdentityPools" => {
            let size = match input.get("MaxResults").and_then(Value::as_u64) {
                Some(n @ 1..=60) => n as usize,
                _ => {
                    return Err((
                        "InvalidParameterException",
                        "MaxResults must be between 1 and 60".into(),
                    ))
                }
            };
            let offset = match input.get("NextToken").and_then(Value::as_str) {
                None => 0,
                Some(token) => token
                    .strip_prefix("page-")
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or(("InvalidParameterException", "invalid NextToken".into()))?,
            };
            let page: Vec<Value> = pools
                .iter()
                .skip(offset)
                .take(size)
                .map(|(id, pool)| {
                    json!({
                        "IdentityPoolId": id,
                        "IdentityPoolName": pool.settings.get("IdentityPoolName"),
                    })
                })
                .collect();
            let mut body = json!({ "IdentityPools": page });
            if offset + size < pools.len() {
                body["NextToken"] = json!(format!("page-{}", offset + size));
            }
            Ok(body)
        }
        "SetIdentityPoolRoles" => {
            let id = required(&input, "IdentityPoolId")?.to_string();
            let index = find(pools, &id).ok_or_else(|| not_found(&id))?;
            let object = |key: &str| {
                input
                    .get(key)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            pools[index].1.roles = object("Roles");
            pools[index].1.role_mappings = object("RoleMappings");
            Ok(json!({}))
        }
        "GetIdentityPoolRoles" => {
            let id = required(&input, "IdentityPoolId")?;
            let index = find(pools, id).ok_or_else(|| not_found(id))?;
            let pool = &pools[index].1;
            let mut body = json!({ "IdentityPoolId": id, "Roles": pool.roles });
            if !pool.role_mappings.is_empty() {
                body["RoleMappings"] = Value::Object(pool.role_mappings.clone());
            }
            Ok(body)
        }
        "SetPrincipalTagAttributeMap" | "GetPrincipalTagAttributeMap" => {
            let id = required(&input, "IdentityPoolId")?.to_string();
            let provider = required(&input, "IdentityProviderName")?.to_string();
            let index = find(pools, &id).ok_or_else(|| not_found(&id))?;
            let pool = &mut pools[index].1;
            if operation == "SetPrincipalTagAttributeMap" {
                let use_defaults = input
                    .get("UseDefaults")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let tags = input
                    .get("PrincipalTags")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                pool.principal_tags
                    .insert(provider.clone(), (use_defaults, tags));
            }
            let (use_defaults, tags) = pool
                .principal_tags
                .get(&provider)
                .cloned()
                .unwrap_or((false, Map::new()));
            Ok(json!({
                "IdentityPoolId": id,
                "IdentityProviderName": provider,
                "UseDefaults": use_defaults,
                "PrincipalTags": tags,
            }))
        }
        other => Err((
            "UnknownOperationException",
            format!("this test server does not answer {other:?}"),
        )),
    }
}
