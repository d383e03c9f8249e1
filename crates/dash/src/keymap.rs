//! The one table of keys: what each key does outside prompts
//! ([`crate::input`] reads it), the footer's hints and the help screen
//! ([`crate::render`] reads it). A key added here shows up in all three.

use ratatui::crossterm::event::KeyCode;

use crate::app::Action;

/// One line of the help screen: its keys and what they do.
pub struct Binding {
    /// The keys as people read them (`"Tab / Shift-Tab, ← → h l"`).
    pub keys_label: &'static str,
    /// What they do.
    pub help: &'static str,
    /// In the footer, as (key, word), when it is shown there.
    pub hint: Option<(&'static str, &'static str)>,
    /// Each key and the action it gives (none: the mouse, said in words).
    pub keys: &'static [(KeyCode, Action)],
}

/// Every key outside the filter and window prompts, in help-screen order.
pub const BINDINGS: &[Binding] = &[
    Binding {
        keys_label: "Tab / Shift-Tab, ← → h l",
        help: "next / previous panel",
        hint: Some(("Tab", "panel")),
        keys: &[
            (KeyCode::Tab, Action::NextPanel),
            (KeyCode::Right, Action::NextPanel),
            (KeyCode::Char('l'), Action::NextPanel),
            (KeyCode::BackTab, Action::PrevPanel),
            (KeyCode::Left, Action::PrevPanel),
            (KeyCode::Char('h'), Action::PrevPanel),
        ],
    },
    Binding {
        keys_label: "↑ ↓ j k, PgUp PgDn, g G",
        help: "move in the rows (or between panels)",
        hint: Some(("↑↓", "row")),
        keys: &[
            (KeyCode::Up, Action::Up),
            (KeyCode::Char('k'), Action::Up),
            (KeyCode::Down, Action::Down),
            (KeyCode::Char('j'), Action::Down),
            (KeyCode::PageUp, Action::PageUp),
            (KeyCode::PageDown, Action::PageDown),
            (KeyCode::Home, Action::Top),
            (KeyCode::Char('g'), Action::Top),
            (KeyCode::End, Action::Bottom),
            (KeyCode::Char('G'), Action::Bottom),
        ],
    },
    Binding {
        keys_label: "Enter",
        help: "open the identity / pool of the row; else show the row",
        hint: Some(("⏎", "open")),
        keys: &[(KeyCode::Enter, Action::Enter)],
    },
    Binding {
        keys_label: "Space",
        help: "show every column of the row",
        hint: None,
        keys: &[(KeyCode::Char(' '), Action::Detail)],
    },
    Binding {
        keys_label: "Esc",
        help: "clear filter, unzoom, or go back",
        hint: Some(("Esc", "back")),
        keys: &[
            (KeyCode::Esc, Action::Back),
            (KeyCode::Backspace, Action::Back),
        ],
    },
    Binding {
        keys_label: "/",
        help: "filter the panel's rows (any column, any case)",
        hint: Some(("/", "filter")),
        keys: &[(KeyCode::Char('/'), Action::StartFilter)],
    },
    Binding {
        keys_label: "t",
        help: "window: last 1h → 24h → 7d → all",
        hint: Some(("t", "window")),
        keys: &[(KeyCode::Char('t'), Action::CycleWindow)],
    },
    Binding {
        keys_label: "w",
        help: "custom window: 90m, 3d, 2026-11-20..2026-11-21",
        hint: None,
        keys: &[(KeyCode::Char('w'), Action::CustomWindow)],
    },
    Binding {
        keys_label: "z",
        help: "zoom the panel to the whole screen",
        hint: Some(("z", "zoom")),
        keys: &[(KeyCode::Char('z'), Action::Zoom)],
    },
    Binding {
        keys_label: "r",
        help: "reload (re-reads the lake)",
        hint: Some(("r", "reload")),
        keys: &[(KeyCode::Char('r'), Action::Refresh)],
    },
    Binding {
        keys_label: "?",
        help: "this help",
        hint: Some(("?", "help")),
        keys: &[(KeyCode::Char('?'), Action::Help)],
    },
    Binding {
        keys_label: "mouse",
        help: "wheel scrolls, click selects",
        hint: None,
        keys: &[],
    },
    Binding {
        keys_label: "q, Ctrl-C",
        help: "quit",
        hint: Some(("q", "quit")),
        keys: &[(KeyCode::Char('q'), Action::Quit)],
    },
];

/// Keys with Ctrl held, in every mode (prompts included).
pub const CONTROL_KEYS: &[(char, Action)] = &[
    ('c', Action::Quit),
    ('d', Action::Quit),
    ('u', Action::PageUp),
    ('f', Action::PageDown),
];

/// The action of `code` outside prompts.
pub fn action_of(code: KeyCode) -> Option<Action> {
    BINDINGS
        .iter()
        .flat_map(|b| b.keys.iter())
        .find(|(key, _)| *key == code)
        .map(|(_, action)| *action)
}

/// The action of Ctrl + `c`.
pub fn control_action(c: char) -> Option<Action> {
    CONTROL_KEYS
        .iter()
        .find(|(key, _)| *key == c)
        .map(|(_, action)| *action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_key_means_two_things_and_every_hint_has_a_key() {
        let mut seen = HashSet::new();
        for binding in BINDINGS {
            for (key, _) in binding.keys {
                assert!(seen.insert(format!("{key:?}")), "{key:?} is bound twice");
            }
            if binding.hint.is_some() {
                assert!(!binding.keys.is_empty(), "{}", binding.keys_label);
            }
        }
        assert_eq!(action_of(KeyCode::Char('?')), Some(Action::Help));
        assert_eq!(control_action('c'), Some(Action::Quit));
        assert_eq!(action_of(KeyCode::F(5)), None);
    }
}
