//! Runs a command and reports its peak memory: the child's own maximum
//! resident set size from `wait4`, so other children of the test process
//! (moto's server) do not count.

use std::path::Path;
use std::process::{Command, Stdio};

/// What a measured run did.
#[derive(Debug)]
pub struct Measured {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident memory, bytes.
    pub max_rss_bytes: u64,
}

/// Runs `command` with its address space limited to `limit_bytes` (as
/// `ulimit -v` does; `None`: unlimited), its output captured in files under
/// `scratch`, and waits for it.
pub fn run_measured(mut command: Command, limit_bytes: Option<u64>, scratch: &Path) -> Measured {
    let out_path = scratch.join("measured.stdout");
    let err_path = scratch.join("measured.stderr");
    command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    if let Some(limit) = limit_bytes {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between
        // fork and exec.
        unsafe {
            command.pre_exec(move || {
                let rlimit = libc::rlimit {
                    rlim_cur: limit as libc::rlim_t,
                    rlim_max: limit as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &rlimit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = command.spawn().expect("the command starts");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value to be filled in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // The child was reaped by wait4; `child` must not wait again.
    std::mem::forget(child);
    Measured {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        // Linux reports kilobytes.
        max_rss_bytes: usage.ru_maxrss as u64 * 1024,
    }
}
