//! Helpers shared by the model's integration tests.
#![allow(dead_code)]

use poolsight_model::{normalize, Event, NormalizeOptions, Origin, Rejection};

pub fn fixture_lines(path: &str) -> Vec<String> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("{full}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

pub fn normalize_line(line: &str) -> Result<Event<'static>, Rejection> {
    let origin = Origin {
        source_kind: "file",
        source_format: "json_lines",
        source_uri: "fixture",
        position: "line",
        fallback_time: None,
    };
    normalize(line, &origin, &NormalizeOptions::default()).map(Event::into_owned)
}

/// The normalized event of the fixture record whose eventID is `id`.
pub fn event_with_id(path: &str, id: &str) -> Event<'static> {
    fixture_lines(path)
        .iter()
        .map(|line| normalize_line(line).expect("normalizes"))
        .find(|event| event.event_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no record {id} in {path}"))
}

pub fn s<'a>(value: &'a Option<std::borrow::Cow<'static, str>>) -> Option<&'a str> {
    value.as_deref()
}

pub fn list<'a>(values: &'a [std::borrow::Cow<'static, str>]) -> Vec<&'a str> {
    values.iter().map(|v| v.as_ref()).collect()
}
