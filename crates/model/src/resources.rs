//! What a call touched: S3 bucket/key/prefix, DynamoDB table/item key/key
//! values, Lambda function, and the Cognito identity ids that appear in
//! those keys (whose data the call reaches for).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::json::{field, value_str};

/// The resource facts of one call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_prefix: Option<String>,
    pub dynamodb_table: Option<String>,
    pub dynamodb_item_key: Option<String>,
    pub dynamodb_key_values: Vec<String>,
    pub dynamodb_statement: Option<String>,
    pub lambda_function: Option<String>,
    pub target_identity_ids: Vec<String>,
}

/// Reads the resource facts from `requestParameters`.
pub fn touched(event_source: Option<&str>, request: Option<&Value>) -> Touched {
    let mut touched = Touched::default();
    let Some(request) = request else {
        return touched;
    };
    let get = |keys: &[&str]| {
        field(request, keys)
            .and_then(value_str)
            .map(|s| s.into_owned())
    };
    match event_source {
        Some(source) if source.starts_with("s3") => {
            touched.s3_bucket = get(&["bucketName", "BucketName", "bucket"]);
            touched.s3_key = get(&["key", "Key"]);
            touched.s3_prefix = get(&["prefix", "Prefix"]);
        }
        Some("dynamodb.amazonaws.com") => read_dynamodb(request, &mut touched),
        Some("lambda.amazonaws.com") => {
            touched.lambda_function = get(&["functionName", "FunctionName"]);
        }
        _ => {}
    }
    let mut ids = Vec::new();
    for text in [
        &touched.s3_key,
        &touched.s3_prefix,
        &touched.dynamodb_statement,
    ]
    .into_iter()
    .flatten()
    .chain(touched.dynamodb_key_values.iter())
    {
        for id in identity_ids_in(text) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    touched.target_identity_ids = ids;
    touched
}

fn read_dynamodb(request: &Value, touched: &mut Touched) {
    touched.dynamodb_table = field(request, &["tableName", "TableName"])
        .and_then(value_str)
        .map(|s| s.into_owned());
    if let Some(key) = field(request, &["key", "Key"]) {
        let plain = unwrap_attribute_values(key);
        touched.dynamodb_item_key = Some(plain.to_string());
        collect_scalars(&plain, &mut touched.dynamodb_key_values);
    }
    for name in [
        "expressionAttributeValues",
        "ExpressionAttributeValues",
        "exclusiveStartKey",
        "ExclusiveStartKey",
    ] {
        if let Some(values) = field(request, &[name]) {
            collect_scalars(
                &unwrap_attribute_values(values),
                &mut touched.dynamodb_key_values,
            );
        }
    }
    if let Some(statement) = field(request, &["statement", "Statement"]).and_then(Value::as_str) {
        touched.dynamodb_statement = Some(statement.to_string());
        touched
            .dynamodb_key_values
            .extend(partiql_literals(statement));
    }
    // Transactions and batches: requestItems is an array of {tableName, key}
    // or {statement}, or (BatchGetItem/BatchWriteItem) a map table -> items.
    if let Some(items) = field(
        request,
        &[
            "requestItems",
            "RequestItems",
            "transactItems",
            "TransactItems",
        ],
    ) {
        match items {
            Value::Array(entries) => {
                for entry in entries {
                    if touched.dynamodb_table.is_none() {
                        touched.dynamodb_table = field(entry, &["tableName", "TableName"])
                            .and_then(value_str)
                            .map(|s| s.into_owned());
                    }
                    if let Some(key) = field(entry, &["key", "Key"]) {
                        collect_scalars(
                            &unwrap_attribute_values(key),
                            &mut touched.dynamodb_key_values,
                        );
                    }
                    if let Some(statement) =
                        field(entry, &["statement", "Statement"]).and_then(Value::as_str)
                    {
                        if touched.dynamodb_statement.is_none() {
                            touched.dynamodb_statement = Some(statement.to_string());
                        }
                        touched
                            .dynamodb_key_values
                            .extend(partiql_literals(statement));
                    }
                }
            }
            Value::Object(tables) => {
                for (table, spec) in tables {
                    if touched.dynamodb_table.is_none() {
                        touched.dynamodb_table = Some(table.clone());
                    }
                    if let Some(keys) = field(spec, &["keys", "Keys"]) {
                        collect_scalars(
                            &unwrap_attribute_values(keys),
                            &mut touched.dynamodb_key_values,
                        );
                    }
                }
            }
            _ => {}
        }
    }
    if touched.dynamodb_table.is_none() {
        if let Some(statement) = &touched.dynamodb_statement {
            touched.dynamodb_table = partiql_table(statement);
        }
    }
    touched.dynamodb_key_values.dedup();
}

/// Turns DynamoDB typed attribute values (`{"S": "x"}`, `{"N": "1"}`) into
/// plain values; plain values (as in most CloudTrail examples) stay as they are.
pub fn unwrap_attribute_values(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (kind, inner) = map.iter().next().expect("one entry");
            match kind.as_str() {
                "S" | "N" | "B" | "BOOL" | "NULL" => inner.clone(),
                "SS" | "NS" | "BS" | "L" => match inner {
                    Value::Array(items) => {
                        Value::Array(items.iter().map(unwrap_attribute_values).collect())
                    }
                    other => other.clone(),
                },
                "M" => unwrap_attribute_values(inner),
                _ => Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), unwrap_attribute_values(v)))
                        .collect(),
                ),
            }
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), unwrap_attribute_values(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(unwrap_attribute_values).collect()),
        other => other.clone(),
    }
}

fn collect_scalars(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| collect_scalars(v, out)),
        Value::Array(items) => items.iter().for_each(|v| collect_scalars(v, out)),
        Value::Null => {}
        scalar => {
            if let Some(text) = value_str(scalar) {
                out.push(text.into_owned());
            }
        }
    }
}

static PARTIQL_STRING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"'((?:[^']|'')*)'").expect("valid regex"));
static PARTIQL_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:FROM|UPDATE|INTO|DELETE\s+FROM)\s+"?([A-Za-z0-9_.\-]+)"?"#)
        .expect("valid regex")
});

/// String literals of a PartiQL statement (redacted values are not literals).
pub fn partiql_literals(statement: &str) -> Vec<String> {
    PARTIQL_STRING
        .captures_iter(statement)
        .map(|c| c[1].replace("''", "'"))
        .collect()
}

fn partiql_table(statement: &str) -> Option<String> {
    PARTIQL_TABLE.captures(statement).map(|c| c[1].to_string())
}

static IDENTITY_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b[a-z]{2}(?:-gov)?-[a-z]+-\d(?::|%3a)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
    )
    .expect("valid regex")
});

/// Cognito identity ids (`<region>:<uuid>`, also URL-encoded as
/// `<region>%3A<uuid>`) inside a text, normalized to `<region>:<uuid>` in
/// lower case.
pub fn identity_ids_in(text: &str) -> Vec<String> {
    if text.len() < 40 {
        return Vec::new();
    }
    let mut ids: Vec<String> = Vec::new();
    // `find_iter` runs the DFA only; the two halves are split by hand
    // (capture groups would cost a slower engine on every key).
    for found in IDENTITY_ID.find_iter(text) {
        let matched = found.as_str();
        let (region, uuid) = match matched.find(':') {
            Some(colon) => (&matched[..colon], &matched[colon + 1..]),
            None => (
                &matched[..matched.len() - 39],
                &matched[matched.len() - 36..],
            ),
        };
        let id = format!(
            "{}:{}",
            region.to_ascii_lowercase(),
            uuid.to_ascii_lowercase()
        );
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    #[test]
    fn identity_ids_plain_and_url_encoded() {
        assert_eq!(
            identity_ids_in(&format!("private/{ID}/photo.jpg")),
            vec![ID]
        );
        assert_eq!(
            identity_ids_in("protected/us-east-1%3A0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/a.png"),
            vec![ID]
        );
        assert!(identity_ids_in("public/cat.jpg").is_empty());
    }

    #[test]
    fn s3_object_and_list_calls() {
        let request = json!({"bucketName": "photos", "Key": format!("private/{ID}/a.jpg")});
        let touched = touched(Some("s3.amazonaws.com"), Some(&request));
        assert_eq!(touched.s3_bucket.as_deref(), Some("photos"));
        assert_eq!(touched.target_identity_ids, vec![ID]);
        let request =
            json!({"bucketName": "photos", "prefix": format!("private/{ID}/"), "list-type": 2});
        let touched = touched_of("s3.amazonaws.com", &request);
        assert_eq!(
            touched.s3_prefix.as_deref(),
            Some(&*format!("private/{ID}/"))
        );
        assert_eq!(touched.target_identity_ids, vec![ID]);
    }

    fn touched_of(source: &str, request: &Value) -> Touched {
        touched(Some(source), Some(request))
    }

    #[test]
    fn dynamodb_keys_typed_untyped_conditions_and_partiql() {
        let typed = touched_of(
            "dynamodb.amazonaws.com",
            &json!({"TableName": "t", "Key": {"userId": {"S": ID}}}),
        );
        assert_eq!(typed.dynamodb_table.as_deref(), Some("t"));
        assert_eq!(typed.dynamodb_key_values, vec![ID]);
        assert_eq!(
            typed.dynamodb_item_key.as_deref(),
            Some(&*format!("{{\"userId\":\"{ID}\"}}"))
        );
        let query = touched_of(
            "dynamodb.amazonaws.com",
            &json!({"tableName": "t", "keyConditionExpression": "userId = :u", "expressionAttributeValues": {":u": {"S": ID}}}),
        );
        assert_eq!(query.target_identity_ids, vec![ID]);
        let partiql = touched_of(
            "dynamodb.amazonaws.com",
            &json!({"statement": format!("SELECT * FROM Notes WHERE userId = '{ID}' AND x = ***(Redacted)")}),
        );
        assert_eq!(partiql.dynamodb_table.as_deref(), Some("Notes"));
        assert_eq!(partiql.target_identity_ids, vec![ID]);
    }
}
