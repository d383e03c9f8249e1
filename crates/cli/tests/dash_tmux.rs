//! `poolsight dash` in a real terminal: tmux runs a shell, the test types
//! the command and keys into it, reads the screen back with
//! `capture-pane`, and checks that the terminal is given back intact
//! (alternate screen left, `stty` settings as before, mouse reporting off)
//! after `q`, Ctrl-C and SIGTERM. `scripts/test` installs tmux when it is
//! missing; without it this test fails rather than skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_poolsight");

struct Tmux {
    socket: PathBuf,
    dir: PathBuf,
}

impl Tmux {
    fn start(dir: &Path) -> Self {
        let socket = dir.join("tmux.sock");
        let tmux = Tmux {
            socket,
            dir: dir.to_path_buf(),
        };
        let status = Command::new("tmux")
            .args(["-f", "/dev/null", "-S"])
            .arg(&tmux.socket)
            .args(["new-session", "-d", "-s", "dash", "-x", "120", "-y", "36"])
            .arg("env")
            .arg(format!("HOME={}", dir.display()))
            .arg(format!("XDG_STATE_HOME={}", dir.join("state").display()))
            .args(["TERM=xterm-256color", "PS1=$ ", "sh"])
            .status()
            .expect("tmux must be installed (scripts/test installs it)");
        assert!(status.success(), "tmux new-session");
        tmux
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(output.status.success(), "tmux {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.tmux(&["send-keys", "-t", "dash", key]);
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "dash", "-l", text]);
        self.tmux(&["send-keys", "-t", "dash", "Enter"]);
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "dash"])
    }

    fn flag(&self, name: &str) -> String {
        self.tmux(&[
            "display-message",
            "-p",
            "-t",
            "dash",
            &format!("#{{{name}}}"),
        ])
        .trim()
        .to_string()
    }

    /// Waits until the screen satisfies `ready`; returns it.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 90 s for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for_file(&self, name: &str) -> String {
        let path = self.dir.join(name);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if text.ends_with('\n') {
                    return text.trim().to_string();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {name}; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs the dashboard; `exit-<tag>` gets its exit code and
    /// `stty-<tag>` the terminal settings after it.
    fn run_dash(&self, lake: &Path, tag: &str) {
        let dir = self.dir.display();
        self.type_line(&format!(
            "{BIN} dash --lake {} --window all; echo $? > {dir}/exit-{tag}; stty -g > {dir}/stty-{tag}",
            lake.display()
        ));
    }

    /// The pid of the dashboard the pane's shell runs.
    fn dashboard_pid(&self) -> String {
        let shell = self.flag("pane_pid");
        let child = Command::new("pgrep")
            .args(["-P", &shell, "poolsight"])
            .output()
            .unwrap();
        let pid = String::from_utf8_lossy(&child.stdout).trim().to_string();
        assert!(!pid.is_empty(), "the dashboard's pid");
        pid
    }

    /// The terminal is the shell's again, as it was.
    fn assert_restored(&self, tag: &str, stty_before: &str) {
        assert_eq!(self.wait_for_file(&format!("exit-{tag}")), "0", "exit code");
        assert_eq!(
            self.wait_for_file(&format!("stty-{tag}")),
            stty_before,
            "stty settings restored (raw mode off)"
        );
        assert_eq!(self.flag("alternate_on"), "0", "alternate screen left");
        assert_eq!(self.flag("mouse_any_flag"), "0", "mouse reporting off");
        assert_eq!(self.flag("cursor_flag"), "1", "cursor visible");
        let screen = self.screen();
        assert!(!screen.contains("Findings, worst first"), "{screen}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}

fn overview_loaded(screen: &str) -> bool {
    screen.contains("poolsight › Overview")
        && screen.contains("Findings, worst first")
        && !screen.contains("loading")
}

#[test]
fn dash_in_a_real_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let demo = Command::new(BIN)
        .args(["demo", "--lake"])
        .arg(&lake)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(demo.status.success(), "{demo:?}");

    let tmux = Tmux::start(dir.path());
    tmux.type_line(&format!("stty -g > {}/stty-before", dir.path().display()));
    let stty_before = tmux.wait_for_file("stty-before");

    // Open, look, drill into a finding, come back, help, quit with q.
    tmux.run_dash(&lake, "q");
    let overview = tmux.wait_for("the overview", overview_loaded);
    assert_eq!(tmux.flag("alternate_on"), "1");
    for expected in [
        "critical",
        "Calls: guests and signed-in",
        "Access denials",
        "Top identities by denials",
        "Top source addresses",
        "cross_ident",
    ] {
        assert!(overview.contains(expected), "{expected}:\n{overview}");
    }
    // Tab to the findings list: the first is the critical cross-identity one.
    tmux.keys(&["Tab", "Tab", "Tab", "Tab", "Enter"]);
    let identity = tmux.wait_for("the identity dashboard", |s| {
        s.contains("poolsight › Overview › Identity us-east-1:")
            && s.contains("Timeline")
            && !s.contains("loading")
    });
    for expected in [
        "Credentials issued",
        "Profile",
        "Findings naming it",
        "login providers",
    ] {
        assert!(identity.contains(expected), "{expected}:\n{identity}");
    }
    tmux.keys(&["Escape"]);
    tmux.wait_for("the overview again", |s| {
        overview_loaded(s) && !s.contains("› Identity")
    });
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| s.contains("any key closes"));
    tmux.keys(&["Escape", "q"]);
    tmux.assert_restored("q", &stty_before);

    // Ctrl-C quits and restores too.
    tmux.run_dash(&lake, "ctrl-c");
    tmux.wait_for("the overview", overview_loaded);
    tmux.keys(&["C-c"]);
    tmux.assert_restored("ctrl-c", &stty_before);

    // So does SIGTERM (a closed SSH session sends SIGHUP, handled the same).
    tmux.run_dash(&lake, "term");
    tmux.wait_for("the overview", overview_loaded);
    let pid = tmux.dashboard_pid();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    tmux.assert_restored("term", &stty_before);

    // The terminal vanishing (tmux killed, as an SSH drop) ends the process
    // instead of leaving it spinning on a hung-up tty.
    tmux.run_dash(&lake, "hangup");
    tmux.wait_for("the overview", overview_loaded);
    let pid = tmux.dashboard_pid();
    tmux.tmux(&["kill-server"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "poolsight dash still runs 15 s after its terminal went away"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Without a terminal: --print draws one screen as text; otherwise a clear error.
    let print = Command::new(BIN)
        .args([
            "dash", "--print", "--size", "100x30", "--window", "all", "--lake",
        ])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(print.status.success(), "{print:?}");
    let screen = String::from_utf8_lossy(&print.stdout);
    assert_eq!(screen.lines().count(), 30);
    assert!(
        screen.contains("poolsight › Overview") && screen.contains("28 total"),
        "{screen}"
    );
    assert!(!screen.contains("loading"), "{screen}");
    let no_terminal = Command::new(BIN)
        .args(["dash", "--lake"])
        .arg(&lake)
        .output()
        .unwrap();
    assert_eq!(no_terminal.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_terminal.stderr).contains("needs a terminal"));

    // The log went to the state folder, not the screen.
    let log = std::fs::read_to_string(dir.path().join("state/poolsight/dash.log")).unwrap();
    assert!(log.contains("first frame drawn"), "{log}");
}

#[test]
fn dash_without_a_terminal_or_lake_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Command::new(BIN)
        .args(["dash", "--lake"])
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("does not exist"), "{stderr}");
    let unknown = Command::new(BIN)
        .args(["dash", "--list", "--dashboard", "x"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&unknown.stdout);
    for name in ["overview", "identity (--param <identity_id>)", "pool"] {
        assert!(listed.contains(name), "{listed}");
    }
}
