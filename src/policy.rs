//! How the client copes with a real tenant's habits: 429 answers, closed connections.
//!
//! Every request a [`crate::Client`] sends (the five operations, and any request handed
//! to [`crate::Client::execute`]) goes through one function of this module:
//!
//! 1. **Rate limit.** It waits for the shared [`RateLimiter`] first.
//! 2. **429.** A 429 is never the answer while there is time: the request is sent again
//!    after `Retry-After` (RFC 9110 §10.2.3: delay-seconds, or an HTTP-date), or, without
//!    one, after an exponential backoff with full jitter (a random wait between half and
//!    all of `initial_backoff × 2ⁿ`, capped at `max_backoff`). The policy gives up, and
//!    hands the last 429 over, only when the next try would start after its
//!    [`RateLimitPolicy::give_up_at`] instant (a run's deadline), after `max_retries`
//!    retries when set, or when `Retry-After` asks for longer than `max_retry_after`.
//!    Each 429 also slows the shared limiter down (see [`RateLimiter::slow_down`]).
//! 3. **Closed connections.** Servers and load balancers close idle keep-alive
//!    connections; a request sent on a pooled connection as it closes fails without an
//!    answer. A `GET` (idempotent, RFC 9110 §9.2.2) that fails that way is sent once more,
//!    on a new connection. A `POST` or `PATCH` is **never** resent: the tenant may have
//!    received it (an initiate sends an OTP, a PATCH spends an attempt), so its failure
//!    is returned as it is. Both are reported to the [`Observer`].
//!
//! An [`Observer`] sees every answer (with its latency), every 429 and its wait, every
//! resent `GET` and every non-idempotent request lost on a closed connection: the
//! conformance suite reports these.

use std::{
    hash::{BuildHasher, Hasher},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use reqwest::{
    StatusCode,
    header::{self, HeaderMap},
};
use tokio::time::Instant;

/// Spaces requests out to at most a given rate, across every client that shares it.
///
/// IDCS rate-limits `/mfa/v1` per domain (tens of requests per second, \[RL\]); a tool
/// pointed at a real tenant should stay well under that. Clone it to share the budget.
///
/// It adapts: each 429 stretches the spacing by a quarter (to at least
/// [`RateLimiter::MIN_ADAPTIVE`], at most [`RateLimiter::MAX_ADAPTIVE`]); each clean
/// answer takes 5 % of the extra off again, so the rate recovers slowly. The steps are
/// mild on purpose: a tenant that limits by count rather than by rate (one 429 every
/// N requests, whatever the pace) must not drive the spacing to its maximum. It never
/// goes faster than the rate it was made with.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    interval: Duration,
    state: Arc<Mutex<LimiterState>>,
}

#[derive(Debug, Default)]
struct LimiterState {
    next: Option<Instant>,
    /// The spacing in force (at least `interval`).
    current: Duration,
}

impl RateLimiter {
    /// The smallest spacing after a 429, also for a limiter without a limit.
    pub const MIN_ADAPTIVE: Duration = Duration::from_millis(20);
    /// The largest spacing the adaptation reaches.
    pub const MAX_ADAPTIVE: Duration = Duration::from_secs(5);

    /// At most `per_second` requests per second (values of 0 or below mean no limit).
    pub fn per_second(per_second: f64) -> Self {
        let interval = if per_second > 0.0 && per_second.is_finite() {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        Self {
            interval,
            state: Arc::new(Mutex::new(LimiterState {
                next: None,
                current: interval,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The spacing in force now (the configured one, or more after 429s).
    pub fn current_interval(&self) -> Duration {
        self.lock().current
    }

    /// Waits for the next free slot. Cancel-safe: a dropped wait gives its slot up only
    /// in the sense that later callers are not delayed beyond one interval by it.
    pub async fn acquire(&self) {
        let slot = {
            let mut state = self.lock();
            if state.current.is_zero() {
                return;
            }
            let now = Instant::now();
            let slot = state.next.map_or(now, |n| n.max(now));
            state.next = Some(slot + state.current);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// After a 429: stretches the spacing by a quarter (to at least
    /// [`Self::MIN_ADAPTIVE`], at most [`Self::MAX_ADAPTIVE`], never below the
    /// configured spacing).
    pub fn slow_down(&self) {
        let mut state = self.lock();
        let stretched = state.current.mul_f64(1.25).max(Self::MIN_ADAPTIVE);
        state.current = stretched.min(Self::MAX_ADAPTIVE).max(self.interval);
    }

    /// After a clean answer: takes 5 % of the extra spacing off (back to the configured
    /// spacing once the extra is under a millisecond).
    pub fn recover(&self) {
        let mut state = self.lock();
        if state.current > self.interval {
            let extra = state.current - self.interval;
            let extra = extra.mul_f64(0.95);
            state.current = if extra < Duration::from_millis(1) {
                self.interval
            } else {
                self.interval + extra
            };
        }
    }
}

/// What the client does with a 429. See the [module docs](self).
///
/// Clones share the give-up instant, so a run can set its deadline once, after the
/// clients were built.
#[derive(Clone, Debug)]
pub struct RateLimitPolicy {
    max_retries: Option<u32>,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    give_up_at: Arc<Mutex<Option<Instant>>>,
}

/// Default first wait after a 429 without `Retry-After`.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Default longest wait between two tries without `Retry-After`.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Default longest `Retry-After` honoured; a longer one ends the retries with the 429.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

impl Default for RateLimitPolicy {
    /// Retries without a count limit (until [`RateLimitPolicy::give_up_at`], when set),
    /// backoff from [`DEFAULT_INITIAL_BACKOFF`] to [`DEFAULT_MAX_BACKOFF`], `Retry-After`
    /// honoured up to [`DEFAULT_MAX_RETRY_AFTER`].
    fn default() -> Self {
        Self {
            max_retries: None,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            give_up_at: Arc::default(),
        }
    }
}

impl RateLimitPolicy {
    /// No retry: a 429 is returned at once.
    pub fn never() -> Self {
        Self::default().max_retries(0)
    }

    /// At most `retries` retries of one request (default: no count limit).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// The first wait without `Retry-After` (doubled after each further 429).
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// The longest wait without `Retry-After`.
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the retries with the 429.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Gives up (returns the last 429) when the next try would start after `at`. Shared
    /// by every clone of this policy and every client built with it.
    pub fn give_up_at(&self, at: Instant) {
        *self.give_up_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    fn deadline(&self) -> Option<Instant> {
        *self.give_up_at.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The wait before try `retry` (0-based) when no `Retry-After` came: full jitter
    /// between half and all of `initial × 2^retry`, capped.
    fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(30)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let fraction = 0.5 + 0.5 * jitter();
        ceiling.mul_f64(fraction)
    }
}

/// A uniformly distributed value in [0, 1) (not for secrets: spreads retries out).
fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The wait a `Retry-After` header asks for: delay-seconds, or an HTTP-date (a date in
/// the past asks for no wait). `None` when absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What the client tells an [`Observer`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An answer arrived (any status, 429 included), body read.
    Answered {
        /// The request method.
        method: String,
        /// The status.
        status: u16,
        /// From sending the request to the end of the body.
        latency: Duration,
    },
    /// A 429 arrived and the request will be sent again after `wait`.
    RateLimited {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// How long the client waits.
        wait: Duration,
        /// Whether the wait came from `Retry-After` (else: backoff).
        retry_after: bool,
    },
    /// A 429 is handed to the caller: the policy gave up.
    GaveUp {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A `GET` failed on a closed connection and was sent again on a new one.
    Resent {
        /// The request path.
        path: String,
        /// The failure of the first try.
        error: String,
    },
    /// A non-idempotent request failed on a closed connection and was not resent.
    NotResent {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
        /// The failure.
        error: String,
    },
}

/// Sees what the policy does (for reports and tracing). Shared by clones of a client.
pub trait Observer: Send + Sync {
    /// Called for each event, in order, on the requesting task.
    fn event(&self, event: Event);
}

/// Everything [`send`] needs.
pub(crate) struct Policy<'a> {
    pub(crate) limiter: Option<&'a RateLimiter>,
    pub(crate) on_429: &'a RateLimitPolicy,
    pub(crate) observer: Option<&'a dyn Observer>,
    /// A client that keeps no idle connection: a resent GET gets a new one.
    pub(crate) fresh: &'a reqwest::Client,
}

/// Sends `request` under `policy` (see the [module docs](self)); `exchange` performs
/// one try (send, and read the body) on the client it is given.
pub(crate) async fn send<F, Fut>(
    client: &reqwest::Client,
    request: reqwest::Request,
    policy: &Policy<'_>,
    mut exchange: F,
) -> reqwest::Result<reqwest::Response>
where
    F: FnMut(reqwest::Client, reqwest::Request) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let method = request.method().to_string();
    let path = request.url().path().to_owned();
    let idempotent = request.method() == reqwest::Method::GET;
    let mut request = request;
    let mut retry = 0u32;
    let mut resent = false;
    let mut on_fresh = false;
    loop {
        if let Some(limiter) = policy.limiter {
            limiter.acquire().await;
        }
        let spare = request.try_clone();
        let http = if std::mem::take(&mut on_fresh) {
            policy.fresh
        } else {
            client
        };
        let started = Instant::now();
        let answer = match exchange(http.clone(), request).await {
            Ok(answer) => answer,
            Err(e) if closed_connection(&e) => {
                let error = crate::wire::describe_reqwest(&e);
                match spare {
                    Some(again) if idempotent && !resent => {
                        if let Some(o) = policy.observer {
                            o.event(Event::Resent {
                                path: path.clone(),
                                error,
                            });
                        }
                        resent = true;
                        on_fresh = true;
                        request = again;
                        continue;
                    }
                    _ => {
                        if !idempotent && let Some(o) = policy.observer {
                            o.event(Event::NotResent {
                                method: method.clone(),
                                path: path.clone(),
                                error,
                            });
                        }
                        return Err(e);
                    }
                }
            }
            Err(e) => return Err(e),
        };
        if let Some(o) = policy.observer {
            o.event(Event::Answered {
                method: method.clone(),
                status: answer.status().as_u16(),
                latency: started.elapsed(),
            });
        }
        if answer.status() != StatusCode::TOO_MANY_REQUESTS {
            if let Some(limiter) = policy.limiter {
                limiter.recover();
            }
            return Ok(answer);
        }
        if let Some(limiter) = policy.limiter {
            limiter.slow_down();
        }
        let decision = next_wait(policy.on_429, answer.headers(), retry);
        match (spare, decision) {
            (Some(next), Ok((wait, from_header))) => {
                if let Some(o) = policy.observer {
                    o.event(Event::RateLimited {
                        method: method.clone(),
                        path: path.clone(),
                        wait,
                        retry_after: from_header,
                    });
                }
                tokio::time::sleep(wait).await;
                retry += 1;
                request = next;
            }
            (spare, decision) => {
                if let Some(o) = policy.observer {
                    o.event(Event::GaveUp {
                        method: method.clone(),
                        path: path.clone(),
                        reason: match decision {
                            Err(reason) => reason,
                            Ok(_) if spare.is_none() => "the request cannot be sent twice".into(),
                            Ok(_) => unreachable!("handled above"),
                        },
                    });
                }
                return Ok(answer);
            }
        }
    }
}

/// The wait before the next try after a 429 (and whether `Retry-After` gave it), or why
/// there is none.
fn next_wait(
    policy: &RateLimitPolicy,
    headers: &HeaderMap,
    retry: u32,
) -> Result<(Duration, bool), String> {
    if let Some(max) = policy.max_retries
        && retry >= max
    {
        return Err(format!("still 429 after {max} retries"));
    }
    let (wait, from_header) = match retry_after(headers, SystemTime::now()) {
        Some(wait) if wait > policy.max_retry_after => {
            return Err(format!(
                "Retry-After asks for {} s, more than the {} s honoured",
                wait.as_secs(),
                policy.max_retry_after.as_secs()
            ));
        }
        Some(wait) => (wait, true),
        None => (policy.backoff(retry), false),
    };
    if let Some(deadline) = policy.deadline()
        && Instant::now() + wait >= deadline
    {
        return Err("the run's deadline comes before the next try".into());
    }
    Ok((wait, from_header))
}

/// Whether a request failed without an answer because the connection closed under it
/// (reset, or closed before the answer). Timeouts, connection failures and failures
/// while a body was read are not: a resend would not help, or the answer had begun.
pub(crate) fn closed_connection(e: &reqwest::Error) -> bool {
    if e.is_timeout() || e.is_connect() || e.is_body() || e.is_decode() || e.is_redirect() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        // hyper's IncompleteMessage and closed-channel errors (hyper is not a direct
        // dependency; its messages are stable).
        let text = s.to_string();
        if text.contains("connection closed before message completed")
            || text.contains("connection was not ready")
        {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, value.parse().unwrap());
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_784_000_000);
        assert_eq!(
            retry_after(&headers("7"), now),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(12));
        assert_eq!(
            retry_after(&headers(&later), now),
            Some(Duration::from_secs(12))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&earlier), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&headers("-3"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RateLimitPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(700));
        for retry in 0..6u32 {
            let ceiling =
                (Duration::from_millis(100) * 2u32.pow(retry)).min(Duration::from_millis(700));
            for _ in 0..50 {
                let w = p.backoff(retry);
                assert!(w >= ceiling / 2 && w <= ceiling, "retry {retry}: {w:?}");
            }
        }
        let waits: std::collections::BTreeSet<Duration> = (0..50).map(|_| p.backoff(3)).collect();
        assert!(waits.len() > 10, "jitter spreads the waits: {waits:?}");
    }

    #[test]
    fn the_policy_gives_up_at_its_deadline_count_and_retry_after_limit() {
        let p = RateLimitPolicy::default().initial_backoff(Duration::from_millis(10));
        assert!(next_wait(&p, &HeaderMap::new(), 0).is_ok());
        assert!(next_wait(&p.clone().max_retries(2), &HeaderMap::new(), 2).is_err());
        let long = p.clone().max_retry_after(Duration::from_secs(5));
        assert!(next_wait(&long, &headers("6"), 0).is_err());
        assert_eq!(
            next_wait(&long, &headers("5"), 0),
            Ok((Duration::from_secs(5), true))
        );
        let shared = p.clone();
        p.give_up_at(Instant::now() + Duration::from_secs(2));
        assert!(next_wait(&shared, &headers("1"), 0).is_ok());
        assert!(
            next_wait(&shared, &headers("3"), 0).is_err(),
            "clones share the deadline"
        );
    }

    #[tokio::test]
    async fn the_limiter_slows_down_on_429_and_recovers_slowly_never_past_its_rate() {
        let limiter = RateLimiter::per_second(10.0);
        assert_eq!(limiter.current_interval(), Duration::from_millis(100));
        limiter.slow_down();
        assert_eq!(limiter.current_interval(), Duration::from_millis(125));
        limiter.slow_down();
        let twice = limiter.current_interval();
        assert!(twice > Duration::from_millis(156) && twice < Duration::from_millis(157));
        limiter.recover();
        let after_one = limiter.current_interval();
        assert!(after_one < twice && after_one > Duration::from_millis(150));
        // One 429 in every 7 answers (a limit by count, which no pace avoids): the
        // spacing settles (about 330 ms here) far below the maximum.
        for _ in 0..200 {
            limiter.slow_down();
            for _ in 0..6 {
                limiter.recover();
            }
        }
        let settled = limiter.current_interval();
        assert!(settled < Duration::from_millis(400), "{settled:?}");
        for _ in 0..500 {
            limiter.recover();
        }
        assert_eq!(limiter.current_interval(), Duration::from_millis(100));
        for _ in 0..100 {
            limiter.slow_down();
        }
        assert_eq!(limiter.current_interval(), RateLimiter::MAX_ADAPTIVE);
        let unlimited = RateLimiter::per_second(0.0);
        unlimited.slow_down();
        assert_eq!(unlimited.current_interval(), RateLimiter::MIN_ADAPTIVE);
        for _ in 0..500 {
            unlimited.recover();
        }
        assert_eq!(unlimited.current_interval(), Duration::ZERO);
    }
}
