//! Where things are on the screen: the body between header and footer,
//! each panel's rectangle on the 12-column grid, where a panel's rows are
//! and which one shows first. Drawing ([`crate::render`]) and mouse
//! hit-testing ([`crate::input`]) both ask here, so a click lands on the
//! row that was drawn there.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders};

use crate::app::App;
use crate::layout::{Dashboard, PanelKind, RowHeight};

/// Where the panels go: the frame minus the header and footer lines.
pub fn body_area(area: Rect) -> Rect {
    Rect {
        x: area.x,
        y: area.y.saturating_add(1).min(area.bottom()),
        width: area.width,
        height: area.height.saturating_sub(2),
    }
}

/// The rectangle of every panel (by index); with `zoom`, only that one.
pub fn panel_areas(dashboard: &Dashboard, body: Rect, zoom: Option<usize>) -> Vec<Rect> {
    let count = dashboard.panel_count();
    let mut areas = vec![Rect::default(); count];
    if let Some(index) = zoom.filter(|i| *i < count) {
        areas[index] = body;
        return areas;
    }
    let heights = row_heights(dashboard, body.height);
    let row_areas = Layout::vertical(heights).split(body);
    let mut index = 0;
    for (row, row_area) in dashboard.rows.iter().zip(row_areas.iter()) {
        let mut widths: Vec<Constraint> = row
            .panels
            .iter()
            .map(|p| Constraint::Ratio(u32::from(p.width), 12))
            .collect();
        let used: u16 = row.panels.iter().map(|p| p.width).sum();
        if used < 12 {
            widths.push(Constraint::Ratio(u32::from(12 - used), 12));
        }
        let columns = Layout::horizontal(widths).split(*row_area);
        for (i, _) in row.panels.iter().enumerate() {
            areas[index] = columns[i];
            index += 1;
        }
    }
    areas
}

/// Lines a `fill` row keeps on a short terminal before fixed rows give way.
const MIN_FILL_LINES: u16 = 6;
/// Lines a fixed row keeps however short the terminal (borders + one line).
const MIN_FIXED_LINES: u16 = 3;

/// Row constraints: fixed rows as given while the fill rows keep
/// [`MIN_FILL_LINES`] each; on a shorter screen the fixed rows shrink in
/// proportion (to [`MIN_FIXED_LINES`] at least) so tables keep some rows.
fn row_heights(dashboard: &Dashboard, height: u16) -> Vec<Constraint> {
    let fixed: u16 = dashboard
        .rows
        .iter()
        .filter_map(|r| match r.height {
            RowHeight::Lines(n) => Some(n),
            RowHeight::Fill(_) => None,
        })
        .sum();
    let fills = dashboard
        .rows
        .iter()
        .filter(|r| matches!(r.height, RowHeight::Fill(_)))
        .count() as u16;
    let room_for_fixed = height.saturating_sub(fills * MIN_FILL_LINES);
    dashboard
        .rows
        .iter()
        .map(|row| match row.height {
            RowHeight::Lines(n) if fixed > room_for_fixed && fills > 0 => Constraint::Length(
                ((u32::from(n) * u32::from(room_for_fixed)) / u32::from(fixed.max(1)))
                    .max(u32::from(MIN_FIXED_LINES.min(n))) as u16,
            ),
            RowHeight::Lines(n) => Constraint::Length(n),
            RowHeight::Fill(weight) => Constraint::Fill(weight),
        })
        .collect()
}

/// Which panel, and which of its visible rows, is at (`x`, `y`).
pub fn hit_test(app: &App, area: Rect, x: u16, y: u16) -> Option<(usize, Option<usize>)> {
    let screen = app.screen();
    let zoom = app.zoom.then_some(screen.focus);
    let areas = panel_areas(&screen.dashboard, body_area(area), zoom);
    let (index, rect) = areas
        .iter()
        .enumerate()
        .find(|(_, r)| r.width > 0 && x >= r.x && x < r.right() && y >= r.y && y < r.bottom())?;
    let state = &screen.panels[index];
    let kind = screen.spec(index).map(|s| s.kind);
    let Some(rows) = kind.and_then(|kind| rows_area(kind, panel_inner(*rect))) else {
        return Some((index, None));
    };
    let offset = scroll_offset(state.selected, rows.height as usize);
    let row = (y >= rows.y && y < rows.bottom())
        .then(|| offset + usize::from(y - rows.y))
        .filter(|r| *r < state.visible.len());
    Some((index, row))
}

/// The inside of a panel's border.
pub fn panel_inner(rect: Rect) -> Rect {
    Block::new().borders(Borders::ALL).inner(rect)
}

/// Where a panel's rows are drawn inside its border (`inner`): below the
/// column header for tables and findings, all of it for bars; `None` for
/// kinds without rows to select.
pub fn rows_area(kind: PanelKind, inner: Rect) -> Option<Rect> {
    match kind {
        PanelKind::Table | PanelKind::Findings => Some(Rect {
            y: inner.y.saturating_add(1).min(inner.bottom()),
            height: inner.height.saturating_sub(1),
            ..inner
        }),
        PanelKind::Bar => Some(inner),
        PanelKind::Stat | PanelKind::Sparkline => None,
    }
}

/// The first visible row so that `selected` shows in `height` rows.
pub fn scroll_offset(selected: usize, height: usize) -> usize {
    if height == 0 || selected < height {
        0
    } else {
        selected + 1 - height
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_start_below_the_border_and_the_column_header() {
        let inner = panel_inner(Rect::new(10, 5, 30, 12));
        assert_eq!(inner, Rect::new(11, 6, 28, 10));
        assert_eq!(
            rows_area(PanelKind::Table, inner),
            Some(Rect::new(11, 7, 28, 9))
        );
        assert_eq!(rows_area(PanelKind::Bar, inner), Some(inner));
        assert_eq!(rows_area(PanelKind::Stat, inner), None);
        assert_eq!(scroll_offset(12, 10), 3);
        assert_eq!(scroll_offset(3, 10), 0);
    }
}
