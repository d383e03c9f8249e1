//! Streaming split of one JSON document into its records, in bounded memory
//! whatever the document's size.
//!
//! A trail file (`{"Records":[…]}`), an AWS CLI output (`{"events":[…]}`,
//! `{"Events":[…]}`) or a top-level array is read chunk by chunk; only the
//! element being read is kept (up to `max_record_bytes`, beyond which it is
//! skipped byte by byte and reported as `too_large`). The scan is
//! structural (strings, escapes and bracket depth, no recursion): an element
//! is handed over once its closing bracket arrives, and the normalizer's JSON
//! parser validates it. So a gzip bomb of whitespace or one gigantic element
//! costs time, never memory, and a syntax error between elements stops the
//! document at that point with its line and column, keeping what came before.
//!
//! A top-level object without a container key is one record (or a digest
//! file): it is kept whole up to `max_record_bytes`.

use std::io::{ErrorKind, Read};

use crate::decode::{emit_element, Container, Decoded, PayloadKind, Position, Problem};

/// Bytes read from the source at a time.
const READ_BYTES: usize = 1 << 20;

/// Context kept around a syntax error in the quarantine's `raw`.
const CONTEXT_BYTES: usize = 256;

/// Object keys longer than this are read but not compared.
const MAX_KEY_BYTES: usize = 4096;

/// How a document ended.
#[derive(Debug)]
pub struct DocumentEnd {
    pub kind: PayloadKind,
    /// Records (and per-element problems) handed over.
    pub elements: usize,
    /// The source failed (a damaged gzip stream, an inflate cap): the
    /// document stopped there. The caller reports it.
    pub error: Option<std::io::Error>,
}

/// Splits the document that starts with `initial` and goes on in `reader`,
/// calling `emit` for every record and problem.
pub fn split_document<R: Read, F: FnMut(Decoded<'_>)>(
    initial: Vec<u8>,
    reader: R,
    max_record_bytes: usize,
    emit: &mut F,
) -> DocumentEnd {
    let mut scanner = Scanner::new(initial, reader, max_record_bytes);
    let kind = scanner.document(emit);
    DocumentEnd {
        kind,
        elements: scanner.elements,
        error: scanner.error.take(),
    }
}

/// What scanning one value found.
enum Value {
    /// The value is `buf[start..end]` (until the next refill).
    Whole { start: usize, end: usize },
    /// The value was longer than the limit; it was skipped.
    TooLarge { bytes: u64 },
    /// The input ended (or failed) inside the value.
    Cut,
}

struct Scanner<R> {
    reader: R,
    buf: Vec<u8>,
    /// Next byte to look at.
    pos: usize,
    /// Absolute offset of `buf[0]` in the document.
    base: u64,
    /// Bytes from this absolute offset on survive a refill (an element or a
    /// document being kept).
    keep: Option<u64>,
    keep_limit: usize,
    /// The kept bytes passed `keep_limit` and were dropped.
    overflowed: bool,
    /// Lines counted up to `counted` (an index into `buf`).
    line: u64,
    counted: usize,
    /// Absolute offset just after the last newline counted.
    line_start: u64,
    eof: bool,
    error: Option<std::io::Error>,
    max_record_bytes: usize,
    elements: usize,
    /// A problem stopped the document.
    stopped: bool,
}

impl<R: Read> Scanner<R> {
    fn new(initial: Vec<u8>, reader: R, max_record_bytes: usize) -> Self {
        Self {
            reader,
            buf: initial,
            pos: 0,
            base: 0,
            keep: None,
            keep_limit: usize::MAX,
            overflowed: false,
            line: 1,
            counted: 0,
            line_start: 0,
            eof: false,
            error: None,
            max_record_bytes,
            elements: 0,
            stopped: false,
        }
    }

    /// Reads more input, dropping what is no longer needed. `false` at the end.
    fn refill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        if let Some(keep) = self.keep {
            if self.base + self.buf.len() as u64 - keep > self.keep_limit as u64 {
                self.keep = None;
                self.overflowed = true;
            }
        }
        let drop_to = self
            .keep
            .map(|keep| (keep.saturating_sub(self.base)) as usize)
            .unwrap_or(self.pos)
            .min(self.pos);
        self.count_lines_to(drop_to);
        self.buf.drain(..drop_to);
        self.pos -= drop_to;
        self.counted -= drop_to;
        self.base += drop_to as u64;
        let before = self.buf.len();
        loop {
            match self
                .reader
                .by_ref()
                .take(READ_BYTES as u64)
                .read_to_end(&mut self.buf)
            {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(_) => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.eof = true;
                    self.error = Some(error);
                    break;
                }
            }
        }
        self.buf.len() > before
    }

    fn count_lines_to(&mut self, to: usize) {
        if to <= self.counted {
            return;
        }
        let slice = &self.buf[self.counted..to];
        let newlines = slice.iter().filter(|&&b| b == b'\n').count();
        if newlines > 0 {
            self.line += newlines as u64;
            let last = slice.iter().rposition(|&b| b == b'\n').unwrap_or(0);
            self.line_start = self.base + (self.counted + last + 1) as u64;
        }
        self.counted = to;
    }

    /// The byte at `pos`, reading more when needed; `None` at the end.
    fn peek(&mut self) -> Option<u8> {
        while self.pos >= self.buf.len() {
            if !self.refill() {
                return None;
            }
        }
        Some(self.buf[self.pos])
    }

    fn skip_whitespace(&mut self) -> Option<u8> {
        loop {
            self.peek()?;
            let rest = &self.buf[self.pos..];
            match rest
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            {
                Some(index) => {
                    self.pos += index;
                    return Some(rest[index]);
                }
                None => self.pos = self.buf.len(),
            }
        }
    }

    /// Line, column and offset of `buf[index]`.
    fn locate(&mut self, index: usize) -> (i64, i64, i64) {
        self.count_lines_to(index);
        let offset = self.base + index as u64;
        (
            self.line as i64,
            (offset - self.line_start + 1) as i64,
            offset as i64,
        )
    }

    fn position(&mut self, index: usize, label: String) -> Position {
        let (line, _, offset) = self.locate(index);
        Position {
            label,
            line: Some(line),
            byte_offset: Some(offset),
        }
    }

    /// Scans the value starting at `pos` (not whitespace). With `limit`,
    /// the value is kept (and handed back whole) up to that many bytes.
    fn value(&mut self, limit: Option<usize>) -> Value {
        let start = self.base + self.pos as u64;
        // Inside a kept document the document's own keep protects the value.
        let own_keep = limit.is_some() && self.keep.is_none();
        if own_keep {
            self.keep = Some(start);
            self.keep_limit = limit.unwrap_or(usize::MAX);
            self.overflowed = false;
        }
        let complete = self.scan_value();
        let overflowed = own_keep && self.overflowed;
        if own_keep {
            self.keep = None;
            self.keep_limit = usize::MAX;
            self.overflowed = false;
        }
        if !complete {
            return Value::Cut;
        }
        let end = self.base + self.pos as u64;
        match limit {
            None => Value::Whole {
                start: self.pos,
                end: self.pos,
            },
            Some(limit) if overflowed || start < self.base || end - start > limit as u64 => {
                Value::TooLarge { bytes: end - start }
            }
            Some(_) => Value::Whole {
                start: (start - self.base) as usize,
                end: self.pos,
            },
        }
    }

    /// Moves `pos` past one JSON value; `false` when the input ends first.
    fn scan_value(&mut self) -> bool {
        let Some(first) = self.peek() else {
            return false;
        };
        match first {
            b'{' | b'[' => self.scan_nested(),
            b'"' => {
                self.pos += 1;
                self.scan_string_rest()
            }
            _ => {
                // A number, true/false/null or garbage: up to a delimiter.
                loop {
                    match self.peek() {
                        None => return self.error.is_none(),
                        Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') => return true,
                        Some(_) => self.pos += 1,
                    }
                }
            }
        }
    }

    /// After an opening quote: moves past the closing one.
    fn scan_string_rest(&mut self) -> bool {
        loop {
            if self.peek().is_none() {
                return false;
            }
            let rest = &self.buf[self.pos..];
            match memchr::memchr2(b'"', b'\\', rest) {
                Some(index) if rest[index] == b'"' => {
                    self.pos += index + 1;
                    return true;
                }
                Some(index) => {
                    // A backslash escapes the next byte, which may be in the next chunk.
                    self.pos += index + 1;
                    if self.peek().is_none() {
                        return false;
                    }
                    self.pos += 1;
                }
                None => self.pos = self.buf.len(),
            }
        }
    }

    /// From an opening bracket: moves past its matching closing bracket
    /// (counted, not recursed; a mismatch is left to the JSON parser).
    fn scan_nested(&mut self) -> bool {
        let mut depth: u64 = 0;
        loop {
            let Some(byte) = self.peek() else {
                return false;
            };
            self.pos += 1;
            match byte {
                b'"' if !self.scan_string_rest() => return false,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return true;
                    }
                }
                _ => {}
            }
        }
    }

    /// The whole document.
    fn document<F: FnMut(Decoded<'_>)>(&mut self, emit: &mut F) -> PayloadKind {
        // A byte order mark is not JSON.
        while self.buf.len() - self.pos < 3 && self.refill() {}
        if self.buf[self.pos..].starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos += 3;
        }
        match self.skip_whitespace() {
            None => PayloadKind::Empty,
            Some(b'[') => {
                self.array(Container::TopArray, emit);
                self.trailing(emit);
                PayloadKind::RecordArray
            }
            Some(b'{') => {
                let kind = self.object(emit);
                self.trailing(emit);
                kind
            }
            Some(_) => {
                let start = self.pos;
                let end = (start + 512).min(self.buf.len());
                let head = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
                emit(Decoded::Problem(Problem {
                    kind: "unknown_file_shape",
                    reason: "not JSON: the content starts with neither `{` nor `[` (expected a CloudTrail file, JSON Lines, or AWS CLI output)".into(),
                    position: self.position(start, "byte 0".into()),
                    raw: Some(head),
                }));
                PayloadKind::Unknown
            }
        }
    }

    /// A top-level object: a container of records, a digest, or one record.
    fn object<F: FnMut(Decoded<'_>)>(&mut self, emit: &mut F) -> PayloadKind {
        let document_start = self.base + self.pos as u64;
        // The document is kept while it may turn out to be one record.
        self.keep = Some(document_start);
        self.keep_limit = self.max_record_bytes;
        self.overflowed = false;
        self.pos += 1;
        let mut container: Option<Container> = None;
        let stopped =
            |container: Option<Container>| container.map_or(PayloadKind::Unknown, Container::kind);
        let mut keys: Vec<String> = Vec::new();
        let mut first = true;
        loop {
            match self.skip_whitespace() {
                Some(b'}') if first => {
                    self.pos += 1;
                    break;
                }
                Some(b'"') => {}
                found => {
                    self.syntax_error(found, "a key string", emit);
                    return stopped(container);
                }
            }
            first = false;
            let key = match self.value(Some(MAX_KEY_BYTES)) {
                Value::Whole { start, end } => {
                    String::from_utf8_lossy(&self.buf[start + 1..end - 1]).into_owned()
                }
                Value::TooLarge { .. } => String::new(),
                Value::Cut => {
                    self.syntax_error(None, "the end of a key", emit);
                    return stopped(container);
                }
            };
            match self.skip_whitespace() {
                Some(b':') => self.pos += 1,
                found => {
                    self.syntax_error(found, "`:` after a key", emit);
                    return stopped(container);
                }
            }
            let value_first = self.skip_whitespace();
            let as_container = match key.as_str() {
                "Records" => Some(Container::Records),
                "events" => Some(Container::FilterLogEvents),
                "Events" => Some(Container::LookupEvents),
                _ => None,
            }
            .filter(|_| container.is_none() && value_first == Some(b'['));
            if let Some(found) = as_container {
                container = Some(found);
                self.keep = None;
                self.keep_limit = usize::MAX;
                if !self.array(found, emit) {
                    return found.kind();
                }
            } else {
                if value_first.is_none() || !self.scan_value() {
                    self.syntax_error(None, "a value", emit);
                    return stopped(container);
                }
                if container.is_none() {
                    keys.push(key);
                }
            }
            match self.skip_whitespace() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                found => {
                    self.syntax_error(found, "`,` or `}` after a value", emit);
                    return stopped(container);
                }
            }
        }
        if let Some(found) = container {
            return found.kind();
        }
        let document_end = self.base + self.pos as u64;
        let kept = self.keep.take().filter(|_| {
            !self.overflowed && document_end - document_start <= self.max_record_bytes as u64
        });
        self.keep_limit = usize::MAX;
        if keys
            .iter()
            .any(|k| k == "digestStartTime" || k == "digestPublicKeyFingerprint")
        {
            return PayloadKind::Digest;
        }
        let position = Position {
            label: "document".into(),
            line: Some(1),
            byte_offset: Some(document_start as i64),
        };
        match kept {
            Some(start) => {
                let (start, end) = ((start - self.base) as usize, self.pos);
                self.element(Container::Single, start, end, position, emit);
            }
            None => {
                let bytes = document_end - document_start;
                self.elements += 1;
                emit(Decoded::Problem(Problem {
                    kind: "too_large",
                    reason: format!(
                        "the document is one record of {bytes} bytes, above the limit of {} bytes (ingest.max_record_bytes)",
                        self.max_record_bytes
                    ),
                    position,
                    raw: None,
                }));
            }
        }
        PayloadKind::SingleRecord
    }

    /// An array of records at `pos` (`[`); `false` when the document
    /// stopped inside it (the problem is reported).
    fn array<F: FnMut(Decoded<'_>)>(&mut self, container: Container, emit: &mut F) -> bool {
        self.pos += 1;
        let mut index = 0usize;
        if self.skip_whitespace() == Some(b']') {
            self.pos += 1;
            return true;
        }
        loop {
            if self.skip_whitespace().is_none() {
                self.syntax_error(None, "an element", emit);
                return false;
            }
            let start = self.pos;
            let position = self.position(start, container.label(index));
            match self.value(Some(self.max_record_bytes)) {
                Value::Whole { start, end } => self.element(container, start, end, position, emit),
                Value::TooLarge { bytes } => {
                    self.elements += 1;
                    emit(Decoded::Problem(Problem {
                        kind: "too_large",
                        reason: format!(
                            "record is at least {bytes} bytes long, above the limit of {} bytes (ingest.max_record_bytes); it was skipped and the next one read",
                            self.max_record_bytes
                        ),
                        position,
                        raw: None,
                    }));
                }
                Value::Cut => {
                    self.syntax_error(None, "the end of an element", emit);
                    return false;
                }
            }
            index += 1;
            match self.skip_whitespace() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return true;
                }
                found => {
                    self.syntax_error(found, "`,` or `]` after an element", emit);
                    return false;
                }
            }
        }
    }

    /// Hands `buf[start..end]` over as an element of `container`.
    fn element<F: FnMut(Decoded<'_>)>(
        &mut self,
        container: Container,
        start: usize,
        end: usize,
        position: Position,
        emit: &mut F,
    ) {
        self.elements += 1;
        let bytes = &self.buf[start..end];
        match std::str::from_utf8(bytes) {
            Ok(text) => emit_element(container, text, position, emit),
            Err(error) => emit(Decoded::Problem(Problem {
                kind: "invalid_utf8",
                reason: format!(
                    "the record contains bytes that are not valid UTF-8 (first at byte {} of the record)",
                    error.valid_up_to()
                ),
                position,
                raw: Some(String::from_utf8_lossy(bytes).into_owned()),
            })),
        }
    }

    /// Anything but whitespace after the document is reported.
    fn trailing<F: FnMut(Decoded<'_>)>(&mut self, emit: &mut F) {
        if self.stopped {
            return;
        }
        if let Some(found) = self.skip_whitespace() {
            self.syntax_error(Some(found), "nothing after the document", emit);
        }
    }

    /// Reports where and why the document stopped.
    fn syntax_error<F: FnMut(Decoded<'_>)>(
        &mut self,
        found: Option<u8>,
        expected: &str,
        emit: &mut F,
    ) {
        self.stopped = true;
        if self
            .error
            .as_ref()
            .is_some_and(|error| error.kind() == ErrorKind::FileTooLarge)
        {
            // The source was cut at the inflate cap: the caller reports that.
            return;
        }
        let at = self.pos.min(self.buf.len());
        let (line, column, offset) = self.locate(at);
        let from = at.saturating_sub(CONTEXT_BYTES);
        let to = (at + CONTEXT_BYTES).min(self.buf.len());
        let raw = String::from_utf8_lossy(&self.buf[from..to]).into_owned();
        let kept = self.elements;
        let (kind, reason) = match found {
            None => (
                "truncated",
                format!("document ends early at line {line} column {column} (expected {expected}); the {kept} record(s) before it were kept, the rest of the document could not be read"),
            ),
            Some(byte) => (
                "invalid_json",
                format!(
                    "invalid JSON at line {line} column {column}: expected {expected}, found {:?}; the {kept} record(s) before it were kept, the rest of the document could not be read",
                    char::from(byte)
                ),
            ),
        };
        emit(Decoded::Problem(Problem {
            kind,
            reason,
            position: Position {
                label: format!("line {line} column {column}"),
                line: Some(line),
                byte_offset: Some(offset),
            },
            raw: Some(raw),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one byte per read: every refill boundary is exercised.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.is_empty()) {
                (Some((&byte, rest)), false) => {
                    buf[0] = byte;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    /// `(label, line, offset, text-or-kind)` of everything split out.
    type Item = (String, Option<i64>, Option<i64>, String);

    fn split(initial: &[u8], rest: &[u8], limit: usize) -> (PayloadKind, Vec<Item>) {
        let mut items = Vec::new();
        let end = split_document(initial.to_vec(), OneByte(rest), limit, &mut |item| {
            items.push(match item {
                Decoded::Record { text, position, .. } => (
                    position.label,
                    position.line,
                    position.byte_offset,
                    text.to_string(),
                ),
                Decoded::Problem(problem) => (
                    problem.position.label,
                    problem.position.line,
                    problem.position.byte_offset,
                    format!("{}: {}", problem.kind, problem.reason),
                ),
            })
        });
        assert!(end.error.is_none());
        (end.kind, items)
    }

    const DOCUMENTS: &[&str] = &[
        "{\"Records\":[{\"eventID\":\"a\",\"s\":\"x\\\"]}\\\\\"},\n {\"eventID\":\"b\",\"n\":[[1],{\"c\":\"}\"}]}\n]}",
        "\u{feff}  [ {\"eventID\":\"a\"} ,\n\n{\"eventID\":\"b\"}]  \n",
        "{\"events\":[{\"message\":\"{\\\"eventID\\\":\\\"x\\\"}\"}],\"searchedLogStreams\":[{\"a\":1}]}",
        "{\"NextToken\":\"t\",\"Events\":[{\"EventId\":\"y\",\"CloudTrailEvent\":\"{}\"},{\"EventId\":\"z\"}]}",
        "{\n  \"eventID\": \"single\",\n  \"eventTime\": \"2024-01-01T00:00:00Z\"\n}\n",
        "{\"Records\":[{\"eventID\":\"a\"},\n{\"eventID\":\"b\"},{\"eventI",
        "{\"Records\":[{\"eventID\":\"a\"} {\"eventID\":\"b\"}]}",
        "{\"Records\":[]} trailing",
        "{\"Records\":[{\"eventID\":\"big\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},{\"eventID\":\"after\"}]}",
    ];

    #[test]
    fn one_byte_reads_split_exactly_as_one_buffer() {
        for document in DOCUMENTS {
            let bytes = document.as_bytes();
            let whole = split(bytes, b"", 64);
            for cut in [0, 1, 7, bytes.len() / 2] {
                let cut = cut.min(bytes.len());
                assert_eq!(
                    split(&bytes[..cut], &bytes[cut..], 64),
                    whole,
                    "{document} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn records_escapes_and_nesting() {
        let (kind, items) = split(DOCUMENTS[0].as_bytes(), b"", usize::MAX);
        assert_eq!(kind, PayloadKind::RecordsFile);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].3, r#"{"eventID":"a","s":"x\"]}\\"}"#);
        assert_eq!((items[1].0.as_str(), items[1].1), ("Records[1]", Some(2)));
        assert_eq!(
            items[1].2,
            Some(DOCUMENTS[0].find("{\"eventID\":\"b").unwrap() as i64)
        );
        serde_json::from_str::<serde_json::Value>(&items[1].3).expect("whole element");
    }

    #[test]
    fn an_oversized_element_is_skipped_and_the_next_one_kept() {
        let (kind, items) = split(DOCUMENTS[8].as_bytes(), b"", 64);
        assert_eq!(kind, PayloadKind::RecordsFile);
        assert!(
            items[0]
                .3
                .starts_with("too_large: record is at least 93 bytes"),
            "{items:?}"
        );
        assert_eq!(items[0].0, "Records[0]");
        assert_eq!(items[1].3, r#"{"eventID":"after"}"#);
    }

    #[test]
    fn syntax_errors_stop_the_document_where_they_are() {
        let (_, items) = split(DOCUMENTS[5].as_bytes(), b"", usize::MAX);
        assert_eq!(items.len(), 3);
        assert!(
            items[2]
                .3
                .starts_with("truncated: document ends early at line 2"),
            "{items:?}"
        );
        assert!(items[2].3.contains("the 2 record(s) before it were kept"));
        let (_, items) = split(DOCUMENTS[6].as_bytes(), b"", usize::MAX);
        assert_eq!(items.len(), 2);
        assert!(
            items[1]
                .3
                .starts_with("invalid_json: invalid JSON at line 1 column 29: expected `,` or `]`"),
            "{items:?}"
        );
        let (kind, items) = split(DOCUMENTS[7].as_bytes(), b"", usize::MAX);
        assert_eq!(kind, PayloadKind::RecordsFile);
        assert!(
            items[0].3.contains("expected nothing after the document"),
            "{items:?}"
        );
    }

    #[test]
    fn a_single_record_larger_than_the_limit_is_reported_not_kept() {
        let (kind, items) = split(DOCUMENTS[4].as_bytes(), b"", 20);
        assert_eq!(kind, PayloadKind::SingleRecord);
        assert_eq!(items.len(), 1);
        assert!(
            items[0]
                .3
                .starts_with("too_large: the document is one record"),
            "{items:?}"
        );
    }

    #[test]
    fn invalid_utf8_is_reported_per_record() {
        let (_, items) = split(b"[{\"a\":\"\xff\"},{\"b\":1}]", b"", usize::MAX);
        assert!(items[0].3.starts_with("invalid_utf8"), "{items:?}");
        assert_eq!(items[1].3, r#"{"b":1}"#);
    }

    #[test]
    fn a_failing_source_stops_the_document_and_is_returned() {
        struct Fails;
        impl Read for Fails {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(ErrorKind::FileTooLarge, "cap"))
            }
        }
        let mut items = 0;
        let end = split_document(
            br#"{"Records":[{"eventID":"a"},{"event"#.to_vec(),
            Fails,
            usize::MAX,
            &mut |_| items += 1,
        );
        assert_eq!(items, 1, "the record before the cap, and no syntax error");
        assert_eq!(end.error.map(|e| e.kind()), Some(ErrorKind::FileTooLarge));
    }
}
