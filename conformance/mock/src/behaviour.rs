//! Behaviours: realistic, conforming habits of real tenants, switched on per server.
//!
//! A [`Fault`](crate::Fault) is a deviation from the contract that a check must catch;
//! a [`Behaviour`] is something a real tenant does while conforming, which a check must
//! **not** mistake for a deviation: rate limiting, slowness, a person who taps late,
//! connections that close, extra members. Switch them on with
//! [`crate::MockConfig::behaviours`] or `serve --behaviour NAME` (repeatable);
//! their timings are [`Timing`] (scaled down in tests).
//!
//! | behaviour | what the mock does |
//! | --- | --- |
//! | `rate_limit` | every Nth `/mfa/v1` request (or K in a row of every N) is answered 429 with `Retry-After: <seconds>` |
//! | `rate_limit_http_date` | the same with `Retry-After: <HTTP-date>` |
//! | `rate_limit_bare` | the same without `Retry-After` |
//! | `slow` | every `/mfa/v1` answer comes after a delay |
//! | `delayed_push` | a PUSH decision from the control API reaches the state after a delay |
//! | `idle_close` | keep-alive connections idle for a while are closed by the server |
//! | `connection_close` | every answer says `Connection: close` (one request per connection) |
//! | `extra_members` | JSON answers carry undocumented members, members and factors in another order, and `Content-Type: application/json; charset=UTF-8` |
//!
//! The rate limits are shares of the requests, whatever their pace, as a tenant whose
//! limit is shared with production traffic answers: [`Timing::rate_limit_every`] N
//! and [`Timing::rate_limit_burst`] K refuse the last K of every N requests (K = 1:
//! every Nth; K = 3, N = 12: three in a row of every twelve). Retries count as
//! requests. With several rate-limit behaviours on, the periods of N requests take
//! turns among them. A rate-limited request is refused before it reaches the state: it
//! spends nothing (no OTP, no attempt).

use std::{
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use idcs_mfa::AuthCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{clock::Now, fault::Faults, reply::ApiError};

crate::named::named! {
    /// One named behaviour. See the [module docs](self).
    pub enum Behaviour {
        /// Every Nth /mfa/v1 request (or K in a row of every N) is answered 429 with Retry-After in seconds.
        RateLimit = "rate_limit",
        /// Every Nth /mfa/v1 request (or K in a row of every N) is answered 429 with Retry-After as an HTTP-date.
        RateLimitHttpDate = "rate_limit_http_date",
        /// Every Nth /mfa/v1 request (or K in a row of every N) is answered 429 without Retry-After.
        RateLimitBare = "rate_limit_bare",
        /// Every /mfa/v1 answer comes after a delay.
        Slow = "slow",
        /// A PUSH decision reaches the tenant a while after the phone was tapped.
        DelayedPush = "delayed_push",
        /// Keep-alive connections idle for a while are closed by the server.
        IdleClose = "idle_close",
        /// Every answer carries Connection: close.
        ConnectionClose = "connection_close",
        /// JSON answers carry undocumented members, another order and a charset parameter.
        ExtraMembers = "extra_members",
    }
    /// The name is not a behaviour's.
    pub struct UnknownBehaviour("behaviour", "behaviours");
}

/// How the behaviours are timed. The defaults are a real tenant's order of magnitude;
/// tests scale them down with [`Timing::scaled`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// The period N of the rate limits: of every N /mfa/v1 requests (at least 2), the
    /// last [`Timing::rate_limit_burst`] are answered 429.
    pub rate_limit_every: u32,
    /// How many requests in a row of each period are answered 429 (1: every Nth; at
    /// least 1, at most N − 1, so that every period lets one through).
    pub rate_limit_burst: u32,
    /// The wait `Retry-After` asks for (seconds are rounded down; a date in the past
    /// asks for none).
    pub retry_after: Duration,
    /// The delay of every answer under `slow`.
    pub slow: Duration,
    /// The delay of a PUSH decision under `delayed_push`.
    pub push_delay: Duration,
    /// How long a connection may stay idle under `idle_close`.
    pub idle: Duration,
}

impl Default for Timing {
    /// 1 request in 10 rate-limited, `Retry-After: 1`, answers 300 ms slow, PUSH
    /// decisions 2 s late, idle connections closed after 500 ms.
    fn default() -> Self {
        Self {
            rate_limit_every: 10,
            rate_limit_burst: 1,
            retry_after: Duration::from_secs(1),
            slow: Duration::from_millis(300),
            push_delay: Duration::from_secs(2),
            idle: Duration::from_millis(500),
        }
    }
}

impl Timing {
    /// The default timings multiplied by `factor` (the rate-limit period and burst
    /// unchanged).
    pub fn scaled(factor: f64) -> Self {
        let d = Self::default();
        let f = factor.max(0.0);
        Self {
            rate_limit_every: d.rate_limit_every,
            rate_limit_burst: d.rate_limit_burst,
            retry_after: d.retry_after.mul_f64(f),
            slow: d.slow.mul_f64(f),
            push_delay: d.push_delay.mul_f64(f),
            idle: d.idle.mul_f64(f),
        }
    }
}

/// The behaviours switched on, with their timing, and the request counter.
#[derive(Debug, Default)]
pub(crate) struct Behaviours {
    on: Vec<Behaviour>,
    pub(crate) timing: Timing,
    counter: AtomicU64,
}

impl Behaviours {
    pub(crate) fn new(on: &[Behaviour], timing: Timing) -> Self {
        let mut on = on.to_vec();
        on.sort();
        on.dedup();
        Self {
            on,
            timing,
            counter: AtomicU64::new(0),
        }
    }

    pub(crate) fn has(&self, b: Behaviour) -> bool {
        self.on.contains(&b)
    }

    /// The rate-limit behaviour this request falls under, if any.
    fn rate_limited(&self) -> Option<Behaviour> {
        let limits: Vec<Behaviour> = self
            .on
            .iter()
            .copied()
            .filter(|b| {
                matches!(
                    b,
                    Behaviour::RateLimit | Behaviour::RateLimitHttpDate | Behaviour::RateLimitBare
                )
            })
            .collect();
        if limits.is_empty() {
            return None;
        }
        // Requests are numbered from 0 here: the last `burst` of each period of
        // `every` are limited, and each period's form is the next in turn.
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let every = u64::from(self.timing.rate_limit_every.max(2));
        let burst = u64::from(self.timing.rate_limit_burst).clamp(1, every - 1);
        let period = n / every + 1;
        (n % every >= every - burst).then(|| limits[(period % limits.len() as u64) as usize])
    }
}

/// The behaviours' middleware (inside the read-ahead of request bodies, so a 429 is
/// answered after the body was read): `api` says whether `request` is a /mfa/v1 one,
/// and `faults` gives the faults in force, with which a 429 is rendered.
pub(crate) async fn apply(
    behaviours: &Behaviours,
    api: bool,
    faults: impl FnOnce() -> Faults,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if behaviours.on.is_empty() {
        return next.run(request).await;
    }
    if api && let Some(limit) = behaviours.rate_limited() {
        let faults = faults();
        let mut answer = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            AuthCode::Unexpected,
            "Too many requests: the domain's rate limit is exceeded.",
        )
        .render(faults);
        let wait = behaviours.timing.retry_after;
        let value = match limit {
            Behaviour::RateLimit => Some(wait.as_secs().to_string()),
            Behaviour::RateLimitHttpDate => {
                Some(httpdate::fmt_http_date(Now::read().system + wait))
            }
            _ => None,
        };
        if let Some(value) = value.and_then(|v| HeaderValue::try_from(v).ok()) {
            answer.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return finish(behaviours, answer);
    }
    if api && behaviours.has(Behaviour::Slow) {
        tokio::time::sleep(behaviours.timing.slow).await;
    }
    let answer = next.run(request).await;
    let answer = if api && behaviours.has(Behaviour::ExtraMembers) {
        extra_members(answer).await
    } else {
        answer
    };
    finish(behaviours, answer)
}

fn finish(behaviours: &Behaviours, mut answer: Response) -> Response {
    if behaviours.has(Behaviour::ConnectionClose) {
        answer
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

/// Rewrites a JSON answer: an undocumented member in every object, members in reverse
/// order, arrays of objects (the factors) reversed, and a charset parameter.
async fn extra_members(answer: Response) -> Response {
    let is_json = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return answer;
    }
    let (mut parts, body) = answer.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let mut out = String::with_capacity(bytes.len() + 64);
    write_reordered(&value, &mut out);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

/// Writes `value` with each object's members reversed and an extra member first, and
/// arrays of objects reversed.
fn write_reordered(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            out.push_str("{\"x-mock-extension\":{\"note\":\"an undocumented member\",\"n\":1}");
            for (key, member) in map.iter().rev() {
                out.push(',');
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_reordered(member, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            let reverse = items.iter().all(Value::is_object);
            let ordered: Vec<&Value> = if reverse {
                items.iter().rev().collect()
            } else {
                items.iter().collect()
            };
            for (i, item) in ordered.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_reordered(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A listener whose connections close when idle for `idle` after an answer (as a
/// server or load balancer closing idle keep-alive connections does).
pub(crate) struct IdleClosing {
    pub(crate) inner: tokio::net::TcpListener,
    pub(crate) idle: Duration,
}

impl axum::serve::Listener for IdleClosing {
    type Io = IdleClose;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        IdleClose {
                            stream,
                            idle: self.idle,
                            armed: false,
                            timer: None,
                        },
                        addr,
                    );
                }
                // Out of descriptors and the like: wait a moment, as axum does.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that reads as closed once it has been idle for `idle` after an answer
/// was written; hyper then closes it.
pub(crate) struct IdleClose {
    stream: tokio::net::TcpStream,
    idle: Duration,
    /// An answer was written since the last request bytes arrived: idle time counts.
    armed: bool,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl IdleClose {
    /// After a write: once bytes of an answer went out, idle time counts from now.
    fn wrote(&mut self, result: &Poll<std::io::Result<usize>>) {
        if matches!(result, Poll::Ready(Ok(n)) if *n > 0) {
            self.armed = true;
            self.timer = None;
        }
    }
}

impl AsyncRead for IdleClose {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.armed = false;
                    self.timer = None;
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if !self.armed {
                    return Poll::Pending;
                }
                let idle = self.idle;
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    // End of stream: hyper closes the idle connection.
                    Poll::Ready(()) => Poll::Ready(Ok(())),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for IdleClose {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, data);
        self.wrote(&result);
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_request_is_limited_taking_turns_among_the_forms() {
        let b = Behaviours::new(
            &[
                Behaviour::RateLimit,
                Behaviour::RateLimitBare,
                Behaviour::Slow,
            ],
            Timing {
                rate_limit_every: 3,
                ..Timing::default()
            },
        );
        let seen: Vec<Option<Behaviour>> = (0..12).map(|_| b.rate_limited()).collect();
        let limited: Vec<Behaviour> = seen.iter().flatten().copied().collect();
        assert_eq!(seen.iter().filter(|s| s.is_none()).count(), 8);
        assert!(seen[2].is_some() && seen[5].is_some());
        assert!(
            limited.contains(&Behaviour::RateLimit) && limited.contains(&Behaviour::RateLimitBare)
        );
        let none = Behaviours::new(&[Behaviour::Slow], Timing::default());
        assert!((0..30).all(|_| none.rate_limited().is_none()));
    }

    #[test]
    fn bursts_limit_the_last_k_of_every_n_requests_whatever_the_form() {
        for form in [
            Behaviour::RateLimit,
            Behaviour::RateLimitHttpDate,
            Behaviour::RateLimitBare,
        ] {
            let b = Behaviours::new(
                &[form],
                Timing {
                    rate_limit_every: 12,
                    rate_limit_burst: 3,
                    ..Timing::default()
                },
            );
            let limited: Vec<usize> = (1..=36)
                .filter(|_| b.rate_limited() == Some(form))
                .collect();
            assert_eq!(limited, [10, 11, 12, 22, 23, 24, 34, 35, 36], "{form}");
        }
        // Two forms take turns by period; a burst as long as the period is cut to
        // leave one request through.
        let b = Behaviours::new(
            &[Behaviour::RateLimit, Behaviour::RateLimitBare],
            Timing {
                rate_limit_every: 4,
                rate_limit_burst: 9,
                ..Timing::default()
            },
        );
        let seen: Vec<Option<Behaviour>> = (0..8).map(|_| b.rate_limited()).collect();
        assert_eq!(
            seen,
            [
                None,
                Some(Behaviour::RateLimitBare),
                Some(Behaviour::RateLimitBare),
                Some(Behaviour::RateLimitBare),
                None,
                Some(Behaviour::RateLimit),
                Some(Behaviour::RateLimit),
                Some(Behaviour::RateLimit),
            ]
        );
    }

    #[test]
    fn extra_members_reorder_and_extend_without_losing_anything() {
        let v = serde_json::json!({"status": "success", "factors": [{"factorId": "a"}, {"factorId": "b"}], "codes": [1, 2]});
        let mut out = String::new();
        write_reordered(&v, &mut out);
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["status"], "success");
        assert_eq!(back["factors"][0]["factorId"], "b", "objects reversed");
        assert_eq!(
            back["codes"],
            serde_json::json!([1, 2]),
            "scalars kept in order"
        );
        assert!(
            back["x-mock-extension"].is_object()
                && back["factors"][0]["x-mock-extension"].is_object()
        );
        let input: Vec<&String> = v.as_object().unwrap().keys().collect();
        let mut positions: Vec<usize> = input
            .iter()
            .map(|k| out.find(&format!("\"{k}\":")).unwrap())
            .collect();
        positions.reverse();
        assert!(positions.is_sorted(), "members reversed: {out}");
    }
}
