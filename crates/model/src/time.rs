//! Timestamps as CloudTrail writes them, into microseconds since the epoch (UTC).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Parses an `eventTime`: RFC 3339 (`2023-01-19T16:55:08Z`, with or without
/// fractional seconds or an offset), or `YYYY-MM-DD HH:MM:SS` taken as UTC.
pub fn parse_event_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(micros) = parse_fast_utc(text) {
        return Some(micros);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc).timestamp_micros());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time.and_utc().timestamp_micros());
        }
    }
    None
}

/// The common `YYYY-MM-DDTHH:MM:SSZ` form without chrono's general parser.
fn parse_fast_utc(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let mut value = 0u32;
        for &digit in &b[range] {
            if !digit.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(digit - b'0');
        }
        Some(value)
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(time.and_utc().timestamp_micros())
}

/// A span as users write it: `30s`, `90m` (or `90min`), `24h`, `7d`, `2w`. `None`
/// for anything else, zero, or a span too long to be a time difference.
pub fn parse_span(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let n: i64 = digits.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "s" => Duration::try_seconds(n),
        "m" | "min" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        "w" => Duration::try_weeks(n),
        _ => None,
    }
}

/// An instant as users write it: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]`,
/// `YYYY-MM-DD HH:MM`, or a date (midnight); UTC unless an offset is given.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), format) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
}

/// A time expression: an instant, or a span back from `now`. `Err` says
/// what is accepted (a span reaching before the calendar's start included).
pub fn parse_time_expression(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Some(instant) = parse_instant(text) {
        return Ok(instant);
    }
    if let Some(span) = parse_span(text) {
        return now
            .checked_sub_signed(span)
            .ok_or_else(|| format!("{text:?} reaches back before any date there can be"));
    }
    Err(format!(
        "{text:?} is not a time: use RFC 3339 (2026-11-27T10:00:00Z), a date (2026-11-27), or a span back from now (90m, 24h, 7d, 2w)"
    ))
}

/// The earliest plausible event time: 2013-01-01 (CloudTrail began in
/// November 2013), microseconds.
pub const EARLIEST_PLAUSIBLE_MICROS: i64 = 1_356_998_400_000_000;

/// How far after the moment of ingest an event may be stamped (clock skew,
/// time zones written wrong): one day, microseconds.
pub const FUTURE_TOLERANCE_MICROS: i64 = 86_400_000_000;

/// Whether an event stamped `micros` can be real when ingested at `now`:
/// not before 2013, not more than a day after `now`.
pub fn is_plausible(micros: i64, now: i64) -> bool {
    micros >= EARLIEST_PLAUSIBLE_MICROS && micros <= now.saturating_add(FUTURE_TOLERANCE_MICROS)
}

/// A number that is an epoch time: milliseconds when large, else seconds.
pub fn epoch_number_to_micros(value: i64) -> i64 {
    if value.unsigned_abs() >= 100_000_000_000 {
        value.saturating_mul(1_000)
    } else {
        value.saturating_mul(1_000_000)
    }
}

/// Parses the expiry of issued credentials. CloudTrail writes it in Java's
/// default locale format, not ISO: `Jan 19, 2023 5:55:08 PM`, or with a
/// comma after the year (`Jul 9, 2024, 4:41:37 PM`), sometimes with a
/// narrow no-break space before `PM`. ISO forms and epoch numbers are
/// accepted too. The time is UTC.
pub fn parse_credentials_expiration(text: &str) -> Option<i64> {
    if let Some(micros) = parse_event_time(text) {
        return Some(micros);
    }
    if let Ok(number) = text.trim().parse::<i64>() {
        return Some(epoch_number_to_micros(number));
    }
    let normalized: String = text
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '\u{202f}' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split(' ')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    for format in [
        "%b %d, %Y %I:%M:%S %p",
        "%b %d, %Y, %I:%M:%S %p",
        "%b %d, %Y %H:%M:%S",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(&normalized, format) {
            return Some(time.and_utc().timestamp_micros());
        }
    }
    None
}

/// `YYYY-MM-DD` of a timestamp in microseconds.
pub fn date_of_micros(micros: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_micros(micros).map(|t| t.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(micros: i64) -> String {
        DateTime::<Utc>::from_timestamp_micros(micros)
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn event_times() {
        assert_eq!(
            iso(parse_event_time("2023-01-19T16:55:08Z").unwrap()),
            "2023-01-19T16:55:08+00:00"
        );
        assert_eq!(
            parse_event_time("2023-01-19T16:55:08.123Z").unwrap(),
            parse_event_time("2023-01-19T16:55:08Z").unwrap() + 123_000
        );
        assert_eq!(
            parse_event_time("2023-01-19T17:55:08+01:00"),
            parse_event_time("2023-01-19T16:55:08Z")
        );
        assert!(parse_event_time("yesterday").is_none());
        assert!(parse_event_time("2023-13-19T16:55:08Z").is_none());
    }

    #[test]
    fn non_iso_expiration() {
        assert_eq!(
            iso(parse_credentials_expiration("Jan 19, 2023 5:55:08 PM").unwrap()),
            "2023-01-19T17:55:08+00:00"
        );
        assert_eq!(
            iso(parse_credentials_expiration("Jul 9, 2024, 4:41:37 PM").unwrap()),
            "2024-07-09T16:41:37+00:00"
        );
        assert_eq!(
            iso(parse_credentials_expiration("Jul 9, 2024, 4:41:37\u{202f}AM").unwrap()),
            "2024-07-09T04:41:37+00:00"
        );
        assert!(parse_credentials_expiration("soon").is_none());
    }

    #[test]
    fn partition_date() {
        assert_eq!(
            date_of_micros(parse_event_time("2023-01-19T23:59:59Z").unwrap()).unwrap(),
            "2023-01-19"
        );
    }
}
