//! The client: configuration, and one method per operation of the contract.
//!
//! [`Client`] wraps the generated client. Each operation method sends exactly the
//! request the generated code builds (through the hooks of `transport`), and returns a
//! [`Response`] or an [`Error`] that keeps the status. The two-step flow built on these
//! lives in `flow`.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use reqwest::{StatusCode, Url, header::HeaderMap};

use crate::{
    error::Error,
    generated,
    policy::{Observer, RateLimitPolicy, RateLimiter},
    secret::Secret,
    transport::{Config, ContentType, Recorder, Transport},
    types,
};

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of a whole request, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle pooled connection is kept: under the 60 s after which common load
/// balancers close idle connections, so the client lets go first and a request rarely
/// goes out on a connection the server is closing (see [`crate::policy`]).
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit on a response body: far above any documented body (a few KiB), far
/// below what would hurt memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A successful response: the parsed value, with the status, headers and raw body.
#[derive(Debug, Clone)]
pub struct Response<T> {
    /// The body, parsed into the contract's type.
    pub value: T,
    /// The HTTP status (a 2xx).
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as received, for tools that validate it against the contract.
    pub raw: Bytes,
}

/// Builds a [`Client`]. Start with [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    token: Option<Secret>,
    content_type: ContentType,
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: String,
    max_response_bytes: usize,
    accept_invalid_certs: bool,
    recorder: Option<Arc<dyn Recorder>>,
    rate_limiter: Option<RateLimiter>,
    on_429: RateLimitPolicy,
    observer: Option<Arc<dyn Observer>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("content_type", &self.content_type)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The bearer token sent with every request. Without one, requests carry no
    /// `Authorization` header (useful only to test that a tenant refuses them).
    pub fn bearer_token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The `Content-Type` of request bodies. Default: `application/json`.
    pub fn content_type(mut self, content_type: ContentType) -> Self {
        self.content_type = content_type;
        self
    }

    /// How long to wait for a connection. Default: [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole request may take, body included. Default:
    /// [`DEFAULT_REQUEST_TIMEOUT`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The `User-Agent`. Default: `idcs-mfa/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The largest response body read; a larger one is [`Error::BodyTooLarge`].
    /// Default: [`DEFAULT_MAX_RESPONSE_BYTES`].
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Accepts any TLS certificate. **Dangerous**: anyone on the path can read the
    /// token. Only for a staging tenant with a self-signed certificate.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Spaces requests out (see [`RateLimiter`]). Default: no limit.
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.rate_limiter = Some(limiter);
        self
    }

    /// After a 429, waits `Retry-After` (seconds or an HTTP-date; a backoff with jitter
    /// from 1 s when absent, `Retry-After` honoured up to 60 s) and resends, up to
    /// `retries` times. Default: 0 (a 429 is returned as an error). For a policy without
    /// a count limit, use [`ClientBuilder::rate_limit_policy`].
    pub fn retries_on_429(mut self, retries: u32) -> Self {
        self.on_429 = RateLimitPolicy::default()
            .max_retries(retries)
            .max_retry_after(Duration::from_secs(60));
        self
    }

    /// What to do with a 429 (see [`crate::policy`]). Default:
    /// [`RateLimitPolicy::never`] (a 429 is returned as an error).
    pub fn rate_limit_policy(mut self, policy: RateLimitPolicy) -> Self {
        self.on_429 = policy;
        self
    }

    /// Sees every answer, 429 wait and connection resend (see [`Observer`]). Kept by
    /// the clients made with `with_token`, `with_recorder` and `with_content_type`.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Receives every exchange (see [`Recorder`]).
    pub fn recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = Url::parse(&self.base_url).map_err(|e| {
            Error::InvalidInput(format!(
                "the base URL {:?} is not a URL ({e}); give the tenant's base URL, e.g. https://idcs-abc123.identity.oraclecloud.com",
                self.base_url
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::InvalidInput(format!(
                "the base URL must be http or https, not {:?}",
                base.scheme()
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::InvalidInput(
                "the base URL must not have a query or a fragment".into(),
            ));
        }
        if let Some(token) = &self.token
            && reqwest::header::HeaderValue::try_from(format!("Bearer {}", token.expose())).is_err()
        {
            return Err(Error::InvalidInput(
                    "the bearer token holds characters not allowed in an HTTP header (a stray newline?)".into(),
                ));
        }
        let http_builder = || {
            reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .timeout(self.request_timeout)
                .user_agent(self.user_agent.clone())
                .pool_idle_timeout(DEFAULT_POOL_IDLE_TIMEOUT)
                // An API answer never needs a redirect; following one could carry the
                // request (and its body's secrets) to another host.
                .redirect(reqwest::redirect::Policy::none())
                .tls_danger_accept_invalid_certs(self.accept_invalid_certs)
        };
        let http = http_builder()
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot set up HTTP: {e}")))?;
        // The resend of a GET whose pooled connection closed goes out on a new one.
        let fresh = http_builder()
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot set up HTTP: {e}")))?;
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        Ok(Client {
            base_url,
            http,
            config: Arc::new(Config {
                rate_limiter: self.rate_limiter,
                on_429: self.on_429,
                observer: self.observer,
                fresh,
                token: self.token,
                content_type: self.content_type,
                max_response_bytes: self.max_response_bytes,
                recorder: self.recorder,
                request_timeout: self.request_timeout,
            }),
        })
    }
}

/// A client of one tenant's `/mfa/v1` API. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    http: reqwest::Client,
    config: Arc<Config>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &self.config.token)
            .field("content_type", &self.config.content_type)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client of the tenant at `base_url` (scheme, host, optional
    /// port and path prefix; `/mfa/v1/…` is appended).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token: None,
            content_type: ContentType::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            user_agent: concat!("idcs-mfa/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            accept_invalid_certs: false,
            recorder: None,
            rate_limiter: None,
            on_429: RateLimitPolicy::never(),
            observer: None,
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The per-request timeout in force.
    pub fn request_timeout(&self) -> Duration {
        self.config.request_timeout
    }

    /// The response size limit in force.
    pub fn max_response_bytes(&self) -> usize {
        self.config.max_response_bytes
    }

    /// Reads the body of a response under this client's size limit: a longer body is
    /// [`Error::BodyTooLarge`] (a declared length is refused before a byte is read), a
    /// failure while reading is [`Error::Transport`] with the status.
    pub(crate) async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, Error> {
        let status = response.status();
        let limit = self.config.max_response_bytes;
        match crate::transport::read_capped(&mut response, limit).await {
            Ok(Some(body)) => Ok(body),
            Ok(None) => Err(Error::BodyTooLarge { status, limit }),
            Err(e) => Err(Error::Transport {
                status: Some(status),
                message: crate::wire::describe_reqwest(&e),
                source: Some(e),
            }),
        }
    }

    /// A client like this one with another bearer token (or none), sharing connections.
    pub fn with_token(&self, token: Option<Secret>) -> Client {
        self.with_config(|c| c.token = token)
    }

    /// A client like this one whose exchanges go to `recorder`, sharing connections.
    pub fn with_recorder(&self, recorder: Arc<dyn Recorder>) -> Client {
        self.with_config(|c| c.recorder = Some(recorder))
    }

    /// A client like this one with another request content type, sharing connections.
    pub fn with_content_type(&self, content_type: ContentType) -> Client {
        self.with_config(|c| c.content_type = content_type)
    }

    fn with_config(&self, change: impl FnOnce(&mut Config)) -> Client {
        let mut config = Config {
            rate_limiter: self.config.rate_limiter.clone(),
            on_429: self.config.on_429.clone(),
            observer: self.config.observer.clone(),
            fresh: self.config.fresh.clone(),
            token: self.config.token.clone(),
            content_type: self.config.content_type,
            max_response_bytes: self.config.max_response_bytes,
            recorder: self.config.recorder.clone(),
            request_timeout: self.config.request_timeout,
        };
        change(&mut config);
        Client {
            base_url: self.base_url.clone(),
            http: self.http.clone(),
            config: Arc::new(config),
        }
    }

    /// The 429 policy in force (clones share its give-up instant).
    pub fn rate_limit_policy(&self) -> &RateLimitPolicy {
        &self.config.on_429
    }

    /// Sends a request built by the caller (`reqwest::Request::new`; nothing is added to
    /// it: no token) on this client's connections, under its rate limit, 429 policy and
    /// connection policy ([`crate::policy`]), and reads the body under the size limit
    /// ([`Error::BodyTooLarge`] past it). For requests the operations cannot express:
    /// malformed bodies, other tokens, a mock's control API.
    pub async fn execute(
        &self,
        request: reqwest::Request,
    ) -> Result<(reqwest::StatusCode, HeaderMap, Bytes), Error> {
        let limit = self.config.max_response_bytes;
        let too_large = std::sync::atomic::AtomicBool::new(false);
        let response = crate::policy::send(
            &self.http,
            request,
            &self.config.policy(),
            |http, request| {
                let too_large = &too_large;
                async move {
                    let mut response = http.execute(request).await?;
                    let status = response.status();
                    let headers = std::mem::take(response.headers_mut());
                    let body = crate::transport::read_capped(&mut response, limit).await?;
                    too_large.store(body.is_none(), std::sync::atomic::Ordering::Relaxed);
                    let mut rebuilt = http::Response::builder()
                        .status(status)
                        .body(body.unwrap_or_default())
                        .expect("a response from parts of a valid one");
                    *rebuilt.headers_mut() = headers;
                    Ok(reqwest::Response::from(rebuilt))
                }
            },
        )
        .await
        .map_err(|e| Error::Transport {
            status: e.status(),
            message: crate::wire::describe_reqwest(&e),
            source: Some(e),
        })?;
        let status = response.status();
        if too_large.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::BodyTooLarge { status, limit });
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| Error::Transport {
            status: Some(status),
            message: crate::wire::describe_reqwest(&e),
            source: Some(e),
        })?;
        Ok((status, headers, body))
    }

    /// The underlying `reqwest` client (timeouts and TLS as configured, no token), for
    /// requests outside the contract such as the token endpoint.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Runs one generated operation with a fresh observation slot and maps the outcome.
    async fn call<T, F, Fut>(&self, op: F) -> Result<Response<T>, Error>
    where
        F: FnOnce(generated::Client) -> Fut,
        Fut: Future<
            Output = Result<
                progenitor_client::ResponseValue<T>,
                progenitor_client::Error<types::ErrorResponse>,
            >,
        >,
    {
        let transport = Transport::new(self.config.clone());
        let generated = generated::Client::new_with_client(
            &self.base_url,
            self.http.clone(),
            transport.clone(),
        );
        let result = op(generated).await;
        let observed = transport.take_observation();
        match result {
            // The contract documents JSON: a success labelled otherwise (an HTML page
            // from a proxy that happens to parse, say) is not taken at its word.
            Ok(value) if !is_json(value.headers()) => Err(Error::InvalidBody {
                status: value.status(),
                reason: format!(
                    "the Content-Type is {}, not the application/json the contract documents",
                    value
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .map_or("missing".to_owned(), |v| format!("{v:?}"))
                ),
                raw: crate::error::RawBody::from_observation(&observed),
            }),
            // The headers the transport saw are the response's: moved, not cloned.
            Ok(value) => Ok(Response {
                status: value.status(),
                headers: observed.headers,
                value: value.into_inner(),
                raw: observed.body,
            }),
            Err(e) => Err(Error::from_progenitor(
                e,
                observed,
                self.config.max_response_bytes,
            )),
        }
    }

    /// `GET /mfa/v1/users/{userGUID}/factors`: the user's enrolled factors (\[FACTORS\]).
    pub async fn get_user_factors(
        &self,
        user_guid: &str,
    ) -> Result<Response<types::UserFactors>, Error> {
        let guid = user_guid.to_owned();
        self.call(|c| async move { c.get_user_factors(&guid).await })
            .await
    }

    /// `GET /mfa/v1/users?userId=…&userIdType=…&attributes=factors`: the enrolled
    /// factors of a user named by user name (or GUID) (\[PM\]).
    pub async fn lookup_user_factors(
        &self,
        user_id: &str,
        user_id_type: types::UserIdType,
    ) -> Result<Response<types::UserFactors>, Error> {
        let user_id = user_id.to_owned();
        self.call(|c| async move {
            c.lookup_user_factors(
                Some(types::LookupAttributes::Factors),
                &user_id,
                Some(user_id_type),
            )
            .await
        })
        .await
    }

    /// `POST /mfa/v1/requests`: initiate a verification (step 1). Most callers want
    /// [`Client::initiate`], which returns a [`crate::Verification`].
    pub async fn initiate_verification(
        &self,
        body: &types::InitiateVerificationRequest,
    ) -> Result<Response<types::InitiatedVerification>, Error> {
        self.call(|c| async move { c.initiate_verification(body).await })
            .await
    }

    /// `GET /mfa/v1/requests/{requestId}`: the status of a PUSH (\[STATUS\]). Most
    /// callers want [`Client::push_status`] or [`Client::wait_for_push`].
    pub async fn get_verification_status(
        &self,
        request_id: &str,
    ) -> Result<Response<types::VerificationStatus>, Error> {
        let id = request_id.to_owned();
        self.call(|c| async move { c.get_verification_status(&id).await })
            .await
    }

    /// `PATCH /mfa/v1/requests/{requestId}`: verify, or resend the OTP (\[VERIFY\]). Most
    /// callers want the `verify_*` and `resend_otp` methods of the flow.
    pub async fn complete_verification(
        &self,
        request_id: &str,
        body: &types::CompleteFactorVerification,
    ) -> Result<Response<types::CompletedVerification>, Error> {
        let id = request_id.to_owned();
        self.call(|c| async move { c.complete_verification(&id, body).await })
            .await
    }
}

/// Whether a response is labelled `application/json` or `…/…+json`.
fn is_json(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_media_type)
}

/// Whether a `Content-Type` value is one the contract's JSON bodies may carry:
/// `application/json` or any `…/…+json`, parameters such as `charset` allowed, any case.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.split_once('/').is_some_and(|(_, sub)| {
            let sub = sub.as_bytes();
            sub.len() >= 5 && sub[sub.len() - 5..].eq_ignore_ascii_case(b"+json")
        })
}
