//! Keys and mouse events to [`Action`]s. Which action a key means depends
//! on the mode: in a prompt, letters are text; elsewhere they are commands
//! (from the one key table, [`crate::keymap`]).

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use crate::app::{Action, App, Mode};

/// The action of a key press (`None`: ignored).
pub fn key_action(mode: &Mode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char(c) => crate::keymap::control_action(c),
            _ => None,
        };
    }
    let typing = matches!(mode, Mode::Filter | Mode::WindowInput { .. });
    if typing {
        return match key.code {
            KeyCode::Char(c) => Some(Action::Char(c)),
            KeyCode::Backspace => Some(Action::Backspace),
            KeyCode::Enter => Some(Action::Enter),
            KeyCode::Esc => Some(Action::Back),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            _ => None,
        };
    }
    crate::keymap::action_of(key.code)
}

/// The action of a mouse event over a frame of `area`.
pub fn mouse_action(app: &App, area: Rect, event: MouseEvent) -> Option<Action> {
    let (panel, row) = crate::geometry::hit_test(app, area, event.column, event.row)?;
    match event.kind {
        MouseEventKind::ScrollDown => Some(Action::Scroll { panel, delta: 3 }),
        MouseEventKind::ScrollUp => Some(Action::Scroll { panel, delta: -3 }),
        MouseEventKind::Down(_) => Some(Action::Click { panel, row }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn letters_are_commands_outside_prompts_and_text_inside() {
        assert_eq!(
            key_action(&Mode::Normal, key(KeyCode::Char('q'))),
            Some(Action::Quit)
        );
        assert_eq!(
            key_action(&Mode::Filter, key(KeyCode::Char('q'))),
            Some(Action::Char('q'))
        );
        assert_eq!(
            key_action(
                &Mode::Normal,
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            key_action(
                &Mode::Filter,
                KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(
            key_action(&Mode::Normal, key(KeyCode::Char('j'))),
            Some(Action::Down)
        );
        assert_eq!(key_action(&Mode::Normal, key(KeyCode::F(5))), None);
    }
}
