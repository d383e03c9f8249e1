//! Secrets never leave the process: session tokens, secret keys, login
//! tokens, passwords, API keys and `Authorization` values are replaced by
//! [`REDACTED`] before anything is stored (events, quarantine) or printed.
//!
//! - [`redact_json`]: JSON-aware. A field whose name is a secret's (compared
//!   without case, `-` or `_`: `sessionToken`, `SessionToken`,
//!   `x-amz-security-token`, …) has its value replaced (for an object such as
//!   `logins`, every value, keeping the keys: the login providers are not
//!   secret); string values that are JSON themselves are redacted inside;
//!   JWTs and `name=value` secrets inside other strings are replaced.
//! - [`redact_text`]: for text that is not JSON (a truncated record, a
//!   line of garbage, the bytes around a syntax error): patterns for
//!   `name: value` / `name=value` secrets, `Authorization` headers, JWTs,
//!   and long base64 runs (a token cut from its name).
//!
//! Both are cheap when there is nothing to do: a case-insensitive scan for
//! a few needles decides whether the text needs a look at all, and text
//! with no secret is returned borrowed, byte for byte.

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use regex::Regex;
use serde_json::Value;

/// What a secret value is replaced with.
pub const REDACTED: &str = "REDACTED_BY_POOLSIGHT";

/// AWS's own redaction, left as it is.
const AWS_HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// Field names whose values are secrets, lower case without `-` and `_`.
pub const SECRET_FIELDS: &[&str] = &[
    "sessiontoken",
    "secretaccesskey",
    "secretkey",
    "clientsecret",
    "token",
    "idtoken",
    "accesstoken",
    "refreshtoken",
    "webidentitytoken",
    "samlassertion",
    "samlresponse",
    "password",
    "authorization",
    "xamzsecuritytoken",
    "securitytoken",
    "xamzsignature",
    "apikey",
    "xapikey",
    "logins",
    "cookie",
    "setcookie",
    "privatekey",
    "ssecustomerkey",
    "xamzserversideencryptioncustomerkey",
];

/// Whether `name` is a secret field's name (`SessionToken`, `x-amz-security-token`, …).
pub fn is_secret_field(name: &str) -> bool {
    if name.len() > 48 {
        return false;
    }
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_FIELDS.contains(&folded.as_str())
}

/// Needles one of which every text holding a secret contains.
fn needles() -> &'static AhoCorasick {
    static NEEDLES: OnceLock<AhoCorasick> = OnceLock::new();
    NEEDLES.get_or_init(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([
                "token",
                "secret",
                "password",
                "passwd",
                "authoriz",
                "logins",
                "saml",
                "apikey",
                "api_key",
                "api-key",
                "eyj",
                "signature",
                "cookie",
                "privatekey",
                "private_key",
                "customerkey",
                "customer-key",
            ])
            .expect("static needles")
    })
}

/// Whether `text` may hold a secret (no false negatives).
pub fn may_hold_secret(text: &str) -> bool {
    needles().is_match(text)
}

fn jwt() -> &'static Regex {
    static JWT: OnceLock<Regex> = OnceLock::new();
    JWT.get_or_init(|| {
        Regex::new(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.?[A-Za-z0-9_-]*").expect("jwt")
    })
}

/// `name: value` / `name=value` / `"name":"value"` for the secret names.
fn named_value() -> &'static Regex {
    static NAMED: OnceLock<Regex> = OnceLock::new();
    NAMED.get_or_init(|| {
        Regex::new(
            r#"(?i)((?:x[-_]?amz[-_]?security[-_]?token|x[-_]?amz[-_]?signature|security[-_]?token|session[-_]?token|secret[-_]?access[-_]?key|secret[-_]?key|client[-_]?secret|(?:id|access|refresh|web[-_]?identity)?[-_]?token|saml[-_]?(?:assertion|response)|password|passwd|x?[-_]?api[-_]?key|set[-_]?cookie|cookie|private[-_]?key)\\?["']?\s*[:=]\s*\\?["']?)([^"'\\\s&,;}\]]+)"#,
        )
        .expect("named secret")
    })
}

/// An `Authorization` header's value runs to the end of its line or quote.
fn authorization() -> &'static Regex {
    static AUTHORIZATION: OnceLock<Regex> = OnceLock::new();
    AUTHORIZATION.get_or_init(|| {
        Regex::new(r#"(?i)(authorization\\?["']?\s*[:=]\s*\\?["']?)([^"'\\\r\n]+)"#)
            .expect("authorization")
    })
}

/// A long base64 run: a token cut away from its name.
fn long_base64() -> &'static Regex {
    static LONG: OnceLock<Regex> = OnceLock::new();
    LONG.get_or_init(|| Regex::new(r"[A-Za-z0-9+/]{100,}={0,2}").expect("base64"))
}

/// Redacts secrets inside one string value (not a field name's secret: the
/// value of a secret field is replaced whole by the caller).
fn redact_in_string(text: &str) -> Cow<'_, str> {
    if !may_hold_secret(text) {
        return Cow::Borrowed(text);
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(mut value) = serde_json::from_str::<Value>(text) {
            return if redact_value(&mut value) {
                Cow::Owned(value.to_string())
            } else {
                Cow::Borrowed(text)
            };
        }
    }
    let mut out = Cow::Borrowed(text);
    for pattern in [authorization(), named_value()] {
        if let Cow::Owned(replaced) = pattern.replace_all(&out, format!("${{1}}{REDACTED}")) {
            out = Cow::Owned(replaced);
        }
    }
    if let Cow::Owned(replaced) = jwt().replace_all(&out, REDACTED) {
        out = Cow::Owned(replaced);
    }
    out
}

/// Replaces every scalar under a secret field (keeping object keys).
fn redact_all(value: &mut Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) if text.is_empty() || text == AWS_HIDDEN || text == REDACTED => false,
        Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| redact_all(v) | changed),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| redact_all(v) | changed),
        _ => {
            *value = Value::String(REDACTED.to_string());
            true
        }
    }
}

/// Redacts `value` in place; `true` when something changed.
fn redact_value(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, item) in map.iter_mut() {
                changed |= if is_secret_field(key) {
                    redact_all(item)
                } else {
                    redact_value(item)
                };
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| redact_value(v) | changed),
        Value::String(text) => match redact_in_string(text) {
            Cow::Borrowed(_) => false,
            Cow::Owned(replaced) => {
                *text = replaced;
                true
            }
        },
        _ => false,
    }
}

/// `text` (a JSON value) with its secrets redacted; borrowed when it holds
/// none. Text that is not valid JSON is redacted as [`redact_text`].
pub fn redact_json(text: &str) -> Cow<'_, str> {
    if !may_hold_secret(text) {
        return Cow::Borrowed(text);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            if redact_value(&mut value) {
                Cow::Owned(value.to_string())
            } else {
                Cow::Borrowed(text)
            }
        }
        Err(_) => redact_text(text),
    }
}

/// Any text (JSON or not, whole or cut anywhere) with its secrets redacted.
pub fn redact_text(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_ok()
    {
        return redact_json(text);
    }
    let mut out = if may_hold_secret(text) {
        redact_in_string(text)
    } else {
        Cow::Borrowed(text)
    };
    let replaced = long_base64().replace_all(&out, |found: &regex::Captures<'_>| {
        let run = &found[0];
        if looks_random(run) {
            REDACTED.to_string()
        } else {
            run.to_string()
        }
    });
    if let Cow::Owned(replaced) = replaced {
        out = Cow::Owned(replaced);
    }
    out
}

/// Whether a base64 run looks like key material (upper and lower case
/// letters and digits mixed), not a run of one character or a word.
fn looks_random(run: &str) -> bool {
    let bytes = run.as_bytes();
    bytes.iter().any(u8::is_ascii_uppercase)
        && bytes.iter().any(u8::is_ascii_lowercase)
        && bytes.iter().any(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLEtokenVALUE0123456789";

    #[test]
    fn secret_fields_any_case_and_spelling() {
        for name in [
            "sessionToken",
            "SessionToken",
            "SECRETACCESSKEY",
            "x-amz-security-token",
            "X-Amz-Security-Token",
            "WebIdentityToken",
            "SAMLAssertion",
            "idToken",
            "refresh_token",
            "apiKey",
            "Authorization",
            "password",
            "logins",
        ] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in [
            "subjectFromWebIdentityToken",
            "nextToken",
            "accessKeyId",
            "key",
        ] {
            assert!(!is_secret_field(name), "{name}");
        }
    }

    #[test]
    fn json_values_are_redacted_and_keys_of_logins_kept() {
        let text = format!(
            r#"{{"Credentials":{{"AccessKeyId":"ASIAX","SessionToken":"{TOKEN}"}},"logins":{{"accounts.google.com":"{TOKEN}"}},"body":"{{\"password\":\"hunter2\"}}","note":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"}}"#
        );
        let out = redact_json(&text);
        for secret in [TOKEN, "hunter2", "eyJhbGciOiJIUzI1NiJ9"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(
            out.contains("ASIAX") && out.contains("accounts.google.com"),
            "{out}"
        );
    }

    #[test]
    fn nothing_to_redact_is_borrowed_unchanged() {
        let text = r#"{"logins":{"cognito-idp.us-east-1.amazonaws.com/us-east-1_a":"HIDDEN_DUE_TO_SECURITY_REASONS"},"b":2,"a":1}"#;
        assert!(matches!(redact_json(text), Cow::Borrowed(_)));
        assert!(matches!(redact_text("plain words"), Cow::Borrowed(_)));
    }

    #[test]
    fn text_that_is_not_json_is_redacted_by_pattern() {
        let cut = format!(
            r#"{{"credentials":{{"accessKeyId":"ASIAX","sessionToken":"{TOKEN}","expiration":"#
        );
        let out = redact_text(&cut);
        assert!(!out.contains(TOKEN), "{out}");
        assert!(out.contains("ASIAX"));
        let header = "GET / HTTP/1.1\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abcdef0123\r\nx-amz-security-token: tok3n\r\n";
        let out = redact_text(header);
        assert!(
            !out.contains("abcdef0123") && !out.contains("tok3n"),
            "{out}"
        );
        let query =
            "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=tok%2Fen&X-Amz-Signature=5ig&x=1";
        let out = redact_text(query);
        assert!(!out.contains("tok%2Fen") && !out.contains("5ig"), "{out}");
        // A token cut away from its name (the bytes around a syntax error).
        let tail = format!("{}\",\"expiration\":1", "Ab1+".repeat(60));
        assert!(!redact_text(&tail).contains("Ab1+Ab1+Ab1+"));
    }
}
