//! The query catalog: shared views (`queries/views/*.sql`) and detections
//! (`queries/detections/<category>/<id>.sql`), each file opening with its
//! metadata as TOML in a `/*--- … ---*/` comment:
//!
//! ```sql
//! /*---
//! id = "access_denial"
//! title = "Denied calls made with identity-pool credentials"
//! category = "access_denial"
//! severity = "medium"
//! description = """Why this matters and how the SQL decides."""
//! references = ["https://docs.aws.amazon.com/…"]
//! [tunables]
//! window_minutes = 60
//! ---*/
//! SELECT … {{window_minutes}} …
//! ```
//!
//! `{{name}}` in the SQL is replaced by the tunable's value as an SQL
//! literal (numbers as numbers, strings quoted, lists as `make_array(…)`);
//! a config's `[detect.tunables.<id>]` overrides the defaults. A
//! detection's test events sit beside it: `<id>.positive.jsonl` must raise
//! at least one finding, `<id>.negative.jsonl` none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use poolsight_config::Severity;
use serde::Deserialize;

use crate::DetectError;

include!(concat!(env!("OUT_DIR"), "/embedded_queries.rs"));

/// The six finding categories (fixed by the design).
pub const CATEGORIES: &[&str] = &[
    "access_denial",
    "anomalous_guest",
    "cross_identity",
    "foreign_pool",
    "credential_reuse",
    "config_change",
];

/// A shared view.
#[derive(Debug, Clone)]
pub struct View {
    pub name: String,
    pub description: String,
    pub sql: String,
    pub path: String,
}

/// A detection: metadata, tunables and SQL.
#[derive(Debug, Clone)]
pub struct Detection {
    pub id: String,
    pub title: String,
    pub category: String,
    pub severity: Severity,
    pub description: String,
    pub references: Vec<String>,
    pub tunables: BTreeMap<String, toml::Value>,
    /// The SQL with `{{name}}` placeholders.
    pub sql_template: String,
    pub path: String,
    /// Test events (JSON Lines text), when present.
    pub positive_events: Option<String>,
    pub negative_events: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetectionHeader {
    id: String,
    title: String,
    category: String,
    severity: Severity,
    description: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    tunables: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewHeader {
    name: String,
    description: String,
}

/// Every view (in file-name order: they may build on each other) and detection.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub views: Vec<View>,
    pub detections: Vec<Detection>,
}

fn split_header<'a>(path: &str, text: &'a str) -> Result<(&'a str, &'a str), DetectError> {
    let invalid = |reason: &str| DetectError::Catalog {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let rest = text
        .trim_start()
        .strip_prefix("/*---")
        .ok_or_else(|| invalid("must open with a `/*--- … ---*/` metadata comment"))?;
    let end = rest
        .find("---*/")
        .ok_or_else(|| invalid("the metadata comment is not closed with `---*/`"))?;
    Ok((&rest[..end], &rest[end + 5..]))
}

fn toml_error(path: &str, header: &str, error: toml::de::Error) -> DetectError {
    let line = error
        .span()
        .map(|s| header[..s.start.min(header.len())].matches('\n').count() + 1)
        .unwrap_or(1);
    DetectError::Catalog {
        path: path.to_string(),
        reason: format!("metadata line {line}: {}", error.message()),
    }
}

impl Catalog {
    /// The catalog built into the binary (the repository's `queries/`).
    pub fn embedded() -> Result<Self, DetectError> {
        Self::from_files(EMBEDDED.iter().map(|(p, t)| (p.to_string(), t.to_string())))
    }

    /// The catalog of a `queries/` folder on disk.
    pub fn from_dir(dir: &Path) -> Result<Self, DetectError> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            let entries = std::fs::read_dir(&current).map_err(|e| DetectError::Path {
                path: current.clone(),
                reason: e.to_string(),
            })?;
            for entry in entries.flatten() {
                let path: PathBuf = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path
                        .strip_prefix(dir)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .replace('\\', "/");
                    if relative.ends_with(".sql") || relative.ends_with(".jsonl") {
                        let text =
                            std::fs::read_to_string(&path).map_err(|e| DetectError::Path {
                                path: path.clone(),
                                reason: e.to_string(),
                            })?;
                        files.push((relative, text));
                    }
                }
            }
        }
        Self::from_files(files.into_iter())
    }

    fn from_files(files: impl Iterator<Item = (String, String)>) -> Result<Self, DetectError> {
        let mut files: Vec<(String, String)> = files.collect();
        files.sort();
        let texts: BTreeMap<String, String> = files.iter().cloned().collect();
        let mut catalog = Catalog::default();
        for (path, text) in &files {
            // Other folders (dashboards/) hold plain SQL read by their users.
            let catalogued = path.starts_with("views/") || path.starts_with("detections/");
            if !path.ends_with(".sql") || !catalogued {
                continue;
            }
            let (header, sql) = split_header(path, text)?;
            if path.starts_with("views/") {
                let meta: ViewHeader =
                    toml::from_str(header).map_err(|e| toml_error(path, header, e))?;
                catalog.views.push(View {
                    name: meta.name,
                    description: meta.description,
                    sql: sql.trim().to_string(),
                    path: path.clone(),
                });
            } else if path.starts_with("detections/") {
                let meta: DetectionHeader =
                    toml::from_str(header).map_err(|e| toml_error(path, header, e))?;
                let invalid = |reason: String| DetectError::Catalog {
                    path: path.clone(),
                    reason,
                };
                if !CATEGORIES.contains(&meta.category.as_str()) {
                    return Err(invalid(format!(
                        "category {:?} is not one of {}",
                        meta.category,
                        CATEGORIES.join(", ")
                    )));
                }
                let expected_dir = format!("detections/{}/", meta.category);
                if !path.starts_with(&expected_dir) {
                    return Err(invalid(format!(
                        "a {} detection belongs under {expected_dir}",
                        meta.category
                    )));
                }
                let stem = path.trim_end_matches(".sql");
                let detection = Detection {
                    positive_events: texts.get(&format!("{stem}.positive.jsonl")).cloned(),
                    negative_events: texts.get(&format!("{stem}.negative.jsonl")).cloned(),
                    id: meta.id,
                    title: meta.title,
                    category: meta.category,
                    severity: meta.severity,
                    description: meta.description,
                    references: meta.references,
                    tunables: meta.tunables,
                    sql_template: sql.trim().to_string(),
                    path: path.clone(),
                };
                // Every placeholder must be a tunable.
                detection.sql(&BTreeMap::new())?;
                if catalog.detections.iter().any(|d| d.id == detection.id) {
                    return Err(invalid(format!(
                        "detection id {:?} is used twice",
                        detection.id
                    )));
                }
                catalog.detections.push(detection);
            }
        }
        Ok(catalog)
    }

    pub fn detection(&self, id: &str) -> Option<&Detection> {
        self.detections.iter().find(|d| d.id == id)
    }
}

/// The text of a file of the built-in `queries/` (`dashboards/top_ips.sql`).
pub fn embedded_file(path: &str) -> Option<&'static str> {
    EMBEDDED
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// A tunable value as an SQL literal.
pub fn sql_literal(value: &toml::Value) -> Result<String, String> {
    Ok(match value {
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        toml::Value::Array(items) => {
            if items.is_empty() {
                "make_array()".to_string()
            } else {
                let parts: Result<Vec<String>, String> = items.iter().map(sql_literal).collect();
                format!("make_array({})", parts?.join(", "))
            }
        }
        other => {
            return Err(format!(
                "{other} cannot be a tunable (use a number, string, boolean or list)"
            ))
        }
    })
}

impl Detection {
    /// The SQL with every `{{name}}` replaced: `overrides` (from the
    /// config) first, then the defaults. Unknown names are errors.
    pub fn sql(&self, overrides: &BTreeMap<String, toml::Value>) -> Result<String, DetectError> {
        let invalid = |reason: String| DetectError::Catalog {
            path: self.path.clone(),
            reason,
        };
        for key in overrides.keys() {
            if !self.tunables.contains_key(key) {
                return Err(invalid(format!(
                    "the config sets tunable {key:?}, which detection {} does not have (it has: {})",
                    self.id,
                    self.tunables.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let mut out = String::with_capacity(self.sql_template.len());
        let mut rest = self.sql_template.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| invalid("a `{{` placeholder is not closed".into()))?;
            let name = after[..end].trim();
            let value = overrides
                .get(name)
                .or_else(|| self.tunables.get(name))
                .ok_or_else(|| invalid(format!("placeholder {{{{{name}}}}} is not a tunable")))?;
            if let (Some(default), Some(given)) = (self.tunables.get(name), overrides.get(name)) {
                if default.type_str() != given.type_str() {
                    return Err(invalid(format!(
                        "tunable {name} must be a {}, the config gives a {}",
                        default.type_str(),
                        given.type_str()
                    )));
                }
            }
            out.push_str(&sql_literal(value).map_err(|e| invalid(format!("tunable {name}: {e}")))?);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "/*---\nid = \"x\"\ntitle = \"X\"\ncategory = \"access_denial\"\nseverity = \"low\"\ndescription = \"d\"\n[tunables]\nmin = 3\nnames = [\"a\", \"o'b\"]\n---*/\nSELECT {{min}} AS n, {{ names }} AS l";

    fn catalog(files: &[(&str, &str)]) -> Result<Catalog, DetectError> {
        Catalog::from_files(files.iter().map(|(p, t)| (p.to_string(), t.to_string())))
    }

    #[test]
    fn placeholders_become_literals_and_overrides_win() {
        let catalog = catalog(&[("detections/access_denial/x.sql", FILE)]).unwrap();
        let detection = catalog.detection("x").unwrap();
        assert_eq!(
            detection.sql(&BTreeMap::new()).unwrap(),
            "SELECT 3 AS n, make_array('a', 'o''b') AS l"
        );
        let mut overrides = BTreeMap::new();
        overrides.insert("min".to_string(), toml::Value::Integer(9));
        assert!(detection
            .sql(&overrides)
            .unwrap()
            .starts_with("SELECT 9 AS n"));
        overrides.insert("min".to_string(), toml::Value::String("9".into()));
        assert!(detection
            .sql(&overrides)
            .unwrap_err()
            .to_string()
            .contains("must be a integer"));
        let mut unknown = BTreeMap::new();
        unknown.insert("max".to_string(), toml::Value::Integer(1));
        assert!(detection
            .sql(&unknown)
            .unwrap_err()
            .to_string()
            .contains("does not have"));
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let cases = [
            (
                "detections/access_denial/a.sql",
                "SELECT 1",
                "must open with",
            ),
            (
                "detections/access_denial/a.sql",
                &FILE.replace("severity = \"low\"", "severity = \"dire\"") as &str,
                "metadata line 5",
            ),
            (
                "detections/access_denial/a.sql",
                &FILE.replace("access_denial", "misc"),
                "not one of",
            ),
            (
                "detections/config_change/a.sql",
                FILE,
                "belongs under detections/access_denial/",
            ),
            (
                "detections/access_denial/a.sql",
                &FILE.replace("{{min}}", "{{nope}}"),
                "not a tunable",
            ),
        ];
        for (path, text, expected) in cases {
            let error = catalog(&[(path, text)]).unwrap_err().to_string();
            assert!(error.contains(expected) && error.contains(path), "{error}");
        }
    }

    #[test]
    fn the_embedded_catalog_loads() {
        let catalog = Catalog::embedded().expect("the shipped queries are valid");
        for view in ["credentials", "identity_activity", "pools"] {
            assert!(catalog.views.iter().any(|v| v.name == view), "view {view}");
        }
    }
}
