//! Payload decoding: the bytes of one file or object → the JSON text of each
//! record in it, with its position.
//!
//! Shapes recognised (see the `poolsight ingest` contract):
//! - `{"Records":[…]}`: CloudTrail trail files (S3 delivery), gzip or not;
//! - `{"events":[{"message":"…"}…]}`: `aws logs filter-log-events` output;
//! - `{"Events":[{"CloudTrailEvent":"…"}…]}`: `aws cloudtrail lookup-events` output;
//! - JSON Lines: one record, EventBridge envelope, or CloudWatch log event
//!   (`{"message":"…"}`) per line, optionally prefixed by a timestamp as in
//!   CloudWatch Logs exports (`2024-01-01T00:00:00.000Z {…}`);
//! - a single record, or a JSON array of records.
//!
//! Documents are split as a stream by [`crate::split`] (bounded memory
//! whatever their size). A syntax error between a document's records stops
//! that document at the error (the records before it are kept and the error
//! is reported with its line and column); a bad record is reported and the
//! next one goes on; in JSON Lines a bad line is reported and the next line
//! goes on.

use poolsight_model::json::{CowStr, RawObject};
use serde::de::IgnoredAny;

/// Where in a payload something is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    /// Human label: `line 3`, `Records[7]`, `events[2]`.
    pub label: String,
    /// 1-based line, when known.
    pub line: Option<i64>,
    /// Byte offset in the decompressed payload, when known.
    pub byte_offset: Option<i64>,
}

/// A problem with a payload or part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: &'static str,
    pub reason: String,
    pub position: Position,
    pub raw: Option<String>,
}

/// One thing found in a payload.
pub enum Decoded<'a> {
    /// A record's JSON text (a CloudTrail record or an EventBridge envelope).
    Record {
        text: &'a str,
        position: Position,
        format: &'static str,
    },
    /// Something that is not a record, with the reason.
    Problem(Problem),
}

/// What a payload turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    RecordsFile,
    FilterLogEvents,
    LookupEvents,
    JsonLines,
    SingleRecord,
    RecordArray,
    /// A CloudTrail digest file: integrity metadata, not events.
    Digest,
    Empty,
    Unknown,
}

/// Decodes `text` (a whole payload in memory), calling `emit` for every
/// record and problem, and returns what the payload was. Records of a
/// document longer than `max_record_bytes` are reported `too_large`.
pub fn decode<F>(text: &str, max_record_bytes: usize, mut emit: F) -> PayloadKind
where
    F: FnMut(Decoded<'_>),
{
    if text.trim().trim_start_matches('\u{feff}').trim().is_empty() {
        return PayloadKind::Empty;
    }
    if starts_json_lines(text) {
        decode_json_lines(text, LineCursor::default(), &mut emit);
        return PayloadKind::JsonLines;
    }
    crate::split::split_document(
        text.as_bytes().to_vec(),
        std::io::empty(),
        max_record_bytes,
        &mut emit,
    )
    .kind
}

/// `2024-01-01T00:00:00.000Z {…}` (CloudWatch Logs export) → `{…}`.
fn strip_line_prefix(line: &str) -> &str {
    if line.starts_with('{') {
        return line;
    }
    match line.find(" {") {
        Some(index) if index <= 40 && line.as_bytes().first().is_some_and(u8::is_ascii_digit) => {
            &line[index + 1..]
        }
        _ => line,
    }
}

/// Lines of the head looked at to tell JSON Lines from a document.
const PROBE_LINES: usize = 16;
/// Bytes of the head looked at.
const PROBE_BYTES: usize = 1 << 20;

/// Whether a payload that begins with `head` is JSON Lines, judged on its
/// first lines (up to 16) rather than the first alone, so that one bad
/// line at the top does not turn a file of good lines into one bad document:
/// - the first line is a complete JSON object (optionally after a
///   CloudWatch Logs export timestamp) and more lines follow, or it has a
///   prefix; or
/// - the first line is not (damaged, cut, not JSON) and most of the next
///   lines are complete objects. A document's own lines are not (`{`,
///   `"Records": [`, elements ending in `,`), save at most its last element.
pub fn starts_json_lines(head: &str) -> bool {
    let head = head.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let head = &head[..floor_char_boundary(head, head.len().min(PROBE_BYTES))];
    let lines: Vec<&str> = head
        .split('\n')
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .take(PROBE_LINES)
        .collect();
    let Some((first, rest)) = lines.split_first() else {
        return false;
    };
    let is_object = |line: &str| {
        let json = strip_line_prefix(line);
        json.starts_with('{') && serde_json::from_str::<IgnoredAny>(json).is_ok()
    };
    if is_object(first) {
        return !rest.is_empty() || !first.starts_with('{');
    }
    if first.starts_with('[') {
        return false;
    }
    let objects = rest.iter().filter(|line| is_object(line)).count();
    objects >= 1 && objects * 2 > rest.len()
}

/// String fields a JSON line may wrap its record in (the field, its quoted
/// name to look for, the format named).
const LINE_WRAPPERS: &[(&str, &str, &str)] = &[
    ("message", "\"message\"", "json_lines"),
    ("CloudTrailEvent", "\"CloudTrailEvent\"", "lookup_events"),
];

/// Where a chunk of JSON Lines starts in its payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCursor {
    /// Lines before the chunk.
    pub lines_before: u64,
    /// Bytes before the chunk.
    pub bytes_before: u64,
}

/// Decodes JSON Lines in `text`, a chunk of a payload that starts at `cursor`
/// and ends at a line boundary.
pub fn decode_json_lines<F: FnMut(Decoded<'_>)>(text: &str, cursor: LineCursor, emit: &mut F) {
    let mut offset = cursor.bytes_before as usize;
    for (index, raw_line) in text.split('\n').enumerate() {
        let line_offset = offset;
        offset += raw_line.len() + 1;
        let index = index + cursor.lines_before as usize;
        let line = raw_line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let json = strip_line_prefix(line.trim_start());
        let number = index as i64 + 1;
        let position = Position {
            label: format!("line {number}"),
            line: Some(number),
            byte_offset: Some(line_offset as i64),
        };
        // A line can wrap the record in a string field: a CloudWatch log
        // event ({"message": "…", "timestamp": …}), or one item of
        // `aws cloudtrail lookup-events` ({"EventId": …, "CloudTrailEvent": "…"},
        // what `jq -c '.Events[]'` writes).
        if let Some((field, _, format)) = LINE_WRAPPERS
            .iter()
            .find(|(_, quoted, _)| json.contains(quoted))
            .filter(|_| !json.contains("\"eventVersion\""))
        {
            if let Ok(object) = RawObject::parse(json) {
                if let (Some(inner), None) = (object.get(field), object.get("eventTime")) {
                    emit_wrapped(field, inner, format, position, json, emit);
                    continue;
                }
            }
        }
        emit(Decoded::Record {
            text: json,
            position,
            format: "json_lines",
        });
    }
}

/// What holds the records of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// `{"Records":[…]}`: CloudTrail records.
    Records,
    /// `{"events":[{"message":"…"}]}`: `aws logs filter-log-events`.
    FilterLogEvents,
    /// `{"Events":[{"CloudTrailEvent":"…"}]}`: `aws cloudtrail lookup-events`.
    LookupEvents,
    /// `[…]`: an array of records.
    TopArray,
    /// The document is one record.
    Single,
}

impl Container {
    pub fn kind(self) -> PayloadKind {
        match self {
            Container::Records => PayloadKind::RecordsFile,
            Container::FilterLogEvents => PayloadKind::FilterLogEvents,
            Container::LookupEvents => PayloadKind::LookupEvents,
            Container::TopArray => PayloadKind::RecordArray,
            Container::Single => PayloadKind::SingleRecord,
        }
    }

    /// The position label of element `index`: `Records[3]`, `events[0]`, `[2]`.
    pub fn label(self, index: usize) -> String {
        match self {
            Container::Records => format!("Records[{index}]"),
            Container::FilterLogEvents => format!("events[{index}]"),
            Container::LookupEvents => format!("Events[{index}]"),
            Container::TopArray => format!("[{index}]"),
            Container::Single => "document".into(),
        }
    }
}

/// Hands one element of `container` over: the record itself, or the record
/// held in its `message` / `CloudTrailEvent` string.
pub fn emit_element<F: FnMut(Decoded<'_>)>(
    container: Container,
    text: &str,
    position: Position,
    emit: &mut F,
) {
    let (field, format) = match container {
        Container::Records => {
            return emit(Decoded::Record {
                text,
                position,
                format: "records_file",
            })
        }
        Container::TopArray => {
            return emit(Decoded::Record {
                text,
                position,
                format: "record_array",
            })
        }
        Container::Single => {
            return emit(Decoded::Record {
                text: text.trim(),
                position,
                format: "single_record",
            })
        }
        Container::FilterLogEvents => ("message", "filter_log_events"),
        Container::LookupEvents => ("CloudTrailEvent", "lookup_events"),
    };
    let name = if container == Container::FilterLogEvents {
        "events"
    } else {
        "Events"
    };
    match RawObject::parse(text).ok().and_then(|o| o.get(field)) {
        Some(inner) => emit_wrapped(field, inner, format, position, text, emit),
        None => emit(Decoded::Problem(Problem {
            kind: "unknown_shape",
            reason: format!("element of `{name}` has no `{field}` string"),
            position,
            raw: Some(text.to_string()),
        })),
    }
}

/// The record a wrapper holds in its string field `field` (`message`,
/// `CloudTrailEvent`), or why it holds none.
fn emit_wrapped<F: FnMut(Decoded<'_>)>(
    field: &str,
    inner: &serde_json::value::RawValue,
    format: &'static str,
    position: Position,
    wrapper: &str,
    emit: &mut F,
) {
    match serde_json::from_str::<CowStr>(inner.get()) {
        Ok(CowStr(record)) => emit(Decoded::Record {
            text: &record,
            position,
            format,
        }),
        Err(_) => emit(Decoded::Problem(Problem {
            kind: "not_an_object",
            reason: format!(
                "`{field}` is a JSON {}, expected a string holding a record",
                poolsight_model::json::json_type_name(inner)
            ),
            position,
            raw: Some(wrapper.to_string()),
        })),
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> (PayloadKind, Vec<(String, String)>, Vec<Problem>) {
        let mut records = Vec::new();
        let mut problems = Vec::new();
        let kind = decode(text, usize::MAX, |item| match item {
            Decoded::Record { text, position, .. } => {
                records.push((position.label, text.to_string()))
            }
            Decoded::Problem(problem) => problems.push(problem),
        });
        (kind, records, problems)
    }

    #[test]
    fn records_file() {
        let (kind, records, problems) = collect(r#"{"Records":[{"eventID":"a"},{"eventID":"b"}]}"#);
        assert_eq!(kind, PayloadKind::RecordsFile);
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[1],
            ("Records[1]".to_string(), r#"{"eventID":"b"}"#.to_string())
        );
        assert!(problems.is_empty());
    }

    #[test]
    fn truncated_records_file_keeps_the_records_before_the_cut() {
        let (_, records, problems) =
            collect("{\"Records\":[{\"eventID\":\"a\"},\n{\"eventID\":\"b\"},{\"eventI");
        assert_eq!(records.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].kind, "truncated");
        assert_eq!(problems[0].position.line, Some(2));
        assert!(
            problems[0]
                .reason
                .contains("2 record(s) before it were kept"),
            "{}",
            problems[0].reason
        );
    }

    #[test]
    fn json_lines_with_a_bad_line_and_export_prefixes() {
        let text = "{\"eventID\":\"a\"}\nnot json\n2024-01-01T00:00:00.000Z {\"eventID\":\"c\"}\n\n{\"message\":\"{\\\"eventID\\\":\\\"d\\\"}\",\"timestamp\":1}\n";
        let (kind, records, _) = collect(text);
        assert_eq!(kind, PayloadKind::JsonLines);
        let labels: Vec<&str> = records.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, vec!["line 1", "line 2", "line 3", "line 5"]);
        assert_eq!(records[1].1, "not json");
        assert_eq!(records[2].1, r#"{"eventID":"c"}"#);
        assert_eq!(records[3].1, r#"{"eventID":"d"}"#);
    }

    #[test]
    fn lookup_events_items_one_per_line() {
        let text = "{\"EventId\":\"y\",\"EventName\":\"GetId\",\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"y\\\"}\"}\n{\"EventId\":\"z\",\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"z\\\"}\"}\n";
        let (kind, records, problems) = collect(text);
        assert_eq!(kind, PayloadKind::JsonLines);
        assert!(problems.is_empty());
        assert_eq!(
            records,
            vec![
                ("line 1".to_string(), r#"{"eventID":"y"}"#.to_string()),
                ("line 2".to_string(), r#"{"eventID":"z"}"#.to_string())
            ]
        );
    }

    #[test]
    fn cli_outputs() {
        let (kind, records, _) = collect(
            r#"{"events":[{"logStreamName":"s","message":"{\"eventID\":\"x\"}"}],"searchedLogStreams":[]}"#,
        );
        assert_eq!(kind, PayloadKind::FilterLogEvents);
        assert_eq!(
            records,
            vec![("events[0]".into(), r#"{"eventID":"x"}"#.into())]
        );
        let (kind, records, _) =
            collect(r#"{"Events":[{"EventId":"y","CloudTrailEvent":"{\"eventID\":\"y\"}"}]}"#);
        assert_eq!(kind, PayloadKind::LookupEvents);
        assert_eq!(
            records,
            vec![("Events[0]".into(), r#"{"eventID":"y"}"#.into())]
        );
    }

    #[test]
    fn single_record_digest_and_empty() {
        let (kind, records, _) =
            collect("{\n  \"eventID\": \"z\",\n  \"eventTime\": \"2024-01-01T00:00:00Z\"\n}\n");
        assert_eq!(kind, PayloadKind::SingleRecord);
        assert_eq!(records.len(), 1);
        let (kind, records, _) =
            collect(r#"{"awsAccountId":"1","digestStartTime":"x","logFiles":[]}"#);
        assert_eq!((kind, records.len()), (PayloadKind::Digest, 0));
        assert_eq!(collect("  \n").0, PayloadKind::Empty);
        let (kind, records, problems) = collect(r#"{"Records":[]}"#);
        assert_eq!(
            (kind, records.len(), problems.len()),
            (PayloadKind::RecordsFile, 0, 0)
        );
    }
}
