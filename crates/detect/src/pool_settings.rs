//! Identity-pool settings read from the JSON of `CreateIdentityPool`,
//! `UpdateIdentityPool` (request) and `DescribeIdentityPool` (response), as
//! SQL functions, so a detection can compare a change with the state before:
//!
//! - `pool_providers(json) -> List<Utf8>`: every identity provider the pool
//!   accepts — `supportedLoginProviders` keys, `developerProviderName`,
//!   `openIdConnectProviderARNs`, `samlProviderARNs` and the
//!   `cognitoIdentityProviders`' `providerName` — sorted, distinct;
//! - `pool_unchecked_providers(json) -> List<Utf8>`: the Cognito user pool
//!   providers whose `serverSideTokenCheck` is not on (a token revoked by a
//!   sign-out still gets credentials).
//!
//! Keys are matched without case (`SupportedLoginProviders` or
//! `supportedLoginProviders`). NULL or text that is not a JSON object gives
//! NULL.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::cast::as_string_array;
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;
use serde_json::{Map, Value};

fn get<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn strings(value: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
}

fn cognito_providers(object: &Map<String, Value>) -> impl Iterator<Item = &Map<String, Value>> {
    get(object, "cognitoIdentityProviders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// Every provider a pool's settings accept.
pub fn providers(settings: &Map<String, Value>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Some(logins) = get(settings, "supportedLoginProviders").and_then(Value::as_object) {
        out.extend(logins.keys().cloned());
    }
    if let Some(developer) = get(settings, "developerProviderName").and_then(Value::as_str) {
        out.insert(developer.to_string());
    }
    out.extend(strings(get(settings, "openIdConnectProviderARNs")));
    out.extend(strings(get(settings, "samlProviderARNs")));
    out.extend(
        cognito_providers(settings)
            .filter_map(|p| get(p, "providerName").and_then(Value::as_str))
            .map(str::to_string),
    );
    out
}

/// The Cognito user pool providers whose server-side token check is off.
pub fn unchecked_providers(settings: &Map<String, Value>) -> BTreeSet<String> {
    cognito_providers(settings)
        .filter(|p| {
            let checked = match get(p, "serverSideTokenCheck") {
                Some(Value::Bool(on)) => *on,
                Some(Value::String(text)) => text.eq_ignore_ascii_case("true"),
                _ => false,
            };
            !checked
        })
        .filter_map(|p| get(p, "providerName").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn register_list_udf(
    ctx: &SessionContext,
    name: &str,
    extract: fn(&Map<String, Value>) -> BTreeSet<String>,
) {
    let item = Arc::new(Field::new("item", DataType::Utf8, true));
    let out_type = DataType::List(Arc::clone(&item));
    ctx.register_udf(create_udf(
        name,
        vec![DataType::Utf8],
        out_type,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let texts = as_string_array(&arrays[0])?;
            let mut out = ListBuilder::new(StringBuilder::new()).with_field(Arc::clone(&item));
            for i in 0..texts.len() {
                let parsed = (!texts.is_null(i))
                    .then(|| serde_json::from_str::<Value>(texts.value(i)).ok())
                    .flatten();
                match parsed {
                    Some(Value::Object(settings)) => {
                        for value in extract(&settings) {
                            out.values().append_value(value);
                        }
                        out.append(true);
                    }
                    _ => out.append(false),
                }
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        }),
    ));
}

/// Registers `pool_providers` and `pool_unchecked_providers` on `ctx`.
pub fn register(ctx: &SessionContext) {
    register_list_udf(ctx, "pool_providers", providers);
    register_list_udf(ctx, "pool_unchecked_providers", unchecked_providers);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn providers_from_every_field_and_spelling() {
        let settings = object(json!({
            "SupportedLoginProviders": {"accounts.google.com": "123", "graph.facebook.com": "9"},
            "developerProviderName": "login.example",
            "openIdConnectProviderARNs": ["arn:aws:iam::1:oidc-provider/evil.example"],
            "samlProviderARNs": [],
            "cognitoIdentityProviders": [
                {"providerName": "cognito-idp.us-east-1.amazonaws.com/us-east-1_a", "serverSideTokenCheck": true},
                {"providerName": "cognito-idp.us-east-1.amazonaws.com/us-east-1_b", "serverSideTokenCheck": false},
                {"providerName": "cognito-idp.us-east-1.amazonaws.com/us-east-1_c"}
            ]
        }));
        assert_eq!(
            providers(&settings).into_iter().collect::<Vec<_>>(),
            vec![
                "accounts.google.com",
                "arn:aws:iam::1:oidc-provider/evil.example",
                "cognito-idp.us-east-1.amazonaws.com/us-east-1_a",
                "cognito-idp.us-east-1.amazonaws.com/us-east-1_b",
                "cognito-idp.us-east-1.amazonaws.com/us-east-1_c",
                "graph.facebook.com",
                "login.example",
            ]
        );
        assert_eq!(
            unchecked_providers(&settings)
                .into_iter()
                .collect::<Vec<_>>(),
            vec![
                "cognito-idp.us-east-1.amazonaws.com/us-east-1_b",
                "cognito-idp.us-east-1.amazonaws.com/us-east-1_c",
            ]
        );
        assert!(providers(&object(json!({"identityPoolName": "x"}))).is_empty());
    }
}
