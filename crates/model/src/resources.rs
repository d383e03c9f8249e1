//! What a call touched: S3 bucket/key/prefix, DynamoDB table/item key/key
//! values, Lambda function, and the Cognito identity ids that appear in
//! those keys (whose data the call reaches for): also in an S3 copy source
//! (`x-amz-copy-source` of CopyObject/UploadPartCopy, the object read), the
//! object ARNs of a record's `resources` (DeleteObjects lists every deleted
//! object there), PartiQL `?` parameters and literals.

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

/// Reads the resource facts from `requestParameters` and the ARNs of the
/// record's `resources`.
pub fn touched<A: AsRef<str>>(
    event_source: Option<&str>,
    request: Option<&Value>,
    resource_arns: &[A],
) -> Touched {
    let mut touched = Touched::default();
    let mut also_named: Vec<String> = Vec::new();
    if event_source.is_some_and(|source| source.starts_with("s3")) {
        // `arn:aws:s3:::bucket/key` (DeleteObjects: one per deleted object).
        also_named.extend(
            resource_arns
                .iter()
                .map(AsRef::as_ref)
                .filter(|arn| arn.starts_with("arn:") && arn.contains(":s3:"))
                .map(str::to_string),
        );
    }
    let Some(request) = request else {
        touched.target_identity_ids = identity_ids_of(also_named.iter());
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
            // CopyObject / UploadPartCopy read `x-amz-copy-source`
            // (`bucket/key`, URL-encoded, maybe with `?versionId=`).
            also_named.extend(get(&["x-amz-copy-source", "copySource", "CopySource"]));
        }
        Some("dynamodb.amazonaws.com") => read_dynamodb(request, &mut touched),
        Some("lambda.amazonaws.com") => {
            touched.lambda_function = get(&["functionName", "FunctionName"]);
        }
        Some("cognito-identity.amazonaws.com") => {
            // The identities a call acts on: `identityId`, the lists of
            // `DeleteIdentities` and `MergeDeveloperIdentities`' ids.
            for name in [
                "identityId",
                "IdentityId",
                "identityIdsToDelete",
                "IdentityIdsToDelete",
            ] {
                if let Some(value) = field(request, &[name]) {
                    let mut texts = Vec::new();
                    collect_scalars(value, &mut texts);
                    also_named.extend(texts);
                }
            }
        }
        _ => {}
    }
    touched.target_identity_ids = identity_ids_of(
        [
            &touched.s3_key,
            &touched.s3_prefix,
            &touched.dynamodb_statement,
        ]
        .into_iter()
        .flatten()
        .chain(touched.dynamodb_key_values.iter())
        .chain(also_named.iter()),
    );
    touched
}

/// The distinct identity ids inside some texts, in order of appearance.
pub fn identity_ids_of<'t, T: AsRef<str> + ?Sized + 't>(
    texts: impl Iterator<Item = &'t T>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for text in texts.map(AsRef::as_ref) {
        for id in identity_ids_in(text) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
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
    read_partiql(request, touched);
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
                    read_partiql(entry, touched);
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

/// A PartiQL statement of a request or of one of its items: the first one
/// seen is `dynamodb_statement`; its literals and the values of its `?`
/// placeholders (`parameters`, typed) are key values.
fn read_partiql(object: &Value, touched: &mut Touched) {
    if let Some(statement) = field(object, &["statement", "Statement"]).and_then(Value::as_str) {
        if touched.dynamodb_statement.is_none() {
            touched.dynamodb_statement = Some(statement.to_string());
        }
        touched
            .dynamodb_key_values
            .extend(partiql_literals(statement));
    }
    if let Some(parameters) = field(object, &["parameters", "Parameters"]) {
        collect_scalars(
            &unwrap_attribute_values(parameters),
            &mut touched.dynamodb_key_values,
        );
    }
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

// No word boundaries: an id inside a longer token (`user_us-east-1:<uuid>`,
// `<uuid>_avatar.jpg`) is still that identity's.
static IDENTITY_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[a-z]{2}(?:-gov)?-[a-z]+-\d(?::|%3a|%253a)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    )
    .expect("valid regex")
});

/// Cognito identity ids (`<region>:<uuid>`, also URL-encoded once or twice
/// as `<region>%3A<uuid>`, `<region>%253A<uuid>`) inside a text, normalized
/// to `<region>:<uuid>` in lower case (Cognito issues them in lower case; an
/// upper-case spelling names the same identity).
pub fn identity_ids_in(text: &str) -> Vec<String> {
    if text.len() < 40 {
        return Vec::new();
    }
    let mut ids: Vec<String> = Vec::new();
    // `find_iter` runs the DFA only; the two halves are split by hand
    // (capture groups would cost a slower engine on every key).
    for found in IDENTITY_ID.find_iter(text) {
        let matched = found.as_str();
        let region_end = matched.find([':', '%']).unwrap_or(0);
        let (region, uuid) = (&matched[..region_end], &matched[matched.len() - 36..]);
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
        let touched = touched_of("s3.amazonaws.com", &request);
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
        touched::<&str>(Some(source), Some(request), &[])
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

    const OTHER: &str = "us-east-1:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

    #[test]
    fn identity_ids_inside_longer_tokens_and_twice_encoded() {
        assert_eq!(
            identity_ids_in(&format!("avatars/user_{ID}/a.png")),
            vec![ID]
        );
        assert_eq!(
            identity_ids_in(&format!("avatars/{ID}_avatar.jpg")),
            vec![ID]
        );
        assert_eq!(
            identity_ids_in("private/us-east-1%253A0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/x"),
            vec![ID]
        );
        assert_eq!(
            identity_ids_in(&format!("{}/{OTHER}", ID.to_uppercase())),
            vec![ID, OTHER]
        );
    }

    #[test]
    fn s3_copy_source_and_deleted_object_arns_name_their_owners() {
        let copy = touched_of(
            "s3.amazonaws.com",
            &json!({"bucketName": "photos", "key": format!("private/{ID}/stolen.jpg"),
                    "x-amz-copy-source": format!("photos/private/{}/a.jpg?versionId=1", OTHER.replace(':', "%3A"))}),
        );
        assert_eq!(
            copy.s3_key.as_deref(),
            Some(&*format!("private/{ID}/stolen.jpg"))
        );
        assert_eq!(copy.target_identity_ids, vec![ID, OTHER]);
        let arns = [
            "arn:aws:s3:::photos".to_string(),
            format!("arn:aws:s3:::photos/private/{OTHER}/a.jpg"),
        ];
        let delete = touched(
            Some("s3.amazonaws.com"),
            Some(&json!({"bucketName": "photos", "delete": ""})),
            &arns,
        );
        assert_eq!(delete.target_identity_ids, vec![OTHER]);
        let without_request = touched(Some("s3.amazonaws.com"), None, &arns);
        assert_eq!(without_request.target_identity_ids, vec![OTHER]);
        // Resource ARNs of other services are not S3 keys.
        let lambda = touched(
            Some("lambda.amazonaws.com"),
            Some(&json!({"functionName": "f"})),
            &arns,
        );
        assert!(lambda.target_identity_ids.is_empty());
    }

    #[test]
    fn partiql_parameters_and_insert_values() {
        let parameters = touched_of(
            "dynamodb.amazonaws.com",
            &json!({"statement": "SELECT * FROM Notes WHERE userId = ?", "parameters": [{"S": OTHER}]}),
        );
        assert_eq!(parameters.dynamodb_table.as_deref(), Some("Notes"));
        assert_eq!(parameters.target_identity_ids, vec![OTHER]);
        let insert = touched_of(
            "dynamodb.amazonaws.com",
            &json!({"statement": format!("INSERT INTO \"Notes\" VALUE {{'userId': '{OTHER}', 'n': 'x'}}")}),
        );
        assert_eq!(insert.dynamodb_table.as_deref(), Some("Notes"));
        assert_eq!(insert.target_identity_ids, vec![OTHER]);
        let batch = touched_of(
            "dynamodb.amazonaws.com",
            &json!({"requestItems": [{"statement": "DELETE FROM Notes WHERE userId = ?", "parameters": [{"S": OTHER}]}]}),
        );
        assert_eq!(batch.target_identity_ids, vec![OTHER]);
    }

    #[test]
    fn cognito_identity_calls_name_the_identities_they_act_on() {
        let delete = touched_of(
            "cognito-identity.amazonaws.com",
            &json!({"identityIdsToDelete": [ID, OTHER]}),
        );
        assert_eq!(delete.target_identity_ids, vec![ID, OTHER]);
        let describe = touched_of(
            "cognito-identity.amazonaws.com",
            &json!({"identityId": OTHER.to_uppercase()}),
        );
        assert_eq!(describe.target_identity_ids, vec![OTHER]);
    }
}
