//! Dashboard layouts: the TOML files of `dashboards/`.
//!
//! A layout is rows of panels on a 12-column grid. Each panel has a kind
//! (`stat`, `table`, `bar`, `sparkline`, `findings`) and its SQL, inline
//! (`sql = "…"`) or a file of `queries/` (`query = "dashboards/x.sql"`).
//! Parsing never fails as a whole: a file that is not valid TOML becomes a
//! dashboard with one panel showing the error, and a panel with a bad
//! definition (unknown kind, unknown key, missing SQL, a drill-down to a
//! dashboard that does not exist) shows its error in its own place while
//! the rest of the dashboard works.

use std::collections::BTreeMap;
use std::path::Path;

use poolsight_detect::template::placeholders;
use serde::Deserialize;

include!(concat!(env!("OUT_DIR"), "/embedded_dashboards.rs"));

/// What a panel draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    /// One row; every column a labelled number.
    Stat,
    /// Rows and columns; selectable, filterable, drillable.
    Table,
    /// A label column and a number column as horizontal bars.
    Bar,
    /// A time column (buckets) and one or more number columns, one
    /// sparkline per series; missing buckets count as zero.
    #[serde(alias = "timeseries")]
    Sparkline,
    /// Findings (default SQL: the stored findings of the window, worst
    /// first); Enter opens the identity, or the pool when there is none.
    Findings,
}

/// Enter on a row opens `dashboard` with the row's `column` as its parameter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drill {
    pub dashboard: String,
    /// The column holding the value; default: the target's parameter name.
    pub column: Option<String>,
}

/// A dashboard about one thing (an identity, a pool) names its parameter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// The placeholder (`{{identity_id}}`) and the drill-down column.
    pub name: String,
    /// How the header names it (default: the name).
    pub label: Option<String>,
    /// SQL listing the values to choose from (first column) when the
    /// dashboard is opened without one.
    pub choices: String,
}

/// Row height: fixed lines, or a share of what the fixed rows leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowHeight {
    Lines(u16),
    Fill(u16),
}

/// One panel of a loaded layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    /// Columns of 12.
    pub width: u16,
    /// The definition, or why it is broken (shown in the panel).
    pub body: Result<PanelSpec, String>,
}

/// A valid panel definition.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelSpec {
    pub kind: PanelKind,
    /// SQL with `{{placeholders}}` still in.
    pub sql: String,
    pub drill: Option<Drill>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub height: RowHeight,
    pub panels: Vec<Panel>,
}

/// A loaded dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// The file stem: what `--dashboard` and drill-downs name.
    pub name: String,
    /// Where it came from (`dashboards/overview.toml` or a path).
    pub source: String,
    pub title: String,
    pub description: String,
    pub param: Option<ParamSpec>,
    pub rows: Vec<Row>,
}

impl Dashboard {
    /// Every panel in reading order (row by row, left to right).
    pub fn panels(&self) -> impl Iterator<Item = &Panel> {
        self.rows.iter().flat_map(|r| r.panels.iter())
    }

    pub fn panel(&self, index: usize) -> Option<&Panel> {
        self.panels().nth(index)
    }

    pub fn panel_count(&self) -> usize {
        self.rows.iter().map(|r| r.panels.len()).sum()
    }

    fn broken(name: &str, source: &str, reason: String) -> Self {
        Dashboard {
            name: name.to_string(),
            source: source.to_string(),
            title: name.to_string(),
            description: String::new(),
            param: None,
            rows: vec![Row {
                height: RowHeight::Fill(1),
                panels: vec![Panel {
                    title: format!("{source} is not a valid layout"),
                    width: 12,
                    body: Err(reason),
                }],
            }],
        }
    }
}

/// The SQL of the `findings` kind when a panel gives none.
pub const DEFAULT_FINDINGS_SQL: &str = "SELECT severity, detection, summary, identity_id, \
     last_seen, event_count AS events, identity_pool_id \
     FROM findings \
     ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 \
     WHEN 'low' THEN 3 ELSE 4 END, last_seen DESC, finding_id";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    title: String,
    #[serde(default)]
    description: String,
    param: Option<ParamSpec>,
    #[serde(default)]
    row: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    /// Lines, or `"fill"` / `"fill:2"`.
    height: Option<toml::Value>,
    #[serde(default)]
    panel: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPanel {
    #[allow(dead_code)] // read before the rest, kept for deny_unknown_fields
    title: String,
    kind: PanelKind,
    #[allow(dead_code)]
    width: Option<toml::Value>,
    sql: Option<String>,
    query: Option<String>,
    drill: Option<Drill>,
}

/// Where `query = "…"` files are read: the built-in `queries/` or a folder.
#[derive(Debug, Clone, Default)]
pub enum QuerySource {
    #[default]
    Embedded,
    Dir(std::path::PathBuf),
}

impl QuerySource {
    fn read(&self, path: &str) -> Result<String, String> {
        let inside = |dir: &std::path::Path| {
            poolsight_lake::path_under(dir, path)
                .map_err(|e| format!("query {path:?} must be a path inside queries/: {e}"))
        };
        match self {
            QuerySource::Embedded => {
                inside(std::path::Path::new("queries"))?;
                poolsight_detect::catalog::embedded_file(path)
                    .map(str::to_string)
                    .ok_or_else(|| format!("query file queries/{path} does not exist"))
            }
            QuerySource::Dir(dir) => {
                let file = inside(dir)?;
                std::fs::read_to_string(&file)
                    .map_err(|e| format!("query file {}: {e}", file.display()))
            }
        }
    }
}

fn parse_height(value: Option<&toml::Value>) -> Result<RowHeight, String> {
    match value {
        None => Ok(RowHeight::Fill(1)),
        Some(toml::Value::Integer(n)) if (1..=200).contains(n) => Ok(RowHeight::Lines(*n as u16)),
        Some(toml::Value::String(s)) if s == "fill" => Ok(RowHeight::Fill(1)),
        Some(toml::Value::String(s)) => s
            .strip_prefix("fill:")
            .and_then(|w| w.parse::<u16>().ok())
            .filter(|w| (1..=12).contains(w))
            .map(RowHeight::Fill)
            .ok_or_else(|| format!("height {s:?}: use a number of lines, \"fill\" or \"fill:N\"")),
        Some(other) => Err(format!(
            "height {other}: use a number of lines (1-200), \"fill\" or \"fill:N\""
        )),
    }
}

/// Placeholders every panel may use besides the dashboard's parameter.
pub const WINDOW_PLACEHOLDERS: &[&str] = &["bucket", "since", "until"];

fn parse_panel(
    table: &toml::Table,
    param: Option<&ParamSpec>,
    queries: &QuerySource,
) -> Result<PanelSpec, String> {
    let raw: RawPanel = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| e.message().to_string())?;
    let sql = match (raw.sql, raw.query, raw.kind) {
        (Some(_), Some(_), _) => return Err("give `sql` or `query`, not both".into()),
        (Some(sql), None, _) => sql,
        (None, Some(path), _) => queries.read(&path)?,
        (None, None, PanelKind::Findings) => DEFAULT_FINDINGS_SQL.to_string(),
        (None, None, _) => {
            return Err(
                "no SQL: add `sql = \"SELECT …\"` or `query = \"dashboards/<file>.sql\"`".into(),
            )
        }
    };
    for name in placeholders(&sql) {
        let known =
            WINDOW_PLACEHOLDERS.contains(&name.as_str()) || param.is_some_and(|p| p.name == name);
        if !known {
            let mut allowed: Vec<String> =
                WINDOW_PLACEHOLDERS.iter().map(|s| s.to_string()).collect();
            allowed.extend(param.map(|p| p.name.clone()));
            return Err(format!(
                "unknown placeholder {{{{{name}}}}} (known here: {})",
                allowed.join(", ")
            ));
        }
    }
    Ok(PanelSpec {
        kind: raw.kind,
        sql,
        drill: raw.drill,
    })
}

fn panel_title(table: &toml::Table, fallback: String) -> String {
    match table.get("title") {
        Some(toml::Value::String(title)) => title.clone(),
        _ => fallback,
    }
}

fn panel_width(table: &toml::Table) -> Result<u16, String> {
    match table.get("width") {
        None => Ok(12),
        Some(toml::Value::Integer(n)) if (1..=12).contains(n) => Ok(*n as u16),
        Some(other) => Err(format!("width {other}: use 1 to 12 (columns of 12)")),
    }
}

/// Parses one layout. Never fails: errors are shown where they are.
pub fn parse_dashboard(name: &str, source: &str, text: &str, queries: &QuerySource) -> Dashboard {
    let raw: RawDashboard = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            let place = error
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            return Dashboard::broken(
                name,
                source,
                format!("{source}: {place}{}", error.message()),
            );
        }
    };
    let mut rows = Vec::new();
    for (row_index, raw_row) in raw.row.iter().enumerate() {
        let height = parse_height(raw_row.height.as_ref());
        let mut used = 0u16;
        let mut panels = Vec::new();
        for (panel_index, table) in raw_row.panel.iter().enumerate() {
            let place = format!("{source} row {}, panel {}", row_index + 1, panel_index + 1);
            let title = panel_title(table, format!("panel {}", panel_index + 1));
            let (width, width_error) = match panel_width(table) {
                Ok(w) => (w, None),
                Err(e) => (4, Some(e)),
            };
            let mut body = match (&height, width_error) {
                (Err(e), _) => Err(e.clone()),
                (_, Some(e)) => Err(e),
                _ => parse_panel(table, raw.param.as_ref(), queries),
            };
            let width = if used + width > 12 {
                body = body.and(Err(format!(
                    "the widths of row {} add up to more than 12",
                    row_index + 1
                )));
                12u16.saturating_sub(used).max(1)
            } else {
                width
            };
            used = used.saturating_add(width);
            body = body.map_err(|e| format!("{place}: {e}"));
            panels.push(Panel { title, width, body });
        }
        rows.push(Row {
            height: height.unwrap_or(RowHeight::Fill(1)),
            panels,
        });
    }
    if rows.is_empty() {
        return Dashboard::broken(
            name,
            source,
            format!("{source}: no panels; add `[[row]]` and `[[row.panel]]` tables"),
        );
    }
    Dashboard {
        name: name.to_string(),
        source: source.to_string(),
        title: raw.title,
        description: raw.description,
        param: raw.param,
        rows,
    }
}

/// Every dashboard the session can show.
#[derive(Debug, Clone, Default)]
pub struct Layouts {
    dashboards: BTreeMap<String, Dashboard>,
}

impl Layouts {
    /// The layouts a config names: the built-in ones, then those of `dir`
    /// (else `[dash] dashboards_dir`), with `query = "…"` files from
    /// `[detect] queries_dir` (else the built-in queries).
    pub fn from_config(
        config: &poolsight_config::Config,
        dir: Option<&Path>,
    ) -> Result<Self, std::io::Error> {
        let queries = match &config.detect.queries_dir {
            Some(dir) => QuerySource::Dir(dir.clone()),
            None => QuerySource::Embedded,
        };
        let dir = dir.or(config.dash.dashboards_dir.as_deref());
        Self::load(dir, &queries).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                match dir {
                    Some(dir) => format!("dashboards in {}: {e}", dir.display()),
                    None => format!("built-in dashboards: {e}"),
                },
            )
        })
    }

    /// The built-in layouts, then those of `dir` (same name: `dir` wins).
    /// `queries` resolves `query = "…"` files.
    pub fn load(dir: Option<&Path>, queries: &QuerySource) -> Result<Self, std::io::Error> {
        let mut layouts = Layouts::default();
        for (file, text) in EMBEDDED_DASHBOARDS {
            let name = file.trim_end_matches(".toml");
            layouts.insert(parse_dashboard(
                name,
                &format!("dashboards/{file}"),
                text,
                queries,
            ));
        }
        if let Some(dir) = dir {
            let mut files: Vec<_> = std::fs::read_dir(dir)?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            for path in files {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let source = path.display().to_string();
                let dashboard = match std::fs::read_to_string(&path) {
                    Ok(text) => parse_dashboard(&name, &source, &text, queries),
                    Err(e) => Dashboard::broken(&name, &source, format!("{source}: {e}")),
                };
                layouts.insert(dashboard);
            }
        }
        layouts.check_drills();
        Ok(layouts)
    }

    /// Layouts from `(name, text)` pairs only (tests, embedding).
    pub fn from_texts<'a>(
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
        queries: &QuerySource,
    ) -> Self {
        let mut layouts = Layouts::default();
        for (name, text) in texts {
            layouts.insert(parse_dashboard(
                name,
                &format!("dashboards/{name}.toml"),
                text,
                queries,
            ));
        }
        layouts.check_drills();
        layouts
    }

    fn insert(&mut self, dashboard: Dashboard) {
        self.dashboards.insert(dashboard.name.clone(), dashboard);
    }

    /// A drill-down must name a dashboard that exists and takes a parameter.
    fn check_drills(&mut self) {
        let params: BTreeMap<String, Option<String>> = self
            .dashboards
            .values()
            .map(|d| (d.name.clone(), d.param.as_ref().map(|p| p.name.clone())))
            .collect();
        for dashboard in self.dashboards.values_mut() {
            for panel in dashboard.rows.iter_mut().flat_map(|r| r.panels.iter_mut()) {
                let Ok(spec) = &panel.body else { continue };
                let Some(drill) = &spec.drill else { continue };
                let problem = match params.get(&drill.dashboard) {
                    None => Some(format!(
                        "drill-down to dashboard {:?}, which does not exist (known: {})",
                        drill.dashboard,
                        params.keys().cloned().collect::<Vec<_>>().join(", ")
                    )),
                    Some(None) => Some(format!(
                        "drill-down to dashboard {:?}, which takes no parameter",
                        drill.dashboard
                    )),
                    Some(Some(_)) => None,
                };
                if let Some(problem) = problem {
                    panel.body = Err(format!("{}: {problem}", dashboard.source));
                }
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Dashboard> {
        self.dashboards.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.dashboards.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Dashboard {
        parse_dashboard("t", "dashboards/t.toml", text, &QuerySource::Embedded)
    }

    #[test]
    fn shipped_layouts_parse_without_errors() {
        let layouts = Layouts::load(None, &QuerySource::Embedded).unwrap();
        for name in ["overview", "identity", "pool"] {
            let dashboard = layouts
                .get(name)
                .unwrap_or_else(|| panic!("{name} shipped"));
            for panel in dashboard.panels() {
                assert!(panel.body.is_ok(), "{name}: {:?}", panel.body);
            }
        }
    }

    #[test]
    fn a_query_path_that_leaves_queries_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let queries = dir.path().join("queries");
        std::fs::create_dir_all(&queries).unwrap();
        std::fs::write(dir.path().join("secret.sql"), "SELECT 'outside'").unwrap();
        for source in [QuerySource::Embedded, QuerySource::Dir(queries)] {
            for path in ["../secret.sql", "dashboards/../../secret.sql", "a\\b.sql"] {
                let error = source.read(path).unwrap_err();
                assert!(
                    error.contains("must be a path inside queries/"),
                    "{path}: {error}"
                );
            }
        }
    }

    #[test]
    fn invalid_toml_becomes_one_panel_naming_the_line() {
        let dashboard = parse("title = \"x\"\n[[row]\n");
        let panel = dashboard.panel(0).unwrap();
        let error = panel.body.clone().unwrap_err();
        assert!(error.starts_with("dashboards/t.toml: line 2"), "{error}");
    }

    #[test]
    fn a_bad_panel_keeps_the_others() {
        let dashboard = parse(
            r#"title = "x"
[[row]]
height = 5
[[row.panel]]
title = "good"
kind = "table"
width = 6
sql = "SELECT 1"
[[row.panel]]
title = "pie"
kind = "pie"
width = 6
sql = "SELECT 1"
[[row]]
[[row.panel]]
title = "typo"
kind = "table"
width = 6
sqll = "SELECT 1"
[[row.panel]]
title = "nothing"
kind = "bar"
width = 6
"#,
        );
        let bodies: Vec<_> = dashboard.panels().map(|p| p.body.clone()).collect();
        assert!(bodies[0].is_ok());
        let pie = bodies[1].clone().unwrap_err();
        assert!(
            pie.contains("row 1, panel 2") && pie.contains("unknown variant `pie`"),
            "{pie}"
        );
        let typo = bodies[2].clone().unwrap_err();
        assert!(typo.contains("unknown field `sqll`"), "{typo}");
        let nothing = bodies[3].clone().unwrap_err();
        assert!(nothing.contains("no SQL"), "{nothing}");
        assert_eq!(dashboard.rows[0].height, RowHeight::Lines(5));
        assert_eq!(dashboard.rows[1].height, RowHeight::Fill(1));
    }

    #[test]
    fn widths_placeholders_and_drills_are_checked() {
        let layouts = Layouts::from_texts(
            [
                (
                    "a",
                    r#"title = "a"
[[row]]
[[row.panel]]
title = "wide"
kind = "table"
width = 8
sql = "SELECT 1"
[[row.panel]]
title = "too wide"
kind = "table"
width = 8
sql = "SELECT 1"
[[row.panel]]
title = "who"
kind = "table"
width = 13
sql = "SELECT {{identity_id}}"
[[row]]
[[row.panel]]
title = "unknown"
kind = "table"
width = 6
sql = "SELECT {{identity_id}}"
[[row.panel]]
title = "nowhere"
kind = "table"
width = 6
sql = "SELECT 1"
drill = { dashboard = "nope" }
"#,
                ),
                (
                    "b",
                    r#"title = "b"
param = { name = "identity_id", choices = "SELECT 1" }
[[row]]
[[row.panel]]
title = "who"
kind = "stat"
sql = "SELECT {{identity_id}}, {{bucket}}"
"#,
                ),
            ],
            &QuerySource::Embedded,
        );
        let a = layouts.get("a").unwrap();
        let bodies: Vec<_> = a.panels().map(|p| p.body.clone()).collect();
        assert!(bodies[0].is_ok());
        assert!(bodies[1]
            .clone()
            .unwrap_err()
            .contains("add up to more than 12"));
        assert!(bodies[2].clone().unwrap_err().contains("width 13"));
        assert!(bodies[3]
            .clone()
            .unwrap_err()
            .contains("unknown placeholder {{identity_id}}"));
        assert!(bodies[4]
            .clone()
            .unwrap_err()
            .contains("dashboard \"nope\", which does not exist"));
        assert!(layouts.get("b").unwrap().panel(0).unwrap().body.is_ok());
    }

    #[test]
    fn missing_query_files_are_named() {
        let dashboard = parse(
            r#"title = "x"
[[row]]
[[row.panel]]
title = "file"
kind = "table"
query = "dashboards/missing.sql"
"#,
        );
        let error = dashboard.panel(0).unwrap().body.clone().unwrap_err();
        assert!(
            error.contains("query file queries/dashboards/missing.sql does not exist"),
            "{error}"
        );
    }
}
