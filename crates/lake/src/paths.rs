//! Paths built from outside data (S3 keys, names found in records): every
//! such path is made relative to, and kept under, the folder it belongs in.
//!
//! A key such as `AWSLogs/../../_state/checkpoints/x.json` or `/etc/passwd`
//! must never name a file outside its folder (it could overwrite a
//! checkpoint and silently blind a source). [`path_under`] normalises what
//! is harmless (empty and `.` segments, a leading `/`) and refuses what is
//! not (`..`, backslashes, NUL and other control characters).

use std::path::{Component, Path, PathBuf};

/// Why an outside name cannot become a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafePath {
    #[error("the name {0:?} has a `..` segment, which would leave its folder")]
    ParentSegment(String),
    #[error("the name {0:?} has a backslash or a control character")]
    BadCharacter(String),
    #[error("the name {0:?} has no file name in it")]
    Empty(String),
}

/// `base` joined with the `/`-separated `untrusted` name, guaranteed to be
/// strictly under `base`.
pub fn path_under(base: &Path, untrusted: &str) -> Result<PathBuf, UnsafePath> {
    let shown = || untrusted.chars().take(300).collect::<String>();
    let mut path = base.to_path_buf();
    let mut segments = 0;
    for segment in untrusted.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return Err(UnsafePath::ParentSegment(shown())),
            _ => {}
        }
        if segment.chars().any(|c| c == '\\' || c.is_control()) {
            return Err(UnsafePath::BadCharacter(shown()));
        }
        path.push(segment);
        segments += 1;
    }
    if segments == 0 {
        return Err(UnsafePath::Empty(shown()));
    }
    // Belt and braces: every component after `base` is a plain name.
    let relative = path
        .strip_prefix(base)
        .map_err(|_| UnsafePath::Empty(shown()))?;
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return Err(UnsafePath::ParentSegment(shown()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_oddities_are_normalised_under_the_base() {
        let base = Path::new("/lake/insights");
        assert_eq!(
            path_under(base, "AWSLogs/1/x.json.gz").unwrap(),
            base.join("AWSLogs/1/x.json.gz")
        );
        assert_eq!(
            path_under(base, "/etc//./passwd").unwrap(),
            base.join("etc/passwd")
        );
    }

    #[test]
    fn escaping_names_are_refused() {
        let base = Path::new("/lake/insights");
        for name in [
            "AWSLogs/../../_state/checkpoints/s3.json",
            "..",
            "a/../b",
            "a\\..\\b",
            "a/b\u{0}c",
            "a/\u{1b}]52;c;x",
            "",
            "/./",
        ] {
            assert!(path_under(base, name).is_err(), "{name:?} was accepted");
        }
    }
}
