//! Drawing: a header (where you are, the window), the panels of the top
//! screen on the 12-column grid ([`panels`]; where they go is
//! [`crate::geometry`]), a footer (key hints from [`crate::keymap`],
//! prompts, messages), and the help and row-detail overlays
//! ([`overlays`]). Reads [`App`]; changes nothing.

mod overlays;
mod panels;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::app::{App, Mode, PanelStatus, Screen};
use crate::geometry;
use crate::theme::Theme;
use crate::window::ResolvedWindow;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    draw_to(frame.buffer_mut(), area, app, theme);
}

/// Draws into a buffer (the terminal's, or a test's).
pub fn draw_to(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    if area.height < 3 || area.width < 20 {
        buf.set_stringn(
            area.x,
            area.y,
            "poolsight: window too small",
            area.width as usize,
            Style::new(),
        );
        return;
    }
    let screen = app.screen();
    draw_header(buf, area, app, theme);
    let body = geometry::body_area(area);
    let zoom = app.zoom.then_some(screen.focus);
    let areas = geometry::panel_areas(&screen.dashboard, body, zoom);
    for (index, rect) in areas.iter().enumerate() {
        if rect.width < 3 || rect.height < 2 {
            continue;
        }
        panels::draw_panel(buf, *rect, app, screen, index, theme);
    }
    draw_footer(buf, area, app, theme);
    match &app.mode {
        Mode::Help => overlays::draw_help(buf, area, app, theme),
        Mode::Detail { scroll } => overlays::draw_detail(buf, area, screen, *scroll, theme),
        _ => {}
    }
}

/// The screen as text, one line per terminal row (trailing blanks cut).
pub fn render_text(app: &App, width: u16, height: u16, theme: &Theme) -> String {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    draw_to(&mut buf, area, app, theme);
    buffer_text(&buf)
}

/// A buffer's symbols as lines.
pub fn buffer_text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in area.top()..area.bottom() {
        let mut line = String::new();
        for x in area.left()..area.right() {
            line.push_str(buf[(x, y)].symbol());
        }
        // No-break spaces read as spaces in a snapshot or a pasted screen.
        out.push_str(line.replace('\u{a0}', " ").trim_end());
        out.push('\n');
    }
    out
}

fn short_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "…".into())
}

fn window_text(app: &App) -> String {
    match (&app.resolved, &app.window_error) {
        (_, Some(_)) => format!("{} · lake unreadable", app.window.label()),
        (Some(ResolvedWindow { start, end, .. }), None) if start.is_some() => format!(
            "{} · {} → {} UTC",
            app.window.label(),
            short_time(*start),
            short_time(*end)
        ),
        (Some(_), None) => format!("{} · no events", app.window.label()),
        (None, None) => app.window.label(),
    }
}

fn draw_header(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let line = Rect::new(area.x, area.y, area.width, 1);
    buf.set_style(line, theme.header_bar());
    let crumbs: Vec<String> = app.stack.iter().map(Screen::breadcrumb).collect();
    let loading = app
        .screen()
        .panels
        .iter()
        .filter(|p| matches!(p.status, PanelStatus::Loading))
        .count();
    let mut right = window_text(app);
    if loading > 0 {
        right = format!("loading {loading} · {right}");
    }
    let right = format!(" {right} ");
    let right_width = right.chars().count() as u16;
    let left = format!(" poolsight › {}", crumbs.join(" › "));
    let left_room = area.width.saturating_sub(right_width + 1) as usize;
    buf.set_stringn(
        area.x,
        area.y,
        truncate(&left, left_room),
        left_room,
        theme.header_bar(),
    );
    if right_width < area.width {
        buf.set_stringn(
            area.right() - right_width,
            area.y,
            &right,
            right_width as usize,
            theme.header_bar(),
        );
    }
}

fn draw_footer(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme) {
    let y = area.bottom() - 1;
    let width = area.width as usize;
    let line: Line = match &app.mode {
        Mode::Filter => {
            let filter = app
                .screen()
                .focused()
                .map(|p| p.filter.clone())
                .unwrap_or_default();
            Line::from(vec![
                Span::styled(" filter: ", theme.key()),
                Span::raw(format!("{filter}▏")),
                Span::styled("  ⏎ keep · Esc clear", theme.dim()),
            ])
        }
        Mode::WindowInput { input, error } => {
            let mut spans = vec![
                Span::styled(" window: ", theme.key()),
                Span::raw(format!("{input}▏")),
            ];
            match error {
                Some(error) => spans.push(Span::styled(format!("  {error}"), theme.error())),
                None => spans.push(Span::styled(
                    "  1h 24h 7d all 90m 2w or 2026-11-20..2026-11-21 · ⏎ apply · Esc cancel",
                    theme.dim(),
                )),
            }
            Line::from(spans)
        }
        _ => match (&app.status, &app.window_error) {
            (Some(status), _) => Line::from(Span::styled(format!(" {status}"), theme.error())),
            (None, Some(error)) => Line::from(Span::styled(format!(" {error}"), theme.error())),
            (None, None) => {
                let mut spans = vec![Span::raw(" ")];
                for (key, what) in crate::keymap::BINDINGS.iter().filter_map(|b| b.hint) {
                    spans.push(Span::styled(key, theme.key()));
                    spans.push(Span::raw(format!(" {what}  ")));
                }
                Line::from(spans)
            }
        },
    };
    buf.set_line(area.x, y, &line, width as u16);
}

pub(crate) fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("abc", 0), "");
    }
}
