//! The terminal runner: raw mode and the alternate screen in, the event
//! loop (keys, mouse, resizes, engine replies, signals), and the terminal
//! restored on every way out — `q`, Ctrl-C, SIGTERM/SIGHUP, an error, a
//! panic. Also the non-interactive `--print` mode.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::layout::Rect;
use ratatui::Terminal;

use crate::app::App;
use crate::engine::Engine;
use crate::input::{key_action, mouse_action};
use crate::theme::Theme;
use crate::DashError;

/// Hands the app's requests to the engine and its replies to the app;
/// true when something changed.
pub fn pump(app: &mut App, engine: &Engine) -> bool {
    let mut changed = false;
    for request in app.take_requests() {
        engine.send(request);
        changed = true;
    }
    while let Some(reply) = engine.try_recv() {
        app.on_reply(reply);
        changed = true;
    }
    changed
}

/// Runs until every panel of the top screen has its data or its error,
/// or `timeout` passes (false then).
pub fn load_all(app: &mut App, engine: &Engine, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        pump(app, engine);
        if app.screen().loaded() && app.resolved.is_some()
            || app.window_error.is_some() && app.screen().loaded()
        {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        if let Some(reply) = engine.recv_timeout(left.min(Duration::from_millis(50))) {
            app.on_reply(reply);
        }
    }
}

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
}

/// Restores the terminal when dropped (errors and early returns included).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

#[cfg(unix)]
fn watch_signals(engine: &Engine, quit: Arc<AtomicBool>) {
    use tokio::signal::unix::{signal, SignalKind};
    engine.runtime().spawn(async move {
        let (Ok(mut term), Ok(mut hangup), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hangup.recv() => {}
            _ = interrupt.recv() => {}
        }
        quit.store(true, Ordering::SeqCst);
    });
}

#[cfg(not(unix))]
fn watch_signals(_engine: &Engine, _quit: Arc<AtomicBool>) {}

/// How the interactive dashboard runs.
#[derive(Debug, Clone, Copy)]
pub struct Interactive {
    pub theme: Theme,
    /// Capture the mouse (wheel, clicks); off leaves text selection to the terminal.
    pub mouse: bool,
    /// Reload this often (`--refresh`).
    pub refresh: Option<Duration>,
}

/// Ends the process once its terminal is gone (SSH dropped, tmux killed).
/// Such a hang-up does not always reach us as SIGHUP, and crossterm's
/// reader then spins inside `poll` without returning, so the check runs on
/// a thread of its own. With no terminal left there is nothing to restore.
fn watch_terminal() {
    let _ = std::thread::Builder::new()
        .name("poolsight-dash-tty".into())
        .spawn(|| loop {
            std::thread::sleep(Duration::from_secs(1));
            if !io::stdin().is_terminal() {
                tracing::info!("the terminal went away; quitting");
                std::process::exit(0);
            }
        });
}

/// The interactive dashboard on the process's terminal.
pub fn run_interactive(
    mut app: App,
    engine: &Engine,
    options: Interactive,
) -> Result<(), DashError> {
    let Interactive {
        theme,
        mouse,
        refresh,
    } = options;
    let mut last_refresh = Instant::now();
    let started = Instant::now();
    let quit = Arc::new(AtomicBool::new(false));
    watch_signals(engine, Arc::clone(&quit));
    watch_terminal();
    install_panic_hook();
    enable_raw_mode().map_err(DashError::Terminal)?;
    let _guard = TerminalGuard;
    let mut stdout = io::stdout();
    execute!(stdout, EnterAlternateScreen, cursor::Hide).map_err(DashError::Terminal)?;
    if mouse {
        execute!(stdout, EnableMouseCapture).map_err(DashError::Terminal)?;
    }
    let mut terminal =
        Terminal::new(CrosstermBackend::new(io::stdout())).map_err(DashError::Terminal)?;
    terminal.clear().map_err(DashError::Terminal)?;
    let mut dirty = true;
    let mut first_frame = true;
    let mut loaded_logged = 0u64;
    let mut load_started = Instant::now();
    let mut generation = 0;
    loop {
        if pump(&mut app, engine) {
            dirty = true;
        }
        if app.screen().generation != generation {
            generation = app.screen().generation;
            load_started = Instant::now();
        }
        if app.screen().loaded() && loaded_logged != generation {
            loaded_logged = generation;
            tracing::info!(
                dashboard = %app.screen().dashboard.name,
                ms = load_started.elapsed().as_millis() as u64,
                "all panels loaded"
            );
        }
        if dirty {
            terminal
                .draw(|frame| crate::render::draw(frame, &app, &theme))
                .map_err(DashError::Terminal)?;
            dirty = false;
            if first_frame {
                first_frame = false;
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "first frame drawn"
                );
            }
        }
        if app.quit || quit.load(Ordering::SeqCst) {
            break;
        }
        if let Some(every) = refresh {
            // Only when idle: a reload never cuts a load or a prompt short.
            if last_refresh.elapsed() >= every
                && app.screen().loaded()
                && app.mode == crate::app::Mode::Normal
            {
                last_refresh = Instant::now();
                app.apply(crate::app::Action::Refresh);
                dirty = true;
            }
        }
        if event::poll(Duration::from_millis(50)).map_err(DashError::Terminal)? {
            let size = terminal.size().map_err(DashError::Terminal)?;
            let area = Rect::new(0, 0, size.width, size.height);
            let action = match event::read().map_err(DashError::Terminal)? {
                Event::Key(key) => key_action(&app.mode, key),
                Event::Mouse(mouse) => mouse_action(&app, area, mouse),
                Event::Resize(..) => {
                    dirty = true;
                    None
                }
                _ => None,
            };
            if let Some(action) = action {
                app.apply(action);
                dirty = true;
            }
        }
    }
    drop(terminal);
    let mut stdout = io::stdout();
    let _ = stdout.flush();
    Ok(())
}

/// Loads the dashboard and returns the screen as text (`--print`).
pub fn print_once(
    mut app: App,
    engine: &Engine,
    theme: &Theme,
    width: u16,
    height: u16,
    timeout: Duration,
) -> Result<String, DashError> {
    let started = Instant::now();
    if !load_all(&mut app, engine, timeout) {
        return Err(DashError::Timeout(timeout));
    }
    tracing::info!(
        dashboard = %app.screen().dashboard.name,
        ms = started.elapsed().as_millis() as u64,
        "all panels loaded"
    );
    Ok(crate::render::render_text(&app, width, height, theme))
}
