//! SQL templates: the one placeholder engine of detections, state tables
//! and dashboard panels.
//!
//! A template is SQL with `{{name}}` placeholders (spaces inside the
//! braces are allowed). Whoever fills it says what each name becomes —
//! always SQL text made here from typed values ([`string_literal`],
//! [`toml_literal`], intervals, timestamps), never text pasted from
//! input, so a value cannot end the literal it is in.

use std::collections::BTreeMap;

/// The names of the placeholders of `sql`, in order (repeats included).
pub fn placeholders(sql: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        names.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    names
}

/// Replaces every `{{name}}` of `sql` by what `value_of(name)` gives. An
/// unclosed `{{` or a name `value_of` refuses is an error.
pub fn fill_with(
    sql: &str,
    mut value_of: impl FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "a `{{` placeholder is not closed with `}}`".to_string())?;
        out.push_str(&value_of(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces every `{{name}}` by `values[name]` (already SQL text).
pub fn fill(sql: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    fill_with(sql, |name| {
        values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no value for {{{{{name}}}}}"))
    })
}

/// A string as an SQL literal.
pub fn string_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A point in time (µs since the epoch) as an SQL timestamp.
pub fn timestamp_literal(micros: i64) -> String {
    format!("to_timestamp_micros({micros})")
}

/// A TOML value (a detection's tunable) as an SQL literal: numbers,
/// booleans, strings, and lists of them (`make_array(…)`).
pub fn toml_literal(value: &toml::Value) -> Result<String, String> {
    Ok(match value {
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::String(s) => string_literal(s),
        toml::Value::Array(items) => {
            if items.is_empty() {
                "make_array()".to_string()
            } else {
                let parts: Result<Vec<String>, String> = items.iter().map(toml_literal).collect();
                format!("make_array({})", parts?.join(", "))
            }
        }
        other => {
            return Err(format!(
                "{} cannot be a tunable (use a number, string, boolean or list)",
                other.type_str()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_names_with_spaces_and_reports_missing_or_unclosed() {
        let values = BTreeMap::from([("a".to_string(), "'x'".to_string())]);
        assert_eq!(
            fill("SELECT {{a}}, {{ a }}", &values).unwrap(),
            "SELECT 'x', 'x'"
        );
        assert!(fill("SELECT {{b}}", &values).unwrap_err().contains("{{b}}"));
        assert!(fill("SELECT {{a", &values)
            .unwrap_err()
            .contains("not closed"));
        assert_eq!(placeholders("{{a}} {{ b }} {{a}}"), ["a", "b", "a"]);
    }

    #[test]
    fn literals_cannot_be_escaped_from() {
        assert_eq!(string_literal("it's"), "'it''s'");
        assert_eq!(
            toml_literal(&toml::Value::Array(vec![
                toml::Value::String("o'b".into()),
                toml::Value::Integer(3)
            ]))
            .unwrap(),
            "make_array('o''b', 3)"
        );
        assert!(toml_literal(&toml::Value::Table(Default::default())).is_err());
        assert_eq!(timestamp_literal(5), "to_timestamp_micros(5)");
    }
}
