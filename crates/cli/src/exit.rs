//! Every exit code of the binary, in one place (`docs/operations.md` lists them).

/// Findings at or above `--fail-on` / `[detect] fail_on` (new or updated ones).
pub const FINDINGS: u8 = 1;
/// The run failed: bad input everywhere, bad arguments or config, a missing
/// lake, an I/O error, a failed detection.
pub const ERROR: u8 = 2;
/// Some sources failed or objects could not be read; the rest was collected.
pub const PARTIAL: u8 = 3;
/// Another run holds the lake's lock; nothing was done.
pub const BUSY: u8 = 4;
