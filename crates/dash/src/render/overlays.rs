//! Overlays drawn over the panels: the help screen (from the key table,
//! [`crate::keymap`], and the dashboard's description) and the detail of
//! one row (every column, hidden ones included).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::app::{App, Screen};
use crate::theme::Theme;

fn centered(area: Rect, width_percent: u16, height_percent: u16) -> Rect {
    let width = (area.width * width_percent / 100).max(20).min(area.width);
    let height = (area.height * height_percent / 100).max(5).min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

pub(super) fn draw_help(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let rect = centered(area, 80, 80);
    Clear.render(rect, buf);
    let screen = app.screen();
    let mut lines: Vec<Line> = crate::keymap::BINDINGS
        .iter()
        .map(|binding| {
            Line::from(vec![
                Span::styled(format!("{:<26}", binding.keys_label), theme.key()),
                Span::raw(binding.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("{} ({})", screen.dashboard.title, screen.dashboard.source),
        theme.value(),
    ));
    for line in screen.dashboard.description.lines() {
        lines.push(Line::raw(line.to_string()));
    }
    lines.push(Line::styled(
        "Windows count back from the newest event in the lake.",
        theme.dim(),
    ));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::bordered()
                .title(" Keys · any key closes ")
                .border_style(theme.border(true)),
        )
        .render(rect, buf);
}

pub(super) fn draw_detail(
    buf: &mut Buffer,
    area: Rect,
    screen: &Screen,
    scroll: u16,
    theme: &Theme,
) {
    let Some(state) = screen.focused() else {
        return;
    };
    let (Some(data), Some(row)) = (state.data(), state.selected_row()) else {
        return;
    };
    let rect = centered(area, 90, 85);
    Clear.render(rect, buf);
    let name_width = data
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = data
        .columns
        .iter()
        .zip(data.rows[row].iter())
        .map(|(name, cell)| {
            let style = if name == "severity" {
                theme.severity(&cell.text)
            } else if name == "error_code" && !cell.text.is_empty() {
                theme.failed_row()
            } else {
                Style::new()
            };
            Line::from(vec![
                Span::styled(format!("{name:<name_width$}  "), theme.key()),
                Span::styled(cell.text.clone(), style),
            ])
        })
        .collect();
    let title = format!(
        " row {} of {} · ↑↓ scroll · any other key closes ",
        state.selected + 1,
        state.visible.len()
    );
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .block(
            Block::bordered()
                .title(title)
                .border_style(theme.border(true)),
        )
        .render(rect, buf);
}
