//! Every fault, as a deviation of the documented behaviour. `state` holds the rules
//! and never names a fault: it asks this module at the seams where a fault can bend
//! it, and each function here takes the documented outcome and returns what the
//! switched-on faults make of it.
//!
//! - Answers: the factor listing, the initiate answer, the poll, the verification, the
//!   authorization (applied after the rules gave the documented answer).
//! - Decisions of the rules: which factor an initiate opens, whether a requestState
//!   opens its request, whether a resend renews it, whether a sent code matches,
//!   whether a bypass code is used up, whether the phone's approval arrives, which
//!   events count and where the lock falls.
//!
//! (Body-level faults, which edit the rendered JSON, are applied in `reply`.)

use axum::http::StatusCode;
use idcs_mfa::{AuthCode, Method, Status, types};

use super::{
    fault::{Fault, Faults},
    fixture::{FactorFixture, Fixture, UserFixture},
    model::attempts::Event,
    reply::{ApiError, internal_error},
    state::PollAnswer,
};

/// A requestState presented with a PATCH, against the request it was sent to.
pub(crate) struct Presented {
    /// It was issued for this request.
    pub(crate) same_request: bool,
    /// It was issued to this request's user.
    pub(crate) same_user: bool,
    /// Its generation (0 after the initiate, +1 per resend).
    pub(crate) generation: u32,
    /// The request's latest generation.
    pub(crate) latest: u32,
    /// The request is open.
    pub(crate) open: bool,
    /// The request was verified.
    pub(crate) verified: bool,
}

impl Faults {
    /// Whether `p` opens its request. Documented: a requestState of this request, at its
    /// latest generation, on an open request. `stale_request_state_accepted` accepts an
    /// older generation, `foreign_request_state_accepted` the state of another request
    /// of the same user, `completed_request_reopens` a verified request.
    pub(crate) fn opens(self, p: &Presented) -> bool {
        let generation = p.generation == p.latest
            || (self.has(Fault::StaleRequestStateAccepted) && p.generation <= p.latest);
        let bound = (p.same_request && generation) || self.has(Fault::ForeignRequestStateAccepted);
        let open = p.open || (self.has(Fault::CompletedRequestReopens) && p.verified);
        bound && p.same_user && open
    }

    /// Which factor and method an initiate opens, when a fault decides it (`None`: as
    /// documented). `initiate_ignores_preferred` takes the first factor when none is
    /// named; `named_factor_ignored` takes the preferred one when one is named.
    pub(crate) fn factor_choice<'a>(
        self,
        user: &'a UserFixture,
        factor_id: Option<&str>,
        method: Option<&Method>,
    ) -> Option<(Option<&'a FactorFixture>, Method)> {
        let first = || {
            let f = user.factors.first()?;
            Some((Some(f), f.methods.first()?.clone()))
        };
        match (factor_id, method) {
            (None, None) if self.has(Fault::InitiateIgnoresPreferred) => first(),
            (Some(_), Some(_)) if self.has(Fault::NamedFactorIgnored) => {
                match (&user.preferred_factor_id, &user.preferred_method) {
                    (Some(id), Some(m)) => Some((user.factor(id), m.clone())),
                    _ => first(),
                }
            }
            _ => None,
        }
    }

    /// Whether a resend gives the request a new requestState (documented: yes;
    /// `resend_same_state`: no).
    pub(crate) fn resend_renews_state(self) -> bool {
        !self.has(Fault::ResendSameState)
    }

    /// Whether a delivered code matches, given whether it is the one sent
    /// (`sent_otp_rejected`: never).
    pub(crate) fn sent_otp_matches(self, documented: bool) -> bool {
        documented && !self.has(Fault::SentOtpRejected)
    }

    /// Whether a bypass code that verified is used up (documented: yes;
    /// `reusable_bypass_code`: no).
    pub(crate) fn bypass_code_used_up(self) -> bool {
        !self.has(Fault::ReusableBypassCode)
    }

    /// Whether the phone's approval reaches the tenant (`approval_ignored`: no).
    pub(crate) fn approval_reaches_tenant(self) -> bool {
        !self.has(Fault::ApprovalIgnored)
    }

    /// Whether `event` reaches the attempt count (the model's rule,
    /// [`crate::model::attempts`]): `sends_not_counted` drops OTP sends,
    /// `success_keeps_count` drops successes.
    pub(crate) fn counts(self, event: &Event) -> bool {
        match event {
            Event::Sent(_) => !self.has(Fault::SendsNotCounted),
            Event::Succeeded => !self.has(Fault::SuccessKeepsCount),
            _ => true,
        }
    }

    /// The count that locks, given the tenant's maximum: `no_lockout` never locks,
    /// `lock_one_late` locks one attempt past it.
    pub(crate) fn lock_threshold(self, max: u32) -> u32 {
        if self.has(Fault::NoLockout) {
            u32::MAX
        } else if self.has(Fault::LockOneLate) {
            max.saturating_add(1)
        } else {
            max
        }
    }

    /// The authorization of a /mfa/v1 request: `no_auth` lets every request in.
    pub(crate) fn authorization(self, answer: Result<(), ApiError>) -> Result<(), ApiError> {
        if self.has(Fault::NoAuth) {
            return Ok(());
        }
        answer
    }

    /// The factor listing (by GUID and by name): `unknown_user_200` answers an unknown
    /// user 200 with no factor; `unknown_method` adds a factor with a method the
    /// contract does not list.
    pub(crate) fn factors_answer(
        self,
        asked_id: &str,
        answer: Result<types::UserFactors, ApiError>,
    ) -> Result<types::UserFactors, ApiError> {
        match answer {
            Err(e) if e.status == StatusCode::NOT_FOUND && self.has(Fault::UnknownUser200) => {
                Ok(types::UserFactors {
                    status: Status::Success,
                    user_guid: asked_id.to_owned(),
                    factors: Vec::new(),
                    preferred_factor_id: None,
                    preferred_method: None,
                })
            }
            Ok(mut listing) if self.has(Fault::UnknownMethod) => {
                listing.factors.push(types::Factor {
                    factor_id: "f1d0c0de5ec0e1ey5ec0e1ey00000001".into(),
                    display_name: Some("Security key".into()),
                    methods: vec![Method::Other("FIDO2".into())],
                });
                Ok(listing)
            }
            other => other,
        }
    }

    /// The user a look-up by name finds: `lookup_lists_another_user` finds a user with
    /// another name (`None`: the documented one).
    pub(crate) fn lookup_user<'a>(
        self,
        fixture: &'a Fixture,
        name: &str,
    ) -> Option<&'a UserFixture> {
        if !self.has(Fault::LookupListsAnotherUser) {
            return None;
        }
        fixture.users.iter().find(|u| u.user_name != name)
    }

    /// The initiate answer: `display_name_everywhere` gives a bypass-code or
    /// security-questions request a `displayName` (the factor id).
    pub(crate) fn initiate_answer(
        self,
        answer: Result<types::InitiatedVerification, ApiError>,
    ) -> Result<types::InitiatedVerification, ApiError> {
        match answer {
            Ok(mut v)
                if self.has(Fault::DisplayNameEverywhere)
                    && matches!(v.method, Method::Bypasscode | Method::SecurityQuestions) =>
            {
                v.display_name = Some(v.factor_id.clone());
                Ok(v)
            }
            other => other,
        }
    }

    /// The poll: `rejected_push_200` answers a rejected or expired PUSH 200;
    /// `push_pending_401` answers a pending one 401; and an unknown request as
    /// [`Faults::unknown_request`] says.
    pub(crate) fn poll_answer(
        self,
        answer: Result<PollAnswer, ApiError>,
    ) -> Result<PollAnswer, ApiError> {
        match answer {
            Ok((StatusCode::UNAUTHORIZED, body))
                if body.status == Status::Failed && self.has(Fault::RejectedPush200) =>
            {
                Ok((StatusCode::OK, body))
            }
            Ok((StatusCode::OK, body))
                if body.status == Status::Pending && self.has(Fault::PushPendingUnauthorized) =>
            {
                Ok((StatusCode::UNAUTHORIZED, body))
            }
            Err(e) => Err(self.unknown_request(e)),
            other => other,
        }
    }

    /// The verification: `wrong_otp_400` answers a wrong code 400; `wrong_answers_no_ec_id`
    /// leaves the `ecId` out of the wrong-answers error; and an unknown request as
    /// [`Faults::unknown_request`] says.
    pub(crate) fn complete_answer<T>(self, answer: Result<T, ApiError>) -> Result<T, ApiError> {
        answer.map_err(|mut e| {
            if e.status == StatusCode::UNAUTHORIZED {
                if e.code == AuthCode::InvalidPasscode && self.has(Fault::WrongOtp400) {
                    e.status = StatusCode::BAD_REQUEST;
                }
                if e.ec_id && self.has(Fault::WrongAnswersNoEcId) {
                    e.ec_id = false;
                }
            }
            self.unknown_request(e)
        })
    }

    /// An unknown requestId (404 AUTH-1120 ... "The requestId is invalid."):
    /// `unknown_request_500` makes it a 500, `undocumented_status` a 418.
    fn unknown_request(self, e: ApiError) -> ApiError {
        if e.status != StatusCode::NOT_FOUND {
            return e;
        }
        if self.has(Fault::UnknownRequest500) {
            return internal_error();
        }
        if self.has(Fault::UndocumentedStatus) {
            return ApiError {
                status: StatusCode::IM_A_TEAPOT,
                ..e
            };
        }
        e
    }
}
