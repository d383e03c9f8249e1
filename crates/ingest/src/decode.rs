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
//! A syntax error inside a document stops that document at the error (the
//! records before it are kept and the error is reported with its line and
//! column); in JSON Lines a bad line is reported and the next line goes on.

use std::fmt;

use poolsight_model::json::{CowStr, RawObject};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

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

/// Decodes `text`, calling `emit` for every record and problem, and returns
/// what the payload was.
pub fn decode<F>(text: &str, mut emit: F) -> PayloadKind
where
    F: FnMut(Decoded<'_>),
{
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.is_empty() {
        return PayloadKind::Empty;
    }
    let body = trimmed.trim_end();
    if starts_json_lines(body) {
        decode_json_lines(text, LineCursor::default(), &mut emit);
        return PayloadKind::JsonLines;
    }
    match body.as_bytes()[0] {
        b'{' => decode_object_document(text, &mut emit),
        b'[' => {
            let mut elements = Vec::new();
            let result = (ArraySeed { out: &mut elements })
                .deserialize(&mut serde_json::Deserializer::from_str(text));
            let mut positions = Positions::new(text);
            for (index, element) in elements.iter().enumerate() {
                emit(Decoded::Record {
                    text: element.get(),
                    position: positions.of(element.get(), format!("[{index}]")),
                    format: "record_array",
                });
            }
            if let Err(error) = result {
                emit_syntax_error(text, &error, elements.len(), &mut emit);
            }
            PayloadKind::RecordArray
        }
        _ => {
            emit(Decoded::Problem(Problem {
                kind: "unknown_file_shape",
                reason: "not JSON: the content starts with neither `{` nor `[` (expected a CloudTrail file, JSON Lines, or AWS CLI output)".into(),
                position: Position { label: "byte 0".into(), line: Some(1), byte_offset: Some(0) },
                raw: Some(head(body, 512).to_string()),
            }));
            PayloadKind::Unknown
        }
    }
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

/// Whether a payload that begins with `head` is JSON Lines: its first line
/// is a complete JSON object on its own (optionally after a CloudWatch Logs
/// export timestamp) and either more lines follow or the line has a prefix.
pub fn starts_json_lines(head: &str) -> bool {
    let head = head.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    match head.split_once('\n') {
        Some((first_line, rest)) => {
            let first_json = strip_line_prefix(first_line.trim());
            !rest.trim().is_empty()
                && first_json.starts_with('{')
                && serde_json::from_str::<IgnoredAny>(first_json).is_ok()
        }
        None => {
            let line = head.trim_end();
            !line.starts_with('{')
                && !line.starts_with('[')
                && strip_line_prefix(line).starts_with('{')
        }
    }
}

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
        // A CloudWatch log event ({"message": "…", "timestamp": …}) wraps the record.
        if json.contains("\"message\"") && !json.contains("\"eventVersion\"") {
            if let Ok(object) = RawObject::parse(json) {
                if let (Some(message), None) = (object.get("message"), object.get("eventTime")) {
                    match serde_json::from_str::<CowStr>(message.get()) {
                        Ok(CowStr(message)) => emit(Decoded::Record {
                            text: &message,
                            position,
                            format: "json_lines",
                        }),
                        Err(_) => emit(Decoded::Problem(Problem {
                            kind: "not_an_object",
                            reason: format!(
                                "`message` is a JSON {}, expected a string holding a record",
                                poolsight_model::json::json_type_name(message)
                            ),
                            position,
                            raw: Some(json.to_string()),
                        })),
                    }
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

/// A top-level object: a container (`Records`, `events`, `Events`), a
/// digest file, or one record.
fn decode_object_document<F: FnMut(Decoded<'_>)>(text: &str, emit: &mut F) -> PayloadKind {
    let mut elements: Vec<&RawValue> = Vec::new();
    let mut container: Option<&'static str> = None;
    let mut keys: Vec<String> = Vec::new();
    let result = (TopSeed {
        elements: &mut elements,
        container: &mut container,
        keys: &mut keys,
    })
    .deserialize(&mut serde_json::Deserializer::from_str(text));

    let kind = match container {
        Some("Records") => {
            let mut positions = Positions::new(text);
            for (index, element) in elements.iter().enumerate() {
                emit(Decoded::Record {
                    text: element.get(),
                    position: positions.of(element.get(), format!("Records[{index}]")),
                    format: "records_file",
                });
            }
            PayloadKind::RecordsFile
        }
        Some(name @ ("events" | "Events")) => {
            let (field, format, kind) = if name == "events" {
                ("message", "filter_log_events", PayloadKind::FilterLogEvents)
            } else {
                (
                    "CloudTrailEvent",
                    "lookup_events",
                    PayloadKind::LookupEvents,
                )
            };
            let mut positions = Positions::new(text);
            for (index, element) in elements.iter().enumerate() {
                let position = positions.of(element.get(), format!("{name}[{index}]"));
                match RawObject::parse(element.get())
                    .ok()
                    .and_then(|o| o.get(field))
                {
                    Some(inner) => match serde_json::from_str::<CowStr>(inner.get()) {
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
                            raw: Some(element.get().to_string()),
                        })),
                    },
                    None => emit(Decoded::Problem(Problem {
                        kind: "unknown_shape",
                        reason: format!("element of `{name}` has no `{field}` string"),
                        position,
                        raw: Some(element.get().to_string()),
                    })),
                }
            }
            kind
        }
        _ => {
            if result.is_ok()
                && keys
                    .iter()
                    .any(|k| k == "digestStartTime" || k == "digestPublicKeyFingerprint")
            {
                return PayloadKind::Digest;
            }
            if result.is_ok() {
                emit(Decoded::Record {
                    text: text.trim(),
                    position: Position {
                        label: "document".into(),
                        line: Some(1),
                        byte_offset: Some(0),
                    },
                    format: "single_record",
                });
                return PayloadKind::SingleRecord;
            }
            PayloadKind::Unknown
        }
    };
    if let Err(error) = result {
        emit_syntax_error(text, &error, elements.len(), emit);
    }
    kind
}

/// Positions of elements of one document, taken in document order: lines
/// are counted incrementally, so a document costs one pass, not one per element.
struct Positions<'t> {
    text: &'t str,
    scanned: usize,
    line: i64,
}

impl<'t> Positions<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            scanned: 0,
            line: 1,
        }
    }

    /// Position of `element`, a slice of the text at or after the previous one.
    fn of(&mut self, element: &str, label: String) -> Position {
        let offset = (element.as_ptr() as usize)
            .saturating_sub(self.text.as_ptr() as usize)
            .min(self.text.len());
        if offset >= self.scanned {
            self.line += self.text.as_bytes()[self.scanned..offset]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as i64;
            self.scanned = offset;
        }
        Position {
            label,
            line: Some(self.line),
            byte_offset: Some(offset as i64),
        }
    }
}

fn emit_syntax_error<F: FnMut(Decoded<'_>)>(
    text: &str,
    error: &serde_json::Error,
    kept: usize,
    emit: &mut F,
) {
    let line = error.line();
    let column = error.column();
    let offset = byte_offset_of(text, line, column);
    let truncated = error.is_eof();
    emit(Decoded::Problem(Problem {
        kind: if truncated { "truncated" } else { "invalid_json" },
        reason: format!(
            "{} at line {line} column {column}: {error}; the {kept} record(s) before it were kept, the rest of the document could not be read",
            if truncated { "document ends early" } else { "invalid JSON" }
        ),
        position: Position {
            label: format!("line {line} column {column}"),
            line: Some(line as i64),
            byte_offset: offset.map(|o| o as i64),
        },
        raw: offset.map(|o| {
            let start = floor_char_boundary(text, o.saturating_sub(256));
            let end = floor_char_boundary(text, (o + 256).min(text.len()));
            text[start..end].to_string()
        }),
    }));
}

fn byte_offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut offset = 0usize;
    for (index, part) in text.split('\n').enumerate() {
        if index + 1 == line {
            return Some((offset + column.saturating_sub(1)).min(text.len()));
        }
        offset += part.len() + 1;
    }
    Some(text.len())
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn head(text: &str, bytes: usize) -> &str {
    &text[..floor_char_boundary(text, bytes.min(text.len()))]
}

struct TopSeed<'s, 'de> {
    elements: &'s mut Vec<&'de RawValue>,
    container: &'s mut Option<&'static str>,
    keys: &'s mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            let container: Option<&'static str> = match key.as_ref() {
                "Records" => Some("Records"),
                "events" => Some("events"),
                "Events" => Some("Events"),
                _ => None,
            };
            match container {
                Some(name) if self.container.is_none() => {
                    *self.container = Some(name);
                    map.next_value_seed(ArraySeed { out: self.elements })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            self.keys.push(key.into_owned());
        }
        Ok(())
    }
}

struct ArraySeed<'s, 'de> {
    out: &'s mut Vec<&'de RawValue>,
}

impl<'de> DeserializeSeed<'de> for ArraySeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ArraySeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(element) = seq.next_element::<&'de RawValue>()? {
            self.out.push(element);
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> (PayloadKind, Vec<(String, String)>, Vec<Problem>) {
        let mut records = Vec::new();
        let mut problems = Vec::new();
        let kind = decode(text, |item| match item {
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
