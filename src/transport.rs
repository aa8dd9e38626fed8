//! What happens to every request on its way out and every response on its way in.
//!
//! The generated client calls the hooks of [`progenitor_client::ClientHooks`]; this module
//! implements them once, for all five operations:
//!
//! - **pre**: sets `Authorization: Bearer …` (marked sensitive), the chosen
//!   `Content-Type` (`application/json` or `application/scim+json`), and removes the
//!   `api-version` header progenitor adds, which IDCS does not document.
//! - **exec**: sends the request, then reads the body itself, up to a size limit, and
//!   notes the status, headers and body in a per-call [`Observation`]. progenitor loses
//!   the status when an error body is empty or not JSON; the observation keeps it, so
//!   [`crate::Error`] always has it. The body, once read, is handed back to progenitor
//!   unchanged.
//!
//! - **around**: the rate limit, 429 retries and the resend of a `GET` whose connection
//!   closed under it, as [`crate::policy`] says.
//!
//! Each call gets its own `Transport` (a cheap clone of the shared configuration plus a
//! fresh observation slot), so concurrent calls never see each other's responses.

use std::{
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{self, HeaderValue};

use crate::{
    exchange::Exchange,
    generated,
    policy::{Observer, RateLimitPolicy, RateLimiter},
    secret::Secret,
    wire::Observation,
};

/// The media type put on request bodies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContentType {
    /// `application/json`, as Oracle's Postman collection sends. The default.
    #[default]
    Json,
    /// `application/scim+json`, as the seed documents' curl examples send.
    ScimJson,
}

impl ContentType {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Json => "application/json",
            ContentType::ScimJson => "application/scim+json",
        }
    }
}

/// Receives every exchange the client makes (request and response, or the failure).
///
/// The conformance suite records exchanges for its reports through this; an
/// integration can use it for tracing. The [`Exchange`] keeps request bodies as sent,
/// secrets included: use [`Exchange::redacted`] before showing it anywhere.
pub trait Recorder: Send + Sync {
    /// Called once per request, after the response body was read or the request failed.
    fn record(&self, exchange: Exchange);
}

/// Configuration shared by every call of one [`crate::Client`].
pub(crate) struct Config {
    pub(crate) rate_limiter: Option<RateLimiter>,
    pub(crate) on_429: RateLimitPolicy,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    /// Like the client's `reqwest::Client`, but keeping no idle connection.
    pub(crate) fresh: reqwest::Client,
    pub(crate) token: Option<Secret>,
    pub(crate) content_type: ContentType,
    pub(crate) max_response_bytes: usize,
    pub(crate) recorder: Option<Arc<dyn Recorder>>,
    pub(crate) request_timeout: Duration,
}

/// The generated client's inner value: the shared configuration and this call's slot.
#[derive(Clone)]
pub struct Transport {
    pub(crate) config: Arc<Config>,
    pub(crate) observed: Arc<Mutex<Observation>>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("token", &self.config.token.as_ref().map(|_| "[redacted]"))
            .field("content_type", &self.config.content_type)
            .field("max_response_bytes", &self.config.max_response_bytes)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            observed: Arc::default(),
        }
    }

    /// Takes what `exec` saw (leaves an empty observation behind).
    pub(crate) fn take_observation(&self) -> Observation {
        std::mem::take(&mut *lock(&self.observed))
    }
}

fn lock(m: &Mutex<Observation>) -> std::sync::MutexGuard<'_, Observation> {
    // A panic while holding this lock cannot leave a half-written observation that
    // matters more than losing it; recover instead of propagating the poison.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ClientHooks<Transport> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let config = &self.inner().config;
        let headers = request.headers_mut();
        headers.remove("api-version");
        if let Some(token) = &config.token {
            let mut value =
                HeaderValue::try_from(format!("Bearer {}", token.expose())).map_err(|_| {
                    progenitor_client::Error::InvalidRequest(
                        "the bearer token holds characters not allowed in an HTTP header".into(),
                    )
                })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        if headers.contains_key(header::CONTENT_TYPE) {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(config.content_type.as_str()),
            );
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let transport = self.inner();
        let config = &transport.config;
        let mut exchange = config.recorder.as_ref().map(|_| {
            Exchange::from_request(
                crate::Operation::from_operation_id(info.operation_id),
                &request,
            )
        });

        let result = send_with_retries(self.client(), request, transport).await;

        if let (Some(recorder), Some(exchange)) = (&config.recorder, exchange.as_mut()) {
            let observed = lock(&transport.observed);
            exchange.set_response(&observed, result.as_ref().err());
            recorder.record(exchange.clone());
        }
        result
    }
}

/// Sends `request` under the client's rate-limit and connection policy
/// ([`crate::policy`]).
async fn send_with_retries(
    client: &reqwest::Client,
    request: reqwest::Request,
    transport: &Transport,
) -> reqwest::Result<reqwest::Response> {
    let config = &transport.config;
    crate::policy::send(client, request, &config.policy(), |http, request| {
        read_limited(http, request, transport)
    })
    .await
}

impl Config {
    pub(crate) fn policy(&self) -> crate::policy::Policy<'_> {
        crate::policy::Policy {
            limiter: self.rate_limiter.as_ref(),
            on_429: &self.on_429,
            observer: self.observer.as_deref(),
            fresh: &self.fresh,
        }
    }
}

/// Sends `request` and reads at most `max_response_bytes` of the body into the
/// observation, then rebuilds the response around the bytes read.
async fn read_limited(
    client: reqwest::Client,
    request: reqwest::Request,
    transport: &Transport,
) -> reqwest::Result<reqwest::Response> {
    let limit = transport.config.max_response_bytes;
    let mut response = client.execute(request).await?;
    let status = response.status();
    let version = response.version();
    // The body's length comes from the body, not the headers: they can move out.
    let headers = std::mem::take(response.headers_mut());
    let url = response.url().clone();
    {
        let mut observed = lock(&transport.observed);
        observed.status = Some(status);
        observed.headers = headers.clone();
    }

    let read = read_capped(&mut response, limit).await?;
    let too_large = read.is_none();
    let body = read.unwrap_or_default();
    {
        let mut observed = lock(&transport.observed);
        observed.body = body.clone();
        observed.too_large = too_large;
    }

    // The URL travels along (reqwest would otherwise parse a placeholder for each one).
    use reqwest::ResponseBuilderExt as _;
    let mut rebuilt = http::Response::builder()
        .url(url)
        .body(body)
        .expect("a response built from parts of a valid one");
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

/// Reads `response`'s body, at most `limit` bytes; `None` when it is longer. A declared
/// length over the limit is refused before a byte of it is read; an undeclared one is
/// read until it passes the limit, and what was read is dropped.
pub(crate) async fn read_capped(
    response: &mut reqwest::Response,
    limit: usize,
) -> reqwest::Result<Option<Bytes>> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Ok(None);
    }
    // Most bodies arrive in one chunk: keep it as it is, copy only when there are more.
    let Some(first) = response.chunk().await? else {
        return Ok(Some(Bytes::new()));
    };
    if first.len() > limit {
        return Ok(None);
    }
    let mut more: Option<Vec<u8>> = None;
    while let Some(chunk) = response.chunk().await? {
        let body = more.get_or_insert_with(|| first.to_vec());
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(more.map_or(first, Bytes::from)))
}
