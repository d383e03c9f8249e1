//! Test hooks at named steps of long operations (as the `fail` crate does
//! for TiKV), off unless a test sets the environment:
//!
//! - `POOLSIGHT_FAILPOINT=<step>`: the process aborts there (crash tests);
//! - `POOLSIGHT_PAUSEPOINT=<step>`: the process creates the file named by
//!   `POOLSIGHT_PAUSE_MARKER`, then waits until that file is removed (at
//!   most a minute), so a test can look at the lake mid-operation.

/// Marks step `name`.
pub fn step(name: &str) {
    if std::env::var("POOLSIGHT_FAILPOINT").is_ok_and(|v| v == name) {
        std::process::abort();
    }
    if std::env::var("POOLSIGHT_PAUSEPOINT").is_ok_and(|v| v == name) {
        if let Some(marker) = std::env::var_os("POOLSIGHT_PAUSE_MARKER") {
            let marker = std::path::PathBuf::from(marker);
            if std::fs::write(&marker, name).is_ok() {
                let started = std::time::Instant::now();
                while marker.exists() && started.elapsed() < std::time::Duration::from_secs(60) {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            }
        }
    }
}
