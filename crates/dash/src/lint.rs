//! `poolsight lint` for layouts: every panel of every dashboard is parsed,
//! its placeholders filled with stand-in values, and its SQL planned
//! against the lake's schema, so a broken layout fails in CI rather than
//! on an analyst's screen. Kinds check their columns too: a sparkline
//! starts with a time column, a bar has a number column.

use std::collections::BTreeMap;

use arrow::datatypes::DataType;
use poolsight_detect::LakeSession;

use crate::layout::{Layouts, PanelKind};
use crate::window::TimeWindow;
use poolsight_detect::template::{fill, string_literal};

/// `(dashboard: panel title, outcome)` for every panel, in order.
pub async fn lint_layouts(
    layouts: &Layouts,
    session: &LakeSession,
) -> Vec<(String, Result<(), String>)> {
    let window = TimeWindow::All.resolve(None, None);
    let mut out = Vec::new();
    for name in layouts.names() {
        let dashboard = layouts.get(name).expect("listed");
        let mut values: BTreeMap<String, String> =
            window.placeholder_values().into_iter().collect();
        if let Some(param) = &dashboard.param {
            values.insert(param.name.clone(), string_literal("lint"));
            let result = plan(session, &param.choices, &values, PanelKind::Table).await;
            out.push((format!("{name}: picker ({})", param.name), result));
        }
        for panel in dashboard.panels() {
            let result = match &panel.body {
                Err(error) => Err(error.clone()),
                Ok(spec) => plan(session, &spec.sql, &values, spec.kind).await,
            };
            out.push((format!("{name}: {}", panel.title), result));
        }
    }
    out
}

async fn plan(
    session: &LakeSession,
    template: &str,
    values: &BTreeMap<String, String>,
    kind: PanelKind,
) -> Result<(), String> {
    let sql = fill(template, values)?;
    let frame = session
        .context()
        .sql(&sql)
        .await
        .map_err(|e| e.to_string())?;
    let plan = frame.into_optimized_plan().map_err(|e| e.to_string())?;
    let schema = plan.schema().as_arrow().clone();
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    match kind {
        PanelKind::Sparkline => {
            if !matches!(types.first(), Some(DataType::Timestamp(..))) {
                return Err(
                    "a sparkline's first column must be a time (date_bin({{bucket}}, event_time))"
                        .into(),
                );
            }
            if !types.iter().skip(1).any(|t| t.is_numeric()) {
                return Err("a sparkline needs a number column after the time".into());
            }
        }
        PanelKind::Bar if !types.iter().any(|t| t.is_numeric()) => {
            return Err("a bar panel needs a number column".into());
        }
        _ => {}
    }
    Ok(())
}
