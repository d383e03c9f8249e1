//! Records built by an attacker to crash or fool the normalizer: each test is
//! named after the hardening defect it proves fixed.

mod common;

use common::normalize_line;
use poolsight_model::Rejection;

const RECORD: &str = r#"{"eventVersion":"1.08","eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"inner-1","awsRegion":"us-east-1"}"#;

fn envelope(inner: &str) -> String {
    format!(
        r#"{{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{inner}}}"#
    )
}

/// Runs `f` on a thread with a small stack: recursion proportional to the
/// input's depth would overflow it and abort the test binary.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn unbounded_recursion_in_eventbridge_unwrapping() {
    // One envelope (what EventBridge writes) is unwrapped.
    let event = normalize_line(&envelope(RECORD)).expect("one envelope level normalizes");
    assert_eq!(event.event_id.as_deref(), Some("inner-1"));
    assert_eq!(event.source_format.as_deref(), Some("eventbridge"));

    // Two levels are not something AWS writes.
    assert_eq!(
        normalize_line(&envelope(&envelope(RECORD))).unwrap_err(),
        Rejection::NestedEnvelope
    );

    // A 250 KB line of nested envelopes: rejected, not a stack overflow.
    let mut line = RECORD.to_string();
    while line.len() < 250_000 {
        line = envelope(&line);
    }
    let line_len = line.len();
    let rejection = on_small_stack(move || normalize_line(&line).unwrap_err());
    assert!(
        matches!(
            rejection,
            Rejection::NestedEnvelope | Rejection::InvalidJson(_)
        ),
        "{line_len} bytes of envelopes: {rejection:?}"
    );
}

#[test]
fn deeply_nested_values_inside_a_record_are_kept_not_overflowed() {
    let depth = 100_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let line = RECORD.replace(
        r#""awsRegion""#,
        &format!(r#""requestParameters":{{"key":{nested}}},"awsRegion""#),
    );
    let result = on_small_stack(move || normalize_line(&line).map(|e| e.event_id.is_some()));
    // The record is kept (its parameters stored as text, too deep to read
    // resources from); nothing recursed per level.
    assert_eq!(result, Ok(true));
}

#[test]
fn event_times_implausible_or_extreme_are_rejected_without_panicking() {
    let with_time = |time: &str| RECORD.replace(r#""2026-11-20T10:00:00Z""#, time);
    for time in [
        r#""2099-01-01T00:00:00Z""#,
        r#""2012-12-31T23:59:59Z""#,
        r#""1970-01-01T00:00:00Z""#,
        r#""+262143-12-31T23:59:59Z""#,
        "1e300",
        "-1e300",
        "9223372036854775807",
        "-9223372036854775808",
        "4102444800",
    ] {
        let line = with_time(time);
        match normalize_line(&line) {
            Err(Rejection::ImplausibleTime(_)) | Err(Rejection::BadEventTime(_)) => {}
            other => panic!("{time}: {other:?}"),
        }
    }
    // An hour ahead (a skewed clock) and 2013 onwards are fine.
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("\"%Y-%m-%dT%H:%M:%SZ\"")
        .to_string();
    assert!(normalize_line(&with_time(&soon)).is_ok());
    assert!(normalize_line(&with_time(r#""2013-11-13T00:00:00Z""#)).is_ok());
}
