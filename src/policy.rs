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
//!    `Retry-After` is honoured as given: the retry goes out when the wait is over,
//!    not later (nothing is added to it). The backoff counts the 429s of one request,
//!    so each new request starts from `initial_backoff` again. With a shared
//!    [`RateLimiter`], the wait pauses every request that shares it
//!    ([`RateLimiter::hold_for`]), and once it is over requests go at the configured
//!    rate again: no 429 slows the pace for longer than the wait it asked for.
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

/// Spaces requests out to at most a given rate, across every client that shares it,
/// and holds them all while a tenant's 429 asked for a pause.
///
/// IDCS rate-limits `/mfa/v1` per domain (tens of requests per second, \[RL\]); a tool
/// pointed at a real tenant should stay well under that. Clone it to share the budget.
///
/// **What a 429 changes.** A 429 pauses every request that shares the limiter until
/// the wait it asked for is over ([`RateLimiter::hold_for`]: its `Retry-After`, or the
/// backoff when it gave none): the tenant's limit is per domain, so a wait one request
/// was asked for is a wait for all of them. The pause is all a 429 changes. When it is
/// over, requests are spaced at the configured rate again: the limiter keeps no memory
/// of earlier 429s. So a tenant that answers 429 to a share of the requests whatever
/// their pace (its limit is shared with production traffic: every Nth request, bursts)
/// costs each 429 the wait it asked for, once, and cannot drive the pace down for
/// good, as a limiter that stretched its spacing at each 429 and shrank it again
/// slowly would (one 429 in four requests stretched such a spacing faster than three
/// clean answers shrank it, to one request every 5 s).
#[derive(Clone, Debug)]
pub struct RateLimiter {
    interval: Duration,
    state: Arc<Mutex<LimiterState>>,
}

#[derive(Debug, Default)]
struct LimiterState {
    /// The next free slot (with a configured rate).
    next: Option<Instant>,
    /// No request goes out before this instant: a 429 asked for a pause.
    hold: Option<Instant>,
}

impl RateLimiter {
    /// At most `per_second` requests per second (values of 0 or below mean no limit;
    /// such a limiter still shares the pauses 429s ask for).
    pub fn per_second(per_second: f64) -> Self {
        let interval = if per_second > 0.0 && per_second.is_finite() {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        Self {
            interval,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimiterState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The configured spacing between two requests (zero: no limit). It never changes:
    /// a 429 pauses requests ([`Self::hold_for`]), it does not slow the rate.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The end of the pause in force, if one is.
    pub fn held_until(&self) -> Option<Instant> {
        self.lock().hold.filter(|h| *h > Instant::now())
    }

    /// After a 429: no request that shares this limiter goes out before `wait` from
    /// now. A pause already in force that ends later is kept (a pause is never
    /// shortened); the spacing is not changed.
    pub fn hold_for(&self, wait: Duration) {
        // A wait past what an Instant can hold is a pause of about a century.
        const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);
        let now = Instant::now();
        let until = now
            .checked_add(wait)
            .or_else(|| now.checked_add(FAR))
            .unwrap_or(now);
        let mut state = self.lock();
        state.hold = Some(state.hold.map_or(until, |h| h.max(until)));
    }

    /// Waits for the next free slot: after any pause in force, and one interval after
    /// the previous slot. A pause that begins while a request waits for its slot holds
    /// it too. Cancel-safe: a dropped wait gives its slot up only in the sense that
    /// later callers are not delayed beyond one interval by it.
    pub async fn acquire(&self) {
        loop {
            let slot = {
                let mut state = self.lock();
                let now = Instant::now();
                let mut slot = now;
                match state.hold {
                    Some(h) if h > now => slot = h,
                    Some(_) => state.hold = None,
                    None => {}
                }
                if !self.interval.is_zero() {
                    slot = state.next.map_or(slot, |n| n.max(slot));
                    state.next = Some(slot + self.interval);
                }
                slot
            };
            if slot > Instant::now() {
                tokio::time::sleep_until(slot).await;
            }
            if self.held_until().is_none() {
                return;
            }
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
    /// `Duration::MAX` honours any wait: the give-up instant
    /// ([`RateLimitPolicy::give_up_at`]) is then the only stop (a wait that ends after
    /// it gives up at once).
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

    /// The backoff's step before retry `retry` (0-based) of one request when no
    /// `Retry-After` came: `initial_backoff × 2^retry`, capped at `max_backoff`. The
    /// wait itself is drawn between half and all of it (jitter).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(30)).unwrap_or(u32::MAX))
            .min(self.max_backoff)
    }

    /// The wait before retry `retry` (0-based) when no `Retry-After` came: full jitter
    /// between half and all of [`Self::backoff_ceiling`].
    fn backoff(&self, retry: u32) -> Duration {
        let fraction = 0.5 + 0.5 * jitter();
        self.backoff_ceiling(retry).mul_f64(fraction)
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
        /// How many 429s this request met before this one (0 for its first): the
        /// backoff's exponent when no `Retry-After` came.
        retry: u32,
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
            return Ok(answer);
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
                        retry,
                    });
                }
                match policy.limiter {
                    // The limiter's acquire, at the top of the loop, waits the pause out
                    // (with every other request that shares it).
                    Some(limiter) => limiter.hold_for(wait),
                    None => tokio::time::sleep(wait).await,
                }
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
        && Instant::now()
            .checked_add(wait)
            .is_none_or(|at| at >= deadline)
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

    // Test case: a pause holds every request that shares the limiter, is never
    // shortened, and once it is over the configured spacing is back, unchanged.
    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_request_and_the_pace_comes_back_after_it() {
        let limiter = RateLimiter::per_second(10.0);
        let shared = limiter.clone();
        let t0 = Instant::now();
        limiter.acquire().await;
        assert_eq!(Instant::now(), t0, "the first slot is now");
        shared.hold_for(Duration::from_secs(2));
        limiter.hold_for(Duration::from_secs(1));
        assert_eq!(limiter.held_until(), Some(t0 + Duration::from_secs(2)));
        limiter.acquire().await;
        assert_eq!(
            Instant::now(),
            t0 + Duration::from_secs(2),
            "held by a clone"
        );
        for n in 1..=5u32 {
            limiter.acquire().await;
            assert_eq!(
                Instant::now(),
                t0 + Duration::from_secs(2) + Duration::from_millis(100) * n,
                "the configured pace after the pause"
            );
        }
        assert_eq!(limiter.interval(), Duration::from_millis(100));
        assert_eq!(limiter.held_until(), None);

        // A wait no Instant can hold is still a pause (not none at all).
        let endless = RateLimiter::per_second(0.0);
        endless.hold_for(Duration::MAX);
        assert!(
            endless
                .held_until()
                .is_some_and(|h| h > Instant::now() + Duration::from_secs(86_400 * 365))
        );

        // Without a rate, a limiter still shares the pauses.
        let unlimited = RateLimiter::per_second(0.0);
        let t1 = Instant::now();
        unlimited.acquire().await;
        unlimited.acquire().await;
        assert_eq!(Instant::now(), t1);
        unlimited.hold_for(Duration::from_millis(700));
        unlimited.acquire().await;
        assert_eq!(Instant::now(), t1 + Duration::from_millis(700));
        unlimited.acquire().await;
        assert_eq!(Instant::now(), t1 + Duration::from_millis(700));
    }

    // Test case: a pause that begins while a request waits for its slot holds it too.
    #[tokio::test(start_paused = true)]
    async fn a_pause_that_begins_during_a_wait_for_a_slot_holds_it() {
        let limiter = RateLimiter::per_second(1.0);
        let t0 = Instant::now();
        limiter.acquire().await;
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter.acquire().await;
                Instant::now()
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        limiter.hold_for(Duration::from_secs(3));
        let sent = waiting.await.unwrap();
        assert_eq!(sent, t0 + Duration::from_millis(3500));
    }

    /// A tenant that answers 429 to the requests whose number (from 1, retries
    /// included) `limited` says, with the `Retry-After` value it gives; records when
    /// each request arrived.
    struct ShareTenant {
        limited: fn(u64) -> bool,
        retry_after: Option<&'static str>,
        arrivals: Mutex<Vec<(Instant, u16)>>,
    }

    impl ShareTenant {
        fn answer(&self) -> reqwest::Response {
            let mut arrivals = self.arrivals.lock().unwrap();
            let n = arrivals.len() as u64 + 1;
            let status = if (self.limited)(n) { 429 } else { 200 };
            arrivals.push((Instant::now(), status));
            let mut answer = http::Response::builder().status(status);
            if status == 429
                && let Some(value) = self.retry_after
            {
                answer = answer.header(header::RETRY_AFTER, value);
            }
            reqwest::Response::from(answer.body(String::new()).unwrap())
        }
    }

    /// Sends `requests` GETs one after another through [`send`] to `tenant`, under
    /// `policy` and `limiter`; returns the times (virtual) at which each arrived.
    async fn send_all(
        tenant: &ShareTenant,
        requests: usize,
        policy: &RateLimitPolicy,
        limiter: Option<&RateLimiter>,
    ) {
        let client = reqwest::Client::new();
        let policy = Policy {
            limiter,
            on_429: policy,
            observer: None,
            fresh: &client,
        };
        for _ in 0..requests {
            let request = reqwest::Request::new(
                reqwest::Method::GET,
                "http://tenant.invalid/mfa/v1/users/u/factors"
                    .parse()
                    .unwrap(),
            );
            let answer = send(&client, request, &policy, |_, _| {
                let answer = tenant.answer();
                async move { Ok(answer) }
            })
            .await
            .unwrap();
            assert_eq!(answer.status(), 200, "every 429 is waited out");
        }
    }

    // Test case: `Retry-After` is honoured as given: the retry arrives exactly the
    // asked wait after the 429, with or without a limiter, and nothing more is waited.
    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_exactly_not_stretched() {
        for limiter in [None, Some(RateLimiter::per_second(0.0))] {
            let tenant = ShareTenant {
                limited: |n| n % 4 == 0,
                retry_after: Some("1"),
                arrivals: Mutex::default(),
            };
            let t0 = Instant::now();
            send_all(&tenant, 300, &RateLimitPolicy::default(), limiter.as_ref()).await;
            let arrivals = tenant.arrivals.lock().unwrap().clone();
            let limited = arrivals.iter().filter(|(_, s)| *s == 429).count() as u32;
            assert_eq!(limited, 99, "every 4th of the 399 requests a 429");
            for pair in arrivals.windows(2) {
                let gap = pair[1].0 - pair[0].0;
                let asked = if pair[0].1 == 429 {
                    Duration::from_secs(1)
                } else {
                    Duration::ZERO
                };
                assert_eq!(gap, asked, "limiter {limiter:?}");
            }
            assert_eq!(Instant::now() - t0, Duration::from_secs(1) * limited);
        }
    }

    // Test case: under a steady share of 429s (one in four, one in five without
    // Retry-After, bursts of three in twelve) the pace never ratchets down: with a
    // configured rate, every clean answer after a pause comes one interval after the
    // previous request, and the whole run takes its requests at that rate plus the
    // waits the 429s asked for, to the millisecond, however many 429s came before.
    #[tokio::test(start_paused = true)]
    async fn the_pace_recovers_after_every_pause_under_a_steady_share_of_429s() {
        let interval = Duration::from_millis(100);
        let initial = Duration::from_millis(200);
        /// A name, which requests get a 429, and its Retry-After.
        type Pattern = (&'static str, fn(u64) -> bool, Option<&'static str>);
        let patterns: [Pattern; 3] = [
            ("every 4th, Retry-After: 1", |n| n % 4 == 0, Some("1")),
            ("every 5th, no Retry-After", |n| n % 5 == 0, None),
            (
                "3 in a row of every 12, Retry-After: 2",
                |n| n % 12 >= 10 || n % 12 == 0,
                Some("2"),
            ),
        ];
        for (name, limited, retry_after) in patterns {
            let tenant = ShareTenant {
                limited,
                retry_after,
                arrivals: Mutex::default(),
            };
            let limiter = RateLimiter::per_second(10.0);
            let policy = RateLimitPolicy::default()
                .initial_backoff(initial)
                .max_backoff(Duration::from_secs(5));
            send_all(&tenant, 400, &policy, Some(&limiter)).await;
            let arrivals = tenant.arrivals.lock().unwrap().clone();
            let mut in_a_row = 0u32;
            for pair in arrivals.windows(2) {
                let gap = pair[1].0 - pair[0].0;
                if pair[0].1 != 429 {
                    in_a_row = 0;
                    assert_eq!(gap, interval, "{name}: the configured pace");
                    continue;
                }
                // After a 429: the wait it asked for (at least one interval after the
                // slot of the request that got it, which the pause always covers).
                match retry_after {
                    Some(secs) => {
                        let asked = Duration::from_secs(secs.parse().unwrap());
                        assert_eq!(gap, asked, "{name}");
                    }
                    None => {
                        let ceiling = policy.backoff_ceiling(in_a_row);
                        assert!(
                            gap >= ceiling / 2 && gap <= ceiling,
                            "{name}: {gap:?} after 429 number {in_a_row} in a row"
                        );
                    }
                }
                in_a_row += 1;
            }
            let last = arrivals.len() - 1;
            let tail = arrivals[last].0 - arrivals[last - 1].0;
            assert!(
                tail <= Duration::from_secs(5),
                "{name}: still moving at the end: {tail:?}"
            );
            assert_eq!(
                limiter.interval(),
                interval,
                "{name}: the rate is unchanged"
            );
        }
    }
}
