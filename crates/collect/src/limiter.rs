//! Client-side request rates: the service quotas are per account and
//! region (FilterLogEvents 5 TPS, LookupEvents 2 TPS), shared by every
//! caller, so one limiter per (operation, credentials, region) spaces the
//! calls of every source of the run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces calls at least `1 / rate` seconds apart (waiters queue in order).
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn per_second(rate: f64) -> Self {
        Self {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits for this call's slot.
    pub async fn acquire(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if let Some(at) = *next {
            if at > now {
                tokio::time::sleep_until(at).await;
            }
        }
        let start = Instant::now();
        *next = Some(start + self.interval);
    }
}

/// The limiters of one run, by key.
#[derive(Debug, Default)]
pub struct Limiters {
    map: Mutex<HashMap<String, Arc<RateLimiter>>>,
}

impl Limiters {
    /// The limiter for `key`, created at `rate` calls per second.
    pub fn get(&self, key: &str, rate: f64) -> Arc<RateLimiter> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            map.entry(key.to_string())
                .or_insert_with(|| Arc::new(RateLimiter::per_second(rate))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_by_the_rate() {
        let limiter = RateLimiter::per_second(5.0);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        // The first call is free; ten more take ten intervals of 200 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(2000));
    }

    #[tokio::test(start_paused = true)]
    async fn sources_sharing_a_key_share_the_rate() {
        let limiters = Arc::new(Limiters::default());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let limiter = limiters.get("logs:FilterLogEvents:default:us-east-1", 2.0);
            tasks.push(tokio::spawn(async move {
                for _ in 0..3 {
                    limiter.acquire().await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        // Six calls at 2 per second: the last starts 2.5 s after the first.
        assert_eq!(start.elapsed(), Duration::from_millis(2500));
        let other = limiters.get("logs:FilterLogEvents:default:eu-west-1", 2.0);
        let before = Instant::now();
        other.acquire().await;
        assert_eq!(
            before.elapsed(),
            Duration::ZERO,
            "another region has its own quota"
        );
    }
}
