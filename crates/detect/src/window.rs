//! A reading window over the lake (the dashboard's `1h`, `7d`, a range):
//! what it does to the tables that are not raw events, and the lake's
//! event-time bounds that relative windows are measured from.
//!
//! [`LakeSession::open_with`] with `since`/`until` cuts `events` and the
//! views over it. [`cut_to_window`] cuts the rest the same way: `findings`
//! to those whose first..last seen overlaps the window, and every hourly
//! state table to the rows whose period overlaps it (by its `minute`
//! column where it has one, else by `hour`). Accumulating state tables
//! (`identity_profile`, `role_actions`) are whole-history by nature and
//! stay as they are.

use arrow::array::{Array, Int64Array};
use chrono::{DateTime, Utc};

use crate::catalog::{Catalog, StateKind};
use crate::{DetectError, LakeSession};

/// The lake's oldest and newest event times (`None`: no events).
pub type EventBounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The oldest and newest event time in the lake.
pub async fn event_bounds(session: &LakeSession) -> Result<EventBounds, DetectError> {
    let batches = session
        .query(
            "SELECT CAST(min(event_time) AS BIGINT) AS oldest, \
             CAST(max(event_time) AS BIGINT) AS newest FROM lake_events",
        )
        .await?;
    let value = |column: usize| {
        batches.first().and_then(|b| {
            b.column(column)
                .as_any()
                .downcast_ref::<Int64Array>()
                .filter(|a| a.len() == 1 && !a.is_null(0))
                .map(|a| a.value(0))
                .and_then(DateTime::from_timestamp_micros)
        })
    };
    Ok((value(0), value(1)))
}

/// Cuts `findings` (posture findings excepted: they are about the newest
/// inventory) and the hourly state tables of `session` to `[since, until)`
/// (an open end: unbounded on that side).
pub async fn cut_to_window(
    session: &LakeSession,
    catalog: &Catalog,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<(), DetectError> {
    if since.is_none() && until.is_none() {
        return Ok(());
    }
    let at = |t: DateTime<Utc>| crate::template::timestamp_literal(t.timestamp_micros());
    let mut findings = Vec::new();
    if let Some(since) = since {
        findings.push(format!("last_seen >= {}", at(since)));
    }
    if let Some(until) = until {
        findings.push(format!("first_seen < {}", at(until)));
    }
    // Posture findings describe the newest inventory, not a time span of
    // events: every window shows the open ones.
    let findings = format!("category = 'posture' OR ({})", findings.join(" AND "));
    replace_with_view(session, "findings", &findings).await?;
    for table in &catalog.state_tables {
        if table.kind != StateKind::Hourly {
            continue;
        }
        let has_minute = session
            .context()
            .table(table.name.as_str())
            .await
            .map(|t| t.schema().has_column_with_unqualified_name("minute"))
            .unwrap_or(false);
        let (column, unit) = if has_minute {
            ("minute", "minute")
        } else {
            ("hour", "hour")
        };
        let mut filters = Vec::new();
        if let Some(since) = since {
            filters.push(format!("{column} >= date_trunc('{unit}', {})", at(since)));
        }
        if let Some(until) = until {
            filters.push(format!("{column} < {}", at(until)));
        }
        replace_with_view(session, &table.name, &filters.join(" AND ")).await?;
    }
    Ok(())
}

/// Registers `name` as the rows of the table it was that match `filter`
/// (the whole table stays reachable as `whole_<name>`).
async fn replace_with_view(
    session: &LakeSession,
    name: &str,
    filter: &str,
) -> Result<(), DetectError> {
    let ctx = session.context();
    let Some(whole) = ctx.deregister_table(name)? else {
        return Ok(());
    };
    let whole_name = format!("whole_{name}");
    ctx.register_table(whole_name.as_str(), whole)?;
    let view = ctx
        .sql(&format!("SELECT * FROM {whole_name} WHERE {filter}"))
        .await?
        .into_view();
    ctx.register_table(name, view)?;
    Ok(())
}
