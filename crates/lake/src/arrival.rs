//! When rows arrived: the lake's arrival clock.
//!
//! Every row of `events` carries `ingested_at`, the moment its run opened
//! the lake. Incremental detection judges the rows that arrived after the
//! last detection run (`ingested_at > judged_through`), so that value must
//! grow from one writer run to the next even when the system clock steps
//! back: [`next_arrival`] returns `max(now, last + 1 µs)` and remembers it
//! in `_state/arrival_clock`, under the writer lock.

use crate::{fsio, Lake, LakeError, LakeLock, Result};

const CLOCK_FILE: &str = "arrival_clock";

/// The last arrival time handed out (microseconds), if any.
pub fn last_arrival(lake: &Lake) -> Result<Option<i64>> {
    let path = lake.state_dir().join(CLOCK_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| LakeError::NotALake {
                path: path.clone(),
                reason: format!(
                    "the arrival clock holds {:?}, not a number of microseconds; delete the file (the next run starts it from the clock)",
                    text.chars().take(40).collect::<String>()
                ),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LakeError::io(&path, e)),
    }
}

/// The arrival time of a new writer run: now, or just after the last one
/// when the clock stepped back. Durable before it is returned.
pub fn next_arrival(lake: &Lake, _lock: &LakeLock, now_micros: i64) -> Result<i64> {
    let next = match last_arrival(lake)? {
        Some(last) if last >= now_micros => last + 1,
        _ => now_micros,
    };
    fsio::write_atomically(
        &lake.state_dir().join(CLOCK_FILE),
        format!("{next}\n").as_bytes(),
    )?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_grow_even_when_the_clock_steps_back() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let lock = lake.lock().unwrap();
        assert_eq!(last_arrival(&lake).unwrap(), None);
        assert_eq!(next_arrival(&lake, &lock, 1_000).unwrap(), 1_000);
        assert_eq!(next_arrival(&lake, &lock, 500).unwrap(), 1_001);
        assert_eq!(next_arrival(&lake, &lock, 1_001).unwrap(), 1_002);
        assert_eq!(next_arrival(&lake, &lock, 9_000).unwrap(), 9_000);
        assert_eq!(last_arrival(&lake).unwrap(), Some(9_000));
    }
}
