//! What an incremental run judges and what it must read to do so.
//!
//! The rows that arrived since a detection last ran touch some hours of
//! event time ([`Span`]s, merged). A detection judges those hours, widened
//! to whole bins of its `window`; it reads them widened again by its
//! `lookback` on both sides. Its `history` (baselines) is read from the
//! state tables, never from raw events, so it widens nothing here.
//! Everything here is plain arithmetic on microseconds, so it is tested
//! alone.

use crate::catalog::Timing;

const MICROS: i64 = 1_000_000;

/// The earliest time a span may start at: the epoch (no event is older).
pub const EARLIEST: i64 = 0;
/// The latest time a span may end at: the end of year 9999, the last
/// instant SQL timestamps and dates can name.
pub const LATEST: i64 = 253_402_300_799_000_000;

/// A half-open interval of event time, `[from, to)`, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub from: i64,
    pub to: i64,
}

impl Span {
    pub fn new(from: i64, to: i64) -> Self {
        Span { from, to }
    }

    /// The hour holding `micros`.
    pub fn hour_of(micros: i64) -> Self {
        let hour = 3600 * MICROS;
        let from = micros.div_euclid(hour) * hour;
        Span::new(from, from + hour)
    }

    pub fn contains(&self, micros: i64) -> bool {
        self.from <= micros && micros < self.to
    }
}

/// Sorts and merges overlapping or touching spans.
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.from < s.to);
    spans.sort();
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match out.last_mut() {
            Some(last) if span.from <= last.to => last.to = last.to.max(span.to),
            _ => out.push(span),
        }
    }
    out
}

/// The judged spans: the touched ones widened by `lookback` (a new event
/// changes the bins whose reading reaches it) and then to whole bins of
/// `window`.
pub fn judged(touched: &[Span], timing: &Timing) -> Vec<Span> {
    let reach = timing.lookback * MICROS;
    let widened: Vec<Span> = touched
        .iter()
        .map(|s| Span::new(s.from.saturating_sub(reach), s.to.saturating_add(reach)))
        .collect();
    whole_bins(&widened, timing)
}

/// `spans` widened to whole bins of `window` (unchanged without one).
pub fn whole_bins(spans: &[Span], timing: &Timing) -> Vec<Span> {
    let Some(window) = timing.window else {
        return merge(spans.to_vec());
    };
    let bin = window * MICROS;
    merge(
        spans
            .iter()
            .map(|s| {
                Span::new(
                    s.from.div_euclid(bin) * bin,
                    (s.to + bin - 1).div_euclid(bin) * bin,
                )
            })
            .collect(),
    )
}

/// The spans of raw events a detection reads to judge `judged`:
/// `lookback` on both sides. (Its `history` comes from the state tables.)
pub fn evaluated(judged: &[Span], timing: &Timing) -> Vec<Span> {
    let around = timing.lookback * MICROS;
    merge(
        judged
            .iter()
            .map(|s| Span::new(s.from.saturating_sub(around), s.to.saturating_add(around)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600 * MICROS;
    const M: i64 = 60 * MICROS;

    #[test]
    fn touched_hours_merge_into_spans() {
        let spans = merge(vec![
            Span::hour_of(5 * H + 10),
            Span::hour_of(3 * H),
            Span::hour_of(4 * H + 59 * M),
            Span::hour_of(9 * H),
        ]);
        assert_eq!(
            spans,
            vec![Span::new(3 * H, 6 * H), Span::new(9 * H, 10 * H)]
        );
        assert_eq!(Span::hour_of(-1), Span::new(-H, 0));
    }

    #[test]
    fn judged_spans_are_whole_bins_and_reads_add_lookback_but_not_history() {
        let touched = [Span::new(10 * H, 11 * H)];
        let day = Timing {
            window: Some(86_400),
            lookback: 0,
            history: 0,
        };
        assert_eq!(judged(&touched, &day), vec![Span::new(0, 24 * H)]);
        let quarter = Timing {
            window: Some(900),
            lookback: 450,
            history: 7 * 86_400,
        };
        // An event reaches the bins whose offset windows read it.
        let judged = judged(&touched, &quarter);
        assert_eq!(judged, vec![Span::new(10 * H - 15 * M, 11 * H + 15 * M)]);
        assert_eq!(
            evaluated(&judged, &quarter),
            vec![Span::new(
                10 * H - 15 * M - 450 * MICROS,
                11 * H + 15 * M + 450 * MICROS
            )]
        );
        let events_only = Timing::default();
        assert_eq!(evaluated(&touched, &events_only), touched.to_vec());
    }
}
