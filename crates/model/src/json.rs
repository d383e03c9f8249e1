//! Lenient, borrowing access to JSON text.
//!
//! CloudTrail records come in many shapes: the same field is a number in one
//! record and a string in another, `errorCode` is `""` on success, objects
//! are sometimes `null`. These helpers read a record's top level as
//! `(key, raw JSON text)` pairs without copying, and turn raw values into
//! typed values with the leniency the lake needs.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

/// A string that borrows from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CowStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CowStrVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for CowStrVisitor<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(CowStrVisitor(std::marker::PhantomData))
    }
}

/// The top level of a JSON object: its keys and the raw text of each value,
/// in document order.
#[derive(Debug)]
pub struct RawObject<'a> {
    pub fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> RawObject<'a> {
    /// Parses `text` as one JSON object.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| *value)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(name, _)| name.as_ref())
    }
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    fields.push((key, value));
                }
                Ok(RawObject { fields })
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// The JSON type of a raw value, for error messages.
pub fn json_type_name(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't') | Some(b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// A value of the wrong JSON type for its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongType {
    pub expected: &'static str,
    pub found: &'static str,
}

/// Reads a scalar as text: strings as they are, numbers and booleans as
/// their JSON text, `null` and `""` as `None`. Objects and arrays are a
/// [`WrongType`].
pub fn text<'a>(raw: &'a RawValue) -> Result<Option<Cow<'a, str>>, WrongType> {
    let body = raw.get();
    match body.as_bytes().first() {
        Some(b'"') => {
            let CowStr(value) =
                serde_json::from_str::<CowStr<'a>>(body).map_err(|_| WrongType {
                    expected: "string",
                    found: "invalid string",
                })?;
            Ok(if value.is_empty() { None } else { Some(value) })
        }
        Some(b'n') => Ok(None),
        Some(b'{') | Some(b'[') => Err(WrongType {
            expected: "string",
            found: json_type_name(raw),
        }),
        _ => Ok(Some(Cow::Borrowed(body))),
    }
}

/// Reads a boolean from `true`/`false`, `"true"`/`"false"` or `1`/`0`.
pub fn boolean(raw: &RawValue) -> Result<Option<bool>, WrongType> {
    match raw.get() {
        "true" | "\"true\"" | "\"True\"" | "\"TRUE\"" | "1" | "\"1\"" => Ok(Some(true)),
        "false" | "\"false\"" | "\"False\"" | "\"FALSE\"" | "0" | "\"0\"" => Ok(Some(false)),
        "null" | "\"\"" => Ok(None),
        _ => Err(WrongType {
            expected: "boolean",
            found: json_type_name(raw),
        }),
    }
}

/// Reads an object or array as borrowed JSON text; `null` is `None`. A
/// scalar is kept too (as its JSON text), since it is still valid JSON.
pub fn json_text(raw: &RawValue) -> Option<&str> {
    match raw.get() {
        "null" => None,
        body => Some(body),
    }
}

/// A string field of a parsed [`Value`]; numbers and booleans are rendered,
/// empty strings are `None`.
pub fn value_str(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// `value[key]` for the first of `keys` present (both casings occur in CloudTrail).
pub fn field<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    let object = value.as_object()?;
    keys.iter()
        .find_map(|key| object.get(*key))
        .filter(|v| !v.is_null())
}

/// Serializes a JSON value with object keys sorted at every level, so that
/// equal documents give equal text whatever the key order they arrived in.
pub fn canonical_json(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (index, (key, item)) in entries.into_iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push(':');
                    write(item, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).expect("raw")
    }

    #[test]
    fn text_is_lenient_about_scalars() {
        assert_eq!(text(&raw("\"abc\"")).unwrap().as_deref(), Some("abc"));
        assert_eq!(text(&raw("42")).unwrap().as_deref(), Some("42"));
        assert_eq!(text(&raw("true")).unwrap().as_deref(), Some("true"));
        assert_eq!(text(&raw("\"\"")).unwrap(), None);
        assert_eq!(text(&raw("null")).unwrap(), None);
        assert_eq!(text(&raw("{}")).unwrap_err().found, "object");
        assert_eq!(text(&raw("\"a\\nb\"")).unwrap().as_deref(), Some("a\nb"));
    }

    #[test]
    fn booleans_accept_strings_and_numbers() {
        assert_eq!(boolean(&raw("\"true\"")).unwrap(), Some(true));
        assert_eq!(boolean(&raw("0")).unwrap(), Some(false));
        assert!(boolean(&raw("[1]")).is_err());
    }

    #[test]
    fn raw_object_borrows_keys_and_values() {
        let object = RawObject::parse(r#"{"a": {"b": 1}, "c\u0041": "x"}"#).unwrap();
        assert_eq!(object.get("a").unwrap().get(), r#"{"b": 1}"#);
        assert!(matches!(object.fields[0].0, Cow::Borrowed(_)));
        assert_eq!(object.get("cA").unwrap().get(), "\"x\"");
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":[1,{"q":2,"p":1}],"x":null}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":{"x":null,"y":[1,{"p":1,"q":2}]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":null,"y":[1,{"p":1,"q":2}]},"b":1}"#
        );
    }
}
