//! Everything the mock remembers, behind one `Mutex`: HTTP's view of the model.
//!
//! The behaviour is the executable model's ([`crate::model::machine`]): each user has a
//! `Model` in strict mode (this project's decision at every silent point, so exactly
//! one answer per step). A request on `/mfa/v1/requests` is classified into a `Step`
//! (which factor an initiate asks for; which requestState a PATCH presents, current,
//! replaced or another request's; the right code or a wrong one; a fresh, reused or
//! wrong bypass code), the model answers, and this module renders the answer with the
//! concrete data it keeps: request ids, sealed requestStates, OTPs in the outbox, the
//! questions asked, the bypass codes left. The clock (PUSH expiry) and the
//! administrator (lock, unlock) are calls on the model too. No fault is named here:
//! where a fault bends a step or an answer, this module asks `deviate`, which returns
//! the documented one when the fault is off.
//!
//! Who is served at all is the model's too ([`crate::model::access`]): this module
//! reads the bearer token against the tokens it issued and asks the model's rule.
//!
//! Outside the model, and decided here: an unknown request or user,
//! a user with no factor, a factor that is not enrolled or does not have the method
//! asked for, a PATCH whose action does not fit the method (400, after the model's
//! refusals), the factor listing.
//!
//! Handlers (`mock::api`, `mock::control`) parse and render HTTP; the state changes
//! here, in plain synchronous methods on `State`, called with the lock held and never
//! across an `.await`. One lock for everything keeps each operation atomic: a bypass
//! code presented by many clients at once is checked and consumed under the same lock,
//! so exactly one of them succeeds.
//!
//! # Attempts and lockout
//!
//! The model counts attempts by the table of [`crate::model::attempts`]: OTPs sent by
//! SMS, EMAIL or PHONE_CALL (initiate and resend) and failed verifications (a rejected
//! PUSH included) add 1; a successful verification sets it back to 0. The attempt
//! faults (`sends_not_counted`, `success_keeps_count`, `lock_two_late`, `no_lockout`)
//! bend the model's answers or its maximum (`deviate`), never the model.
//!
//! When an addition makes the count reach `max_attempts` (default
//! [`crate::DEFAULT_MAX_ATTEMPTS`] = 5), the user is locked. The request that
//! reached the maximum still gets its own answer (the OTP is sent; the wrong code gets
//! 401 AUTH-1105); from then on every initiate, poll and PATCH for that user answers
//! 401 AUTH-1010 until the control API unlocks the user (which also sets the count to
//! 0). Listing factors is not affected. So with the default, an SMS initiate and four
//! wrong codes lock the user, and a fifth try, even with the right code, gets
//! AUTH-1010.
//!
//! # Other decisions where the documents are silent (the model's inferred rules, and the mock's)
//!
//! - A request that already succeeded (or whose PUSH was rejected or expired) refuses
//!   further PATCHes with 401 AUTH-1120: its requestState is spent.
//! - Only the latest OTP of a request is valid; a resend makes the previous code wrong.
//! - Polling a request that is not a PUSH answers 200 `pending` (AUTH-1108, the only
//!   pending body documented) until it is verified, then 200 `success`.
//! - A PUSH left undecided for `push_expiry` (default 120 s, inferred from Oracle's
//!   authentication API) is answered like a rejection: 401, `failed`, AUTH-1108,
//!   message "Expired" (the contract's `x-expiry`).
//! - Replacing the fixture forgets all requests, attempts and the outbox.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use idcs_mfa::{AuthCode, Method, Secret, Status, types};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use idcs_mfa_model::{
    access::{self, Credential, Refusal},
    machine::{
        self, Allowed, Bypass, Code, Expectation, Model, Outcome, Pick, StateRef, Step, Who,
    },
    readings::{
        Choices, initiate_unknown_user, lock_lookup, order_unknown_state, resend_code,
        unknown_by_name,
    },
    rules,
};

use crate::{
    body::Action,
    clock::Now,
    deviate::{self, Presented},
    fault::Faults,
    fixture::{Fixture, UserFixture},
    random,
    reply::{ApiError, PollAnswer, cause, internal_error},
    seal::{Key, Sealed},
    totp,
};

/// The limits and timings a server runs with (from [`crate::MockConfig`]).
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) push_expiry: Duration,
    /// The alternative it takes of every reading (complete).
    pub(crate) readings: Choices,
    pub(crate) max_attempts: u32,
    pub(crate) token_lifetime: Duration,
}

/// One OTP the mock "sent". Read it with `GET /_mock/v1/outbox`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// The request it was sent for.
    pub request_id: String,
    /// The user it was sent to.
    #[serde(rename = "userGUID")]
    pub user_guid: String,
    /// SMS, EMAIL or PHONE_CALL.
    pub method: Method,
    /// Where it went: the factor's display name.
    pub destination: String,
    /// The code.
    pub otp: Secret,
    /// When, as RFC 3339 UTC.
    pub sent_at: String,
}

/// A user's attempt count and lock, as `GET /_mock/v1/users/{userGUID}` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// The user's GUID.
    #[serde(rename = "userGUID")]
    pub user_guid: String,
    /// The user's name.
    pub user_name: String,
    /// Attempts counted since the last success or unlock.
    pub attempts: u32,
    /// Whether the user is locked.
    pub locked: bool,
    /// The maximum in force.
    pub max_attempts: u32,
    /// Bypass codes not used yet.
    pub bypass_codes_left: usize,
}

/// What the mock keeps of a request beyond its user's model (which holds its method,
/// factor, generations and outcome).
#[derive(Debug)]
struct Request {
    user_guid: String,
    display_name: Option<String>,
    /// Its index among the requests of its user's model.
    index: usize,
    /// The latest OTP sent (SMS, EMAIL, PHONE_CALL).
    otp: Option<Secret>,
    /// The questions asked (SECURITY_QUESTIONS).
    questions: Vec<String>,
    created: Instant,
}

/// A known request and what a PATCH on it may touch.
struct Opened<'a> {
    request: &'a mut Request,
    behaviour: &'a mut UserBehaviour,
    fixture: &'a mut Fixture,
    outbox: &'a mut Vec<OutboxEntry>,
}

/// One user's behaviour: the model (strict: this project's decision at every silent
/// point) and the bypass codes used, to tell a reused code from a wrong one.
#[derive(Debug)]
struct UserBehaviour {
    model: Model,
    /// SHA-256 of each bypass code used up.
    used_bypass: Vec<[u8; 32]>,
}

#[derive(Debug)]
struct TokenInfo {
    roles: Vec<String>,
    expires_at: Option<Instant>,
}

/// Why a control-API action on a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ControlRefusal {
    NotFound,
    Conflict(String),
}

/// The whole mutable state. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) fixture: Fixture,
    pub(crate) faults: Faults,
    /// Each user's behaviour, by GUID, made on first use.
    users: HashMap<String, UserBehaviour>,
    requests: HashMap<String, Request>,
    outbox: Vec<OutboxEntry>,
    /// Keyed by SHA-256 of the token, so looking one up reveals nothing through timing.
    tokens: HashMap<[u8; 32], TokenInfo>,
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn invalid_state() -> ApiError {
    ApiError::unauthorized(
        AuthCode::RequestStateInvalid,
        "The requestState is invalid or expired.",
    )
}

fn user_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        AuthCode::UserNotFound,
        "User not found.",
    )
    .with_ec_id()
}

fn normalise_answer(answer: &str) -> String {
    answer.trim().to_ascii_lowercase()
}

impl State {
    pub(crate) fn new(fixture: Fixture, faults: Faults) -> Self {
        State {
            fixture,
            faults,
            users: HashMap::new(),
            requests: HashMap::new(),
            outbox: Vec::new(),
            tokens: HashMap::new(),
        }
    }

    /// Forgets requests, attempts and the outbox; tokens stay valid.
    pub(crate) fn reset(&mut self, fixture: Fixture, faults: Faults) {
        self.fixture = fixture;
        self.faults = faults;
        self.users.clear();
        self.requests.clear();
        self.outbox.clear();
    }

    /// Replaces the fixture; forgets requests, attempts and the outbox.
    pub(crate) fn replace_fixture(&mut self, fixture: Fixture) {
        let faults = self.faults;
        self.reset(fixture, faults);
    }

    // ---- tokens -------------------------------------------------------------------

    /// Registers `token` with `roles`; it expires `lifetime` after `now` when given.
    pub(crate) fn add_token(
        &mut self,
        token: &Secret,
        roles: Vec<String>,
        lifetime: Option<Duration>,
        now: Now,
    ) {
        self.tokens.insert(
            token_key(token.expose()),
            TokenInfo {
                roles,
                expires_at: lifetime.map(|l| now.instant + l),
            },
        );
    }

    /// Checks the `Authorization` header of a /mfa/v1 request.
    ///
    /// - no header, not `Bearer`, or an unknown token: 401 AUTH-1007;
    /// - an expired token: 401 AUTH-1110;
    /// - a token with neither "MFA Client" nor "Authenticator Client": 401 AUTH-1007
    ///   (the contract has no 403). Both roles may use all five operations of the
    ///   contract ([ROLE]: Authenticator Client may GET /mfa/v1/users, and the contract
    ///   has only GETs there).
    ///
    /// The answer is as the faults make it (`deviate`: `no_auth` lets every request in).
    pub(crate) fn authorize(&self, header: Option<&str>, now: Now) -> Result<(), ApiError> {
        deviate::authorization(self.faults, self.documented_authorization(header, now))
    }

    /// The documented authorization: the model's rule ([`crate::model::access`]), with
    /// the credential read from the header and the tokens issued.
    fn documented_authorization(&self, header: Option<&str>, now: Now) -> Result<(), ApiError> {
        let token = header
            .and_then(|h| {
                let (scheme, rest) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty());
        let credential = match token.map(|t| self.tokens.get(&token_key(t))) {
            None => Credential::Missing,
            Some(None) => Credential::Unknown,
            Some(Some(info)) if info.expires_at.is_some_and(|at| now.instant >= at) => {
                Credential::Expired
            }
            Some(Some(info)) => Credential::Valid(&info.roles),
        };
        access::authorize(credential).map_err(|refusal| {
            let (code, message) = match (refusal, credential) {
                (Refusal::NoToken, Credential::Missing) => (
                    AuthCode::AuthenticationFailed,
                    "Authentication failed: a bearer token is required.",
                ),
                (Refusal::NoToken, _) => (
                    AuthCode::AuthenticationFailed,
                    "Authentication failed: the bearer token is not valid.",
                ),
                (Refusal::Expired, _) => (
                    AuthCode::TokenExpired,
                    "The authentication token has expired.",
                ),
                (Refusal::NoRole, _) => (
                    AuthCode::AuthenticationFailed,
                    "Authentication failed: the token holds neither the 'MFA Client' nor the 'Authenticator Client' app role.",
                ),
            };
            ApiError::unauthorized(code, message)
        })
    }

    // ---- the model ----------------------------------------------------------------

    /// The user's behaviour, made on first use from the fixture, with the maximum the
    /// faults make it (`deviate`: where the lock falls).
    fn behaviour<'a>(
        users: &'a mut HashMap<String, UserBehaviour>,
        user: &UserFixture,
        faults: Faults,
        settings: &Settings,
    ) -> &'a mut UserBehaviour {
        let b = users
            .entry(user.user_guid.clone())
            .or_insert_with(|| UserBehaviour {
                model: Model::with_readings(
                    model_user(user),
                    settings.max_attempts,
                    true,
                    settings.readings,
                ),
                used_bypass: Vec::new(),
            });
        b.model
            .set_max_attempts(deviate::lock_threshold(faults, settings.max_attempts));
        b
    }

    // ---- users --------------------------------------------------------------------

    /// `GET /mfa/v1/users/{userGUID}/factors` and the look-up by name: the listing,
    /// as the faults make it (`deviate`). A locked user's listing is refused under
    /// `lock/lookup=refused-401`; an unknown name is listed empty under
    /// `users/unknown-by-name=empty-200` (`by_name`).
    pub(crate) fn user_factors(
        &self,
        settings: &Settings,
        user: Option<&UserFixture>,
        asked_id: &str,
        by_name: bool,
    ) -> Result<types::UserFactors, ApiError> {
        let locked = user
            .and_then(|u| self.users.get(&u.user_guid))
            .is_some_and(|b| b.model.locked());
        if locked && settings.readings.is(lock_lookup::REFUSED_401) {
            return Err(account_locked());
        }
        if user.is_none() && by_name && settings.readings.is(unknown_by_name::EMPTY_200) {
            return Ok(types::UserFactors {
                status: Status::Success,
                user_guid: String::new(),
                factors: Vec::new(),
                preferred_factor_id: None,
                preferred_method: None,
            });
        }
        deviate::factors_answer(self.faults, asked_id, Self::documented_factors(user))
    }

    /// The documented listing.
    fn documented_factors(user: Option<&UserFixture>) -> Result<types::UserFactors, ApiError> {
        let user = user.ok_or_else(user_not_found)?;
        let factors: Vec<types::Factor> = user
            .factors
            .iter()
            .map(|f| types::Factor {
                factor_id: f.factor_id.clone(),
                display_name: f.display_name.clone(),
                methods: f.methods.clone(),
            })
            .collect();
        Ok(types::UserFactors {
            status: Status::Success,
            user_guid: user.user_guid.clone(),
            factors,
            preferred_factor_id: user.preferred_factor_id.clone(),
            preferred_method: user.preferred_method.clone(),
        })
    }

    // ---- initiate -----------------------------------------------------------------

    /// `POST /mfa/v1/requests`, as the faults make its answer (`deviate`).
    pub(crate) fn initiate(
        &mut self,
        settings: &Settings,
        key: &Key,
        body: types::InitiateVerificationRequest,
        now: Now,
    ) -> Result<types::InitiatedVerification, ApiError> {
        let answer = self.documented_initiate(settings, key, body, now);
        deviate::initiate_answer(self.faults, answer)
    }

    /// The initiate: the user and the factor asked for are checked here (what the
    /// model does not describe), the model answers, and the answer is rendered with a
    /// new request id, requestState and, for SMS, EMAIL and PHONE_CALL, an OTP sent.
    fn documented_initiate(
        &mut self,
        settings: &Settings,
        key: &Key,
        body: types::InitiateVerificationRequest,
        now: Now,
    ) -> Result<types::InitiatedVerification, ApiError> {
        let faults = self.faults;
        let (user, who) = match body.user_id_type {
            types::UserIdType::UserGuid => (self.fixture.user_by_guid(&body.user_id), Who::Guid),
            types::UserIdType::UserName => (self.fixture.user_by_name(&body.user_id), Who::Name),
        };
        let user = user.ok_or_else(|| unknown_user_initiate(settings))?;
        let behaviour = Self::behaviour(&mut self.users, user, faults, settings);
        let locked = behaviour.model.gate();
        if let Some(locked) = &locked
            && deviate::lock_stops_initiate(faults)
        {
            return Err(refused(&mut behaviour.model, None, locked, faults));
        }
        let pick = deviate::pick(faults, user, asked_pick(user, &body)?);
        let step = Step::Initiate { who, pick };
        let taken = if locked.is_some() {
            // A lock that does not stop an initiate: served as if the user were not
            // locked, who stays locked (the count back at the maximum).
            behaviour.model.unlock();
            let taken = answer(&mut behaviour.model, &step, faults);
            behaviour.model.lock();
            taken
        } else {
            answer(&mut behaviour.model, &step, faults)
        }?;
        let index = behaviour.model.requests().len() - 1;
        let (Some(method), Some(factor_id)) = (taken.method.clone(), taken.factor_id.clone())
        else {
            return Err(internal_error());
        };
        let factor = user.factor(&factor_id).ok_or_else(internal_error)?;
        let request_id = random::request_id();
        let user_guid = user.user_guid.clone();
        let display_name = match method {
            Method::Bypasscode | Method::SecurityQuestions => None,
            _ => factor.display_name.clone(),
        };
        let mut otp = None;
        let mut questions = Vec::new();
        let mut asked = Vec::new();
        match method {
            Method::Sms | Method::Email | Method::PhoneCall => {
                let destination = factor
                    .display_name
                    .clone()
                    .unwrap_or_else(|| factor.factor_id.clone());
                otp = Some(send(
                    &mut self.outbox,
                    &request_id,
                    &user_guid,
                    &method,
                    destination,
                    random::otp(),
                    now,
                ));
            }
            Method::SecurityQuestions => {
                for q in &user.security_questions {
                    questions.push(q.id.clone());
                    asked.push(types::SecurityQuestion {
                        id: q.id.clone(),
                        localized_text: q.localized_text.clone(),
                        hint_text: q.hint_text.clone(),
                    });
                }
            }
            _ => {}
        }
        let generation = behaviour.model.requests()[index].generations - 1;
        let request_state = key.seal(&request_id, &user_guid, generation);
        self.requests.insert(
            request_id.clone(),
            Request {
                user_guid: user_guid.clone(),
                display_name: display_name.clone(),
                index,
                otp,
                questions,
                created: now.instant,
            },
        );
        Ok(types::InitiatedVerification {
            status: Status::Success,
            request_id,
            user_guid,
            factor_id,
            method,
            display_name,
            request_state,
            security_questions: asked,
        })
    }

    // ---- requests -----------------------------------------------------------------

    /// The error for an unknown requestId.
    fn unknown_request() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            AuthCode::InvalidRequest,
            "The requestId is invalid.",
        )
    }

    /// A known request, its user's behaviour, and the clock applied: a PUSH left
    /// undecided for `push_expiry` expires.
    fn open_request<'a>(
        &'a mut self,
        settings: &Settings,
        request_id: &str,
        now: Now,
    ) -> Option<Opened<'a>> {
        let request = self.requests.get_mut(request_id)?;
        let user = self.fixture.user_by_guid(&request.user_guid)?;
        let behaviour = Self::behaviour(&mut self.users, user, self.faults, settings);
        if now.instant.duration_since(request.created) >= settings.push_expiry {
            behaviour.model.expire(request.index);
        }
        Some(Opened {
            request,
            behaviour,
            fixture: &mut self.fixture,
            outbox: &mut self.outbox,
        })
    }

    /// `GET /mfa/v1/requests/{requestId}` (\[STATUS\]), as the faults make its answer
    /// (`deviate`).
    pub(crate) fn poll(
        &mut self,
        settings: &Settings,
        request_id: &str,
        now: Now,
    ) -> Result<PollAnswer, ApiError> {
        let answer = self.documented_poll(settings, request_id, now);
        deviate::poll_answer(self.faults, answer)
    }

    /// The documented poll: the model's answer, rendered.
    fn documented_poll(
        &mut self,
        settings: &Settings,
        request_id: &str,
        now: Now,
    ) -> Result<PollAnswer, ApiError> {
        let faults = self.faults;
        let Opened {
            request, behaviour, ..
        } = self
            .open_request(settings, request_id, now)
            .ok_or_else(Self::unknown_request)?;
        let step = Step::Poll { req: request.index };
        let push = behaviour.model.requests()[request.index].method == Method::Push;
        let taken = if push && behaviour.model.gate().is_some() && !deviate::lock_stops_poll(faults)
        {
            // A lock that does not stop a PUSH poll: served as if the user were not
            // locked, who stays locked.
            behaviour.model.unlock();
            let taken = answer(&mut behaviour.model, &step, faults);
            behaviour.model.lock();
            taken
        } else {
            answer(&mut behaviour.model, &step, faults)
        }?;
        // The model's answer as it is: its status, its body's status and its cause.
        let status = StatusCode::from_u16(taken.status).map_err(|_| internal_error())?;
        Ok((
            status,
            types::VerificationStatus {
                status: taken.body_status.clone().unwrap_or(Status::Pending),
                cause: taken
                    .cause
                    .iter()
                    .map(|(code, message)| cause(code, message))
                    .collect(),
            },
        ))
    }

    /// `PATCH /mfa/v1/requests/{requestId}` (\[VERIFY\]), after the payload was parsed.
    /// `sealed` is what the requestState says, or `None` when it did not verify.
    ///
    /// Order of checks: unknown request (404), locked user (401 AUTH-1010), requestState
    /// (401 AUTH-1120), request already finished (401 AUTH-1120), action does not fit
    /// the method (400 AUTH-1111), then the verification itself. The answer is as the
    /// faults make it (`deviate`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn complete(
        &mut self,
        settings: &Settings,
        key: &Key,
        request_id: &str,
        sealed: Option<Sealed>,
        state_missing: bool,
        action: Action,
        now: Now,
    ) -> Result<types::CompletedVerification, ApiError> {
        let answer = self.documented_complete(
            settings,
            key,
            request_id,
            sealed,
            state_missing,
            action,
            now,
        );
        deviate::complete_answer(self.faults, answer)
    }

    /// The documented verification: the PATCH classified into a step of the model
    /// (which requestState, the right code or a wrong one), the model's answer, and
    /// that answer rendered (a new OTP for a resend, a bypass code used up).
    #[allow(clippy::too_many_arguments)]
    fn documented_complete(
        &mut self,
        settings: &Settings,
        key: &Key,
        request_id: &str,
        sealed: Option<Sealed>,
        state_missing: bool,
        action: Action,
        now: Now,
    ) -> Result<types::CompletedVerification, ApiError> {
        let faults = self.faults;
        // An unknown request: 404, or, when the tenant opens the requestState first
        // (`order/unknown-request-or-state=state-first`), a requestState that names
        // another request (or none) is refused first.
        let unknown = || {
            if settings.readings.is(order_unknown_state::STATE_FIRST) {
                invalid_state()
            } else {
                Self::unknown_request()
            }
        };
        let Opened {
            request,
            behaviour,
            fixture,
            outbox,
        } = self
            .open_request(settings, request_id, now)
            .ok_or_else(unknown)?;
        let req = request.index;
        let model_request = &behaviour.model.requests()[req];
        let (method, factor_id) = (model_request.method.clone(), model_request.factor.clone());
        let state = deviate::presented(
            faults,
            sealed.map(|sealed| Presented {
                same_request: sealed.request_id == request_id,
                same_user: sealed.user_guid == request.user_guid,
                generation: sealed.generation,
                latest: model_request.generations - 1,
            }),
            state_missing,
        );
        if state == StateRef::Current
            && model_request.outcome == Outcome::Succeeded
            && deviate::reopens_verified(faults)
        {
            behaviour.model.reopen(req);
        }
        if !action.fits(&method) {
            if let Some(early) = behaviour.model.refusal(req, state) {
                return Err(refused(&mut behaviour.model, Some(req), &early, faults));
            }
            return Err(ApiError::bad_request(
                AuthCode::InvalidRequest,
                format!("{} does not apply to a {} request.", action.name(), method),
            ));
        }
        let guid = request.user_guid.clone();
        let user = fixture.users.iter_mut().find(|u| u.user_guid == guid);
        let mut fresh_bypass = None;
        let step = match &action {
            Action::Resend => Step::Resend { req, state },
            Action::Otp(code) => {
                let right = match method {
                    Method::Totp => {
                        let secret = user
                            .as_ref()
                            .and_then(|u| u.factor(&factor_id))
                            .and_then(|f| f.totp_secret.clone());
                        let unix = now.unix_secs();
                        deviate::totp_matches(
                            faults,
                            secret.is_some_and(|s| totp_matches(s.expose(), code.expose(), unix)),
                        )
                    }
                    _ => deviate::sent_otp_matches(
                        faults,
                        request
                            .otp
                            .as_ref()
                            .is_some_and(|sent| sent.ct_eq(code.expose())),
                        &method,
                        code.expose(),
                    ),
                };
                Step::VerifyOtp {
                    req,
                    state,
                    code: if right { Code::Right } else { Code::Wrong },
                }
            }
            Action::BypassCode(code) => {
                // Compare with every code (no early exit).
                let mut found = None;
                for (i, c) in user.iter().flat_map(|u| u.bypass_codes.iter()).enumerate() {
                    if c.ct_eq(code.expose()) && found.is_none() {
                        found = Some(i);
                    }
                }
                fresh_bypass = found;
                let digest: [u8; 32] = Sha256::digest(code.expose().as_bytes()).into();
                let code = if found.is_some() {
                    Bypass::Fresh
                } else if behaviour.used_bypass.contains(&digest) {
                    Bypass::Reused
                } else if deviate::bypass_code_accepted(faults, code.expose()) {
                    Bypass::Fresh
                } else {
                    Bypass::Wrong
                };
                Step::VerifyBypass { req, state, code }
            }
            Action::Answers(answers) => {
                let enrolled = user
                    .as_ref()
                    .map(|u| u.security_questions.as_slice())
                    .unwrap_or(&[]);
                let every_answer_right = answers.iter().all(|a| {
                    request.questions.contains(&a.id)
                        && enrolled.iter().any(|q| {
                            q.id == a.id
                                && bool::from(
                                    normalise_answer(q.answer.expose())
                                        .as_bytes()
                                        .ct_eq(normalise_answer(a.answer.expose()).as_bytes()),
                                )
                        })
                });
                let all_answered = request
                    .questions
                    .iter()
                    .all(|q| answers.iter().any(|a| &a.id == q));
                let right = every_answer_right && all_answered;
                Step::VerifyAnswers {
                    req,
                    state,
                    code: if right { Code::Right } else { Code::Wrong },
                }
            }
        };
        let taken = answer(&mut behaviour.model, &step, faults)?;
        let success = types::CompletedVerification {
            status: Status::Success,
            request_id: None,
            user_guid: None,
            factor_id: None,
            method: None,
            display_name: None,
            request_state: None,
        };
        match step {
            Step::Resend { .. } => {
                let destination = request
                    .display_name
                    .clone()
                    .unwrap_or_else(|| factor_id.clone());
                let same = settings.readings.is(resend_code::SAME_CODE);
                // The same code again under `resend/code=same-code`, else a fresh one.
                let otp = request
                    .otp
                    .clone()
                    .filter(|_| same)
                    .unwrap_or_else(random::otp);
                request.otp = Some(send(
                    outbox,
                    request_id,
                    &guid,
                    &method,
                    destination,
                    otp,
                    now,
                ));
                let generation = behaviour.model.requests()[req].generations - 1;
                Ok(types::CompletedVerification {
                    request_id: Some(request_id.to_owned()),
                    user_guid: Some(guid.clone()),
                    factor_id: Some(factor_id.clone()),
                    method: Some(method.clone()),
                    display_name: request.display_name.clone(),
                    request_state: (taken.new_state == Some(true))
                        .then(|| key.seal(request_id, &guid, generation)),
                    ..success
                })
            }
            Step::VerifyBypass { code, .. } => {
                // Used up, unless a fault keeps it (`deviate`).
                if let (Bypass::Fresh, Some(i), Some(user)) = (code, fresh_bypass, user)
                    && deviate::bypass_code_used_up(faults)
                {
                    let used = user.bypass_codes.remove(i);
                    behaviour
                        .used_bypass
                        .push(Sha256::digest(used.expose().as_bytes()).into());
                }
                Ok(success)
            }
            _ => Ok(success),
        }
    }

    // ---- control ------------------------------------------------------------------

    /// Approves or rejects a pending PUSH (the user's phone).
    pub(crate) fn decide_push(
        &mut self,
        settings: &Settings,
        request_id: &str,
        approve: bool,
        now: Now,
    ) -> Result<(), ControlRefusal> {
        let faults = self.faults;
        let Opened {
            request, behaviour, ..
        } = self
            .open_request(settings, request_id, now)
            .ok_or(ControlRefusal::NotFound)?;
        let state = &behaviour.model.requests()[request.index];
        if state.method != Method::Push {
            return Err(ControlRefusal::Conflict(format!(
                "request {request_id} is a {} request, not a PUSH",
                state.method
            )));
        }
        if state.outcome != Outcome::Open || state.decided.is_some() {
            let was = match (state.outcome, state.decided) {
                (Outcome::Expired, _) => "Expired",
                (Outcome::Rejected, _) | (_, Some(false)) => "Rejected",
                _ => "Succeeded",
            };
            return Err(ControlRefusal::Conflict(format!(
                "the PUSH of request {request_id} is no longer pending ({was})"
            )));
        }
        if approve && !deviate::approval_reaches_tenant(faults) {
            return Ok(());
        }
        let mut decision = behaviour.model.decision(request.index, approve);
        deviate::bend(faults, &mut decision);
        behaviour.model.take(Some(request.index), &decision);
        Ok(())
    }

    /// The outbox, filtered.
    pub(crate) fn outbox(
        &self,
        request_id: Option<&str>,
        user_guid: Option<&str>,
    ) -> Vec<OutboxEntry> {
        self.outbox
            .iter()
            .filter(|e| request_id.is_none_or(|id| e.request_id == id))
            .filter(|e| user_guid.is_none_or(|g| e.user_guid == g))
            .cloned()
            .collect()
    }

    /// A user's attempt count and lock.
    pub(crate) fn user_status(&self, settings: &Settings, guid: &str) -> Option<UserStatus> {
        let user = self.fixture.user_by_guid(guid)?;
        let (attempts, locked) = self
            .users
            .get(guid)
            .map_or((0, false), |b| (b.model.attempts().0, b.model.locked()));
        Some(UserStatus {
            user_guid: user.user_guid.clone(),
            user_name: user.user_name.clone(),
            attempts,
            locked,
            max_attempts: settings.max_attempts,
            bypass_codes_left: user.bypass_codes.len(),
        })
    }

    /// Locks a user: the count at the maximum, locked.
    pub(crate) fn lock_user(&mut self, settings: &Settings, guid: &str) -> bool {
        let Some(user) = self.fixture.user_by_guid(guid) else {
            return false;
        };
        let model = &mut Self::behaviour(&mut self.users, user, self.faults, settings).model;
        model.set_max_attempts(settings.max_attempts);
        model.lock();
        true
    }

    /// Unlocks a user and sets the attempt count to 0.
    pub(crate) fn unlock(&mut self, guid: &str) -> bool {
        if self.fixture.user_by_guid(guid).is_none() {
            return false;
        }
        if let Some(b) = self.users.get_mut(guid) {
            b.model.unlock();
        }
        true
    }
}

/// The user as the model knows them.
fn model_user(user: &UserFixture) -> machine::User {
    machine::User {
        guid: user.user_guid.clone(),
        name: user.user_name.clone(),
        factors: user
            .factors
            .iter()
            .map(|f| machine::Factor {
                id: f.factor_id.clone(),
                methods: f.methods.clone(),
            })
            .collect(),
        preferred: user
            .preferred_factor_id
            .clone()
            .zip(user.preferred_method.clone()),
    }
}

/// The factor an initiate asks for, checked against the user's enrolment (what the
/// model does not describe: a user with no factor, an unknown method, a factor that
/// is not enrolled or does not have the method).
fn asked_pick(
    user: &UserFixture,
    body: &types::InitiateVerificationRequest,
) -> Result<Pick, ApiError> {
    if user.factors.is_empty() {
        return Err(ApiError::unauthorized(
            AuthCode::NoFactorsEnabled,
            "The user has no MFA factor enabled.",
        ));
    }
    if let Some(m) = body.method.as_ref().filter(|m| !m.is_known()) {
        return Err(ApiError::bad_request(
            AuthCode::InvalidRequest,
            format!("method {m:?} is not one of the documented methods."),
        ));
    }
    let (factor, method, pick) = match (&body.factor_id, &body.method) {
        (None, None) => match (&user.preferred_factor_id, &user.preferred_method) {
            (Some(id), Some(m)) => (user.factor(id), m.clone(), Pick::Preferred),
            _ => {
                return Err(ApiError::bad_request(
                    AuthCode::MissingParameter,
                    "The user has no preferred factor: factorId and method are required.",
                ));
            }
        },
        (Some(id), None) => {
            let factor = user.factor(id).ok_or_else(|| not_enrolled(id))?;
            match factor.methods.as_slice() {
                [only] => (
                    Some(factor),
                    only.clone(),
                    Pick::Factor(id.clone(), only.clone()),
                ),
                _ => {
                    return Err(ApiError::bad_request(
                        AuthCode::MissingParameter,
                        format!("Factor {id} has several methods: method is required."),
                    ));
                }
            }
        }
        (None, Some(m)) => (
            user.factors.iter().find(|f| f.methods.contains(m)),
            m.clone(),
            Pick::Method(m.clone()),
        ),
        (Some(id), Some(m)) => (
            Some(user.factor(id).ok_or_else(|| not_enrolled(id))?),
            m.clone(),
            Pick::Factor(id.clone(), m.clone()),
        ),
    };
    let factor = factor.ok_or_else(|| {
        ApiError::bad_request(
            AuthCode::InvalidRequest,
            format!("The user has no factor with method {method}."),
        )
    })?;
    if !factor.methods.contains(&method) {
        return Err(ApiError::bad_request(
            AuthCode::InvalidRequest,
            format!(
                "Factor {} cannot be verified with method {method}.",
                factor.factor_id
            ),
        ));
    }
    Ok(pick)
}

/// The model's answer to `step`: strict mode allows exactly one; the faults bend it
/// (`deviate`), the state moves along it, and a refusal comes back as the error a
/// tenant sends.
fn answer(model: &mut Model, step: &Step, faults: Faults) -> Result<Allowed, ApiError> {
    let Some(expectation) = model.expect(step) else {
        return Err(internal_error());
    };
    let taken = take(model, step.request(), &expectation, faults);
    match refusal(&taken) {
        Some(e) => Err(e),
        None => Ok(taken),
    }
}

/// A refusal the model gives before looking at the payload (`gate`, `refusal`),
/// taken, as the error a tenant sends.
fn refused(
    model: &mut Model,
    req: Option<usize>,
    expectation: &Expectation,
    faults: Faults,
) -> ApiError {
    refusal(&take(model, req, expectation, faults)).unwrap_or_else(internal_error)
}

/// The one alternative of `expectation` (the mock decides every reading), bent by the
/// faults, taken.
fn take(
    model: &mut Model,
    req: Option<usize>,
    expectation: &Expectation,
    faults: Faults,
) -> Allowed {
    debug_assert_eq!(
        expectation.allowed.len(),
        1,
        "the mock takes one alternative of every reading: one answer per step"
    );
    let mut taken = expectation.allowed[0].clone();
    deviate::bend(faults, &mut taken);
    model.take(req, &taken);
    taken
}

/// The error an answer of the model is sent as, when it is a refusal: its status and
/// the cause the model gives it (with an `ecId` where the model says); `None` for an
/// answer that is not an error (a success, and the answers of a poll that are its body:
/// pending, approved, a rejected or expired PUSH's 401 "failed").
fn refusal(taken: &Allowed) -> Option<ApiError> {
    let push_body = taken.status == 401
        && (*taken.rule == rules::PUSH_REJECTED || *taken.rule == rules::PUSH_EXPIRED);
    if taken.status < 400 || push_body {
        return None;
    }
    let Ok(status) = StatusCode::from_u16(taken.status) else {
        return Some(internal_error());
    };
    let (code, message) = taken
        .cause
        .clone()
        .unwrap_or((AuthCode::InvalidRequest, "The request was refused."));
    let e = ApiError::new(status, code, message);
    Some(if taken.ec_id { e.with_ec_id() } else { e })
}

/// 401 AUTH-1010.
fn account_locked() -> ApiError {
    ApiError::unauthorized(
        AuthCode::AccountLocked,
        "Your account is locked. Contact your administrator.",
    )
}

/// An initiate for a user the fixture does not have, as the mock reads
/// `initiate/unknown-user`.
fn unknown_user_initiate(settings: &Settings) -> ApiError {
    if settings
        .readings
        .is(initiate_unknown_user::UNAUTHORIZED_401)
    {
        ApiError::unauthorized(AuthCode::UserNotFound, "User not found.")
    } else if settings.readings.is(initiate_unknown_user::BAD_REQUEST_400) {
        ApiError::bad_request(AuthCode::UserNotFound, "User not found.")
    } else {
        user_not_found()
    }
}

/// "Sends" `otp` for the request `request_id` to `destination` by `method`: appends it
/// to the outbox, stamped `now`, and returns it.
fn send(
    outbox: &mut Vec<OutboxEntry>,
    request_id: &str,
    user_guid: &str,
    method: &Method,
    destination: String,
    otp: Secret,
    now: Now,
) -> Secret {
    outbox.push(OutboxEntry {
        request_id: request_id.to_owned(),
        user_guid: user_guid.to_owned(),
        method: method.clone(),
        destination,
        otp: otp.clone(),
        sent_at: now.rfc3339(),
    });
    otp
}

fn not_enrolled(factor_id: &str) -> ApiError {
    ApiError::bad_request(
        AuthCode::InvalidRequest,
        format!("The user has no enrolled factor {factor_id}."),
    )
}

/// Whether `code` is the TOTP of `secret` at `unix`, or one 30-second step before or
/// after it (clock skew).
fn totp_matches(secret: &str, code: &str, unix: u64) -> bool {
    let mut matched = false;
    for t in [
        unix.saturating_sub(totp::STEP_SECONDS),
        unix,
        unix + totp::STEP_SECONDS,
    ] {
        if let Ok(expected) = totp::code(secret, t) {
            matched |= bool::from(expected.as_bytes().ct_eq(code.as_bytes()));
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_accepts_one_step_of_skew_and_no_more() {
        let secret = crate::fixture::DEFAULT_TOTP_SECRET;
        let now = 1_234_567_890;
        let code = |t| totp::code(secret, t).unwrap();
        assert!(totp_matches(secret, &code(now), now));
        assert!(totp_matches(secret, &code(now - 30), now));
        assert!(totp_matches(secret, &code(now + 30), now));
        assert!(!totp_matches(secret, &code(now - 90), now));
        assert!(!totp_matches(secret, &code(now + 90), now));
    }
}
