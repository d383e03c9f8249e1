//! AWS SDK set-up shared by the sources: the default credential chain,
//! profile/region/endpoint from `[aws]`, one retry layer of our own
//! (throttling, 5xx, transient I/O; `max_attempts` in all, with backoff),
//! timeouts, and a request counter on every client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
pub use aws_config::{Region, SdkConfig};
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, ProvideErrorMetadata, SdkError};

/// `[aws]` plus the collectors' retry budget.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// Attempts per request (the SDK's retries included).
    pub max_attempts: u32,
    /// `[aws.endpoint_urls]`: per-service endpoints over `endpoint_url`.
    pub endpoint_urls: std::collections::BTreeMap<String, String>,
}

impl AwsSettings {
    /// `[aws]` of a config, with `max_attempts`.
    pub fn from_config(config: &poolsight_config::Config, max_attempts: u32) -> Self {
        Self {
            profile: config.aws.profile.clone(),
            region: config.aws.region.clone(),
            endpoint_url: config.aws.endpoint_url.clone(),
            max_attempts,
            endpoint_urls: config.aws.endpoint_urls.clone(),
        }
    }

    /// The endpoint of `service` (`s3`, `logs`, `cloudtrail`,
    /// `cognito_identity`, `iam`, `sts`) when one is set for it alone.
    pub fn endpoint_for(&self, service: &str) -> Option<&str> {
        self.endpoint_urls.get(service).map(String::as_str)
    }

    /// Whether any endpoint is overridden (emulators: path-style S3).
    pub fn uses_emulator(&self) -> bool {
        self.endpoint_url.is_some() || self.endpoint_for("s3").is_some()
    }
}

/// Loads the shared SDK config (credentials from the default chain).
pub async fn load_sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // One retry layer, poolsight's own (`call_with_retries`, the S3
        // download loop): the SDK retrying too would multiply the attempts
        // (6 × 6), and its retry quota gives up under sustained faults.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .operation_attempt_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// Counts HTTP requests a client sends (retries included).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(pub Arc<AtomicU64>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "poolsight-request-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// An S3 client; path-style addressing when an endpoint is set (emulators).
pub fn s3_client(
    config: &SdkConfig,
    settings: &AwsSettings,
    region: Option<&str>,
    counter: &RequestCounter,
) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(settings.uses_emulator())
        .interceptor(counter.clone());
    if let Some(region) = region {
        builder = builder.region(Region::new(region.to_string()));
    }
    if let Some(endpoint) = settings.endpoint_for("s3") {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Builds a client of one service from the shared config: the request
/// counter, a region (`None`: the config's), the service's own endpoint
/// (`[aws.endpoint_urls] <service>`). Exported for the sinks' services:
/// `poolsight_collect::aws_service_client!(sns_client, aws_sdk_sns, "sns");`.
#[macro_export]
macro_rules! aws_service_client {
    ($name:ident, $krate:ident, $service:literal) => {
        pub fn $name(
            config: &$crate::aws::SdkConfig,
            settings: &$crate::aws::AwsSettings,
            region: Option<&str>,
            counter: &$crate::aws::RequestCounter,
        ) -> $krate::Client {
            let mut builder = $krate::config::Builder::from(config).interceptor(counter.clone());
            if let Some(region) = region {
                builder = builder.region($crate::aws::Region::new(region.to_string()));
            }
            if let Some(endpoint) = settings.endpoint_for($service) {
                builder = builder.endpoint_url(endpoint);
            }
            $krate::Client::from_conf(builder.build())
        }
    };
}

crate::aws_service_client!(logs_client, aws_sdk_cloudwatchlogs, "logs");
crate::aws_service_client!(cloudtrail_client, aws_sdk_cloudtrail, "cloudtrail");
crate::aws_service_client!(cognito_client, aws_sdk_cognitoidentity, "cognito_identity");
crate::aws_service_client!(iam_client, aws_sdk_iam, "iam");
crate::aws_service_client!(sts_client, aws_sdk_sts, "sts");

/// Whether an SDK error (after the SDK's own retries) is worth another try
/// later: timeouts, connection failures, responses cut off, throttling and
/// server errors. Access denied, missing buckets and bad requests are not.
pub fn is_transient<E: ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            status >= 500
                || status == 429
                || code.contains("Throttl")
                || matches!(
                    code,
                    "SlowDown" | "RequestLimitExceeded" | "TooManyRequestsException"
                )
        }
        _ => false,
    }
}

/// `error code: message` of an SDK error, with its whole cause chain.
/// Missing credentials are one line naming the sources tried and the fix,
/// not the SDK's kilobyte of debug structure.
pub fn describe<E: std::error::Error + 'static, R: std::fmt::Debug>(
    error: &SdkError<E, R>,
) -> String {
    let text = aws_sdk_s3::error::DisplayErrorContext(error).to_string();
    explain_missing_credentials(&text).unwrap_or(text)
}

fn explain_missing_credentials(text: &str) -> Option<String> {
    if !text.contains("no credentials found in chain") && !text.contains("CredentialsNotLoaded") {
        return None;
    }
    let tried: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.contains("Attempted:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.trim().split(':').next())
        .collect();
    let tried = if tried.is_empty() {
        "the SDK's default chain".to_string()
    } else {
        tried.join(", ")
    };
    Some(format!(
        "no AWS credentials found (tried: {tried}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a profile ([aws] profile in poolsight.toml, or AWS_PROFILE), or run where a role is attached (EC2 instance profile, ECS task role, EKS web identity)"
    ))
}

/// Calls an SDK operation, trying again with exponential backoff when the
/// error is transient (throttling, 5xx, timeouts, dropped or cut-off
/// responses), `attempts` times in all. This is the only retry layer (the
/// SDK's own retries are off), so `max_attempts` means what it says.
pub async fn call_with_retries<T, E, F, Fut>(
    operation: &str,
    attempts: u32,
    mut call: F,
) -> Result<T, crate::CollectError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
        Output = Result<T, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    >,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if attempt < attempts.max(1) && is_transient(&error) => {
                let wait = backoff(attempt);
                tracing::warn!(operation, attempt, wait_ms = wait.as_millis() as u64, error = %describe(&error), "transient AWS error; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(error) => {
                let code = match &error {
                    SdkError::ServiceError(service) => service.err().code().map(str::to_string),
                    SdkError::TimeoutError(_) => Some("Timeout".to_string()),
                    SdkError::DispatchFailure(_) => Some("ConnectionFailed".to_string()),
                    _ => None,
                };
                return Err(crate::CollectError::Aws {
                    operation: operation.to_string(),
                    code,
                    message: describe(&error),
                });
            }
        }
    }
}

/// 200 ms, 400 ms, 800 ms, … up to 10 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((100u64 << attempt.min(7)).min(10_000))
}
