//! Everything the mock remembers, behind one `Mutex`: HTTP's view of the model.
//!
//! The behaviour is the executable model's ([`idcs_mfa_model::machine`]): each user has
//! a `Model` in strict mode (this project's decision at every silent point, so exactly
//! one answer per step). A request on `/mfa/v1/requests` is classified into a `Step`
//! (which factor an initiate asks for; which requestState a PATCH presents, current,
//! replaced or another request's; the right code or a wrong one; a fresh, reused or
//! wrong bypass code), the model answers, and this module renders the answer with the
//! concrete data it keeps: request ids, sealed requestStates, OTPs in the outbox, the
//! questions asked, the bypass codes left. The answer is rendered as the model types it
//! (its status, the body's `status`, the `cause` a tenant sends), never worked out
//! again. The administrator (lock, unlock) and time (PUSH expiry) are calls on the
//! model too; the time is the one the handler read (`clock::Now`): nothing here reads the
//! clock. No fault is named here: where a fault bends a step or an answer, this module
//! asks `deviate`, which returns the documented one when the fault is off.
//!
//! Who is served at all is the model's too ([`idcs_mfa_model::access`]): this module
//! reads the bearer token against the tokens it issued and asks the model's rule.
//!
//! Outside the model, and decided here: an unknown request or user,
//! a user with no factor, a factor that is not enrolled or does not have the method
//! asked for, a PATCH whose action does not fit the method (400, after the model's
//! refusals), the factor listing.
//!
//! Handlers (`api`, `control`) parse and render HTTP; the state changes here, in plain
//! synchronous methods on `State`, called with the lock held and never across an
//! `.await`. One lock for everything keeps each operation atomic: a bypass code
//! presented by many clients at once is checked and consumed under the same lock, so
//! exactly one of them succeeds.
//!
//! # Layout
//!
//! This file holds what is remembered (`State`, its requests, users, tokens and outbox)
//! and what the operations share; each operation has a file of its own, and no file
//! here imports this one's children:
//!
//! - `access`: tokens, and who is served (`authorize`);
//! - `answer`: the model's one answer to a step, as the faults bend it, and a refusal
//!   as the error a tenant sends;
//! - `factors`: the factor listing (`GET /mfa/v1/users/{userGUID}/factors` and the
//!   look-up by name);
//! - `initiate`: `POST /mfa/v1/requests`;
//! - `poll`: `GET /mfa/v1/requests/{requestId}`;
//! - `complete`: `PATCH /mfa/v1/requests/{requestId}`;
//! - `control`: the phone's decision, the outbox, the administrator's lock and unlock.
//!
//! # Attempts and lockout
//!
//! The model counts attempts by the table of [`idcs_mfa_model::attempts`]: OTPs sent by
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

mod access;
mod answer;
mod complete;
mod control;
mod factors;
mod initiate;
mod poll;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use idcs_mfa::{AuthCode, Method, Secret};
use idcs_mfa_model::{
    machine::{self, Model},
    readings::Choices,
};
use serde::{Deserialize, Serialize};

use crate::{
    body::Action,
    clock::Now,
    deviate,
    fault::Faults,
    fixture::{Fixture, UserFixture},
    reply::ApiError,
    seal::Sealed,
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

/// A PATCH on a request, as its handler read it.
#[derive(Debug)]
pub(crate) struct Patch {
    /// What its requestState says, or `None` when it did not verify.
    pub(crate) sealed: Option<Sealed>,
    /// It carried no requestState at all.
    pub(crate) state_missing: bool,
    /// What it asks for.
    pub(crate) action: Action,
}

/// Why a control-API action on a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ControlRefusal {
    NotFound,
    Conflict(String),
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

/// What the mock knows of a token it issued.
#[derive(Debug)]
struct TokenInfo {
    roles: Vec<String>,
    expires_at: Option<Instant>,
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

    /// A known request, its user's behaviour, and the time applied: a PUSH left
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

/// 404 AUTH-3018, with an `ecId` (\[OD\]).
fn user_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        AuthCode::UserNotFound,
        "User not found.",
    )
    .with_ec_id()
}

/// The error for an unknown requestId.
fn unknown_request() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        AuthCode::InvalidRequest,
        "The requestId is invalid.",
    )
}
