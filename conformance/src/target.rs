//! The tenant under test, its fixtures, and the context each check runs in.
//!
//! A [`Target`] is a base URL, a token, the test user and whatever [`Fixtures`] the
//! tenant can give: a TOTP secret, bypass codes, security answers, and a way to read a
//! delivered OTP and to approve or reject a PUSH. Those last two are [`Source`]s: a
//! command the runner calls (real tenants) or the mock tenant's control API (the
//! embedded default, and `serve` in another process). Both go through this one module,
//! so the embedded run exercises the same fixture path as a real one.
//!
//! A check that needs a fixture the target lacks is skipped with the reason; it never
//! passes.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use idcs_mfa::{
    Client, Exchange, Initiate, Method, RateLimiter, Recorder, Secret, UserRef, Verification, types,
};
use tokio::sync::OnceCell;

use crate::{
    check::{Fail, Need},
    ledger::{Credential, Ledger},
    observe::Observations,
};

/// How long the runner waits for people and phones. Set from the profile's
/// `[fixtures]` keys `push_poll_secs`, `push_decision_secs` and `otp_retry_secs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Patience {
    /// Between two polls of a PUSH whose decision is not in yet (Oracle's sign-in
    /// sample polls every 3 s: [`idcs_mfa::DEFAULT_PUSH_INTERVAL`]).
    pub push_poll: Duration,
    /// How long after the push command a PUSH may stay pending before the answer is
    /// judged as it is.
    pub push_decision: Duration,
    /// How long an OTP source is asked again while it fails or has nothing yet.
    pub otp_retry: Duration,
}

/// Default [`Patience::push_decision`]: a person taps within a minute.
pub const DEFAULT_PUSH_DECISION: Duration = Duration::from_secs(60);
/// Default [`Patience::otp_retry`]: an SMS or e-mail usually arrives within 30 s.
pub const DEFAULT_OTP_RETRY: Duration = Duration::from_secs(30);

impl Default for Patience {
    fn default() -> Self {
        Self {
            push_poll: idcs_mfa::DEFAULT_PUSH_INTERVAL,
            push_decision: DEFAULT_PUSH_DECISION,
            otp_retry: DEFAULT_OTP_RETRY,
        }
    }
}

/// The user the checks verify.
#[derive(Clone, Debug)]
pub struct TestUser {
    /// The user's GUID.
    pub guid: String,
    /// The user's name (for the look-up by name).
    pub name: Option<String>,
}

/// Where a fixture that needs the outside world comes from.
#[derive(Clone)]
pub enum Source {
    /// A shell command (`sh -c`), given the request in environment variables:
    /// `IDCS_REQUEST_ID`, `IDCS_USER_GUID`, `IDCS_FACTOR_ID`, `IDCS_METHOD`, and for a
    /// PUSH `IDCS_PUSH_ACTION` (`approve` or `reject`). An OTP command prints the OTP.
    Command(String),
    /// The mock tenant's control API.
    Mock {
        /// Its base URL (the tenant's base URL; routes are under `/_mock/v1`).
        base_url: String,
        /// Its credential.
        token: Secret,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Command(c) => f.debug_tuple("Command").field(c).finish(),
            Source::Mock { base_url, .. } => f
                .debug_struct("Mock")
                .field("base_url", base_url)
                .finish_non_exhaustive(),
        }
    }
}

/// What the tenant can give the checks. Secrets stay [`Secret`]s.
#[derive(Debug, Default)]
pub struct Fixtures {
    /// A TOTP factor of the test user and its base32 secret.
    pub totp: Option<(String, Secret)>,
    /// Unused bypass codes, used in order, each once.
    pub bypass_codes: Mutex<VecDeque<Secret>>,
    /// Answers by question id.
    pub answers: BTreeMap<String, Secret>,
    /// Reads a delivered OTP (SMS, EMAIL, PHONE_CALL).
    pub otp: Option<Source>,
    /// Approves or rejects a PUSH.
    pub push: Option<Source>,
    /// Unlocks the test user and sets their attempt count to 0: the mock's control
    /// API, or `fixtures.unlock_command` (given `IDCS_USER_GUID`).
    pub unlock: Option<Source>,
}

/// The tenant under test.
pub struct Target {
    /// Its base URL.
    pub base_url: String,
    /// The client every documented request goes through (token, timeouts, rate limit).
    pub client: Client,
    /// The token, for raw requests.
    pub token: Option<Secret>,
    /// A token holding only the "Authenticator Client" role, when there is one.
    pub authenticator_token: Option<Secret>,
    /// The roles the token holds, when known.
    pub token_roles: Option<Vec<String>>,
    /// The test user.
    pub user: TestUser,
    /// Fixtures.
    pub fixtures: Fixtures,
    /// The rate limit shared by every request of the run.
    pub limiter: RateLimiter,
    /// Whether checks may drive the user into lockout.
    pub allow_lockout: bool,
    /// The tenant's maximum of MFA attempts, when known.
    pub max_attempts: Option<u32>,
    /// The highest attempt count the run may bring the test user to, when set
    /// (`--attempt-budget`, `safety.attempt_budget`); see [`crate::guard`].
    pub attempt_budget: Option<u32>,
    /// The accounting of the test user's attempt count, fed by every exchange.
    pub ledger: Ledger,
    /// Property-check settings.
    pub props: crate::checks::properties::PropConfig,
    /// What the run saw of the tenant's habits (the client reports to it).
    pub observations: Arc<Observations>,
    /// How long to wait for PUSH decisions and delivered OTPs.
    pub patience: Patience,
    /// The test user's factors, fetched once.
    factors: OnceCell<Option<types::UserFactors>>,
}

impl Target {
    /// A target; fixtures and options are set on the returned value.
    pub fn new(
        base_url: String,
        client: Client,
        token: Option<Secret>,
        user: TestUser,
        limiter: RateLimiter,
    ) -> Self {
        let ledger = Ledger::new(&user.guid, user.name.as_deref());
        Self {
            base_url,
            client,
            token,
            authenticator_token: None,
            token_roles: None,
            user,
            fixtures: Fixtures::default(),
            limiter,
            allow_lockout: false,
            max_attempts: None,
            attempt_budget: None,
            ledger,
            props: Default::default(),
            observations: Arc::default(),
            patience: Patience::default(),
            factors: OnceCell::new(),
        }
    }

    /// Why a check with these needs cannot run here, if it cannot.
    pub fn missing(&self, needs: &[Need]) -> Option<String> {
        needs.iter().find_map(|need| {
            let absent = match need {
                Need::DeliveredOtp => self.fixtures.otp.is_none(),
                Need::TotpSecret => self.fixtures.totp.is_none(),
                Need::BypassCode => self.fixtures.bypass_codes.lock().map(|c| c.is_empty()).unwrap_or(true),
                Need::SecurityAnswers => self.fixtures.answers.is_empty(),
                Need::PushControl => self.fixtures.push.is_none(),
                Need::Lockout | Need::NearLockout => !self.allow_lockout,
                Need::CountAtZero => false,
                Need::TokenRoles => self.token_roles.is_none(),
                Need::AuthenticatorToken => self.authenticator_token.is_none(),
            };
            absent.then(|| match need {
                Need::DeliveredOtp => "the profile gives no way to read a delivered OTP (fixtures.otp_command)".to_owned(),
                Need::TotpSecret => "the profile gives no TOTP secret (fixtures.totp_factor_id and fixtures.totp_secret_env)".to_owned(),
                Need::BypassCode => "no unused bypass code is left (fixtures.bypass_codes_env)".to_owned(),
                Need::SecurityAnswers => "the profile gives no security answers (fixtures.security_answers_env)".to_owned(),
                Need::PushControl => "the profile gives no way to approve a PUSH (fixtures.push_command)".to_owned(),
                Need::Lockout | Need::NearLockout => "lockout checks lock the test user; run them with --allow-lockout".to_owned(),
                Need::CountAtZero => String::new(),
                Need::TokenRoles => "the profile does not say which roles the token holds (auth.roles)".to_owned(),
                Need::AuthenticatorToken => "no token with only the Authenticator Client role (auth.authenticator_token_env)".to_owned(),
            })
        })
    }

    /// The test user's factors (fetched once per run; `None` if the tenant refused).
    pub async fn factors(&self) -> Option<&types::UserFactors> {
        self.factors
            .get_or_init(|| async {
                self.client
                    .get_user_factors(&self.user.guid)
                    .await
                    .ok()
                    .map(|r| r.value)
            })
            .await
            .as_ref()
    }

    /// Keeps the factors the preflight read, so the checks do not read them again.
    pub fn remember_factors(&self, factors: types::UserFactors) {
        let _ = self.factors.set(Some(factors));
    }

    /// Whether the runner can unlock the test user (and set the count to 0).
    pub fn can_unlock(&self) -> bool {
        self.fixtures.unlock.is_some()
    }

    /// Unlocks the test user and sets their attempt count to 0, where the target
    /// allows it (the mock's control API, or `fixtures.unlock_command`).
    pub async fn unlock_user(&self) -> Result<(), String> {
        match &self.fixtures.unlock {
            Some(Source::Mock { base_url, token }) => {
                let url = format!("{base_url}/_mock/v1/users/{}/unlock", self.user.guid);
                control_post(&self.client, &url, token).await?;
            }
            Some(Source::Command(cmd)) => {
                run_command(cmd, &[("IDCS_USER_GUID", &self.user.guid)]).await?;
            }
            None => {
                return Err(
                    "the profile gives no way to unlock the test user (fixtures.unlock_command)"
                        .into(),
                );
            }
        }
        self.ledger.unlocked();
        Ok(())
    }
}

/// Collects a check's exchanges, and feeds each to the run's [`Ledger`] as it happens.
pub struct Collect {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    target: Arc<Target>,
    credential: Credential,
}

impl Recorder for Collect {
    fn record(&self, exchange: Exchange) {
        self.target.ledger.observe(&exchange, self.credential);
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(exchange);
    }
}

impl Collect {
    /// A fresh collection for requests made with `credential`.
    pub fn new(target: Arc<Target>, credential: Credential) -> Self {
        Self {
            exchanges: Arc::default(),
            target,
            credential,
        }
    }

    /// The same collection, for requests made with another credential.
    fn with_credential(&self, credential: Credential) -> Self {
        Self {
            exchanges: self.exchanges.clone(),
            target: self.target.clone(),
            credential,
        }
    }

    /// Takes the exchanges recorded so far.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether some exchange recorded so far never reached the tenant.
    pub fn any_unreached(&self) -> bool {
        self.exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|e| e.unreached)
    }
}

/// A response to a raw request.
#[derive(Debug)]
pub struct RawResponse {
    /// The status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

impl RawResponse {
    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `cause[].code`s of an error body.
    pub fn codes(&self) -> Vec<String> {
        self.json()
            .and_then(|v| v.get("cause").cloned())
            .and_then(|c| c.as_array().cloned())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| c.get("code")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One line for `actual`.
    pub fn describe(&self) -> String {
        let codes = self.codes();
        if codes.is_empty() {
            format!("{} ({} bytes)", self.status, self.body.len())
        } else {
            format!("{} with {}", self.status, codes.join(", "))
        }
    }
}

/// Which token a raw request carries.
#[derive(Clone, Debug)]
pub enum Auth {
    /// The run's token.
    Token,
    /// No `Authorization` header.
    None,
    /// This bearer value (a bogus token).
    Bearer(Secret),
}

/// The context of one check: the target, and a client whose exchanges are collected.
pub struct Ctx {
    /// The target.
    pub target: Arc<Target>,
    client: Client,
    collect: Arc<Collect>,
}

impl Ctx {
    /// A context recording into a fresh collection.
    pub fn new(target: Arc<Target>) -> Self {
        let collect = Arc::new(Collect::new(target.clone(), Credential::Run));
        let client = target.client.with_recorder(collect.clone());
        Self {
            target,
            client,
            collect,
        }
    }

    /// Takes the exchanges recorded so far.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        self.collect.take()
    }

    /// Records an exchange as this check's (to keep one taken with `take_exchanges`).
    /// It is not fed to the ledger again: it was when it happened.
    pub fn keep(&self, exchange: Exchange) {
        self.collect
            .exchanges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(exchange);
    }

    /// The client (documented requests; exchanges recorded).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client with another token, or none (exchanges recorded). Requests with no
    /// token or a token the run does not hold never count as the test user's attempts;
    /// the run's token and the Authenticator Client token act for the test user.
    pub fn client_with(&self, token: Option<Secret>) -> Client {
        let acts_for_user = token.as_ref().is_some_and(|t| {
            [&self.target.token, &self.target.authenticator_token]
                .into_iter()
                .flatten()
                .any(|known| known == t)
        });
        let credential = if acts_for_user {
            Credential::Run
        } else {
            Credential::Other
        };
        let collect = Arc::new(self.collect.with_credential(credential));
        self.client.with_token(token).with_recorder(collect)
    }

    /// Whether some exchange of this context never reached the tenant.
    pub fn any_unreached(&self) -> bool {
        self.collect.any_unreached()
    }

    /// The test user by GUID.
    pub fn user(&self) -> UserRef {
        UserRef::Guid(self.target.user.guid.clone())
    }

    /// A factor of the test user with `method`, or a skip saying there is none.
    pub async fn factor_with(&self, method: &Method) -> Result<String, Fail> {
        let factors = self
            .target
            .factors()
            .await
            .ok_or_else(|| {
                Fail::mismatch(
                    "GET /mfa/v1/users/{userGUID}/factors of the test user to answer 200 with the documented shape",
                    "it did not (see the users.factors checks)",
                )
            })?;
        factors
            .factors
            .iter()
            .find(|f| f.methods.contains(method))
            .map(|f| f.factor_id.clone())
            .ok_or_else(|| Fail::skip(format!("the test user has no {method} factor")))
    }

    /// Initiates `method` on a factor of the test user that has it; a failure is a
    /// mismatch (initiating is documented to answer 200).
    pub async fn initiate(&self, method: Method) -> Result<Verification, Fail> {
        let factor = self.factor_with(&method).await?;
        let what = Initiate::factor(self.user(), factor, method);
        self.initiate_with(&what).await
    }

    /// Initiates a factor whose initiation sends nothing (TOTP, PUSH, BYPASSCODE,
    /// SECURITY_QUESTIONS, in that order), so checks that only need a live request do
    /// not spend the user's MFA attempts (every SMS/EMAIL sent counts, \[VERIFY\]).
    pub async fn initiate_quiet(&self) -> Result<Verification, Fail> {
        for method in [
            Method::Totp,
            Method::Push,
            Method::Bypasscode,
            Method::SecurityQuestions,
        ] {
            if self.factor_with(&method).await.is_ok() {
                return self.initiate(method).await;
            }
        }
        Err(Fail::skip(
            "the test user has no factor whose initiation sends nothing (TOTP, PUSH, BYPASSCODE, SECURITY_QUESTIONS)",
        ))
    }

    /// Initiates `what`; a failure is a mismatch.
    pub async fn initiate_with(&self, what: &Initiate) -> Result<Verification, Fail> {
        self.client.initiate(what).await.map_err(|e| {
            Fail::mismatch(
                "the initiate step to answer 200",
                crate::check::describe_error(&e),
            )
        })
    }

    /// Reads the OTP delivered for `v`. The source is asked again (every second, for
    /// up to [`Patience::otp_retry`]) while it fails or has nothing yet: an SMS can take
    /// a while to arrive.
    pub async fn delivered_otp(&self, v: &Verification) -> Result<Secret, Fail> {
        let patience = self.target.patience.otp_retry;
        let started = tokio::time::Instant::now();
        loop {
            match self.read_otp_once(v).await {
                Ok(otp) => return Ok(otp),
                Err(fail) => {
                    let pause = Duration::from_secs(1).min(patience / 4);
                    if started.elapsed() + pause > patience {
                        return Err(fail);
                    }
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn read_otp_once(&self, v: &Verification) -> Result<Secret, Fail> {
        let source = self
            .target
            .fixtures
            .otp
            .as_ref()
            .ok_or_else(|| Fail::skip("no OTP source"))?;
        match source {
            Source::Mock { base_url, token } => {
                let url = format!("{base_url}/_mock/v1/outbox?requestId={}", v.request_id());
                let body = control_json(&self.client, reqwest::Method::GET, &url, token, None)
                    .await
                    .map_err(Fail::skip)?;
                let entries = body.as_array().cloned().unwrap_or_default();
                entries
                    .iter()
                    .rev()
                    .find_map(|e| e.get("otp")?.as_str().map(Secret::new))
                    .ok_or_else(|| {
                        Fail::mismatch(
                            "an OTP to have been sent for this request",
                            "the outbox holds none",
                        )
                    })
            }
            Source::Command(cmd) => {
                let out = run_command(cmd, &request_env(v, None))
                    .await
                    .map_err(Fail::skip)?;
                let otp = out.trim();
                if otp.is_empty() {
                    return Err(Fail::skip(format!(
                        "the OTP command `{cmd}` printed nothing within {:?}",
                        self.target.patience.otp_retry
                    )));
                }
                Ok(Secret::new(otp))
            }
        }
    }

    /// Polls the PUSH of `v` until its answer is no longer a 200 `pending` (every
    /// [`Patience::push_poll`], for up to [`Patience::push_decision`]) and returns that
    /// answer (or the last `pending` one): a decision takes a moment to reach the
    /// tenant after the phone is tapped.
    pub async fn push_decision(
        &self,
        v: &Verification,
    ) -> Result<idcs_mfa::Response<types::VerificationStatus>, idcs_mfa::Error> {
        let patience = self.target.patience;
        let started = tokio::time::Instant::now();
        loop {
            let answer = self.client.get_verification_status(v.request_id()).await;
            let pending = matches!(&answer, Ok(r) if r.value.status == idcs_mfa::Status::Pending);
            if !pending || started.elapsed() + patience.push_poll > patience.push_decision {
                return answer;
            }
            tokio::time::sleep(patience.push_poll).await;
        }
    }

    /// Approves (`true`) or rejects (`false`) the PUSH of `v` on the user's behalf.
    pub async fn act_on_push(&self, v: &Verification, approve: bool) -> Result<(), Fail> {
        let action = if approve { "approve" } else { "reject" };
        let source = self
            .target
            .fixtures
            .push
            .as_ref()
            .ok_or_else(|| Fail::skip("no PUSH control"))?;
        match source {
            Source::Mock { base_url, token } => {
                let url = format!("{base_url}/_mock/v1/push/{}/{action}", v.request_id());
                control_post(&self.client, &url, token)
                    .await
                    .map_err(Fail::skip)?;
            }
            Source::Command(cmd) => {
                run_command(cmd, &request_env(v, Some(action)))
                    .await
                    .map_err(Fail::skip)?;
            }
        }
        self.target.ledger.push_decided(v.request_id(), approve);
        Ok(())
    }

    /// The TOTP code of the fixture's factor now.
    pub fn totp_now(&self) -> Result<(String, Secret), Fail> {
        let (factor, secret) = self
            .target
            .fixtures
            .totp
            .clone()
            .ok_or_else(|| Fail::skip("no TOTP secret"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let code = crate::totp::code(secret.expose(), now)
            .map_err(|e| Fail::skip(format!("the TOTP secret is not usable: {e}")))?;
        Ok((factor, Secret::new(code)))
    }

    /// Takes an unused bypass code.
    pub fn take_bypass_code(&self) -> Result<Secret, Fail> {
        self.target
            .fixtures
            .bypass_codes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
            .ok_or_else(|| Fail::skip("no unused bypass code is left"))
    }

    /// Sends a raw request (for what the client cannot express) and records it.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<RawResponse, Fail> {
        let url = format!("{}{path}", self.target.base_url);
        let mut request = self.client.http().request(method.clone(), &url);
        let token = match &auth {
            Auth::Token => self.target.token.clone(),
            Auth::None => None,
            Auth::Bearer(t) => Some(t.clone()),
        };
        if let Some(token) = &token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(ct) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, ct);
        }
        let body_bytes = Bytes::from(body.unwrap_or_default());
        if !body_bytes.is_empty() {
            request = request.body(body_bytes.clone());
        }
        let mut exchange = Exchange {
            operation: operation_name(&method, path),
            method: method.to_string(),
            url: url.clone(),
            authorized: token.is_some(),
            request_headers: content_type
                .map(|ct| vec![("content-type".to_owned(), ct.to_owned())])
                .unwrap_or_default(),
            request_body: body_bytes,
            status: None,
            response_headers: Vec::new(),
            response_body: Bytes::new(),
            error: None,
            unreached: false,
        };
        let credential = match &auth {
            Auth::Token => Credential::Run,
            Auth::None | Auth::Bearer(_) => Credential::Other,
        };
        let mut unreached = false;
        // Through the client's policy: rate limit, 429 waits, a GET resent once on a
        // new connection; the body read under the size limit.
        let result = match request.build() {
            Ok(request) => self
                .client
                .execute(request)
                .await
                .map(|(status, headers, body)| {
                    let headers: Vec<(String, String)> = headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.to_string(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect();
                    (status.as_u16(), headers, body)
                })
                .map_err(|e| {
                    unreached = e.is_unreached();
                    e.to_string()
                }),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok((status, headers, body)) => {
                exchange.status = Some(status);
                exchange.response_headers = headers;
                exchange.response_body = body.clone();
                self.collect.with_credential(credential).record(exchange);
                Ok(RawResponse { status, body })
            }
            Err(e) => {
                let message = format!("no answer: {e}");
                exchange.error = Some(message.clone());
                exchange.unreached = unreached;
                self.collect.with_credential(credential).record(exchange);
                Err(Fail::mismatch("an HTTP answer", message))
            }
        }
    }
}

/// The library's name for the operation a raw request exercises, for validation.
fn operation_name(method: &reqwest::Method, path: &str) -> &'static str {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["mfa", "v1", "users", _, "factors"]) => "get_user_factors",
        ("GET", ["mfa", "v1", "users"]) => "lookup_user_factors",
        ("POST", ["mfa", "v1", "requests"]) => "initiate_verification",
        ("GET", ["mfa", "v1", "requests", _]) => "get_verification_status",
        ("PATCH", ["mfa", "v1", "requests", _]) => "complete_verification",
        _ => "raw",
    }
}

fn request_env<'a>(v: &'a Verification, action: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
    let mut env = vec![
        ("IDCS_REQUEST_ID", v.request_id()),
        ("IDCS_USER_GUID", v.user_guid()),
        ("IDCS_FACTOR_ID", v.factor_id()),
        ("IDCS_METHOD", v.method().as_str()),
    ];
    if let Some(action) = action {
        env.push(("IDCS_PUSH_ACTION", action));
    }
    env
}

/// Runs a fixture command with a 30 s limit; returns its standard output.
async fn run_command(cmd: &str, env: &[(&str, &str)]) -> Result<String, String> {
    let mut command = tokio::process::Command::new("sh");
    command.arg("-c").arg(cmd).kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .map_err(|_| format!("the fixture command `{cmd}` did not finish within 30 s"))?
        .map_err(|e| format!("cannot run the fixture command `{cmd}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the fixture command `{cmd}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| format!("the fixture command `{cmd}` printed invalid UTF-8"))
}

/// One request to the mock's control API whose answer is JSON.
pub(crate) async fn control_json(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let answer = control(client, method, url, token, body).await?;
    serde_json::from_slice(&answer)
        .map_err(|e| format!("the mock's control API answered non-JSON: {e}"))
}

async fn control_post(client: &Client, url: &str, token: &Secret) -> Result<Bytes, String> {
    control(client, reqwest::Method::POST, url, token, None).await
}

/// One request to the mock's control API (with a JSON body when given); a non-2xx
/// answer is an error.
async fn control(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: &Secret,
    body: Option<&serde_json::Value>,
) -> Result<Bytes, String> {
    let mut request = client
        .http()
        .request(method.clone(), url)
        .bearer_auth(token.expose());
    if let Some(body) = body {
        request = request.json(body);
    }
    let request = request
        .build()
        .map_err(|e| format!("cannot build a control API request: {e}"))?;
    // Through the client's policy too: a control call is a request like any other.
    let (status, _, answer) = client
        .execute(request)
        .await
        .map_err(|e| format!("the mock's control API did not answer: {e}"))?;
    if !status.is_success() {
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED {
            " (is the control token the one `serve` printed?)"
        } else {
            ""
        };
        return Err(format!(
            "the mock's control API answered {status} to {method} {url}{hint}"
        ));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use idcs_mfa::Method;

    use super::{Ctx, Source};

    // Test case: the fixture commands get the documented environment: IDCS_REQUEST_ID,
    // IDCS_USER_GUID, IDCS_FACTOR_ID, IDCS_METHOD, and for a PUSH IDCS_PUSH_ACTION.
    #[tokio::test]
    async fn fixture_commands_get_the_documented_environment() {
        let (handle, mut target) = crate::embedded::start(Vec::new()).await.expect("mock");
        let dir = std::env::temp_dir().join(format!("idcs-target-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let seen = dir.join("push-env");
        target.fixtures.otp = Some(Source::Command(
            "printf '%s|%s|%s|%s' \"$IDCS_REQUEST_ID\" \"$IDCS_USER_GUID\" \"$IDCS_FACTOR_ID\" \"$IDCS_METHOD\"".into(),
        ));
        target.fixtures.push = Some(Source::Command(format!(
            "printf '%s|%s' \"$IDCS_REQUEST_ID\" \"$IDCS_PUSH_ACTION\" > '{}'",
            seen.display()
        )));
        let cx = Ctx::new(Arc::new(target));
        let v = cx.initiate(Method::Sms).await.expect("initiate");
        let printed = cx.delivered_otp(&v).await.expect("the command ran");
        assert_eq!(
            printed.expose(),
            format!("{}|{}|{}|SMS", v.request_id(), v.user_guid(), v.factor_id())
        );
        let push = cx.initiate(Method::Push).await.expect("initiate");
        cx.act_on_push(&push, false).await.expect("the command ran");
        assert_eq!(
            std::fs::read_to_string(&seen).expect("written"),
            format!("{}|reject", push.request_id())
        );
        let _ = std::fs::remove_dir_all(dir);
        let _ = handle.shutdown().await;
    }
}
