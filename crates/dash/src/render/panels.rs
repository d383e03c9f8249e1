//! Drawing one panel: its border and title (filter, row counter), and its
//! body by kind — stat, table (and findings), bars, time series — or
//! `loading…` / its error.

use chrono::DateTime;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::truncate;
use crate::app::{App, Mode, PanelState, PanelStatus, Screen};
use crate::data::{group_thousands, PanelData};
use crate::geometry;
use crate::layout::PanelKind;
use crate::theme::Theme;
use crate::window::ResolvedWindow;

pub(super) fn draw_panel(
    buf: &mut Buffer,
    rect: Rect,
    app: &App,
    screen: &Screen,
    index: usize,
    theme: &Theme,
) {
    let panel = screen
        .dashboard
        .panel(index)
        .expect("areas follow the panels");
    let state = &screen.panels[index];
    let focused = index == screen.focus;
    let kind = screen.spec(index).map(|s| s.kind);
    let mut title = format!(" {} ", panel.title);
    if !state.filter.is_empty() || (focused && app.mode == Mode::Filter) {
        title.push_str(&format!("/{} ", state.filter));
    }
    let mut block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(title, theme.title(focused)));
    if let (Some(PanelKind::Table | PanelKind::Findings | PanelKind::Bar), Some(data)) =
        (kind, state.data())
    {
        let mut counter = if state.visible.is_empty() {
            format!(" 0/{} ", group_thousands(data.rows.len() as i64))
        } else {
            format!(
                " {}/{} ",
                group_thousands(state.selected as i64 + 1),
                group_thousands(state.visible.len() as i64)
            )
        };
        if data.truncated {
            counter = format!(
                " first {}{counter}",
                group_thousands(data.rows.len() as i64)
            );
        }
        block = block.title_top(Line::from(Span::styled(counter, theme.dim())).right_aligned());
    }
    let inner = block.inner(rect);
    block.render(rect, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    match (&state.status, kind) {
        (PanelStatus::Loading, _) => {
            buf.set_stringn(
                inner.x + 1,
                inner.y,
                "loading…",
                inner.width as usize,
                theme.dim(),
            );
        }
        (PanelStatus::Failed(error) | PanelStatus::Broken(error), _) => {
            Paragraph::new(Text::styled(error.clone(), theme.error()))
                .wrap(Wrap { trim: false })
                .render(inner, buf);
        }
        (PanelStatus::Ready(data), Some(kind)) => match kind {
            PanelKind::Stat => draw_stat(buf, inner, data, theme),
            PanelKind::Table | PanelKind::Findings => {
                draw_table(buf, inner, data, state, focused, theme)
            }
            PanelKind::Bar => draw_bars(buf, inner, data, state, focused, theme),
            PanelKind::Sparkline => draw_series(buf, inner, data, app.resolved.as_ref(), theme),
        },
        (PanelStatus::Ready(_), None) => {}
    }
}

pub(super) fn empty_message(buf: &mut Buffer, inner: Rect, text: &str, theme: &Theme) {
    buf.set_stringn(
        inner.x + 1,
        inner.y,
        text,
        inner.width.saturating_sub(1) as usize,
        theme.dim(),
    );
}

fn draw_stat(buf: &mut Buffer, inner: Rect, data: &PanelData, theme: &Theme) {
    let Some(row) = data.rows.first() else {
        return empty_message(buf, inner, "no data", theme);
    };
    let items: Vec<(String, &str)> = data
        .columns
        .iter()
        .zip(row.iter())
        .filter(|(name, _)| !name.starts_with('_'))
        .map(|(name, cell)| (name.replace('_', " "), cell.text.as_str()))
        .collect();
    if items.is_empty() {
        return;
    }
    let cell_width = items
        .iter()
        .map(|(n, v)| n.chars().count().max(v.chars().count()) + 2)
        .max()
        .unwrap_or(4) as u16;
    let per_line = (inner.width / cell_width.max(1)).max(1) as usize;
    let lines = items.len().div_ceil(per_line) as u16;
    if lines * 2 > inner.height {
        // No room for value-over-label: "value label" pairs, wrapped.
        let mut spans = Vec::new();
        for (name, value) in &items {
            spans.push(Span::styled(
                value.to_string(),
                theme.severity(name).patch(theme.value()),
            ));
            // A no-break space keeps each value on the line of its label.
            spans.push(Span::styled(
                format!("\u{a0}{}   ", name.replace(' ', "\u{a0}")),
                theme.dim(),
            ));
        }
        Paragraph::new(Line::from(spans))
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    }
    // Spread the items when they fit on one line; a grid otherwise.
    let slot = if lines == 1 {
        inner.width / items.len() as u16
    } else {
        cell_width
    };
    for (i, (name, value)) in items.iter().enumerate() {
        let x = inner.x + (i % per_line) as u16 * slot;
        let y = inner.y + (i / per_line) as u16 * 2;
        let width = slot.min(inner.right().saturating_sub(x)) as usize;
        let style = theme.severity(name).patch(theme.value());
        buf.set_stringn(
            x + 1,
            y,
            truncate(value, width.saturating_sub(1)),
            width,
            style,
        );
        buf.set_stringn(
            x + 1,
            y + 1,
            truncate(name, width.saturating_sub(1)),
            width,
            theme.dim(),
        );
    }
}

/// Column widths that fit `available` (one space between columns): the
/// widest columns give way first, one character at a time, down to 12
/// characters (or less when they need less); if that is still too wide,
/// columns are dropped from the right (width 0).
fn fit_columns(desired: &[usize], available: usize) -> Vec<usize> {
    let minimum: Vec<usize> = desired.iter().map(|d| (*d).min(12)).collect();
    let mut widths = desired.to_vec();
    let total = |widths: &[usize]| {
        let shown: Vec<&usize> = widths.iter().filter(|w| **w > 0).collect();
        shown.iter().copied().sum::<usize>() + shown.len().saturating_sub(1)
    };
    while total(&widths) > available {
        let widest = (0..widths.len())
            .filter(|i| widths[*i] > minimum[*i])
            .max_by_key(|i| (widths[*i], usize::MAX - i));
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
    while total(&widths) > available {
        match widths.iter().rposition(|w| *w > 0) {
            Some(last) if last > 0 => widths[last] = 0,
            _ => break,
        }
    }
    widths
}

fn draw_table(
    buf: &mut Buffer,
    inner: Rect,
    data: &PanelData,
    state: &PanelState,
    focused: bool,
    theme: &Theme,
) {
    let shown_columns: Vec<usize> = (0..data.columns.len())
        .filter(|c| !data.columns[*c].starts_with('_'))
        .collect();
    if state.visible.is_empty() {
        let text = if state.filter.is_empty() {
            "no rows"
        } else {
            "no rows match the filter"
        };
        return empty_message(buf, inner, text, theme);
    }
    let rows_area = geometry::rows_area(PanelKind::Table, inner).unwrap_or(inner);
    let height = rows_area.height as usize;
    let offset = geometry::scroll_offset(state.selected, height);
    let rows = &state.visible[offset..(offset + height).min(state.visible.len())];
    // Widths from the first rows and the rows on screen, so they stay put.
    let sample = state.visible.iter().take(200).chain(rows.iter());
    let mut desired: Vec<usize> = shown_columns
        .iter()
        .map(|c| data.columns[*c].chars().count())
        .collect();
    for row in sample {
        for (slot, column) in shown_columns.iter().enumerate() {
            desired[slot] =
                desired[slot].max(data.rows[*row][*column].text.chars().count().min(60));
        }
    }
    let widths = fit_columns(&desired, inner.width as usize);
    let error_column = data.column("error_code");
    let severity_column = data.column("severity");
    // (column, x, width) of every column drawn.
    let mut positions = Vec::new();
    let mut x = inner.x;
    for (slot, column) in shown_columns.iter().enumerate() {
        if x >= inner.right() {
            break;
        }
        if widths[slot] == 0 {
            continue;
        }
        let width = widths[slot].min((inner.right() - x) as usize);
        positions.push((*column, x, width));
        x = x.saturating_add(widths[slot] as u16 + 1);
    }
    for (column, x, width) in &positions {
        buf.set_stringn(
            *x,
            inner.y,
            truncate(&data.columns[*column], *width),
            *width,
            theme.column_header(),
        );
    }
    for (line, row_index) in rows.iter().enumerate() {
        let y = rows_area.y + line as u16;
        let row = &data.rows[*row_index];
        let failed = error_column.is_some_and(|c| !row[c].text.is_empty());
        let base = if failed {
            theme.failed_row()
        } else {
            Style::new()
        };
        let selected = focused && offset + line == state.selected;
        for (column, x, width) in &positions {
            let style = if Some(*column) == severity_column {
                base.patch(theme.severity(&row[*column].text))
            } else {
                base
            };
            buf.set_stringn(*x, y, truncate(&row[*column].text, *width), *width, style);
        }
        if selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme.selected());
        }
    }
}

/// The label column (first text column) and value column (first number).
fn bar_columns(data: &PanelData) -> Option<(usize, usize)> {
    let first = data.rows.first()?;
    let value = (0..data.columns.len()).find(|c| first[*c].number.is_some())?;
    let label = (0..data.columns.len())
        .find(|c| *c != value && first[*c].number.is_none() && !data.columns[*c].starts_with('_'))
        .unwrap_or(0);
    Some((label, value))
}

fn draw_bars(
    buf: &mut Buffer,
    inner: Rect,
    data: &PanelData,
    state: &PanelState,
    focused: bool,
    theme: &Theme,
) {
    if state.visible.is_empty() {
        return empty_message(buf, inner, "no rows", theme);
    }
    let Some((label_column, value_column)) = bar_columns(data) else {
        return empty_message(
            buf,
            inner,
            "a bar panel needs a label and a number column",
            theme,
        );
    };
    let rows_area = geometry::rows_area(PanelKind::Bar, inner).unwrap_or(inner);
    let height = rows_area.height as usize;
    let offset = geometry::scroll_offset(state.selected, height);
    let rows = &state.visible[offset..(offset + height).min(state.visible.len())];
    let max = state
        .visible
        .iter()
        .filter_map(|r| data.rows[*r][value_column].number)
        .fold(0.0_f64, f64::max);
    let label_width = state
        .visible
        .iter()
        .map(|r| data.rows[*r][label_column].text.chars().count())
        .max()
        .unwrap_or(0)
        .min(inner.width as usize * 2 / 5)
        .max(1);
    let value_width = state
        .visible
        .iter()
        .map(|r| data.rows[*r][value_column].text.chars().count())
        .max()
        .unwrap_or(1);
    let bar_room = (inner.width as usize).saturating_sub(label_width + value_width + 2);
    for (line, row_index) in rows.iter().enumerate() {
        let y = rows_area.y + line as u16;
        let row = &data.rows[*row_index];
        buf.set_stringn(
            inner.x,
            y,
            truncate(&row[label_column].text, label_width),
            label_width,
            Style::new(),
        );
        let value = row[value_column].number.unwrap_or(0.0);
        let eighths = if max > 0.0 {
            ((value / max) * (bar_room * 8) as f64).round() as usize
        } else {
            0
        };
        let mut bar = "█".repeat(eighths / 8);
        const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
        bar.push_str(PARTS[eighths % 8]);
        if bar.is_empty() && value > 0.0 {
            bar.push('▏');
        }
        let bar_x = inner.x + label_width as u16 + 1;
        buf.set_stringn(bar_x, y, &bar, bar_room, theme.bar());
        let text = &row[value_column].text;
        let value_x = inner.right().saturating_sub(text.chars().count() as u16);
        buf.set_stringn(value_x, y, text, value_width, theme.value());
        if focused && offset + line == state.selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme.selected());
        }
    }
}

/// Buckets from the window's start to its end, zero where the query had none.
fn series_buckets(
    data: &PanelData,
    series: usize,
    window: Option<&ResolvedWindow>,
) -> (Vec<f64>, Option<i64>, Option<i64>) {
    let times: Vec<i64> = data.rows.iter().filter_map(|r| r[0].micros).collect();
    let Some(window) = window else {
        return (
            data.rows
                .iter()
                .map(|r| r[series].number.unwrap_or(0.0))
                .collect(),
            times.first().copied(),
            times.last().copied(),
        );
    };
    let step = window.bucket_seconds.max(1) * 1_000_000;
    let floor = |t: i64| t.div_euclid(step) * step;
    let start = window
        .start
        .map(|t| t.timestamp_micros())
        .or(times.iter().copied().min());
    let end = window
        .end
        .map(|t| t.timestamp_micros() - 1)
        .or(times.iter().copied().max());
    let (Some(start), Some(end)) = (start, end) else {
        return (Vec::new(), None, None);
    };
    let first = floor(start);
    let count = ((floor(end) - first) / step + 1).clamp(1, 5_000) as usize;
    let mut values = vec![0.0; count];
    for row in &data.rows {
        if let (Some(t), Some(v)) = (row[0].micros, row[series].number) {
            let slot = (floor(t) - first) / step;
            if (0..count as i64).contains(&slot) {
                values[slot as usize] += v;
            }
        }
    }
    (values, Some(first), Some(end))
}

/// `values` squeezed (summed) or stretched to `width` columns.
fn resample(values: &[f64], width: usize) -> Vec<f64> {
    if values.is_empty() || width == 0 {
        return Vec::new();
    }
    if values.len() > width {
        let per = values.len().div_ceil(width);
        values.chunks(per).map(|c| c.iter().sum()).collect()
    } else {
        // Each column shows the bucket under it: the chart spans the width.
        (0..width)
            .map(|x| values[x * values.len() / width])
            .collect()
    }
}

fn draw_series(
    buf: &mut Buffer,
    inner: Rect,
    data: &PanelData,
    window: Option<&ResolvedWindow>,
    theme: &Theme,
) {
    let series: Vec<usize> = (1..data.columns.len())
        .filter(|c| !data.columns[*c].starts_with('_'))
        .collect();
    if data.columns.is_empty() || series.is_empty() {
        return empty_message(
            buf,
            inner,
            "a sparkline needs a time column and a number column",
            theme,
        );
    }
    if data.rows.iter().any(|r| r[0].micros.is_none()) {
        return empty_message(
            buf,
            inner,
            "the first column must be a time (date_bin(...))",
            theme,
        );
    }
    let axis = inner.height > (series.len() * 2) as u16;
    let room = inner.height.saturating_sub(u16::from(axis));
    let per_series = (room / series.len() as u16).max(1);
    let mut bounds = (None, None);
    for (n, column) in series.iter().enumerate() {
        let top = inner.y + n as u16 * per_series;
        if top >= inner.y + room {
            break;
        }
        let (values, first, last) = series_buckets(data, *column, window);
        bounds = (first, last);
        let total: f64 = values.iter().sum();
        let peak = values.iter().copied().fold(0.0, f64::max);
        let bucket = window
            .map(|w| format!("/{}", w.bucket_label()))
            .unwrap_or_default();
        let caption = format!(
            "{}  {} · peak {}{bucket}",
            data.columns[*column],
            group_thousands(total as i64),
            group_thousands(peak as i64)
        );
        buf.set_stringn(
            inner.x,
            top,
            truncate(&caption, inner.width as usize),
            inner.width as usize,
            theme.series(n),
        );
        let chart_height = per_series.saturating_sub(1).max(1);
        if per_series < 2 {
            continue;
        }
        let columns = resample(&values, inner.width as usize);
        let max = columns.iter().copied().fold(0.0, f64::max);
        const LEVELS: [&str; 9] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
        for (x, value) in columns.iter().enumerate() {
            let mut eighths = if max > 0.0 {
                ((value / max) * f64::from(chart_height) * 8.0).round() as u16
            } else {
                0
            };
            if eighths == 0 && *value > 0.0 {
                eighths = 1;
            }
            for level in 0..chart_height {
                let y = top + per_series - 1 - level;
                let part = eighths.saturating_sub(level * 8).min(8);
                if part > 0 {
                    buf.set_string(
                        inner.x + x as u16,
                        y,
                        LEVELS[part as usize],
                        theme.series(n),
                    );
                }
            }
        }
    }
    if axis {
        let y = inner.bottom() - 1;
        let format = |t: Option<i64>| {
            t.and_then(DateTime::from_timestamp_micros)
                .map(|t| t.format("%m-%d %H:%M").to_string())
                .unwrap_or_default()
        };
        let left = format(bounds.0);
        let right = format(bounds.1);
        buf.set_stringn(inner.x, y, &left, inner.width as usize, theme.dim());
        let right_x = inner.right().saturating_sub(right.chars().count() as u16);
        if right_x > inner.x + left.chars().count() as u16 {
            buf.set_string(right_x, y, &right, theme.dim());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_shrink_widest_first() {
        assert_eq!(fit_columns(&[10, 40, 5], 60), vec![10, 40, 5]);
        assert_eq!(fit_columns(&[10, 40, 5], 30), vec![10, 13, 5]);
        assert_eq!(fit_columns(&[30, 30, 8], 50), vec![20, 20, 8]);
        assert_eq!(fit_columns(&[40, 40, 40], 30), vec![12, 12, 0]);
        assert_eq!(fit_columns(&[40], 5), vec![12]);
    }

    #[test]
    fn series_are_squeezed_or_stretched() {
        assert_eq!(resample(&[1.0, 2.0, 3.0, 4.0], 2), vec![3.0, 7.0]);
        assert_eq!(resample(&[1.0, 2.0], 5), vec![1.0, 1.0, 1.0, 2.0, 2.0]);
    }
}
