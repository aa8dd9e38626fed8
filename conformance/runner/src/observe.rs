//! What the run saw of the tenant's habits: answers and their latency, 429s and the
//! time spent waiting them out, GETs resent after a connection closed under them, and
//! non-idempotent requests lost that way.
//!
//! One [`Observations`] per run, held by the [`crate::target::Target`] and installed as
//! the [`idcs_mfa::Observer`] of its client, so every request path (the generated
//! client, raw requests, property cases, fixture and control calls) is counted. The
//! report shows its [`NetworkSummary`] (console, JSON, JUnit properties).
//!
//! A 429 is never a check's result: the library's policy waits it out
//! ([`idcs_mfa::policy`]), and only when the run's deadline comes first does a check
//! see one; [`rate_limited`] turns that check into a skip.

use std::{sync::Mutex, time::Duration};

use idcs_mfa::{Event, Exchange, Observer};
use serde::Serialize;

/// The run's observations. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Observations(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    answers: u64,
    /// Latencies of the answers other than 429, in microseconds.
    latencies: Vec<u64>,
    rate_limited: u64,
    with_retry_after: u64,
    waited: Duration,
    /// The waits `Retry-After` asked for, summed.
    retry_after_asked: Duration,
    /// For each 429 without `Retry-After` that was waited out: how many 429s its
    /// request had met before it.
    bare_retries: Vec<u32>,
    gave_up: u64,
    resent: Vec<String>,
    not_resent: Vec<String>,
}

impl Observer for Observations {
    fn event(&self, event: Event) {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Answered {
                status, latency, ..
            } => {
                inner.answers += 1;
                if status == 429 {
                    inner.rate_limited += 1;
                } else {
                    inner.latencies.push(latency.as_micros() as u64);
                }
            }
            Event::RateLimited {
                wait,
                retry_after,
                retry,
                ..
            } => {
                inner.waited += wait;
                inner.with_retry_after += u64::from(retry_after);
                if retry_after {
                    inner.retry_after_asked += wait;
                } else {
                    inner.bare_retries.push(retry);
                }
            }
            Event::GaveUp { .. } => inner.gave_up += 1,
            Event::Resent { path, error } => inner.resent.push(format!("GET {path}: {error}")),
            Event::NotResent {
                method,
                path,
                error,
            } => inner.not_resent.push(format!("{method} {path}: {error}")),
            _ => {}
        }
    }
}

/// The run's network summary, for the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NetworkSummary {
    /// Answers received (429s included; each try counts).
    pub requests: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Of those, how many carried a usable `Retry-After`.
    pub with_retry_after: u64,
    /// Time spent waiting after 429s, in milliseconds (summed over concurrent requests).
    pub waited_ms: u64,
    /// 429s handed to a check because the run's deadline came first.
    pub gave_up: u64,
    /// The median latency of the answers other than 429, in milliseconds.
    pub latency_p50_ms: Option<f64>,
    /// The 95th percentile of that latency, in milliseconds.
    pub latency_p95_ms: Option<f64>,
    /// GETs resent on a new connection after a pooled one closed under them.
    pub resent_gets: Vec<String>,
    /// POSTs and PATCHes that failed on a closed connection; never resent.
    pub not_resent: Vec<String>,
}

impl Observations {
    /// The summary so far.
    pub fn summary(&self) -> NetworkSummary {
        let inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut sorted = inner.latencies.clone();
        sorted.sort_unstable();
        NetworkSummary {
            requests: inner.answers,
            rate_limited: inner.rate_limited,
            with_retry_after: inner.with_retry_after,
            waited_ms: inner.waited.as_millis() as u64,
            gave_up: inner.gave_up,
            latency_p50_ms: percentile(&sorted, 50),
            latency_p95_ms: percentile(&sorted, 95),
            resent_gets: inner.resent.clone(),
            not_resent: inner.not_resent.clone(),
        }
    }
}

impl Observations {
    /// The waiting the tenant asked for with the 429s waited out so far: each
    /// `Retry-After` as given, and for each 429 without one, the step of `policy`'s
    /// backoff for it (`initial_backoff × 2ⁿ` for a request's n-th 429 in a row, before
    /// jitter: what a client that backs off exponentially waits at most). A yardstick
    /// for the time a run lost to 429s (the `suite` benchmark); not in the report.
    pub fn asked(&self, policy: &idcs_mfa::RateLimitPolicy) -> Duration {
        let inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        inner.retry_after_asked
            + inner
                .bare_retries
                .iter()
                .map(|&n| policy.backoff_ceiling(n))
                .sum::<Duration>()
    }
}

/// The `p`th percentile (nearest rank) of sorted microseconds, in milliseconds.
fn percentile(sorted: &[u64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    let micros = sorted[rank.min(sorted.len()) - 1];
    Some((micros as f64 / 1000.0 * 10.0).round() / 10.0)
}

/// Makes the run's 429 policy give up a little before `deadline` (a second, or a tenth
/// of the time left when that is shorter), so that a check waiting out a 429 sees it
/// and is skipped, instead of being cut off by the deadline as unfinished.
pub fn give_up_before(client: &idcs_mfa::Client, deadline: std::time::Instant) {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    let margin = Duration::from_secs(1).min(left / 10);
    client
        .rate_limit_policy()
        .give_up_at(tokio::time::Instant::from_std(deadline - margin));
}

/// Why a check whose exchanges hold a 429 is skipped, if they do: the run's rate-limit
/// policy hands a 429 over only when the next try would start after the run's deadline
/// (the only stop: any `Retry-After` that ends before it is waited out), and a rate
/// limit says nothing of the behaviour the check asserts.
pub fn rate_limited(exchanges: &[Exchange]) -> Option<String> {
    let n = exchanges.iter().filter(|e| e.status == Some(429)).count();
    (n > 0).then(|| {
        format!(
            "rate limited: the tenant still answered 429 when the run's deadline came before the next try ({n} request(s)); run again later, with a lower --rate-limit or a longer --deadline"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, millis: u64) -> Event {
        Event::Answered {
            method: "GET".into(),
            status,
            latency: Duration::from_millis(millis),
        }
    }

    #[test]
    fn the_summary_counts_429s_waits_and_latency_percentiles() {
        let o = Observations::default();
        for ms in 1..=100 {
            o.event(answered(200, ms));
        }
        o.event(answered(429, 5000));
        o.event(Event::RateLimited {
            method: "GET".into(),
            path: "/mfa/v1/requests/x".into(),
            wait: Duration::from_millis(1500),
            retry_after: true,
            retry: 0,
        });
        o.event(answered(429, 1));
        o.event(Event::RateLimited {
            method: "POST".into(),
            path: "/mfa/v1/requests".into(),
            wait: Duration::from_millis(250),
            retry_after: false,
            retry: 1,
        });
        o.event(Event::Resent {
            path: "/mfa/v1/users/u/factors".into(),
            error: "closed".into(),
        });
        let s = o.summary();
        assert_eq!(s.requests, 102);
        assert_eq!(s.rate_limited, 2);
        assert_eq!(s.with_retry_after, 1);
        assert_eq!(s.waited_ms, 1750);
        assert_eq!(s.latency_p50_ms, Some(50.0));
        assert_eq!(s.latency_p95_ms, Some(95.0), "429s are not latency samples");
        assert_eq!(s.resent_gets, vec!["GET /mfa/v1/users/u/factors: closed"]);
        assert_eq!(Observations::default().summary().latency_p50_ms, None);
        // Asked: the Retry-After as given, and the backoff's step for the bare one (its
        // request's second 429: 2 × 100 ms), not the 250 ms drawn.
        let policy =
            idcs_mfa::RateLimitPolicy::default().initial_backoff(Duration::from_millis(100));
        assert_eq!(o.asked(&policy), Duration::from_millis(1700));
    }
}
