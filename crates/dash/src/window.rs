//! The time window every panel of a dashboard looks at.
//!
//! Relative windows (`1h`, `24h`, `7d`, any `<n>m|h|d|w`) count back from
//! the newest event in the lake, so archived or sample data behaves like
//! live data; `all` is the whole lake; a custom range is two times
//! (`2026-11-20..2026-11-21T06:00`). The resolved window also picks the
//! bucket width of time series (about 60 buckets across the window).

use chrono::{DateTime, Duration, Utc};
use poolsight_model::time::{parse_instant, parse_span};

/// What the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeWindow {
    /// The last span before the newest event.
    Last(Duration),
    /// The whole lake.
    All,
    /// From `since` (inclusive) to `until` (exclusive).
    Range {
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    },
}

/// The presets `t` cycles through.
pub const PRESETS: &[&str] = &["1h", "24h", "7d", "all"];

impl TimeWindow {
    /// `1h`, `24h`, `7d`, `90m`, `2w`, `all`, or `SINCE..UNTIL` (RFC 3339,
    /// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`; UTC unless an offset is given).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(TimeWindow::All);
        }
        if let Some(span) = parse_span(text) {
            return Ok(TimeWindow::Last(span));
        }
        if let Some((since, until)) = text.split_once("..") {
            let since = parse_instant(since).ok_or_else(|| {
                format!("{since:?} is not a time (2026-11-20 or 2026-11-20T10:00)")
            })?;
            let until = parse_instant(until).ok_or_else(|| {
                format!("{until:?} is not a time (2026-11-21 or 2026-11-21T10:00)")
            })?;
            if until <= since {
                return Err(format!("{text}: the end must come after the start"));
            }
            return Ok(TimeWindow::Range { since, until });
        }
        Err(format!(
            "{text:?} is not a window: use 1h, 24h, 7d, all, <n>m|h|d|w, or SINCE..UNTIL"
        ))
    }

    /// The next preset (`t`): 1h → 24h → 7d → all → 1h; a custom window goes to 1h.
    pub fn next_preset(&self) -> Self {
        let position = PRESETS
            .iter()
            .position(|p| TimeWindow::parse(p).ok().as_ref() == Some(self));
        let next = match position {
            Some(i) => PRESETS[(i + 1) % PRESETS.len()],
            None => PRESETS[0],
        };
        TimeWindow::parse(next).expect("presets parse")
    }

    /// How the header shows it.
    pub fn label(&self) -> String {
        match self {
            TimeWindow::All => "all".to_string(),
            TimeWindow::Last(span) => format!("last {}", span_label(*span)),
            TimeWindow::Range { since, until } => format!(
                "{} → {}",
                since.format("%Y-%m-%d %H:%M"),
                until.format("%Y-%m-%d %H:%M")
            ),
        }
    }

    /// Bounds against the lake's oldest and newest events.
    pub fn resolve(
        &self,
        oldest: Option<DateTime<Utc>>,
        newest: Option<DateTime<Utc>>,
    ) -> ResolvedWindow {
        let (since, until) = match self {
            TimeWindow::All => (None, None),
            TimeWindow::Last(span) => (
                newest.map(|n| {
                    n.checked_sub_signed(*span)
                        .unwrap_or(DateTime::<Utc>::MIN_UTC)
                }),
                None,
            ),
            TimeWindow::Range { since, until } => (Some(*since), Some(*until)),
        };
        let start = since.or(oldest);
        let end = until.or(newest.map(|n| n.checked_add_signed(Duration::seconds(1)).unwrap_or(n)));
        let span_seconds = match (start, end) {
            (Some(s), Some(e)) => (e - s).num_seconds().max(60),
            _ => 3600,
        };
        ResolvedWindow {
            since,
            until,
            start,
            end,
            newest,
            bucket_seconds: bucket_for(span_seconds),
        }
    }
}

/// `90m` → `90m`, `24h`, `7d`, `2w`.
pub fn span_label(span: Duration) -> String {
    let minutes = span.num_minutes();
    if minutes % (7 * 24 * 60) == 0 && minutes >= 14 * 24 * 60 {
        format!("{}w", minutes / (7 * 24 * 60))
    } else if minutes % (24 * 60) == 0 && minutes > 48 * 60 {
        format!("{}d", minutes / (24 * 60))
    } else if minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

/// A round bucket width giving about 60 buckets over `span_seconds`.
pub fn bucket_for(span_seconds: i64) -> i64 {
    const STEPS: &[i64] = &[
        60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800,
    ];
    let wanted = span_seconds / 60;
    STEPS
        .iter()
        .copied()
        .find(|s| *s >= wanted)
        .unwrap_or(2_592_000)
}

/// A window with its bounds known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedWindow {
    /// The session filter (`None`: unbounded).
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// What time series span: the filter, or the lake's first/last event.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// The newest event of the lake.
    pub newest: Option<DateTime<Utc>>,
    pub bucket_seconds: i64,
}

impl ResolvedWindow {
    /// Values of the `{{bucket}}`, `{{since}}` and `{{until}}` placeholders.
    pub fn placeholder_values(&self) -> Vec<(String, String)> {
        let micros = |t: Option<DateTime<Utc>>, fallback: i64| {
            poolsight_detect::template::timestamp_literal(
                t.map(|t| t.timestamp_micros()).unwrap_or(fallback),
            )
        };
        vec![
            (
                "bucket".to_string(),
                format!("INTERVAL '{} seconds'", self.bucket_seconds),
            ),
            ("since".to_string(), micros(self.start, 0)),
            ("until".to_string(), micros(self.end, i64::MAX / 2)),
        ]
    }

    /// `30m buckets` for the sparkline captions.
    pub fn bucket_label(&self) -> String {
        span_label(Duration::seconds(self.bucket_seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_presets_spans_and_ranges() {
        assert_eq!(
            TimeWindow::parse("24h").unwrap(),
            TimeWindow::Last(Duration::hours(24))
        );
        assert_eq!(TimeWindow::parse("90m").unwrap().label(), "last 90m");
        assert_eq!(TimeWindow::parse("2w").unwrap().label(), "last 2w");
        assert_eq!(TimeWindow::parse("ALL").unwrap(), TimeWindow::All);
        assert_eq!(
            TimeWindow::parse("2026-11-20..2026-11-21T06:00").unwrap(),
            TimeWindow::Range {
                since: at("2026-11-20T00:00:00Z"),
                until: at("2026-11-21T06:00:00Z")
            }
        );
        for bad in ["", "0h", "5y", "yesterday", "2026-11-21..2026-11-20"] {
            assert!(TimeWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn presets_cycle() {
        let mut window = TimeWindow::parse("1h").unwrap();
        let mut seen = Vec::new();
        for _ in 0..4 {
            window = window.next_preset();
            seen.push(window.label());
        }
        assert_eq!(seen, ["last 24h", "last 7d", "all", "last 1h"]);
    }

    #[test]
    fn relative_windows_count_back_from_the_newest_event() {
        let newest = at("2026-11-21T12:00:00Z");
        let resolved = TimeWindow::parse("24h")
            .unwrap()
            .resolve(Some(at("2026-11-01T00:00:00Z")), Some(newest));
        assert_eq!(resolved.since, Some(at("2026-11-20T12:00:00Z")));
        assert_eq!(resolved.until, None);
        assert_eq!(resolved.bucket_seconds, 1800);
        let all = TimeWindow::All.resolve(Some(at("2026-11-20T12:00:00Z")), Some(newest));
        assert_eq!(all.since, None);
        assert_eq!(all.start, Some(at("2026-11-20T12:00:00Z")));
        assert_eq!(all.bucket_seconds, 1800);
        assert_eq!(bucket_for(3600), 60);
        assert_eq!(bucket_for(7 * 86400), 10800);
    }

    #[test]
    fn extreme_windows_and_lake_times_do_not_panic() {
        let huge = TimeWindow::parse("9999999w").unwrap();
        for newest in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
            for window in [huge, TimeWindow::All, TimeWindow::parse("1h").unwrap()] {
                let _ = window.resolve(Some(DateTime::<Utc>::MIN_UTC), Some(newest));
            }
        }
        assert!(TimeWindow::parse("99999999999999d").is_err());
    }
}
