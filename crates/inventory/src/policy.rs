//! IAM policy documents as rows: one [`Statement`] per statement, with its
//! principals, actions, resources and conditions flattened, so SQL can ask
//! "a statement trusting `cognito-identity.amazonaws.com` with no
//! `cognito-identity.amazonaws.com:aud` condition" without parsing JSON.
//!
//! IAM's grammar is loose — a single statement or a list, a string or a
//! list of strings, `"Principal": "*"`, condition values as strings,
//! booleans or numbers — and every form is read. Action names and
//! condition keys are case-insensitive in IAM, so they are lowercased;
//! resources and principals keep their case. A document that is not JSON
//! is an error naming what was wrong; the caller reports it per policy.

use serde_json::{Map, Value};

/// One statement of a policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// `Federated:cognito-identity.amazonaws.com`, `AWS:arn:…`,
    /// `Service:…`, or `*`; from `Principal` (trust policies).
    pub principals: Vec<String>,
    /// Set when the statement uses `NotPrincipal`.
    pub not_principals: Vec<String>,
    /// Lowercased (`s3:getobject`, `s3:*`, `*`).
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    pub conditions: Vec<Condition>,
    /// The statement exactly as written (compact JSON), for findings.
    pub text: String,
}

/// One value of a condition: `StringEquals` / `cognito-identity.amazonaws.com:aud` / `us-east-1:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub operator: String,
    /// Lowercased.
    pub key: String,
    pub value: String,
}

/// Why a policy document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy is not JSON: {0}")]
    NotJson(String),
    #[error("the policy has no Statement")]
    NoStatement,
    #[error("statement {0} is not a JSON object")]
    BadStatement(usize),
}

/// A string or a list of strings (numbers and booleans as their text).
fn texts(value: Option<&Value>) -> Vec<String> {
    fn text(value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
        Some(other) => text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn principals(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) if s == "*" => vec!["*".to_string()],
        Some(Value::Object(kinds)) => kinds
            .iter()
            .flat_map(|(kind, ids)| {
                texts(Some(ids))
                    .into_iter()
                    .map(move |id| format!("{kind}:{id}"))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn conditions(value: Option<&Value>) -> Vec<Condition> {
    let Some(Value::Object(operators)) = value else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else { continue };
        for (key, values) in keys {
            for value in texts(Some(values)) {
                out.push(Condition {
                    operator: operator.clone(),
                    key: key.to_ascii_lowercase(),
                    value,
                });
            }
        }
    }
    out
}

fn lowercased(values: Vec<String>) -> Vec<String> {
    values.into_iter().map(|v| v.to_ascii_lowercase()).collect()
}

fn statement(index: usize, object: &Map<String, Value>) -> Statement {
    let get = |key: &str| object.get(key);
    Statement {
        index,
        sid: get("Sid").and_then(Value::as_str).map(str::to_string),
        effect: get("Effect")
            .and_then(Value::as_str)
            .unwrap_or("Allow")
            .to_string(),
        principals: principals(get("Principal")),
        not_principals: principals(get("NotPrincipal")),
        actions: lowercased(texts(get("Action"))),
        not_actions: lowercased(texts(get("NotAction"))),
        resources: texts(get("Resource")),
        not_resources: texts(get("NotResource")),
        conditions: conditions(get("Condition")),
        text: Value::Object(object.clone()).to_string(),
    }
}

/// The statements of a policy document (JSON text).
pub fn parse(document: &str) -> Result<Vec<Statement>, PolicyError> {
    let value: Value =
        serde_json::from_str(document).map_err(|e| PolicyError::NotJson(e.to_string()))?;
    let statements = match value.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => return Err(PolicyError::NoStatement),
    };
    statements
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(object) => Ok(statement(index, object)),
            _ => Err(PolicyError::BadStatement(index)),
        })
        .collect()
}

impl Statement {
    /// Whether the statement lets `cognito-identity.amazonaws.com` federate
    /// into the role (a trust statement of an identity-pool role).
    pub fn trusts_cognito(&self) -> bool {
        self.effect == "Allow"
            && self
                .principals
                .iter()
                .any(|p| p == "Federated:cognito-identity.amazonaws.com")
    }

    /// The values of a condition key (any operator), lowercased key.
    pub fn condition_values(&self, key: &str) -> Vec<&str> {
        self.conditions
            .iter()
            .filter(|c| c.key == key)
            .map(|c| c.value.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cognito_trust_policy_is_read_with_its_conditions() {
        let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"Federated":"cognito-identity.amazonaws.com"},
            "Action":"sts:AssumeRoleWithWebIdentity",
            "Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:abc"},
                         "ForAnyValue:StringLike":{"Cognito-Identity.amazonaws.com:AMR":["authenticated"]}}}]}"#;
        let statements = parse(document).unwrap();
        assert_eq!(statements.len(), 1);
        let s = &statements[0];
        assert!(s.trusts_cognito());
        assert_eq!(s.actions, vec!["sts:assumerolewithwebidentity"]);
        assert_eq!(
            s.condition_values("cognito-identity.amazonaws.com:aud"),
            vec!["us-east-1:abc"]
        );
        assert_eq!(
            s.condition_values("cognito-identity.amazonaws.com:amr"),
            vec!["authenticated"]
        );
    }

    #[test]
    fn loose_forms_are_read() {
        let document = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":["S3:GetObject","s3:Put*"],
            "NotResource":"arn:aws:s3:::b/private/*","Condition":{"Bool":{"aws:SecureTransport":false}}}}"#;
        let s = &parse(document).unwrap()[0];
        assert_eq!(s.principals, vec!["*"]);
        assert_eq!(s.actions, vec!["s3:getobject", "s3:put*"]);
        assert_eq!(s.not_resources, vec!["arn:aws:s3:::b/private/*"]);
        assert_eq!(s.conditions[0].value, "false");
        assert!(!s.trusts_cognito());
    }

    #[test]
    fn broken_documents_say_what_is_wrong() {
        assert!(matches!(parse("{"), Err(PolicyError::NotJson(_))));
        assert_eq!(parse("{}"), Err(PolicyError::NoStatement));
        assert_eq!(
            parse(r#"{"Statement":["x"]}"#),
            Err(PolicyError::BadStatement(0))
        );
    }
}
