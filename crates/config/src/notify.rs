//! `[notify]`: where findings go — `[[notify.sns]]`, `[[notify.webhook]]`,
//! `[[notify.securityhub]]` — and how failed deliveries are retried.
//!
//! Secrets never live in the config file: a webhook's signing secret (and,
//! if it is one, its URL) is read from the environment variable the config
//! names.

use serde::Deserialize;

use crate::Severity;

/// `[notify]`: the targets, and retry settings shared by all of them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// A failed delivery is retried by a later run after this, doubling per
    /// failure (`1m`, `2m`, `4m` …). Default `1m`; `0s` retries every run.
    pub retry_base: Option<String>,
    /// The longest wait between retries. Default `6h`.
    pub retry_max: Option<String>,
    #[serde(default)]
    pub sns: Vec<SnsTarget>,
    #[serde(default)]
    pub webhook: Vec<WebhookTarget>,
    #[serde(default)]
    pub securityhub: Vec<SecurityHubTarget>,
    #[serde(default)]
    pub securitylake: Vec<SecurityLakeTarget>,
}

/// What every target shares: which findings it takes, and how fast.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetFilter {
    /// Findings below this are not sent (default `medium`).
    pub min_severity: Severity,
    /// Only these categories; empty: every category.
    pub categories: Vec<String>,
    /// Requests per second at most.
    pub per_second: f64,
    /// Send the findings that already exist when the target is first
    /// configured (default true); false: only what is new or changes after.
    pub backfill: bool,
}

/// `[[notify.sns]]`: one message per finding version to a topic.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsTarget {
    /// Names the target in the outbox and the output (default: `sns:<topic name>`).
    pub name: Option<String>,
    /// `arn:aws:sns:<region>:<account>:<topic>`; a `.fifo` topic gets the
    /// delivery id as its deduplication id.
    pub topic_arn: String,
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// Publish calls per second (default 10).
    pub per_second: Option<f64>,
    /// Send the findings that exist when the target is added (default true).
    pub backfill: Option<bool>,
}

/// `[[notify.webhook]]`: one HTTP POST per finding version.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// Names the target in the outbox and the output (default: `webhook:<host>`).
    pub name: Option<String>,
    /// The URL; or `url_env`, when the URL itself is a secret (Slack's).
    pub url: Option<String>,
    /// The environment variable holding the URL.
    pub url_env: Option<String>,
    /// `json` (default): the finding as JSON; `slack` (or `teams`): a
    /// `{"text": …}` message Slack and Teams incoming webhooks show.
    pub format: Option<String>,
    /// The environment variable holding the HMAC-SHA256 signing secret;
    /// unset: requests are not signed.
    pub secret_env: Option<String>,
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// Requests per second (default 5).
    pub per_second: Option<f64>,
    /// Seconds to wait for the receiver's answer (default 10).
    pub timeout_seconds: Option<f64>,
    /// Send the findings that exist when the target is added (default true).
    pub backfill: Option<bool>,
}

/// `[[notify.securityhub]]`: findings imported as ASFF with
/// `BatchImportFindings`; status changes also as workflow updates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityHubTarget {
    /// Names the target in the outbox and the output (default: `securityhub:<region>`).
    pub name: Option<String>,
    /// The Security Hub region (default: `[aws] region`).
    pub region: Option<String>,
    /// Default `info`: Security Hub is where every finding is triaged.
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// API calls per second (default 5; each imports up to 100 findings).
    pub per_second: Option<f64>,
    /// Send status changes with `BatchUpdateFindings` too (default true).
    pub workflow_updates: Option<bool>,
    /// Send the findings that exist when the target is added (default true).
    pub backfill: Option<bool>,
}

/// `[[notify.securitylake]]`: new and changed findings as OCSF Parquet in
/// a Security Lake custom source's location (one file per partition and run).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityLakeTarget {
    /// Names the target in the outbox and the output (default: `securitylake:<out>`).
    pub name: Option<String>,
    /// The custom source's location, `s3://bucket/prefix` (or a folder).
    pub out: String,
    /// Partition of findings whose evidence names no account / region
    /// (default: the lake's most frequent).
    pub account: Option<String>,
    pub region: Option<String>,
    /// Default `info`: the lake keeps everything.
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub categories: Vec<String>,
    /// Files written per second (default 5).
    pub per_second: Option<f64>,
    /// Send the findings that exist when the target is added (default true).
    pub backfill: Option<bool>,
}

impl SecurityLakeTarget {
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("securitylake:{}", self.out.trim_end_matches('/')))
    }

    pub fn filter(&self) -> TargetFilter {
        TargetFilter {
            min_severity: self.min_severity.unwrap_or(Severity::Info),
            categories: self.categories.clone(),
            per_second: self.per_second.unwrap_or(5.0),
            backfill: self.backfill.unwrap_or(true),
        }
    }
}

/// Webhook body formats.
pub const WEBHOOK_FORMATS: &[&str] = &["json", "slack", "teams"];

impl SnsTarget {
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            format!(
                "sns:{}",
                self.topic_arn.rsplit(':').next().unwrap_or_default()
            )
        })
    }

    pub fn filter(&self) -> TargetFilter {
        TargetFilter {
            min_severity: self.min_severity.unwrap_or(Severity::Medium),
            categories: self.categories.clone(),
            per_second: self.per_second.unwrap_or(10.0),
            backfill: self.backfill.unwrap_or(true),
        }
    }

    /// The topic's region, from its ARN.
    pub fn region(&self) -> Option<&str> {
        self.topic_arn.split(':').nth(3).filter(|r| !r.is_empty())
    }
}

impl WebhookTarget {
    /// The name shown everywhere: never the URL's path or query, which may
    /// hold a token.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match (&self.url, &self.url_env) {
            (Some(url), _) => format!("webhook:{}", host_of(url)),
            (None, Some(env)) => format!("webhook:${env}"),
            (None, None) => "webhook".into(),
        }
    }

    pub fn filter(&self) -> TargetFilter {
        TargetFilter {
            min_severity: self.min_severity.unwrap_or(Severity::Medium),
            categories: self.categories.clone(),
            per_second: self.per_second.unwrap_or(5.0),
            backfill: self.backfill.unwrap_or(true),
        }
    }
}

impl SecurityHubTarget {
    pub fn display_name(&self, default_region: Option<&str>) -> String {
        self.name.clone().unwrap_or_else(|| {
            format!(
                "securityhub:{}",
                self.region
                    .as_deref()
                    .or(default_region)
                    .unwrap_or("default")
            )
        })
    }

    pub fn filter(&self) -> TargetFilter {
        TargetFilter {
            min_severity: self.min_severity.unwrap_or(Severity::Info),
            categories: self.categories.clone(),
            per_second: self.per_second.unwrap_or(5.0),
            backfill: self.backfill.unwrap_or(true),
        }
    }
}

/// `scheme://host[:port]` of a URL (what may be shown of it).
pub fn host_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // user:password@host: the credentials are not shown either.
    let host = host.rsplit('@').next().unwrap_or_default();
    if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    }
}

impl NotifyConfig {
    /// Whether any target is configured.
    pub fn has_targets(&self) -> bool {
        !(self.sns.is_empty()
            && self.webhook.is_empty()
            && self.securityhub.is_empty()
            && self.securitylake.is_empty())
    }

    /// Checks the values; `Err((key, message))`.
    pub(crate) fn validate(&self, default_region: Option<&str>) -> Result<(), (String, String)> {
        for (key, value) in [
            ("notify.retry_base", &self.retry_base),
            ("notify.retry_max", &self.retry_max),
        ] {
            if let Some(text) = value {
                if !is_span(text) {
                    return Err((
                        key.into(),
                        format!("{text:?} is not a span (0s, 30s, 1m, 6h, 1d)"),
                    ));
                }
            }
        }
        let rate = |key: String, value: Option<f64>| match value {
            Some(v) if !(v > 0.0 && v <= 1000.0) => {
                Err((key, "must be above 0 and at most 1000".to_string()))
            }
            _ => Ok(()),
        };
        for (index, target) in self.sns.iter().enumerate() {
            let parts: Vec<&str> = target.topic_arn.split(':').collect();
            let valid = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "sns"
                && !parts[3].is_empty()
                && parts[4].len() == 12
                && parts[4].bytes().all(|b| b.is_ascii_digit())
                && !parts[5].is_empty();
            if !valid {
                return Err((
                    format!("notify.sns[{index}].topic_arn"),
                    format!(
                        "{:?} is not a topic ARN (arn:aws:sns:us-east-1:123456789012:poolsight)",
                        target.topic_arn
                    ),
                ));
            }
            rate(format!("notify.sns[{index}].per_second"), target.per_second)?;
        }
        for (index, target) in self.webhook.iter().enumerate() {
            let key = |field: &str| format!("notify.webhook[{index}].{field}");
            match (&target.url, &target.url_env) {
                (Some(url), None) => {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return Err((key("url"), format!("{} is not an http(s) URL", host_of(url))));
                    }
                }
                (None, Some(env)) if !env.trim().is_empty() => {}
                _ => {
                    return Err((
                        key("url"),
                        "give exactly one of `url` and `url_env` (the environment variable holding the URL)".into(),
                    ))
                }
            }
            if let Some(format) = &target.format {
                if !WEBHOOK_FORMATS.contains(&format.as_str()) {
                    return Err((
                        key("format"),
                        format!("{format:?} is not one of {}", WEBHOOK_FORMATS.join(", ")),
                    ));
                }
            }
            if target
                .secret_env
                .as_ref()
                .is_some_and(|e| e.trim().is_empty())
            {
                return Err((
                    key("secret_env"),
                    "name the environment variable holding the signing secret".into(),
                ));
            }
            if target
                .timeout_seconds
                .is_some_and(|t| !(t > 0.0 && t <= 300.0))
            {
                return Err((
                    key("timeout_seconds"),
                    "must be above 0 and at most 300".into(),
                ));
            }
            rate(key("per_second"), target.per_second)?;
        }
        for (index, target) in self.securityhub.iter().enumerate() {
            if let Some(region) = &target.region {
                crate::check_regions(std::slice::from_ref(region), "")
                    .map_err(|m| (format!("notify.securityhub[{index}].region"), m))?;
            }
            rate(
                format!("notify.securityhub[{index}].per_second"),
                target.per_second,
            )?;
        }
        for (index, target) in self.securitylake.iter().enumerate() {
            let key = |field: &str| format!("notify.securitylake[{index}].{field}");
            if target.out.trim().is_empty() || target.out == "s3://" {
                return Err((
                    key("out"),
                    "name the custom source's location (s3://bucket/prefix) or a folder".into(),
                ));
            }
            if let Some(account) = &target.account {
                if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                    return Err((
                        key("account"),
                        format!("{account:?} is not a 12-digit AWS account id"),
                    ));
                }
            }
            if let Some(region) = &target.region {
                crate::check_regions(std::slice::from_ref(region), "")
                    .map_err(|m| (key("region"), m))?;
            }
            rate(key("per_second"), target.per_second)?;
        }
        let mut names = std::collections::HashSet::new();
        let names_in_order = self
            .sns
            .iter()
            .map(SnsTarget::display_name)
            .chain(self.webhook.iter().map(WebhookTarget::display_name))
            .chain(
                self.securityhub
                    .iter()
                    .map(|t| t.display_name(default_region)),
            );
        for name in names_in_order {
            if !names.insert(name.clone()) {
                return Err((
                    "notify".into(),
                    format!("two targets are named {name:?}; give one of them a distinct `name` (the outbox keys deliveries by it)"),
                ));
            }
        }
        Ok(())
    }
}

/// `0`, `0s`, or `<n>s|m|h|d|w`.
pub(crate) fn is_span(text: &str) -> bool {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match unit {
        "" => digits.bytes().all(|b| b == b'0'),
        "s" | "m" | "min" | "h" | "d" | "w" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shown_host_never_carries_the_path_or_credentials() {
        assert_eq!(
            host_of("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            host_of("http://user:pw@127.0.0.1:8080/x?token=1"),
            "http://127.0.0.1:8080"
        );
    }

    fn parse(text: &str) -> Result<crate::Config, crate::ConfigError> {
        crate::Config::parse(text, std::path::Path::new("/etc/poolsight/poolsight.toml"))
    }

    fn invalid_key(text: &str) -> String {
        match parse(text) {
            Err(crate::ConfigError::Invalid { key, message, .. }) => format!("{key}: {message}"),
            other => panic!("expected an invalid key, got {other:?}"),
        }
    }

    #[test]
    fn targets_parse_with_their_defaults() {
        let config = parse(
            "[aws]\nregion = \"eu-west-1\"\n[notify]\nretry_base = \"0s\"\n\
             [[notify.sns]]\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:poolsight\"\n\
             [[notify.webhook]]\nurl_env = \"HOOK\"\nformat = \"slack\"\nbackfill = false\n\
             [[notify.securityhub]]\n",
        )
        .expect("valid");
        let notify = &config.notify;
        assert!(notify.has_targets());
        assert_eq!(notify.sns[0].display_name(), "sns:poolsight");
        assert_eq!(notify.sns[0].region(), Some("us-east-1"));
        assert_eq!(notify.sns[0].filter().min_severity, Severity::Medium);
        assert_eq!(notify.webhook[0].display_name(), "webhook:$HOOK");
        assert!(!notify.webhook[0].filter().backfill);
        assert_eq!(
            notify.securityhub[0].display_name(Some("eu-west-1")),
            "securityhub:eu-west-1"
        );
        assert_eq!(notify.securityhub[0].filter().min_severity, Severity::Info);
    }

    #[test]
    fn bad_targets_are_errors_naming_the_key() {
        let cases = [
            ("[[notify.sns]]\ntopic_arn = \"poolsight\"\n", "notify.sns[0].topic_arn"),
            (
                "[[notify.webhook]]\nurl = \"https://a.example/x\"\nurl_env = \"B\"\n",
                "notify.webhook[0].url: give exactly one",
            ),
            ("[[notify.webhook]]\n", "notify.webhook[0].url"),
            (
                "[[notify.webhook]]\nurl = \"ftp://a.example/secret-path\"\n",
                "notify.webhook[0].url: ftp://a.example is not",
            ),
            (
                "[[notify.webhook]]\nurl = \"https://a.example\"\nformat = \"xml\"\n",
                "notify.webhook[0].format",
            ),
            (
                "[[notify.webhook]]\nurl = \"https://a.example\"\nsecret_env = \" \"\n",
                "notify.webhook[0].secret_env",
            ),
            (
                "[[notify.webhook]]\nurl = \"https://a.example/1\"\n[[notify.webhook]]\nurl = \"https://a.example/2\"\n",
                "notify: two targets are named \"webhook:https://a.example\"",
            ),
            ("[notify]\nretry_base = \"soon\"\n", "notify.retry_base"),
            ("[[notify.securityhub]]\nregion = \"mars\"\n", "notify.securityhub[0].region"),
            ("[[notify.sns]]\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:t\"\nper_second = 0\n", "notify.sns[0].per_second"),
        ];
        for (text, expected) in cases {
            let error = invalid_key(text);
            assert!(error.starts_with(expected), "{text}: {error}");
            // A URL's path (where tokens live) is never quoted back.
            assert!(!error.contains("secret-path"), "{error}");
        }
    }

    #[test]
    fn spans_are_checked() {
        for good in ["0", "0s", "30s", "1m", "6h", "1d"] {
            assert!(is_span(good), "{good}");
        }
        for bad in ["", "1", "m", "5 minutes", "-1m", "1y"] {
            assert!(!is_span(bad), "{bad}");
        }
    }
}
