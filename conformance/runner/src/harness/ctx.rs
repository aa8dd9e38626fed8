//! The context one check runs in: the target, a client whose exchanges are collected
//! and fed to the run's ledger, raw requests for what the client cannot express, and the
//! fixtures (OTP, TOTP, bypass codes, answers, PUSH decisions) as the check needs them.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use idcs_mfa::{
    Client, Exchange, Initiate, Method, Recorder, Secret, UserRef, Verification, types,
};
use idcs_mfa_mock::routes;
use idcs_mfa_model::readings::Alt;

use super::{CheckResult, Fail};
use crate::{
    ledger::Credential,
    source::{Source, control_json, control_post, raw_request, request_env, run_command},
    target::Target,
};

/// Collects a check's exchanges, and feeds each to the run's [`Ledger`](crate::ledger::Ledger) as it happens.
pub(crate) struct Collect {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    target: Arc<Target>,
    credential: Credential,
}

impl Recorder for Collect {
    fn record(&self, exchange: Exchange) {
        self.target
            .safety()
            .ledger
            .observe(&exchange, self.credential);
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

    /// Expects the answer to have `status`.
    pub fn expect(&self, status: u16) -> CheckResult {
        super::ensure(self.status == status, format!("HTTP {status}"), || {
            self.describe()
        })
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
        let client = target.tenant().client.with_recorder(collect.clone());
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
            [
                &self.target.tenant().token,
                &self.target.tenant().authenticator_token,
            ]
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

    /// Records that the tenant showed `alt` (a check's finding, `at` saying which and
    /// where): a failure when it showed another alternative of that reading before.
    pub fn record_reading(&self, alt: Alt, at: &str) -> CheckResult {
        self.target.findings().readings.record(alt, at)
    }

    /// Whether some exchange of this context never reached the tenant.
    pub fn any_unreached(&self) -> bool {
        self.collect.any_unreached()
    }

    /// The test user by GUID.
    pub fn user(&self) -> UserRef {
        UserRef::Guid(self.target.tenant().user.guid.clone())
    }

    /// A factor of the test user with `method`, or a skip saying there is none.
    pub async fn factor_with(&self, method: &Method) -> Result<String, Fail> {
        let factors = self
            .target
            .tenant()
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

    /// A request whose initiate sends nothing, initiated once per run and shared by the
    /// checks that only read a request: a PATCH or a poll a conforming tenant refuses
    /// before it looks at the request (no token, a bogus one, a malformed payload, a
    /// tampered requestState), a requestId to look at. Its initiate is no check's
    /// exchange (the checks that initiate a factor judge that answer); the ledger sees it.
    /// At a real tenant's pace this saves a request per check.
    pub async fn shared_quiet(&self) -> Result<Verification, Fail> {
        self.shared(false).await
    }

    /// A PUSH request initiated once per run and shared by the checks that only poll it
    /// while it is pending (see [`Ctx::shared_quiet`]).
    pub async fn shared_push(&self) -> Result<Verification, Fail> {
        self.shared(true).await
    }

    /// The shared PUSH request (`push`), or the shared request whose initiate sends
    /// nothing, initiated on first use in a context of its own.
    async fn shared(&self, push: bool) -> Result<Verification, Fail> {
        let target = self.target.clone();
        let shared = &self.target.tenant().shared;
        let cell = if push { &shared.push } else { &shared.quiet };
        cell.get_or_init(|| async move {
            let cx = Ctx::new(target);
            let v = if push {
                cx.initiate(Method::Push).await
            } else {
                cx.initiate_quiet().await
            };
            drop(cx.take_exchanges());
            v
        })
        .await
        .clone()
    }

    /// Initiates `what`; a failure is a mismatch.
    pub async fn initiate_with(&self, what: &Initiate) -> Result<Verification, Fail> {
        self.client.initiate(what).await.map_err(|e| {
            Fail::mismatch("the initiate step to answer 200", super::describe_error(&e))
        })
    }

    /// Reads the OTP delivered for `v`. A source that answered but has nothing yet (an
    /// OTP command that ran, exited 0 and printed nothing; a mock outbox that holds no
    /// OTP for the request) is asked again, every second, for up to
    /// [`Patience::otp_retry`](crate::target::Patience::otp_retry): an SMS can take a
    /// while to arrive. A source that failed (a command that exited non-zero, could not
    /// run or timed out; a control API that refused) is not asked again: the check is
    /// skipped with the reason at once.
    pub async fn delivered_otp(&self, v: &Verification) -> Result<Secret, Fail> {
        let patience = self.target.settings().patience.otp_retry;
        let started = tokio::time::Instant::now();
        loop {
            match self.read_otp_once(v).await {
                OtpRead::Got(otp) => return Ok(otp),
                OtpRead::Failed(fail) => return Err(fail),
                OtpRead::NothingYet(fail) => {
                    let pause = Duration::from_secs(1).min(patience / 4);
                    if started.elapsed() + pause > patience {
                        return Err(fail);
                    }
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    async fn read_otp_once(&self, v: &Verification) -> OtpRead {
        let Some(source) = self.target.tenant().fixtures.otp.as_ref() else {
            return OtpRead::Failed(Fail::skip("no OTP source"));
        };
        match source {
            Source::Mock { base_url, token } => {
                let url = routes::outbox_for_request(base_url, v.request_id());
                let body = match control_json(&self.client, reqwest::Method::GET, &url, token, None)
                    .await
                {
                    Ok(body) => body,
                    Err(e) => return OtpRead::Failed(Fail::skip(e.to_string())),
                };
                let entries = body.as_array().cloned().unwrap_or_default();
                match entries
                    .iter()
                    .rev()
                    .find_map(|e| e.get("otp")?.as_str().map(Secret::new))
                {
                    Some(otp) => OtpRead::Got(otp),
                    None => OtpRead::NothingYet(Fail::mismatch(
                        "an OTP to have been sent for this request",
                        "the outbox holds none",
                    )),
                }
            }
            Source::Command(cmd) => {
                let out = match run_command(cmd, &request_env(v, None)).await {
                    Ok(out) => out,
                    Err(e) => return OtpRead::Failed(Fail::skip(e.to_string())),
                };
                let otp = out.trim();
                if otp.is_empty() {
                    return OtpRead::NothingYet(Fail::skip(format!(
                        "the OTP command `{cmd}` printed nothing within {:?} (fixtures.otp_retry_secs)",
                        self.target.settings().patience.otp_retry
                    )));
                }
                OtpRead::Got(Secret::new(otp))
            }
        }
    }

    /// Polls the PUSH of `v` until its answer is no longer a 200 `pending` (every
    /// [`Patience::push_poll`](crate::target::Patience::push_poll), for up to [`Patience::push_decision`](crate::target::Patience::push_decision)) and returns that
    /// answer (or the last `pending` one): a decision takes a moment to reach the
    /// tenant after the phone is tapped.
    pub async fn push_decision(
        &self,
        v: &Verification,
    ) -> Result<idcs_mfa::Response<types::VerificationStatus>, idcs_mfa::Error> {
        let patience = self.target.settings().patience;
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
            .tenant()
            .fixtures
            .push
            .as_ref()
            .ok_or_else(|| Fail::skip("no PUSH control"))?;
        match source {
            Source::Mock { base_url, token } => {
                let url = routes::decide_push(base_url, v.request_id(), action == "approve");
                control_post(&self.client, &url, token)
                    .await
                    .map_err(|e| Fail::skip(e.to_string()))?;
            }
            Source::Command(cmd) => {
                run_command(cmd, &request_env(v, Some(action)))
                    .await
                    .map_err(|e| Fail::skip(e.to_string()))?;
            }
        }
        self.target
            .safety()
            .ledger
            .push_decided(v.request_id(), approve);
        Ok(())
    }

    /// The TOTP code of the fixture's factor now.
    pub fn totp_now(&self) -> Result<(String, Secret), Fail> {
        let (factor, secret) = self
            .target
            .tenant()
            .fixtures
            .totp
            .clone()
            .ok_or_else(|| Fail::skip("no TOTP secret"))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let code = idcs_mfa_mock::totp::code(secret.expose(), now)
            .map_err(|e| Fail::skip(format!("the TOTP secret is not usable: {e}")))?;
        Ok((factor, Secret::new(code)))
    }

    /// Takes an unused bypass code.
    pub fn take_bypass_code(&self) -> Result<Secret, Fail> {
        self.target
            .tenant()
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
        let url = format!("{}{path}", self.target.tenant().base_url);
        let token = match &auth {
            Auth::Token => self.target.tenant().token.clone(),
            Auth::None => None,
            Auth::Bearer(t) => Some(t.clone()),
        };
        let body_bytes = Bytes::from(body.unwrap_or_default());
        let request = raw_request(
            method.clone(),
            &url,
            token.as_ref(),
            content_type,
            (!body_bytes.is_empty()).then(|| body_bytes.clone()),
        );
        let mut exchange = Exchange {
            operation: idcs_mfa::Operation::matching(method.as_str(), path),
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
        let result = match request {
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

/// One reading of the OTP source.
enum OtpRead {
    /// The OTP.
    Got(Secret),
    /// The source answered and has none yet: worth asking again.
    NothingYet(Fail),
    /// The source failed: asking again would fail again.
    Failed(Fail),
}
