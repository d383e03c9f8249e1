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
//! a config's `[detect.tunables.<id>]` overrides the defaults.
//!
//! Three optional spans (`15m`, `1h`, `7d`) say how much of the lake a
//! detection must see to judge an event ([`Timing`]; incremental runs read
//! no more): `window`, the length of the time bins its findings are built
//! from (an incremental run judges whole bins); `lookback`, how far before
//! and after the judged bins its query reads (the half-bin offset windows,
//! an issuance before its use); `history`, how far back its baselines look
//! in the state tables (always before what is judged; raw events of that
//! history are not read). They are placeholders too —
//! `{{window}}`, `{{half_window}}`, `{{lookback}}`, `{{history}}` become
//! SQL intervals, `{{window_minutes}}` a number — and the config may
//! override them like tunables (`window = "30m"` or `window_minutes = 30`). A
//! detection's test events sit beside it: `<id>.positive.jsonl` must raise
//! at least one finding, `<id>.negative.jsonl` none. A `posture`
//! detection (or one with `inventory = true`, which reads the changes
//! between snapshots) judges the inventory instead: its tests are inventory
//! snapshots, `<id>.positive.inventory.json` and `<id>.negative.inventory.json`
//! (one snapshot, or a JSON array of them, oldest first).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use poolsight_config::Severity;
use serde::Deserialize;

use crate::DetectError;

include!(concat!(env!("OUT_DIR"), "/embedded_queries.rs"));

/// The finding categories (fixed by the design).
pub const CATEGORIES: &[&str] = &[
    "access_denial",
    "anomalous_guest",
    "cross_identity",
    "foreign_pool",
    "credential_reuse",
    "config_change",
    "privilege_escalation",
    "identity_abuse",
    "excessive_permission",
    "data_exfiltration",
    "posture",
];

/// A shared view.
#[derive(Debug, Clone)]
pub struct View {
    pub name: String,
    pub description: String,
    pub sql: String,
    pub path: String,
    /// Computed once per session, on first use, and kept in memory
    /// (`cached = true`: a small view that many queries join, such as
    /// `issued_keys`).
    pub cached: bool,
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
    /// MITRE ATT&CK technique ids (`T1078.004`) of what the detection sees.
    pub attack: Vec<String>,
    /// When it fires on benign activity, and what to do about it.
    pub false_positives: Option<String>,
    pub tunables: BTreeMap<String, toml::Value>,
    /// How much of the lake judging an event takes (defaults: no bins,
    /// no lookback, no history).
    pub timing: Timing,
    /// The SQL with `{{name}}` placeholders.
    pub sql_template: String,
    pub path: String,
    /// Test events (JSON Lines text), when present.
    pub positive_events: Option<String>,
    pub negative_events: Option<String>,
    /// Test inventories of a `posture` detection (snapshot JSON:
    /// `<id>.positive.inventory.json`, `<id>.negative.inventory.json`).
    pub positive_inventory: Option<String>,
    pub negative_inventory: Option<String>,
    /// `inventory = true`: it reads the inventory tables, not events.
    pub inventory: bool,
}

impl Detection {
    /// Whether it judges the inventory instead of events (the `posture`
    /// category, or `inventory = true` in its metadata): it runs whole on
    /// every detect run.
    pub fn reads_inventory(&self) -> bool {
        self.inventory || self.follows_inventory()
    }

    /// Whether its findings describe the newest snapshot (`posture`): one
    /// the newest snapshot no longer shows is resolved. Findings about
    /// changes between snapshots stay, like findings about events.
    pub fn follows_inventory(&self) -> bool {
        self.category == "posture"
    }
}

/// `T` and four digits, optionally `.` and three (a sub-technique).
fn is_attack_technique(id: &str) -> bool {
    let bytes = id.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    match bytes.len() {
        5 => bytes[0] == b'T' && digits(1..5),
        9 => bytes[0] == b'T' && digits(1..5) && bytes[5] == b'.' && digits(6..9),
        _ => false,
    }
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
    attack: Vec<String>,
    false_positives: Option<String>,
    #[serde(default)]
    tunables: BTreeMap<String, toml::Value>,
    window: Option<String>,
    lookback: Option<String>,
    history: Option<String>,
    #[serde(default)]
    inventory: bool,
}

/// The spans of the lake a detection reads around what it judges, in
/// seconds (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Timing {
    /// Findings are built from bins of this length (aligned to the epoch);
    /// `None`: from single events, so any part of the lake can be judged alone.
    pub window: Option<i64>,
    /// How far before and after the judged bins the query reads.
    pub lookback: i64,
    /// How far back before the judged bins its baselines look.
    pub history: i64,
}

/// The names of the timing spans, which are placeholders and overridable.
pub const TIMING_KEYS: &[&str] = &["window", "window_minutes", "lookback", "history"];

fn span_seconds(name: &str, text: &str) -> Result<i64, String> {
    poolsight_model::time::parse_span(text)
        .map(|d| d.num_seconds())
        .ok_or_else(|| format!("{name} = {text:?} is not a span (15m, 1h, 7d, 2w)"))
}

impl Timing {
    fn parse(
        window: Option<&str>,
        lookback: Option<&str>,
        history: Option<&str>,
    ) -> Result<Self, String> {
        let window = window.map(|w| span_seconds("window", w)).transpose()?;
        let timing = Timing {
            window,
            lookback: lookback
                .map(|l| span_seconds("lookback", l))
                .transpose()?
                .unwrap_or(0),
            history: history
                .map(|h| span_seconds("history", h))
                .transpose()?
                .unwrap_or(0),
        };
        timing.validate()?;
        Ok(timing)
    }

    fn validate(&self) -> Result<(), String> {
        match self.window {
            Some(w) if 86_400 % w != 0 && w % 86_400 != 0 => Err(format!(
                "window = {w}s must divide a day or be whole days (bins are aligned to midnight UTC)"
            )),
            _ => Ok(()),
        }
    }

    /// The placeholder's SQL interval, for the timing placeholders.
    fn placeholder(&self, name: &str) -> Option<String> {
        let seconds = match name {
            "window" => self.window.unwrap_or(3600),
            "half_window" => self.window.unwrap_or(3600) / 2,
            "window_minutes" => return Some((self.window.unwrap_or(3600) / 60).to_string()),
            "lookback" => self.lookback,
            "history" => self.history,
            _ => return None,
        };
        Some(format!("INTERVAL '{seconds} seconds'"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewHeader {
    name: String,
    description: String,
    #[serde(default)]
    cached: bool,
}

/// How a state table is kept up to date (see [`crate::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// Rows per hour: the hours new events touch are computed again.
    Hourly,
    /// Rows per key that only grow: the newly arrived events' rows are
    /// added (`first_seen` min, `last_seen` max, other columns summed).
    Accumulating,
}

/// A state table: `queries/state/<name>.sql`.
#[derive(Debug, Clone)]
pub struct StateTable {
    pub name: String,
    pub kind: StateKind,
    /// The key columns of an accumulating table.
    pub keys: Vec<String>,
    pub description: String,
    /// The SQL; accumulating tables use `{{arrived_after}}`.
    pub sql: String,
    pub path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateHeader {
    name: String,
    kind: StateKind,
    #[serde(default)]
    keys: Vec<String>,
    description: String,
}

/// Every view (in file-name order: they may build on each other),
/// detection and state table.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub views: Vec<View>,
    pub detections: Vec<Detection>,
    pub state_tables: Vec<StateTable>,
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

    /// The catalog a config names: `[detect] queries_dir`, else the built-in one.
    pub fn from_config(config: &poolsight_config::Config) -> Result<Self, DetectError> {
        match &config.detect.queries_dir {
            Some(dir) => Self::from_dir(dir),
            None => Self::embedded(),
        }
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
                    if relative.ends_with(".sql")
                        || relative.ends_with(".jsonl")
                        || relative.ends_with(".inventory.json")
                    {
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
            let catalogued = path.starts_with("views/")
                || path.starts_with("detections/")
                || path.starts_with("state/");
            if !path.ends_with(".sql") || !catalogued {
                continue;
            }
            let (header, sql) = split_header(path, text)?;
            if path.starts_with("state/") {
                let meta: StateHeader =
                    toml::from_str(header).map_err(|e| toml_error(path, header, e))?;
                if let Some(other) = crate::template::placeholders(sql)
                    .into_iter()
                    .find(|name| name != "arrived_after")
                {
                    return Err(DetectError::Catalog {
                        path: path.clone(),
                        reason: format!(
                            "unknown placeholder {{{{{other}}}}} (a state table has only {{{{arrived_after}}}})"
                        ),
                    });
                }
                if meta.kind == StateKind::Accumulating
                    && (meta.keys.is_empty() || !sql.contains("{{arrived_after}}"))
                {
                    return Err(DetectError::Catalog {
                        path: path.clone(),
                        reason: "an accumulating state table needs `keys` and reads only `ingested_at > {{arrived_after}}`".into(),
                    });
                }
                catalog.state_tables.push(StateTable {
                    name: meta.name,
                    kind: meta.kind,
                    keys: meta.keys,
                    description: meta.description,
                    sql: sql.trim().to_string(),
                    path: path.clone(),
                });
            } else if path.starts_with("views/") {
                let meta: ViewHeader =
                    toml::from_str(header).map_err(|e| toml_error(path, header, e))?;
                catalog.views.push(View {
                    name: meta.name,
                    description: meta.description,
                    sql: sql.trim().to_string(),
                    path: path.clone(),
                    cached: meta.cached,
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
                if let Some(bad) = meta.attack.iter().find(|id| !is_attack_technique(id)) {
                    return Err(invalid(format!(
                        "attack id {bad:?} is not a MITRE ATT&CK technique id (T1234 or T1234.001)"
                    )));
                }
                let timing = Timing::parse(
                    meta.window.as_deref(),
                    meta.lookback.as_deref(),
                    meta.history.as_deref(),
                )
                .map_err(invalid)?;
                let detection = Detection {
                    timing,
                    positive_events: texts.get(&format!("{stem}.positive.jsonl")).cloned(),
                    negative_events: texts.get(&format!("{stem}.negative.jsonl")).cloned(),
                    positive_inventory: texts
                        .get(&format!("{stem}.positive.inventory.json"))
                        .cloned(),
                    negative_inventory: texts
                        .get(&format!("{stem}.negative.inventory.json"))
                        .cloned(),
                    inventory: meta.inventory,
                    id: meta.id,
                    title: meta.title,
                    category: meta.category,
                    severity: meta.severity,
                    description: meta.description,
                    references: meta.references,
                    attack: meta.attack,
                    false_positives: meta.false_positives,
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

impl Detection {
    /// The SQL with every `{{name}}` replaced: `overrides` (from the
    /// config) first, then the defaults. Unknown names are errors.
    pub fn sql(&self, overrides: &BTreeMap<String, toml::Value>) -> Result<String, DetectError> {
        let invalid = |reason: String| DetectError::Catalog {
            path: self.path.clone(),
            reason,
        };
        let timing = self.timing(overrides)?;
        for key in overrides.keys() {
            if !self.tunables.contains_key(key) && !TIMING_KEYS.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "the config sets tunable {key:?}, which detection {} does not have (it has: {})",
                    self.id,
                    self.tunables.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let mut error = None;
        let filled = crate::template::fill_with(&self.sql_template, |name| {
            if let Some(interval) = timing.placeholder(name) {
                return Ok(interval);
            }
            let value = overrides
                .get(name)
                .or_else(|| self.tunables.get(name))
                .ok_or_else(|| format!("placeholder {{{{{name}}}}} is not a tunable"))?;
            if let (Some(default), Some(given)) = (self.tunables.get(name), overrides.get(name)) {
                if default.type_str() != given.type_str() {
                    return Err(format!(
                        "tunable {name} must be a {}, the config gives a {}",
                        default.type_str(),
                        given.type_str()
                    ));
                }
            }
            crate::template::toml_literal(value).map_err(|e| {
                error = Some(format!("tunable {name}: {e}"));
                e
            })
        });
        filled.map_err(|e| invalid(error.take().unwrap_or(e)))
    }

    /// The detection's timing with the config's overrides (`window = "30m"`, …).
    pub fn timing(&self, overrides: &BTreeMap<String, toml::Value>) -> Result<Timing, DetectError> {
        let invalid = |reason: String| DetectError::Catalog {
            path: self.path.clone(),
            reason,
        };
        let mut timing = self.timing;
        for key in TIMING_KEYS {
            let Some(value) = overrides.get(*key) else {
                continue;
            };
            if *key == "window_minutes" {
                let minutes = value.as_integer().filter(|m| *m > 0).ok_or_else(|| {
                    invalid("window_minutes must be a whole number of minutes".into())
                })?;
                timing.window = Some(minutes * 60);
                continue;
            }
            let text = value
                .as_str()
                .ok_or_else(|| invalid(format!("{key} must be a span such as \"1h\"")))?;
            let seconds = span_seconds(key, text).map_err(&invalid)?;
            match *key {
                "window" => timing.window = Some(seconds),
                "lookback" => timing.lookback = seconds,
                _ => timing.history = seconds,
            }
        }
        timing.validate().map_err(invalid)?;
        Ok(timing)
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
    fn attack_ids_are_checked_and_kept() {
        let good = FILE.replace(
            "[tunables]",
            "attack = [\"T1078.004\", \"T1530\"]\nfalse_positives = \"a deploy\"\n[tunables]",
        );
        let loaded = catalog(&[("detections/access_denial/x.sql", &good)]).unwrap();
        let detection = loaded.detection("x").unwrap();
        assert_eq!(detection.attack, vec!["T1078.004", "T1530"]);
        assert_eq!(detection.false_positives.as_deref(), Some("a deploy"));
        for bad in ["T78", "t1078", "T1078.4", "TA0001", "T1078.0040"] {
            let file = FILE.replace("[tunables]", &format!("attack = [\"{bad}\"]\n[tunables]"));
            let error = catalog(&[("detections/access_denial/x.sql", &file)])
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("detections/access_denial/x.sql") && error.contains(bad),
                "{error}"
            );
        }
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
    fn timing_spans_are_placeholders_and_overridable() {
        let file = FILE
            .replace(
                "[tunables]",
                "window = \"15m\"\nlookback = \"1h\"\n[tunables]",
            )
            .replace(
                "{{min}} AS n",
                "{{min}} AS n, {{window}} AS w, {{half_window}} AS h, {{lookback}} AS b",
            );
        let loaded = catalog(&[("detections/access_denial/x.sql", &file)]).unwrap();
        let detection = loaded.detection("x").unwrap();
        assert_eq!(
            detection.timing,
            Timing {
                window: Some(900),
                lookback: 3600,
                history: 0
            }
        );
        assert!(detection.sql(&BTreeMap::new()).unwrap().contains(
            "INTERVAL '900 seconds' AS w, INTERVAL '450 seconds' AS h, INTERVAL '3600 seconds' AS b"
        ));
        let mut overrides = BTreeMap::new();
        overrides.insert("window".to_string(), toml::Value::String("30m".into()));
        assert!(detection
            .sql(&overrides)
            .unwrap()
            .contains("INTERVAL '1800 seconds' AS w"));
        overrides.insert("window".to_string(), toml::Value::String("7m".into()));
        assert!(detection
            .sql(&overrides)
            .unwrap_err()
            .to_string()
            .contains("divide a day"));
        let bad = file.replace("\"15m\"", "\"soon\"");
        let error = catalog(&[("detections/access_denial/x.sql", &bad)])
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a span"), "{error}");
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
