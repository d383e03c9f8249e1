//! Colours: only the 16 ANSI colours (they exist in every terminal and
//! follow its palette), and none at all under `NO_COLOR` — then focus and
//! selection still show through bold and reverse video.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

/// Colours the series of a time-series panel cycle through.
const SERIES: &[Color] = &[Color::Cyan, Color::Yellow, Color::Magenta, Color::Green];

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Self {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn plain() -> Self {
        Theme { color: false }
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn severity(&self, severity: &str) -> Style {
        match severity {
            "critical" => self.fg(Color::LightMagenta).add_modifier(Modifier::BOLD),
            "high" => self.fg(Color::LightRed).add_modifier(Modifier::BOLD),
            "medium" => self.fg(Color::Yellow),
            "low" => self.fg(Color::Cyan),
            _ => Style::new(),
        }
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }

    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }

    pub fn error(&self) -> Style {
        self.fg(Color::LightRed)
    }

    /// A row whose call failed (error_code set).
    pub fn failed_row(&self) -> Style {
        self.fg(Color::Red)
    }

    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }

    pub fn header_bar(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn column_header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn value(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn bar(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn series(&self, index: usize) -> Style {
        self.fg(SERIES[index % SERIES.len()])
    }

    pub fn key(&self) -> Style {
        self.fg(Color::LightCyan).add_modifier(Modifier::BOLD)
    }
}
