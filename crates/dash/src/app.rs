//! The dashboard's state and what each action does to it. No terminal and
//! no queries here: loads go to an outbox ([`App::take_requests`]) that
//! the runner hands to the engine, and replies come back through
//! [`App::on_reply`]. Rendering reads this state and never changes it.

use std::sync::Arc;

use crate::data::PanelData;
use crate::engine::{LoadRequest, Reply};
use crate::layout::{Dashboard, Drill, Layouts, Panel, PanelKind, PanelSpec, Row, RowHeight};
use crate::window::{ResolvedWindow, TimeWindow};

/// What the user asked for, from a key or the mouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    NextPanel,
    PrevPanel,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// Drill down (or show the row when there is nowhere to go).
    Enter,
    /// Close, clear the filter, unzoom, or go back a screen.
    Back,
    StartFilter,
    CycleWindow,
    CustomWindow,
    Refresh,
    Help,
    Zoom,
    Detail,
    /// A character typed into the filter or window prompt.
    Char(char),
    Backspace,
    /// Focus panel `index`, select its visible row `row` if given.
    Click {
        panel: usize,
        row: Option<usize>,
    },
    /// Scroll panel `index` by `delta` rows.
    Scroll {
        panel: usize,
        delta: i32,
    },
}

/// Which input the keys go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing a filter for the focused panel.
    Filter,
    /// Typing a custom time window.
    WindowInput {
        input: String,
        error: Option<String>,
    },
    Help,
    /// The selected row, every column.
    Detail {
        scroll: u16,
    },
}

/// A panel's data state.
#[derive(Debug, Clone, PartialEq)]
pub enum PanelStatus {
    Loading,
    Ready(Arc<PanelData>),
    /// The query failed.
    Failed(String),
    /// The layout of the panel is broken.
    Broken(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PanelState {
    pub status: PanelStatus,
    /// Index into `visible`.
    pub selected: usize,
    pub filter: String,
    /// Indexes of the rows that pass the filter.
    pub visible: Vec<usize>,
}

impl PanelState {
    fn new(panel: &Panel) -> Self {
        PanelState {
            status: match &panel.body {
                Ok(_) => PanelStatus::Loading,
                Err(e) => PanelStatus::Broken(e.clone()),
            },
            selected: 0,
            filter: String::new(),
            visible: Vec::new(),
        }
    }

    pub fn data(&self) -> Option<&PanelData> {
        match &self.status {
            PanelStatus::Ready(data) => Some(data),
            _ => None,
        }
    }

    fn refilter(&mut self) {
        let needle = self.filter.to_lowercase();
        self.visible = match &self.status {
            PanelStatus::Ready(data) => data
                .rows
                .iter()
                .enumerate()
                .filter(|(_, row)| {
                    needle.is_empty()
                        || row
                            .iter()
                            .any(|cell| cell.text.to_lowercase().contains(&needle))
                })
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    /// The selected row of the data, if any.
    pub fn selected_row(&self) -> Option<usize> {
        self.visible.get(self.selected).copied()
    }

    fn move_by(&mut self, delta: i64) {
        let last = self.visible.len().saturating_sub(1) as i64;
        self.selected = (self.selected as i64 + delta).clamp(0, last.max(0)) as usize;
    }
}

/// One dashboard on the screen stack.
#[derive(Debug, Clone)]
pub struct Screen {
    pub dashboard: Dashboard,
    pub param: Option<String>,
    pub panels: Vec<PanelState>,
    pub focus: usize,
    pub generation: u64,
    /// The window its data was loaded for.
    pub window: TimeWindow,
    /// The picker of a parameter dashboard opened without its value.
    pub chooser: bool,
}

impl Screen {
    pub fn focused(&self) -> Option<&PanelState> {
        self.panels.get(self.focus)
    }

    fn focused_mut(&mut self) -> Option<&mut PanelState> {
        self.panels.get_mut(self.focus)
    }

    pub fn spec(&self, index: usize) -> Option<&PanelSpec> {
        self.dashboard
            .panel(index)
            .and_then(|p| p.body.as_ref().ok())
    }

    /// How the header names it: `Identity us-east-1:…`.
    pub fn breadcrumb(&self) -> String {
        match &self.param {
            Some(value) => format!("{} {value}", self.dashboard.title),
            None => self.dashboard.title.clone(),
        }
    }

    /// Every panel has its data (or its error).
    pub fn loaded(&self) -> bool {
        self.panels
            .iter()
            .all(|p| !matches!(p.status, PanelStatus::Loading))
    }
}

/// The whole dashboard.
#[derive(Debug)]
pub struct App {
    pub layouts: Layouts,
    pub stack: Vec<Screen>,
    pub window: TimeWindow,
    pub resolved: Option<ResolvedWindow>,
    pub window_error: Option<String>,
    pub mode: Mode,
    /// A one-line message in the footer until the next key.
    pub status: Option<String>,
    pub zoom: bool,
    pub quit: bool,
    generation: u64,
    outbox: Vec<LoadRequest>,
}

impl App {
    /// Opens `dashboard` (with its parameter `param`, if it takes one).
    pub fn new(
        layouts: Layouts,
        dashboard: &str,
        param: Option<String>,
        window: TimeWindow,
    ) -> Result<Self, String> {
        let mut app = App {
            layouts,
            stack: Vec::new(),
            window,
            resolved: None,
            window_error: None,
            mode: Mode::Normal,
            status: None,
            zoom: false,
            quit: false,
            generation: 0,
            outbox: Vec::new(),
        };
        if app.layouts.get(dashboard).is_none() {
            return Err(format!(
                "no dashboard {dashboard:?}; known: {}",
                app.layouts.names().collect::<Vec<_>>().join(", ")
            ));
        }
        app.open(dashboard, param, false);
        Ok(app)
    }

    pub fn screen(&self) -> &Screen {
        self.stack.last().expect("the stack is never empty")
    }

    fn screen_mut(&mut self) -> &mut Screen {
        self.stack.last_mut().expect("the stack is never empty")
    }

    /// Loads the engine should run (taken once).
    pub fn take_requests(&mut self) -> Vec<LoadRequest> {
        std::mem::take(&mut self.outbox)
    }

    /// Pushes `name` (or its chooser when it needs a value it was not given).
    fn open(&mut self, name: &str, param: Option<String>, refresh: bool) {
        let Some(dashboard) = self.layouts.get(name).cloned() else {
            self.status = Some(format!("no dashboard {name:?}"));
            return;
        };
        let (dashboard, param, chooser) = match (&dashboard.param, param) {
            (Some(_), Some(value)) => (dashboard, Some(value), false),
            (Some(spec), None) => (chooser_of(&dashboard, spec), None, true),
            (None, _) => (dashboard, None, false),
        };
        let panels = dashboard.panels().map(PanelState::new).collect();
        self.stack.push(Screen {
            dashboard,
            param,
            panels,
            focus: 0,
            generation: 0,
            window: self.window,
            chooser,
        });
        self.load(refresh);
    }

    /// (Re)loads the top screen for the current window.
    fn load(&mut self, refresh: bool) {
        self.generation += 1;
        let generation = self.generation;
        let window = self.window;
        let screen = self.screen_mut();
        screen.generation = generation;
        screen.window = window;
        let param = match (&screen.dashboard.param, &screen.param) {
            (Some(spec), Some(value)) if !screen.chooser => {
                Some((spec.name.clone(), value.clone()))
            }
            _ => None,
        };
        let mut panels = Vec::new();
        for (index, panel) in screen.dashboard.panels().enumerate() {
            if let Ok(spec) = &panel.body {
                panels.push((index, spec.sql.clone()));
                screen.panels[index].status = PanelStatus::Loading;
                screen.panels[index].visible.clear();
            }
        }
        self.outbox.push(LoadRequest {
            generation,
            window,
            refresh,
            param,
            panels,
        });
    }

    /// Takes a reply of the engine.
    pub fn on_reply(&mut self, reply: Reply) {
        match reply {
            Reply::Window { generation, result } => {
                if generation == self.screen().generation {
                    match result {
                        Ok(resolved) => {
                            self.resolved = Some(resolved);
                            self.window_error = None;
                        }
                        Err(error) => self.window_error = Some(error),
                    }
                }
            }
            Reply::Panel {
                generation,
                panel,
                result,
                ..
            } => {
                let Some(screen) = self.stack.iter_mut().find(|s| s.generation == generation)
                else {
                    return;
                };
                let Some(state) = screen.panels.get_mut(panel) else {
                    return;
                };
                state.status = match result {
                    Ok(data) => PanelStatus::Ready(data),
                    Err(error) => PanelStatus::Failed(error),
                };
                state.refilter();
            }
        }
    }

    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        if action != Action::Quit {
            self.status = None;
        }
        match self.mode.clone() {
            Mode::Help => {
                if action == Action::Quit {
                    self.quit = true;
                }
                self.mode = Mode::Normal;
            }
            Mode::Detail { scroll } => match action {
                Action::Quit => self.quit = true,
                Action::Down | Action::Scroll { delta: 1.., .. } => {
                    self.mode = Mode::Detail {
                        scroll: scroll.saturating_add(1),
                    }
                }
                Action::Up | Action::Scroll { .. } => {
                    self.mode = Mode::Detail {
                        scroll: scroll.saturating_sub(1),
                    }
                }
                _ => self.mode = Mode::Normal,
            },
            Mode::Filter => self.apply_filter_input(action),
            Mode::WindowInput { input, .. } => self.apply_window_input(action, input),
            Mode::Normal => self.apply_normal(action),
        }
    }

    fn apply_filter_input(&mut self, action: Action) {
        match action {
            Action::Char(c) => {
                if let Some(panel) = self.screen_mut().focused_mut() {
                    panel.filter.push(c);
                    panel.selected = 0;
                    panel.refilter();
                }
            }
            Action::Backspace => {
                if let Some(panel) = self.screen_mut().focused_mut() {
                    panel.filter.pop();
                    panel.refilter();
                }
            }
            Action::Enter => self.mode = Mode::Normal,
            Action::Back => {
                if let Some(panel) = self.screen_mut().focused_mut() {
                    panel.filter.clear();
                    panel.refilter();
                }
                self.mode = Mode::Normal;
            }
            Action::Quit => self.quit = true,
            Action::Up | Action::Down => {
                self.mode = Mode::Normal;
                self.apply_normal(action);
            }
            _ => {}
        }
    }

    fn apply_window_input(&mut self, action: Action, mut input: String) {
        match action {
            Action::Char(c) => {
                input.push(c);
                self.mode = Mode::WindowInput { input, error: None };
            }
            Action::Backspace => {
                input.pop();
                self.mode = Mode::WindowInput { input, error: None };
            }
            Action::Enter => match TimeWindow::parse(&input) {
                Ok(window) => {
                    self.mode = Mode::Normal;
                    self.set_window(window);
                }
                Err(error) => {
                    self.mode = Mode::WindowInput {
                        input,
                        error: Some(error),
                    }
                }
            },
            Action::Back => self.mode = Mode::Normal,
            Action::Quit => self.quit = true,
            _ => {}
        }
    }

    /// Changes the window and reloads what is on screen.
    pub fn set_window(&mut self, window: TimeWindow) {
        self.window = window;
        self.load(false);
    }

    fn apply_normal(&mut self, action: Action) {
        let count = self.screen().panels.len().max(1);
        match action {
            Action::Quit => self.quit = true,
            Action::NextPanel => {
                let screen = self.screen_mut();
                screen.focus = (screen.focus + 1) % count;
            }
            Action::PrevPanel => {
                let screen = self.screen_mut();
                screen.focus = (screen.focus + count - 1) % count;
            }
            Action::Up => self.move_rows(-1),
            Action::Down => self.move_rows(1),
            Action::PageUp => self.move_rows(-10),
            Action::PageDown => self.move_rows(10),
            Action::Top => self.move_rows(i64::MIN / 2),
            Action::Bottom => self.move_rows(i64::MAX / 2),
            Action::Enter => self.drill(),
            Action::Back => self.back(),
            Action::StartFilter => {
                if self.focused_has_rows() {
                    self.mode = Mode::Filter;
                } else {
                    self.status = Some("this panel has no rows to filter".into());
                }
            }
            Action::CycleWindow => {
                let next = self.window.next_preset();
                self.set_window(next);
            }
            Action::CustomWindow => {
                self.mode = Mode::WindowInput {
                    input: String::new(),
                    error: None,
                }
            }
            Action::Refresh => self.load(true),
            Action::Help => self.mode = Mode::Help,
            Action::Zoom => self.zoom = !self.zoom,
            Action::Detail => {
                if self.has_selected_row() {
                    self.mode = Mode::Detail { scroll: 0 };
                }
            }
            Action::Click { panel, row } => {
                let screen = self.screen_mut();
                if panel < screen.panels.len() {
                    screen.focus = panel;
                    if let Some(row) = row {
                        let state = &mut screen.panels[panel];
                        if row < state.visible.len() {
                            state.selected = row;
                        }
                    }
                }
            }
            Action::Scroll { panel, delta } => {
                if let Some(state) = self.screen_mut().panels.get_mut(panel) {
                    state.move_by(delta as i64);
                }
            }
            Action::Char(_) | Action::Backspace => {}
        }
    }

    /// The focused panel has a selected row (Space / Enter can show it).
    fn has_selected_row(&self) -> bool {
        self.screen()
            .focused()
            .and_then(|p| p.selected_row())
            .is_some()
    }

    fn focused_has_rows(&self) -> bool {
        let screen = self.screen();
        let kind = screen.spec(screen.focus).map(|s| s.kind);
        matches!(
            kind,
            Some(PanelKind::Table | PanelKind::Bar | PanelKind::Findings)
        ) && screen.focused().and_then(|p| p.data()).is_some()
    }

    fn move_rows(&mut self, delta: i64) {
        let rows = self.focused_has_rows();
        let screen = self.screen_mut();
        let count = screen.panels.len().max(1);
        match screen.focused_mut() {
            Some(panel) if rows => panel.move_by(delta),
            // Panels without rows: up and down move between panels.
            _ if delta > 0 => screen.focus = (screen.focus + 1) % count,
            _ => screen.focus = (screen.focus + count - 1) % count,
        }
    }

    fn back(&mut self) {
        if self
            .screen()
            .focused()
            .is_some_and(|p| !p.filter.is_empty())
        {
            if let Some(panel) = self.screen_mut().focused_mut() {
                panel.filter.clear();
                panel.refilter();
            }
        } else if self.zoom {
            self.zoom = false;
        } else if self.stack.len() > 1 {
            self.stack.pop();
            // Its data is kept, unless it is for another window or its load
            // was cancelled by the screen just left.
            if self.screen().window != self.window || !self.screen().loaded() {
                self.load(false);
            }
        } else {
            self.status = Some("this is the first screen: q quits".into());
        }
    }

    /// Where Enter on the selected row goes: (dashboard, value).
    pub fn drill_target(&self) -> Result<(String, String), String> {
        let screen = self.screen();
        let spec = screen
            .spec(screen.focus)
            .ok_or_else(|| "nothing to open here".to_string())?;
        let state = screen.focused().ok_or_else(|| "no panel".to_string())?;
        let data = state
            .data()
            .ok_or_else(|| "this panel has no data yet".to_string())?;
        let row = state
            .selected_row()
            .ok_or_else(|| "no row selected".to_string())?;
        let value_of = |column: &str| {
            data.column(column)
                .map(|c| data.rows[row][c].text.clone())
                .filter(|v| !v.is_empty())
        };
        if let Some(drill) = &spec.drill {
            let target = self
                .layouts
                .get(&drill.dashboard)
                .ok_or_else(|| format!("no dashboard {:?}", drill.dashboard))?;
            let column = drill
                .column
                .clone()
                .or_else(|| target.param.as_ref().map(|p| p.name.clone()))
                .unwrap_or_default();
            let value = value_of(&column)
                .or_else(|| {
                    // A chooser's first column is the value whatever its name.
                    (data.column(&column).is_none())
                        .then(|| data.rows[row].first().map(|c| c.text.clone()))
                        .flatten()
                        .filter(|v| !v.is_empty())
                })
                .ok_or_else(|| format!("this row has no {column}"))?;
            return Ok((drill.dashboard.clone(), value));
        }
        if spec.kind == PanelKind::Findings {
            for (column, dashboard) in [("identity_id", "identity"), ("identity_pool_id", "pool")] {
                if let (Some(value), Some(_)) = (value_of(column), self.layouts.get(dashboard)) {
                    return Ok((dashboard.to_string(), value));
                }
            }
            return Err("this finding names no identity or pool".into());
        }
        Err("no drill-down from this panel".into())
    }

    fn drill(&mut self) {
        match self.drill_target() {
            Ok((dashboard, value)) => {
                if self.screen().chooser {
                    // Choosing replaces the chooser.
                    self.stack.pop();
                }
                self.zoom = false;
                self.open(&dashboard, Some(value), false);
            }
            Err(reason) => {
                if self.has_selected_row() {
                    self.mode = Mode::Detail { scroll: 0 };
                } else {
                    self.status = Some(reason);
                }
            }
        }
    }
}

/// The picker shown for a parameter dashboard opened without a value.
fn chooser_of(dashboard: &Dashboard, spec: &crate::layout::ParamSpec) -> Dashboard {
    let label = spec.label.clone().unwrap_or_else(|| spec.name.clone());
    Dashboard {
        name: dashboard.name.clone(),
        source: dashboard.source.clone(),
        title: format!("{}: choose", dashboard.title),
        description: dashboard.description.clone(),
        param: dashboard.param.clone(),
        rows: vec![Row {
            height: RowHeight::Fill(1),
            panels: vec![Panel {
                title: format!("Pick one {label}: Enter opens it, / filters"),
                width: 12,
                body: Ok(PanelSpec {
                    kind: PanelKind::Table,
                    sql: spec.choices.clone(),
                    drill: Some(Drill {
                        dashboard: dashboard.name.clone(),
                        column: Some(spec.name.clone()),
                    }),
                }),
            }],
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Cell, PanelData};
    use crate::layout::QuerySource;

    fn layouts() -> Layouts {
        Layouts::from_texts(
            [
                (
                    "top",
                    r#"title = "Top"
[[row]]
[[row.panel]]
title = "Who"
kind = "table"
width = 6
drill = { dashboard = "one" }
sql = "SELECT identity_id FROM identity_activity"
[[row.panel]]
title = "Slow"
kind = "stat"
width = 6
sql = "SELECT count(*) AS n FROM events"
"#,
                ),
                (
                    "one",
                    r#"title = "One"
param = { name = "identity_id", choices = "SELECT 1" }
[[row]]
[[row.panel]]
title = "Calls"
kind = "table"
sql = "SELECT * FROM events WHERE identity_id = {{identity_id}}"
"#,
                ),
            ],
            &QuerySource::Embedded,
        )
    }

    fn rows(values: &[&str]) -> Arc<PanelData> {
        Arc::new(PanelData {
            columns: vec!["identity_id".into()],
            rows: values
                .iter()
                .map(|v| {
                    vec![Cell {
                        text: v.to_string(),
                        number: None,
                        micros: None,
                    }]
                })
                .collect(),
            truncated: false,
        })
    }

    #[test]
    fn drilling_down_and_back_reloads_only_what_was_cut_short() {
        let mut app = App::new(layouts(), "top", None, TimeWindow::All).unwrap();
        let first = app.take_requests();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].panels.len(), 2);
        // Only the first panel answers before the user drills down.
        app.on_reply(Reply::Panel {
            generation: first[0].generation,
            panel: 0,
            result: Ok(rows(&["us-east-1:a", "us-east-1:b"])),
            elapsed: Default::default(),
        });
        app.apply(Action::Down);
        app.apply(Action::Enter);
        assert_eq!(app.screen().param.as_deref(), Some("us-east-1:b"));
        let drill = app.take_requests();
        assert_eq!(
            drill[0].param,
            Some(("identity_id".to_string(), "us-east-1:b".to_string()))
        );
        app.apply(Action::Back);
        assert_eq!(app.screen().dashboard.name, "top");
        assert_eq!(app.screen().panels[0].selected, 1, "selection kept");
        let reload = app.take_requests();
        assert_eq!(reload.len(), 1, "the cut-short screen loads again");
        assert!(reload[0].generation > drill[0].generation);
        // A fully loaded screen is not reloaded on the way back.
        for panel in 0..2 {
            app.on_reply(Reply::Panel {
                generation: reload[0].generation,
                panel,
                result: Ok(rows(&["us-east-1:a"])),
                elapsed: Default::default(),
            });
        }
        app.apply(Action::Enter);
        app.take_requests();
        app.apply(Action::Back);
        assert!(app.take_requests().is_empty());
        assert!(app.screen().loaded());
    }

    #[test]
    fn a_parameter_dashboard_without_its_value_opens_a_picker() {
        let mut app = App::new(layouts(), "one", None, TimeWindow::All).unwrap();
        assert!(app.screen().chooser);
        let request = app.take_requests().remove(0);
        assert_eq!(request.param, None);
        assert_eq!(request.panels[0].1, "SELECT 1");
        app.on_reply(Reply::Panel {
            generation: request.generation,
            panel: 0,
            result: Ok(rows(&["us-east-1:z"])),
            elapsed: Default::default(),
        });
        app.apply(Action::Enter);
        assert_eq!(app.stack.len(), 1, "the choice replaces the picker");
        assert!(!app.screen().chooser);
        assert_eq!(app.screen().param.as_deref(), Some("us-east-1:z"));
        assert!(App::new(layouts(), "nope", None, TimeWindow::All)
            .unwrap_err()
            .contains("known: one, top"));
    }
}
